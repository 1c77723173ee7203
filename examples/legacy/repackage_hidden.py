# Truncated back-propagation through time, as in pytorch/examples word_language_model (2017).
import torch
import torch.nn as nn
from torch.autograd import Variable


def repackage_hidden(h):
    """Wraps hidden states in new Variables, to detach them from their history."""
    if type(h) == Variable:
        return Variable(h.data)
    else:
        return tuple(repackage_hidden(v) for v in h)


torch.manual_seed(3)
rnn = nn.LSTM(8, 16)
decoder = nn.Linear(16, 8)
params = list(rnn.parameters()) + list(decoder.parameters())
data = Variable(torch.randn(40, 2, 8))
hidden = (Variable(torch.zeros(1, 2, 16)), Variable(torch.zeros(1, 2, 16)))
lr = 0.5

for i in range(0, 36, 4):
    hidden = repackage_hidden(hidden)
    inputs, targets = data[i:i + 4], data[i + 1:i + 5]
    output, hidden = rnn(inputs, hidden)
    loss = ((decoder(output) - targets) ** 2).mean()
    for p in params:
        p.grad = None
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 0.25)
    for p in params:
        p.data.add_(-lr, p.grad.data)
    print(i, loss.data[0])
