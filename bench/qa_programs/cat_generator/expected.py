# Hand migration of before.py: 0.3 accepted any iterable, so tuple(...) keeps the meaning.
import torch
import torch.nn as nn


class MultiHead(nn.Module):
    def __init__(self, n_in, n_heads):
        super(MultiHead, self).__init__()
        self.heads = nn.ModuleList([nn.Linear(n_in, 2) for _ in range(n_heads)])

    def forward(self, x):
        joined = torch.cat(tuple(h(x) for h in self.heads), 1)
        stacked = torch.stack(tuple(h(x).sum(1) for h in self.heads))
        return joined, stacked


torch.manual_seed(10)
net = MultiHead(5, 3)
opt = torch.optim.SGD(net.parameters(), lr=0.05)
for it in range(6):
    x = torch.randn(12, 5)
    joined, stacked = net(x)
    loss = joined.pow(2).mean() + stacked.abs().mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(it, loss.item())
