# .data[0] at every rank: a 0-dim loss (a number in 0.3), a one-element 1-D tensor, a row of
# a 2-D output; and [0] on full reductions.
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable

torch.manual_seed(26)
net = nn.Linear(3, 4)
temperature = Variable(torch.FloatTensor([1.5]), requires_grad=True)
opt = torch.optim.SGD(list(net.parameters()) + [temperature], lr=0.1)
for it in range(5):
    x = Variable(torch.randn(6, 3))
    y = Variable((torch.rand(6) * 4).long())
    logits = net(x) / temperature
    loss = F.cross_entropy(logits, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    probs = F.softmax(logits, dim=1)
    first_row = probs.data[0]
    norm = logits.norm()[0]
    total = logits.sum()[0]
    print(it, 'loss %.4f' % loss.data[0], 'T %.4f' % temperature.data[0],
          'p0', first_row.numpy().round(3), 'norm %.3f' % norm.data[0], 'sum %.3f' % total.data[0])
