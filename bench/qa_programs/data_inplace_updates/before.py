# Hand-written optimiser steps through `.data`: momentum buffers, weight decay with the
# scalar-first add_ overload, an EMA copy of the weights, and DCGAN-style weight init.
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable


def weights_init(m):
    if isinstance(m, nn.Linear):
        m.weight.data.normal_(0.0, 0.02)
        m.bias.data.fill_(0)


torch.manual_seed(22)
net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
net.apply(weights_init)
shadow = [p.data.clone() for p in net.parameters()]
buffers = [torch.zeros(p.size()) for p in net.parameters()]
lr, momentum, wd = 0.1, 0.9, 1e-4
X, Y = torch.randn(32, 8), torch.randn(32, 1)
for it in range(8):
    loss = F.mse_loss(net(Variable(X)), Variable(Y))
    net.zero_grad()
    loss.backward()
    for p, buf, s in zip(net.parameters(), buffers, shadow):
        d_p = p.grad.data
        d_p.add_(wd, p.data)
        buf.mul_(momentum).add_(d_p)
        p.data.add_(-lr, buf)
        s.mul_(0.99).add_(0.01, p.data)
    print(it, loss.data[0], sum(s.norm() for s in shadow))
