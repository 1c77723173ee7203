# In the style of pytorch/examples mnist (2017), on random data so it runs anywhere.
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.autograd import Variable


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(20, 32)
        self.fc2 = nn.Linear(32, 4)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


def init_weights(m):
    if isinstance(m, nn.Linear):
        m.weight.data.normal_(0.0, 0.02)
        m.bias.data.fill_(0)


torch.manual_seed(2)
data = torch.randn(64, 20)
target = torch.LongTensor(64).random_(0, 4)

model = Net()
model.apply(init_weights)
optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.5)

for epoch in range(5):
    model.train()
    for i in range(0, 64, 16):
        inputs, labels = Variable(data[i:i + 16]), Variable(target[i:i + 16])
        optimizer.zero_grad()
        output = model(inputs)
        loss = F.nll_loss(output, labels)
        loss.backward()
        optimizer.step()

    model.eval()
    test_loss = 0
    correct = 0
    inputs, labels = Variable(data, volatile=True), Variable(target)
    output = model(inputs)
    test_loss += F.nll_loss(output, labels, size_average=False).data[0]
    pred = output.data.max(1, keepdim=True)[1]
    correct += pred.eq(labels.data.view_as(pred)).sum()
    print('epoch {}: loss {:.4f}, accuracy {}/64'.format(epoch, test_loss / 64, correct))
