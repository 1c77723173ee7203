# A package whose modules share names through `from .common import *`; the script star-imports it.
from pkg.layers import *

torch.manual_seed(7)
gate = Gate(5)
init_gate(gate)
scale = to_var(torch.ones(1), requires_grad=True)
opt = torch.optim.Adam(list(gate.parameters()) + [scale], lr=0.02)
for it in range(8):
    x = to_var(torch.randn(16, 5))
    y = to_var(x.data * 0.5)
    loss = ((gate(x) * scale - y) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(it, loss.data[0], scale.data[0])
