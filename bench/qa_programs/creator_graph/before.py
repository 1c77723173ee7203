# 0.1-era graph inspection: `.creator` of a result, then a training step.
import torch
import torch.nn as nn
from torch.autograd import Variable

torch.manual_seed(23)
x = Variable(torch.randn(4, 3), requires_grad=True)
y = (x * 2).sum()
print('created by', type(y.creator).__name__)
assert x.creator is None
net = nn.Linear(3, 1)
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for it in range(4):
    out = net(x).pow(2).mean()
    if out.creator is not None:
        opt.zero_grad()
        out.backward()
        opt.step()
    print(it, out.data[0])
