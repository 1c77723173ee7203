# A small LSTM language model: recurrent parameters initialised through .data, truncated BPTT
# with the hidden state rewrapped, gradient clipping, an LSTMCell with its biases zeroed.
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable


class LM(nn.Module):
    def __init__(self, ntoken, nhid):
        super(LM, self).__init__()
        self.nhid = nhid
        self.embed = nn.Embedding(ntoken, nhid)
        self.rnn = nn.LSTM(nhid, nhid)
        self.cell = nn.LSTMCell(nhid, nhid)
        self.out = nn.Linear(nhid, ntoken)
        self.embed.weight.data.uniform_(-0.1, 0.1)
        self.rnn.weight_ih_l0.data.uniform_(-0.1, 0.1)
        self.rnn.weight_hh_l0.data.uniform_(-0.1, 0.1)
        self.rnn.bias_ih_l0.data.fill_(0)
        self.rnn.bias_hh_l0.data.fill_(0)
        self.rnn.bias_hh_l0.data[nhid:2 * nhid].fill_(1)  # forget gate
        self.cell.bias_ih.data.zero_()
        self.cell.bias_hh.data.zero_()

    def forward(self, inp, hidden):
        emb = self.embed(inp)
        output, hidden = self.rnn(emb, hidden)
        h, c = self.cell(output[-1], (hidden[0][0], hidden[1][0]))
        return self.out(output.view(-1, self.nhid)), h

    def init_hidden(self, bsz):
        weight = next(self.parameters()).data
        return (Variable(weight.new(1, bsz, self.nhid).zero_()),
                Variable(weight.new(1, bsz, self.nhid).zero_()))


def repackage_hidden(h):
    if type(h) == Variable:
        return Variable(h.data)
    return tuple(repackage_hidden(v) for v in h)


torch.manual_seed(12)
ntoken, bptt, bsz = 11, 5, 4
data = (torch.rand(41, bsz) * ntoken).long()
model = LM(ntoken, 8)
opt = torch.optim.SGD(model.parameters(), lr=0.5)
hidden = model.init_hidden(bsz)
total_loss = 0
for i in range(0, data.size(0) - 1, bptt):
    inp = Variable(data[i:i + bptt])
    target = Variable(data[i + 1:i + 1 + bptt].view(-1))
    hidden = repackage_hidden(hidden)
    model.zero_grad()
    output, h = model(inp, hidden)
    loss = F.cross_entropy(output, target) + 0.01 * h.pow(2).mean()
    loss.backward()
    torch.nn.utils.clip_grad_norm(model.parameters(), 0.25)
    opt.step()
    total_loss += loss.data
    print('batch', i // bptt, 'loss %.4f' % loss.data[0])
print('mean loss %.4f' % (total_loss[0] / 8))
