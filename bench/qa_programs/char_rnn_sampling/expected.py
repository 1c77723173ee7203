# Hand migration of before.py: generation runs under torch.no_grad().
import torch
import torch.nn as nn
import torch.nn.functional as F


class CharRNN(nn.Module):
    def __init__(self, n_chars, n_hidden):
        super(CharRNN, self).__init__()
        self.n_hidden = n_hidden
        self.encoder = nn.Embedding(n_chars, n_hidden)
        self.gru = nn.GRU(n_hidden, n_hidden)
        self.decoder = nn.Linear(n_hidden, n_chars)

    def forward(self, inp, hidden):
        out, hidden = self.gru(self.encoder(inp), hidden)
        return self.decoder(out.view(-1, self.n_hidden)), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return weight.new_zeros(1, bsz, self.n_hidden)


torch.manual_seed(19)
text = "hello world, hello torch. "
chars = sorted(set(text))
idx = torch.LongTensor([chars.index(c) for c in text])
model = CharRNN(len(chars), 12)
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(6):
    hidden = model.init_hidden(1)
    inp = idx[:-1].view(-1, 1)
    target = idx[1:]
    output, hidden = model(inp, hidden)
    loss = F.cross_entropy(output, target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print('step', step, 'loss %.4f' % loss.item())

temperature = 0.8
sample = []
with torch.no_grad():
    hidden = model.init_hidden(1)
    inp = torch.LongTensor([[chars.index('h')]])
    for i in range(20):
        output, hidden = model(inp, hidden)
        char_weights = output.squeeze().div(temperature).exp()
        char_idx = torch.multinomial(char_weights, 1)[0]
        inp.fill_(char_idx)
        sample.append(chars[char_idx])
print(''.join(sample))
