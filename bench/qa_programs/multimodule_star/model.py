import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable


class Net(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc2 = nn.Linear(n_hidden, n_out)
        self.fc1.weight.data.normal_(0, 0.1)
        self.fc1.bias.data.zero_()

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def make_batch(n, n_in):
    x = torch.randn(n, n_in)
    y = (x.sum(1) > 0).long()
    return Variable(x), Variable(y)


def accuracy(logits, y):
    pred = logits.data.max(1)[1]
    return pred.eq(y.data).sum() / float(y.size(0))
