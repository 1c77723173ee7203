# GPU-era training loop: model and batches moved with .cuda() / .cuda(async=True).
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable

torch.manual_seed(24)
model = nn.Sequential(nn.Linear(7, 14), nn.ReLU(), nn.Linear(14, 3)).cuda()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
X, T = torch.randn(48, 7), (torch.rand(48) * 3).long()
for it in range(6):
    inp = X[it * 8:(it + 1) * 8].cuda(async=True)
    target = T[it * 8:(it + 1) * 8].cuda(async=True)
    input_var, target_var = Variable(inp), Variable(target)
    output = model(input_var)
    loss = F.cross_entropy(output, target_var)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(it, loss.data[0])
