# Hand migration of before.py: the test pass runs under torch.no_grad().
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(20, 32)
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(32, 4)

    def forward(self, x):
        x = self.drop(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


torch.manual_seed(18)
train_x, train_y = torch.randn(128, 20), (torch.rand(128) * 4).long()
test_x, test_y = torch.randn(64, 20), (torch.rand(64) * 4).long()
model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)


def train(epoch):
    model.train()
    for batch_idx in range(4):
        data = train_x[batch_idx * 32:(batch_idx + 1) * 32]
        target = train_y[batch_idx * 32:(batch_idx + 1) * 32]
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % 2 == 0:
            print('Train Epoch: {} [{}]\tLoss: {:.6f}'.format(epoch, batch_idx * 32, loss.item()))


def test():
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for batch_idx in range(2):
            data = test_x[batch_idx * 32:(batch_idx + 1) * 32]
            target = test_y[batch_idx * 32:(batch_idx + 1) * 32]
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            pred = output.max(1, keepdim=True)[1]
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= 64
    print('Test set: Average loss: {:.4f}, Accuracy: {}/64'.format(test_loss, correct))


for epoch in range(1, 4):
    train(epoch)
    test()
