# An L2 penalty summed with the builtin sum() over a generator, read with .data[0].
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable

torch.manual_seed(4)
model = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 3))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
X = Variable(torch.randn(40, 6))
T = Variable((torch.rand(40) * 3).long())
weight_decay = 1e-3

for it in range(8):
    logits = model(X)
    nll = F.cross_entropy(logits, T)
    l2 = sum(torch.sum(p ** 2) for p in model.parameters())
    l1 = sum([p.abs().sum() for p in model.parameters()])
    loss = nll + weight_decay * l2 + 1e-4 * l1
    opt.zero_grad()
    loss.backward()
    opt.step()
    print('it %d nll %.4f l2 %.4f l1 %.4f' % (it, nll.data[0], l2.data[0], sum(p.abs().sum() for p in model.parameters()).data[0]))
