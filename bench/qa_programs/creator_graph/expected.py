# Hand migration of before.py: `.creator` is `.grad_fn` since 0.2/0.4.
import torch
import torch.nn as nn

torch.manual_seed(23)
x = torch.randn(4, 3, requires_grad=True)
y = (x * 2).sum()
print('created by', type(y.grad_fn).__name__)
assert x.grad_fn is None
net = nn.Linear(3, 1)
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for it in range(4):
    out = net(x).pow(2).mean()
    if out.grad_fn is not None:
        opt.zero_grad()
        out.backward()
        opt.step()
    print(it, out.item())
