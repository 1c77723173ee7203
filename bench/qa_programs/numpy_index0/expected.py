# Hand migration of before.py: the scalars are read with .item(); the row read stays a row.
import torch
import torch.nn as nn

torch.manual_seed(27)
net = nn.Linear(5, 2)
opt = torch.optim.Adam(net.parameters(), lr=0.02)
history = []
for it in range(5):
    x = torch.randn(10, 5)
    loss = net(x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    history.append(loss.item())
    grad_norm = net.weight.grad.norm().item()
    first = net(x).detach().tolist()[0]
    print(it, 'loss %.4f' % loss.item(), 'grad %.4f' % grad_norm, 'out0', [round(v, 3) for v in first])
print(history)
