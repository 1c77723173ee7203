# REINFORCE on a toy bandit: actions sampled with the argument-less multinomial() of 0.3.
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable

torch.manual_seed(9)
policy = nn.Linear(4, 3)
opt = torch.optim.Adam(policy.parameters(), lr=0.05)
payout = torch.FloatTensor([0.2, 0.5, 0.9])

for episode in range(6):
    log_probs, rewards = [], []
    for t in range(8):
        state = Variable(torch.randn(1, 4))
        probs = F.softmax(policy(state))
        action = probs.multinomial()
        log_probs.append(torch.log(probs.gather(1, action)))
        a = action.data[0][0]
        rewards.append(float(payout[a] + 0.1 * torch.randn(1)[0]))
    R = Variable(torch.FloatTensor(rewards)).view(-1, 1)
    R = (R - R.mean()) / (R.std() + 1e-6)
    loss = -(torch.cat(log_probs) * R).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print('episode', episode, 'loss %.4f' % loss.data[0])
