"""Generate the benchmark corpus: research-repo code as written in 2017-2019, legacy and modern.

    python bench/generate_corpus.py [--files 600] [--seed 0] [--out bench/corpus]

Deterministic for a given seed. File kinds (models, training scripts, data loading, utilities)
and sizes (50-800 lines) follow what 0.3-era repositories look like: roughly half legacy autograd
code (`Variable`, `volatile=True`, `loss.data[0]`), a third already modern (`torch.no_grad()`,
`.item()`), the rest plain Python helpers that never mention torch.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent

LEGACY_HEADER = """\
# -*- coding: utf-8 -*-
\"\"\"{title}\"\"\"
from __future__ import print_function
import os
import time
import math
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.autograd import Variable
"""

MODERN_HEADER = """\
\"\"\"{title}\"\"\"
import os
import time
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
"""

PLAIN_HEADER = """\
\"\"\"{title}\"\"\"
import os
import sys
import json
import shutil
import logging
from collections import OrderedDict, defaultdict

logger = logging.getLogger(__name__)
"""

# ---- legacy blocks ------------------------------------------------------------------------
LEGACY_BLOCKS = [
    """
class RNNModel{n}(nn.Module):
    \"\"\"Container module with an encoder, a recurrent module, and a decoder.\"\"\"

    def __init__(self, ntoken, ninp, nhid, nlayers, dropout=0.5):
        super(RNNModel{n}, self).__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nhid = nhid
        self.nlayers = nlayers
        self.init_weights()

    def init_weights(self):
        initrange = 0.1
        self.encoder.weight.data.uniform_(-initrange, initrange)
        self.decoder.bias.data.fill_(0)
        self.decoder.weight.data.uniform_(-initrange, initrange)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output.view(output.size(0) * output.size(1), output.size(2)))
        return decoded.view(output.size(0), output.size(1), decoded.size(1)), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters()).data
        return (Variable(weight.new(self.nlayers, bsz, self.nhid).zero_()),
                Variable(weight.new(self.nlayers, bsz, self.nhid).zero_()))
""",
    """
def repackage_hidden{n}(h):
    \"\"\"Wraps hidden states in new Variables, to detach them from their history.\"\"\"
    if type(h) == Variable:
        return Variable(h.data)
    else:
        return tuple(repackage_hidden{n}(v) for v in h)
""",
    """
def train_epoch{n}(model, train_loader, optimizer, epoch, use_cuda=True, log_interval=10):
    model.train()
    total_loss = 0
    for batch_idx, (data, target) in enumerate(train_loader):
        if use_cuda:
            data, target = data.cuda(), target.cuda({cuda_kw})
        data, target = Variable(data), Variable(target)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        total_loss += loss.data[0]
        if batch_idx % log_interval == 0:
            print('Train Epoch: {{}} [{{}}/{{}} ({{:.0f}}%)]\\tLoss: {{:.6f}}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.data[0]))
    return total_loss / len(train_loader)
""",
    """
def evaluate{n}(model, test_loader, use_cuda=True):
    model.eval()
    test_loss = 0
    correct = 0
    for data, target in test_loader:
        if use_cuda:
            data, target = data.cuda(), target.cuda()
        data, target = Variable(data, volatile=True), Variable(target)
        output = model(data)
        test_loss += F.nll_loss(output, target, size_average=False).data[0]
        pred = output.data.max(1, keepdim=True)[1]
        correct += pred.eq(target.data.view_as(pred)).cpu().sum()
    test_loss /= len(test_loader.dataset)
    return test_loss, 100. * correct / len(test_loader.dataset)
""",
    """
class Discriminator{n}(nn.Module):
    def __init__(self, ndf=64, nc=3):
        super(Discriminator{n}, self).__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
            nn.Sigmoid()
        )

    def forward(self, input):
        output = self.main(input)
        return output.view(-1, 1).squeeze(1)


def gan_step{n}(netD, netG, optimizerD, optimizerG, real, nz, criterion):
    batch_size = real.size(0)
    label = torch.FloatTensor(batch_size)
    noise = torch.FloatTensor(batch_size, nz, 1, 1)
    netD.zero_grad()
    inputv = Variable(real)
    labelv = Variable(label.fill_(1))
    output = netD(inputv)
    errD_real = criterion(output, labelv)
    errD_real.backward()
    noisev = Variable(noise.normal_(0, 1))
    fake = netG(noisev)
    labelv = Variable(label.fill_(0))
    output = netD(fake.detach())
    errD_fake = criterion(output, labelv)
    errD_fake.backward()
    optimizerD.step()
    netG.zero_grad()
    labelv = Variable(label.fill_(1))
    output = netD(fake)
    errG = criterion(output, labelv)
    errG.backward(retain_variables=True)
    optimizerG.step()
    return errD_real.data[0] + errD_fake.data[0], errG.data[0]
""",
    """
def sample_z{n}(batch_size, dim, use_cuda=False):
    z = torch.randn(batch_size, dim)
    if use_cuda:
        z = z.cuda()
    return Variable(z, requires_grad=False)


def gradient_penalty{n}(netD, real_data, fake_data, lam=10.0):
    alpha = torch.rand(real_data.size(0), 1)
    alpha = alpha.expand(real_data.size())
    interpolates = alpha * real_data + ((1 - alpha) * fake_data)
    interpolates = Variable(interpolates, requires_grad=True)
    disc_interpolates = netD(interpolates)
    gradients = torch.autograd.grad(outputs=disc_interpolates, inputs=interpolates,
                                    grad_outputs=torch.ones(disc_interpolates.size()),
                                    create_graph=True, retain_graph=True, only_inputs=True)[0]
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean() * lam
""",
    """
class Attention{n}(nn.Module):
    def __init__(self, hidden_size):
        super(Attention{n}, self).__init__()
        self.attn = nn.Linear(hidden_size * 2, hidden_size)
        self.v = nn.Parameter(torch.rand(hidden_size))
        stdv = 1. / math.sqrt(self.v.size(0))
        self.v.data.normal_(mean=0, std=stdv)

    def forward(self, hidden, encoder_outputs):
        timestep = encoder_outputs.size(0)
        h = hidden.repeat(timestep, 1, 1).transpose(0, 1)
        encoder_outputs = encoder_outputs.transpose(0, 1)
        energy = F.softmax(self.attn(torch.cat([h, encoder_outputs], 2)))
        energy = energy.transpose(1, 2)
        v = self.v.repeat(encoder_outputs.size(0), 1).unsqueeze(1)
        energy = torch.bmm(v, energy)
        return F.relu(energy.squeeze(1)).unsqueeze(1)


def init_decoder_state{n}(batch_size, hidden_size, use_cuda):
    h0 = Variable(torch.zeros(1, batch_size, hidden_size))
    return h0.cuda() if use_cuda else h0
""",
    """
def to_var{n}(x, volatile=False):
    if torch.cuda.is_available():
        x = x.cuda()
    return Variable(x, volatile=volatile)


def to_np{n}(x):
    return x.data.cpu().numpy()


def is_var{n}(x):
    return isinstance(x, Variable)
""",
]

# ---- modern blocks ------------------------------------------------------------------------
MODERN_BLOCKS = [
    """
class ConvNet{n}(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.layer1 = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=5, stride=1, padding=2),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2))
        self.layer2 = nn.Sequential(
            nn.Conv2d(16, 32, kernel_size=5, stride=1, padding=2),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2))
        self.fc = nn.Linear(7 * 7 * 32, num_classes)

    def forward(self, x):
        out = self.layer1(x)
        out = self.layer2(out)
        out = out.reshape(out.size(0), -1)
        return self.fc(out)
""",
    """
def train_one_epoch{n}(model, loader, optimizer, device, epoch):
    model.train()
    running = 0.0
    for step, (images, labels) in enumerate(loader):
        images = images.to(device)
        labels = labels.to(device)
        outputs = model(images)
        loss = F.cross_entropy(outputs, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running += loss.item()
        if (step + 1) % 100 == 0:
            print(f"Epoch {{epoch}} step {{step + 1}}: loss {{running / (step + 1):.4f}}")
    return running / max(1, len(loader))
""",
    """
@torch.no_grad()
def evaluate{n}(model, loader, device):
    model.eval()
    correct = 0
    total = 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        outputs = model(images)
        _, predicted = torch.max(outputs, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
    return 100.0 * correct / max(1, total)
""",
    """
class ResidualBlock{n}(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        return self.relu(out + residual)
""",
    """
class TextDataset{n}(torch.utils.data.Dataset):
    def __init__(self, path, vocab, max_len=128):
        with open(path) as handle:
            self.lines = [line.strip() for line in handle if line.strip()]
        self.vocab = vocab
        self.max_len = max_len

    def __len__(self):
        return len(self.lines)

    def __getitem__(self, index):
        tokens = [self.vocab.get(w, 1) for w in self.lines[index].split()][: self.max_len]
        tokens = tokens + [0] * (self.max_len - len(tokens))
        return torch.tensor(tokens, dtype=torch.long)
""",
    """
def save_checkpoint{n}(state, is_best, folder="checkpoints"):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "last.pth")
    torch.save(state, path)
    if is_best:
        torch.save(state, os.path.join(folder, "best.pth"))


def load_checkpoint{n}(model, optimizer, path, device="cpu"):
    state = torch.load(path, map_location=device)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return state.get("epoch", 0)
""",
]

# ---- plain Python blocks ------------------------------------------------------------------
PLAIN_BLOCKS = [
    """
class AverageMeter{n}(object):
    \"\"\"Computes and stores the average and current value.\"\"\"

    def __init__(self):
        self.reset()

    def reset(self):
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count
""",
    """
def load_config{n}(path, overrides=None):
    with open(path) as handle:
        config = json.load(handle)
    for key, value in (overrides or {{}}).items():
        node = config
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {{}})
        node[parts[-1]] = value
    return config


def ensure_dir{n}(path):
    if not os.path.isdir(path):
        os.makedirs(path)
    return path
""",
    """
def build_vocab{n}(lines, min_count=2, specials=("<pad>", "<unk>", "<bos>", "<eos>")):
    counts = defaultdict(int)
    for line in lines:
        for word in line.split():
            counts[word] += 1
    vocab = OrderedDict((s, i) for i, s in enumerate(specials))
    for word, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if count >= min_count and word not in vocab:
            vocab[word] = len(vocab)
    logger.info("vocabulary: %d words", len(vocab))
    return vocab
""",
    """
def adjust_learning_rate{n}(optimizer, epoch, base_lr, decay=0.1, every=30):
    lr = base_lr * (decay ** (epoch // every))
    for param_group in optimizer.param_groups:
        param_group['lr'] = lr
    return lr


def copy_tree{n}(src, dst, ignore=('.git', '__pycache__')):
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(*ignore))
""",
]

MAIN_LEGACY = """

if __name__ == '__main__':
    import argparse
    parser = argparse.ArgumentParser(description='{title}')
    parser.add_argument('--lr', type=float, default=0.01)
    parser.add_argument('--epochs', type=int, default=10)
    args = parser.parse_args()
    x = Variable(torch.randn(4, 10))
    print(x.data.sum())
"""

MAIN_MODERN = """

if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(description="{title}")
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()
    print(torch.randn(4, 10).sum().item())
"""

KINDS: list[tuple[str, float, str, list[str], str]] = [
    # name, share, header, blocks, main
    ("legacy", 0.45, LEGACY_HEADER, LEGACY_BLOCKS + PLAIN_BLOCKS[:1], MAIN_LEGACY),
    ("modern", 0.35, MODERN_HEADER, MODERN_BLOCKS + PLAIN_BLOCKS[:2], MAIN_MODERN),
    ("plain", 0.20, PLAIN_HEADER, PLAIN_BLOCKS, ""),
]
FOLDERS = ["models", "train", "data", "utils", "experiments", "scripts"]


def make_file(rng: random.Random, kind: str, header: str, blocks: list[str], main: str, title: str) -> str:
    target = int(rng.triangular(50, 800, 220))
    # `.cuda(async=True)` (a syntax error since Python 3.7) in a quarter of the legacy files.
    cuda_kw = "async=True" if rng.random() < 0.25 else ""
    parts = [header.format(title=title)]
    lines = parts[0].count("\n")
    n = 0
    while lines < target:
        block = rng.choice(blocks).format(n=n or "", cuda_kw=cuda_kw)
        n += 1
        parts.append(block)
        lines += block.count("\n")
    if main:
        parts.append(main.format(title=title))
    return "".join(parts)


def generate(out: Path, files: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    # Its own (empty) configuration: the repository's pyproject.toml excludes bench/corpus.
    (out / "pyproject.toml").write_text("[tool.varmigrate]\n", encoding="utf-8")
    written = []
    for index in range(files):
        pick = rng.random()
        acc = 0.0
        for entry in KINDS:
            acc += entry[1]
            if pick <= acc:
                break
        kind, _, header, blocks, main = entry
        repo = f"repo{index // 60:02d}"
        folder = out / repo / rng.choice(FOLDERS)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{kind}_{index:04d}.py"
        path.write_text(make_file(rng, kind, header, blocks, main, f"{repo} {kind} module {index}"), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "corpus")
    args = parser.parse_args(argv)
    written = generate(args.out, args.files, args.seed)
    total = sum(p.read_text().count("\n") for p in written)
    print(f"wrote {len(written)} files, {total} lines, to {args.out}")


if __name__ == "__main__":
    main()
