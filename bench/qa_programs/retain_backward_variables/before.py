# Two losses backpropagated through a shared trunk with the 0.3 keyword names.
import torch
import torch.nn as nn
from torch.autograd import Variable

torch.manual_seed(25)
trunk = nn.Linear(4, 6)
head_a, head_b = nn.Linear(6, 1), nn.Linear(6, 2)
params = list(trunk.parameters()) + list(head_a.parameters()) + list(head_b.parameters())
opt = torch.optim.SGD(params, lr=0.05)
for it in range(5):
    x = Variable(torch.randn(9, 4))
    h = torch.tanh(trunk(x))
    out_a, out_b = head_a(h), head_b(h)
    loss_a = out_a.pow(2).mean()
    opt.zero_grad()
    loss_a.backward(retain_variables=True)
    torch.autograd.backward(variables=[out_b], grad_variables=[torch.ones(out_b.size()) * 0.1])
    opt.step()
    print(it, loss_a.data[0])
