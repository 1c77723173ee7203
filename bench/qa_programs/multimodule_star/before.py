# The training script gets torch, nn, F and Variable from `from model import *`.
from model import *

torch.manual_seed(6)
net = Net(8, 16, 2)
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for it in range(10):
    x, y = make_batch(32, 8)
    logits = net(x)
    loss = F.cross_entropy(logits, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    h = Variable(net.fc1(x).data)
    print(it, 'loss %.4f' % loss.data[0], 'acc %.3f' % accuracy(logits, y), 'h %.3f' % h.mean().data[0])
