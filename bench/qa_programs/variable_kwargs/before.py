# Logistic regression on hand-made parameters built with Variable(..., **opts) and Variable(*args).
import torch
from torch.autograd import Variable

torch.manual_seed(11)
opts = {'requires_grad': True}
w = Variable(torch.randn(5, 1) * 0.1, **opts)
b = Variable(torch.zeros(1), **opts)
args = (torch.randn(40, 5),)
x = Variable(*args)
y = Variable((x.data[:, :1] > 0).float())
frozen = dict(requires_grad=False)
offset = Variable(torch.ones(1) * 0.1, **frozen)
lr = 0.5

for it in range(20):
    p = torch.sigmoid(x.mm(w) + b + offset)
    loss = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
    loss.backward()
    w.data -= lr * w.grad.data
    b.data -= lr * b.grad.data
    w.grad.data.zero_()
    b.grad.data.zero_()
    if it % 5 == 0:
        print(it, loss.data[0])
