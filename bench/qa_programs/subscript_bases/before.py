# Scalar reads through subscripts, call results, builtins, a loop variable and `.type(...)`.
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable


class Critic(nn.Module):
    def __init__(self):
        super(Critic, self).__init__()
        self.fc = nn.Linear(4, 1)

    def forward(self, x):
        return self.fc(x).mean()


torch.manual_seed(3)
net = nn.Linear(4, 1)
critic = Critic()
crit = nn.MSELoss()
opt = torch.optim.SGD(list(net.parameters()) + list(critic.parameters()), lr=0.1)
X, Y = torch.randn(32, 4), torch.randn(32, 1)
seq = Variable(torch.randn(3, 5, 2))
state = {}
outputs = []
step_losses = []

for step in range(6):
    x, y = Variable(X), Variable(Y)
    out = net(x)
    outputs.append(out)
    loss = crit(out, y) + 0.1 * critic(x)
    state['loss'] = loss
    opt.zero_grad()
    loss.backward()
    opt.step()
    step_losses.append(loss)
    correct = (out > 0).eq(y > 0).sum()
    acc = correct.type(torch.FloatTensor).data[0] / 32
    print(step, state['loss'].data[0], crit(out, y).data[0], out.sum().data[0], critic(x).data[0],
          outputs[-1].data.mean(), acc)

for i in range(seq.size(1)):
    print('column', i, seq[:, i].data.sum())
for l in torch.stack(step_losses):
    print('loss %.5f' % l.data[0])
probs = F.sigmoid(net.forward(Variable(X[:4]))).cpu().data.numpy()
print(probs.round(3))
