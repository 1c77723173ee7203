# WGAN critic and generator updates with backward(one) / backward(mone) on mean() outputs,
# weight clipping through .data, and a frozen generator pass for the critic.
import torch
import torch.nn as nn
from torch.autograd import Variable


class Critic(nn.Module):
    def __init__(self):
        super(Critic, self).__init__()
        self.main = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, x):
        return self.main(x).mean()


torch.manual_seed(8)
netG = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 2))
netD = Critic()
optD = torch.optim.RMSprop(netD.parameters(), lr=5e-4)
optG = torch.optim.RMSprop(netG.parameters(), lr=5e-4)
one = torch.FloatTensor([1])
mone = one * -1
data = torch.randn(256, 2) * 0.3 + 2.0

for gen_iter in range(5):
    for p in netD.parameters():
        p.requires_grad = True
    for d_iter in range(3):
        for p in netD.parameters():
            p.data.clamp_(-0.05, 0.05)
        netD.zero_grad()
        real = Variable(data[d_iter * 32:(d_iter + 1) * 32])
        errD_real = netD(real)
        errD_real.backward(one)
        noise = torch.randn(32, 3)
        noisev = Variable(noise, volatile=True)  # totally freeze netG
        fake = Variable(netG(noisev).data)
        errD_fake = netD(fake)
        errD_fake.backward(mone)
        errD = errD_real - errD_fake
        optD.step()
    for p in netD.parameters():
        p.requires_grad = False
    netG.zero_grad()
    errG = netD(netG(Variable(torch.randn(32, 3))))
    errG.backward(one)
    optG.step()
    print('[%d] Loss_D: %f Loss_G: %f' % (gen_iter, errD.data[0], errG.data[0]))
