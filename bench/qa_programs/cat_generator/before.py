# Multi-head model whose outputs are joined with torch.cat / torch.stack over generators.
import torch
import torch.nn as nn
from torch.autograd import Variable


class MultiHead(nn.Module):
    def __init__(self, n_in, n_heads):
        super(MultiHead, self).__init__()
        self.heads = nn.ModuleList([nn.Linear(n_in, 2) for _ in range(n_heads)])

    def forward(self, x):
        joined = torch.cat((h(x) for h in self.heads), 1)
        stacked = torch.stack(h(x).sum(1) for h in self.heads)
        return joined, stacked


torch.manual_seed(10)
net = MultiHead(5, 3)
opt = torch.optim.SGD(net.parameters(), lr=0.05)
for it in range(6):
    x = Variable(torch.randn(12, 5))
    joined, stacked = net(x)
    loss = joined.pow(2).mean() + stacked.abs().mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(it, loss.data[0])
