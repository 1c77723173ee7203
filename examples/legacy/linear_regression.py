# The classic 2017 course demo: a linear model trained by hand-written gradient descent.
import torch
from torch.autograd import Variable

torch.manual_seed(0)

# Data: y = 3x + 2 plus noise.
x_data = torch.linspace(-1, 1, 40).view(-1, 1)
y_data = 3 * x_data + 2 + 0.1 * torch.randn(40, 1)
x = Variable(x_data)
y = Variable(y_data)

w = Variable(torch.randn(1, 1), requires_grad=True)
b = Variable(torch.zeros(1), requires_grad=True)
learning_rate = 0.1

for epoch in range(50):
    y_pred = x.mm(w) + b
    loss = ((y_pred - y) ** 2).mean()
    loss.backward()

    w.data -= learning_rate * w.grad.data
    b.data -= learning_rate * b.grad.data
    w.grad.data.zero_()
    b.grad.data.zero_()

    if epoch % 10 == 0:
        print(epoch, loss.data[0])

print("w = %.3f, b = %.3f" % (w.data[0][0], b.data[0]))
