# After jcjohnson/pytorch-examples (2017): a two-layer net with autograd and manual updates.
import torch
from torch.autograd import Variable

dtype = torch.FloatTensor
N, D_in, H, D_out = 16, 50, 20, 5

torch.manual_seed(1)
x = Variable(torch.randn(N, D_in).type(dtype), requires_grad=False)
y = Variable(torch.randn(N, D_out).type(dtype), requires_grad=False)

w1 = Variable(torch.randn(D_in, H).type(dtype), requires_grad=True)
w2 = Variable(torch.randn(H, D_out).type(dtype), requires_grad=True)

learning_rate = 1e-4
for t in range(30):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    if t % 10 == 0:
        print(t, loss.data[0])

    loss.backward()

    # Update weights using gradient descent.
    w1.data -= learning_rate * w1.grad.data
    w2.data -= learning_rate * w2.grad.data

    # Manually zero the gradients after updating weights.
    w1.grad.data.zero_()
    w2.grad.data.zero_()
