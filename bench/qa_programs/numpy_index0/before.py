# Scalars read through numpy and lists: loss.data.numpy()[0], .cpu().numpy()[0], .tolist()[0]
# (one-element arrays and lists in 0.3; 0-dim today).
import torch
import torch.nn as nn
from torch.autograd import Variable

torch.manual_seed(27)
net = nn.Linear(5, 2)
opt = torch.optim.Adam(net.parameters(), lr=0.02)
history = []
for it in range(5):
    x = Variable(torch.randn(10, 5))
    loss = net(x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    history.append(loss.data.numpy()[0])
    grad_norm = net.weight.grad.norm().data.cpu().numpy()[0]
    first = net(x).data.tolist()[0]
    print(it, 'loss %.4f' % loss.data.tolist()[0], 'grad %.4f' % grad_norm, 'out0', [round(v, 3) for v in first])
print(history)
