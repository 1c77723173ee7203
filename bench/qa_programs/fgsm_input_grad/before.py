# Adversarial examples (FGSM, then a few projected steps) on a small classifier: an input
# Variable rebuilt from `x.data.clone()`, updated through `.data` with `.grad.data.sign()`.
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable

torch.manual_seed(14)
net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 3))
opt = torch.optim.SGD(net.parameters(), lr=0.1)
X = torch.randn(30, 10)
T = (torch.rand(30) * 3).long()
for it in range(4):
    loss = F.cross_entropy(net(Variable(X)), Variable(T))
    opt.zero_grad()
    loss.backward()
    opt.step()

x = Variable(X[:8])
x_adv = Variable(x.data.clone(), requires_grad=True)
eps, alpha = 0.3, 0.1
for k in range(3):
    loss = F.cross_entropy(net(x_adv), Variable(T[:8]))
    net.zero_grad()
    if x_adv.grad is not None:
        x_adv.grad.data.zero_()
    loss.backward()
    x_adv.data.add_(alpha * x_adv.grad.data.sign())
    x_adv.data = torch.max(torch.min(x_adv.data, x.data + eps), x.data - eps)
    print(k, 'adv loss %.4f' % loss.data[0])
pred = net(x_adv).data.max(1)[1]
print('flipped', (pred != T[:8]).sum())
