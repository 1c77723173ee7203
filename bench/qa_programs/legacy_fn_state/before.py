# Domain-adversarial toy: a gradient reversal layer written as a legacy Function with state.
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Function, Variable


class GradReverse(Function):
    def __init__(self, lambd):
        self.lambd = lambd

    def forward(self, x):
        return x.view_as(x)

    def backward(self, grad_output):
        return grad_output * -self.lambd


def grad_reverse(x, lambd=1.0):
    return GradReverse(lambd)(x)


torch.manual_seed(20)
features = nn.Sequential(nn.Linear(6, 10), nn.ReLU())
label_clf = nn.Linear(10, 2)
domain_clf = nn.Linear(10, 2)
params = list(features.parameters()) + list(label_clf.parameters()) + list(domain_clf.parameters())
opt = torch.optim.SGD(params, lr=0.05)
for it in range(6):
    src = Variable(torch.randn(16, 6))
    tgt = Variable(torch.randn(16, 6) + 1.0)
    ys = Variable((src.data[:, 0] > 0).long())
    f_src, f_tgt = features(src), features(tgt)
    label_loss = F.cross_entropy(label_clf(f_src), ys)
    dom_in = grad_reverse(torch.cat([f_src, f_tgt], 0), 0.3)
    dom_y = Variable(torch.cat([torch.zeros(16), torch.ones(16)]).long())
    domain_loss = F.cross_entropy(domain_clf(dom_in), dom_y)
    loss = label_loss + domain_loss
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(it, label_loss.data[0], domain_loss.data[0])
