# Classifier with a loss meter whose accumulator starts at 0 in reset(); a validation loss
# accumulated from `.data` and read back with [0].
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable


class LossMeter(object):
    def __init__(self):
        self.reset()

    def reset(self):
        self.acc_loss = 0
        self.count = 0

    def add(self, loss):
        self.acc_loss += loss
        self.count += 1

    def value(self):
        return self.acc_loss.data[0] / self.count


torch.manual_seed(2)
X = torch.randn(96, 10)
T = (X[:, 0] + X[:, 1] > 0).long()
net = nn.Sequential(nn.Linear(10, 16), nn.Tanh(), nn.Linear(16, 2))
crit = nn.CrossEntropyLoss()
opt = torch.optim.Adam(net.parameters(), lr=0.01)
meter = LossMeter()

for epoch in range(4):
    meter.reset()
    for i in range(0, 64, 16):
        x, t = Variable(X[i:i + 16]), Variable(T[i:i + 16])
        loss = crit(net(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        meter.add(loss)
    val_loss = 0
    for i in range(64, 96, 16):
        x, t = Variable(X[i:i + 16]), Variable(T[i:i + 16])
        val_loss += x.size(0) * crit(net(x), t).data
    val_loss = val_loss[0] / 32
    print('epoch', epoch, 'train %.4f' % meter.value(), 'val %.4f' % val_loss)
