"""Module-level scripts full of `volatile=True` (issue 15): is the per-line cost of `check` and
`fix` flat in the file's size?

    python bench/volatile_scripts.py                          # 1k, 5k, 20k, 50k lines, both shapes
    python bench/volatile_scripts.py --lines 1000 2000 --shapes dense --timeout 300
    python bench/volatile_scripts.py --write /tmp/scripts     # only write the scripts

Two shapes, both one long module body the way tutorial scripts and exported notebooks are:
`tutorial` repeats a train/evaluate round (a volatile evaluation every ~40 lines, a DQN-style
target with `.volatile = False`, a `to_var(x, volatile=...)` helper); `dense` has two
`Variable(..., volatile=True)` lines in every nine, with accumulators that carry values across
the whole file. Every script is timed as its own process (`check --no-cache -j1` and `fix
--unsafe-fixes --diff -j1`), one run each; the table prints ms per 1,000 lines and, per shape and
command, the ratio of the largest per-line cost to the smallest (target: <= 1.2). `volatile` is
`check --select VM103,VM108`: the parse and the volatile analysis alone. The cost of
the same command on the script's header alone (interpreter start, imports: the same for every
size) is measured in the same run and taken off first.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HEADER = '''\
"""Generated: a 2017-style script run top to bottom."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable


def to_var(x, volatile=False):
    return Variable(x, volatile=volatile)


model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
target_net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
data, labels = torch.randn(64, 8), torch.randint(0, 4, (64,))
total, correct = 0.0, 0
'''

TUTORIAL = '''\
# ---- round {i}
model.train()
for b in range(0, 64, 16):
    inputs, targets = Variable(data[b:b + 16]), Variable(labels[b:b + 16])
    optimizer.zero_grad()
    output = model(inputs)
    loss = F.cross_entropy(output, targets)
    loss.backward()
    optimizer.step()
print("round {i} train loss", loss.data[0])
model.eval()
inputs = Variable(data, volatile=True)
output = model(inputs)
test_loss = F.cross_entropy(output, Variable(labels)).data[0]
pred = output.data.max(1)[1]
correct += pred.eq(labels).sum()
print("round {i} test loss", test_loss, correct)
states = Variable(data[:16])
next_q = target_net(Variable(data[16:32], volatile=True)).max(1)[0]
next_q.volatile = False
expected = Variable(labels[:16].float()) + 0.9 * next_q
q_loss = F.smooth_l1_loss(model(states).max(1)[0], expected)
optimizer.zero_grad()
q_loss.backward()
optimizer.step()
val_out_{i} = model(to_var(data[32:48], volatile=True))
total += val_out_{i}.data.sum()
if total > 1e9:
    print("large", total)
    total = 0.0
hidden_{i} = Variable(torch.zeros(4, 16), volatile=True)
for step in range(3):
    h_in = Variable(data[step:step + 4], volatile=True)
    out_{i} = model(h_in) + hidden_{i}[:, :4]
    hidden_{i} = hidden_{i} * 0.5
    correct += out_{i}.data.max(1)[1].eq(labels[step:step + 4]).sum()
print("round {i} sampled", out_{i}.data.mean())
w_{i} = Variable(torch.randn(8, 4), requires_grad=True)
reg_{i} = (w_{i} ** 2).sum()
reg_{i}.backward()
w_{i}.data -= 0.01 * w_{i}.grad.data
'''

DENSE = '''\
x{i} = Variable(data[{j}:{j} + 8], volatile=True)
h{i} = Variable(torch.zeros(8, 4), volatile=True)
out{i} = model(x{i}) + h{i}
acc = acc + out{i}.sum() if {i} % 7 else out{i}.sum()
correct += out{i}.data.max(1)[1].eq(labels[{j}:{j} + 8]).sum()
total += float(out{i}.data.mean())
w{i} = Variable(torch.randn(4), requires_grad=True)
(w{i} * out{i}.data[0]).sum().backward()
print({i}, total)
'''


def script(shape: str, lines: int) -> str:
    parts = [HEADER] + (["acc = 0\n"] if shape == "dense" else [])
    size = sum(p.count("\n") for p in parts)
    template = TUTORIAL if shape == "tutorial" else DENSE
    i = 0
    while size < lines:
        block = template.format(i=i, j=(i * 8) % 56)
        parts.append(block)
        size += block.count("\n")
        i += 1
    return "".join(parts)


def timed(argv: list[str], timeout: float) -> tuple[float, float, bool]:
    """(wall, CPU user+sys, finished) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, True
        if time.perf_counter() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            return time.perf_counter() - start, float("nan"), False
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, nargs="+", default=[1000, 5000, 20000, 50000])
    ap.add_argument("--shapes", nargs="+", default=["tutorial", "dense"], choices=["tutorial", "dense"])
    ap.add_argument("--commands", nargs="+", default=["volatile", "check", "fix"], choices=["volatile", "check", "fix"],
                    help="volatile: check --select VM103,VM108 (the volatile analysis alone, and the parse)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per process")
    ap.add_argument("--write", type=Path, help="write the scripts to this folder and exit")
    a = ap.parse_args(argv)
    if a.write is not None:
        a.write.mkdir(parents=True, exist_ok=True)
        for shape in a.shapes:
            for n in a.lines:
                (a.write / f"{shape}_{n}.py").write_text(script(shape, n))
        return 0
    commands = {
        "volatile": ["check", "--no-cache", "-j", "1", "--exit-zero", "-q", "--select", "VM103,VM108"],
        "check": ["check", "--no-cache", "-j", "1", "--exit-zero", "-q"],
        "fix": ["fix", "--unsafe-fixes", "--diff", "-j", "1"],
    }
    print(f"{'shape':9} {'command':8} {'lines':>7} {'wall s':>8} {'CPU s':>8} {'ms/1k lines':>12}")
    ratios: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory(prefix="vm-volatile-") as tmp:
        (Path(tmp) / "pyproject.toml").write_text("[tool.varmigrate]\n")
        header = Path(tmp) / "header.py"
        header.write_text(HEADER)
        base: dict[str, float] = {}
        for command in a.commands:
            runs = [timed([sys.executable, "-m", "varmigrate", *commands[command], str(header)], a.timeout)[1]
                    for _ in range(3)]
            base[command] = min(runs)
            print(f"{'header':9} {command:8} {HEADER.count(chr(10)):7} {'':8} {base[command]:8.2f}   (taken off below)")
        for shape in a.shapes:
            for command in a.commands:
                costs: list[float] = []
                for n in a.lines:
                    text = script(shape, n)
                    path = Path(tmp) / f"{shape}_{n}.py"
                    path.write_text(text)
                    real = text.count("\n")
                    wall, cpu, done = timed([sys.executable, "-m", "varmigrate", *commands[command], str(path)],
                                            a.timeout)
                    per = 1000 * (cpu - base[command]) / real * 1000 if done else float("nan")
                    if done:
                        costs.append(per)
                    mark = "" if done else f"  (killed after {a.timeout:.0f} s)"
                    print(f"{shape:9} {command:8} {real:7} {wall:8.2f} {cpu:8.2f} {per:12.1f}{mark}", flush=True)
                if len(costs) == len(a.lines) and costs:
                    ratios.append((shape, command, max(costs) / min(costs)))
                else:
                    ratios.append((shape, command, float("nan")))
    print()
    for shape, command, ratio in ratios:
        verdict = "PASS" if ratio <= 1.2 else "MISS"
        print(f"per-line cost, largest/smallest, {shape} {command}: {ratio:.2f} (target <= 1.2: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
