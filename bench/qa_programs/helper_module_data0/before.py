# A training loop whose metrics come from a helper module that never names torch.
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable

from utils import AverageMeter, calculate_accuracy, weight_norm

torch.manual_seed(3)
net = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 3))
opt = torch.optim.SGD(net.parameters(), lr=0.2)
losses, accs = AverageMeter(), AverageMeter()
for it in range(12):
    x = Variable(torch.randn(16, 6))
    y = Variable((x.data[:, 0] > 0).long() + (x.data[:, 1] > 0.5).long())
    out = net(x)
    loss = F.cross_entropy(out, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.update(loss.data[0], x.size(0))
    accs.update(calculate_accuracy(out, y), x.size(0))
    print(it, 'loss %.4f acc %.3f |w| %.3f' % (losses.sum / losses.count, accs.val, weight_norm(net)))
