from .common import *


class Gate(nn.Module):
    def __init__(self, n):
        super(Gate, self).__init__()
        self.w = nn.Parameter(torch.randn(n, n) * 0.1)
        self.b = nn.Parameter(torch.zeros(n))

    def forward(self, x):
        g = torch.sigmoid(x.mm(self.w) + self.b)
        return g * x


def init_gate(gate):
    gate.w.data.uniform_(-0.1, 0.1)
    gate.b.data.fill_(0.5)
