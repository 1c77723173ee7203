# A legacy Function of another package, built and called in a module without trigger words
# (ssd.pytorch: `from layers import *`, then `self.detect = Detect(...)`).
import torch
from torch.autograd import Variable

from model import Net

torch.manual_seed(3)
net = Net()
opt = torch.optim.SGD(net.parameters(), lr=0.05)
for it in range(5):
    x = Variable(torch.randn(8, 4))
    y = Variable(torch.randn(8, 3))
    loss = ((net(x) - y) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(it, loss.data[0])
