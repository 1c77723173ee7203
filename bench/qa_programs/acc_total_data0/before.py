# Linear regression; the epoch loss is accumulated into a plain number, then read with .data[0].
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable

torch.manual_seed(1)
X = torch.randn(64, 5)
Y = X.mm(torch.randn(5, 1)) + 0.1 * torch.randn(64, 1)
model = nn.Linear(5, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.05)

for epoch in range(5):
    total = 0
    for i in range(0, 64, 16):
        x, y = Variable(X[i:i + 16]), Variable(Y[i:i + 16])
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        total += loss
    running = 0
    running = running + F.mse_loss(model(Variable(X)), Variable(Y))
    print('epoch %d  mean batch loss %.4f  full loss %.4f' % (epoch, total.data[0] / 4, running.data[0]))
