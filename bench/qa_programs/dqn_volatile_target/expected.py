# Hand migration of before.py with the 0.3 meaning: the target is computed without a graph.
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(15)
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)
GAMMA = 0.9
for step in range(6):
    states = torch.randn(16, 4)
    next_states = torch.randn(16, 4)
    actions = (torch.rand(16, 1) * 2).long()
    rewards = torch.randn(16)
    s, s2 = states, next_states
    q = model(s).gather(1, actions).squeeze(1)
    with torch.no_grad():
        next_q = model(s2).max(1)[0]
    target = rewards + GAMMA * next_q
    loss = F.smooth_l1_loss(q, target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(step, 'loss %.5f' % loss.item())
