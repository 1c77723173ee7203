# Legacy Functions used inside Modules: a ReLU saving its input, a two-input scaled product, and
# one kept on the module as an instance.
import torch
import torch.nn as nn
from torch.autograd import Function, Variable


class MyReLU(Function):
    def forward(self, input):
        self.save_for_backward(input)
        return input.clamp(min=0)

    def backward(self, grad_output):
        input, = self.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class ScaledMul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b * 0.5

    def backward(self, grad_output):
        a, b = self.saved_tensors
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = grad_output * b * 0.5
        if self.needs_input_grad[1]:
            grad_b = grad_output * a * 0.5
        return grad_a, grad_b


class Block(nn.Module):
    def __init__(self):
        super(Block, self).__init__()
        self.fc = nn.Linear(5, 5)
        self.gate = nn.Parameter(torch.ones(5))

    def forward(self, x):
        h = MyReLU()(self.fc(x))
        mul = ScaledMul()
        return mul(h, self.gate.unsqueeze(0).expand_as(h))


torch.manual_seed(21)
net = nn.Sequential(Block(), nn.Linear(5, 1))
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for it in range(6):
    x = Variable(torch.randn(10, 5))
    y = Variable(torch.randn(10, 1))
    loss = ((net(x) - y) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(it, loss.data[0])
