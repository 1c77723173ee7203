# Hand migration of before.py (the 0.3 meaning: multinomial() drew one sample).
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(9)
policy = nn.Linear(4, 3)
opt = torch.optim.Adam(policy.parameters(), lr=0.05)
payout = torch.FloatTensor([0.2, 0.5, 0.9])

for episode in range(6):
    log_probs, rewards = [], []
    for t in range(8):
        state = torch.randn(1, 4)
        probs = F.softmax(policy(state), dim=1)
        action = probs.multinomial(1)
        log_probs.append(torch.log(probs.gather(1, action)))
        a = action[0][0]
        rewards.append(float(payout[a] + 0.1 * torch.randn(1)[0]))
    R = torch.FloatTensor(rewards).view(-1, 1)
    R = (R - R.mean()) / (R.std() + 1e-6)
    loss = -(torch.cat(log_probs) * R).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print('episode', episode, 'loss %.4f' % loss.item())
