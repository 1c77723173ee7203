# DQN update: the bootstrap target comes from a volatile forward pass, then is made a constant
# with `.volatile = False` (0.3: no graph, so no gradient flows into the target).
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable

torch.manual_seed(15)
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)
GAMMA = 0.9
for step in range(6):
    states = torch.randn(16, 4)
    next_states = torch.randn(16, 4)
    actions = (torch.rand(16, 1) * 2).long()
    rewards = torch.randn(16)
    s, s2 = Variable(states), Variable(next_states, volatile=True)
    q = model(s).gather(1, Variable(actions)).squeeze(1)
    next_q = model(s2).max(1)[0]
    next_q.volatile = False
    target = Variable(rewards) + GAMMA * next_q
    loss = F.smooth_l1_loss(q, target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(step, 'loss %.5f' % loss.data[0])
