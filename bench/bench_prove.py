"""Cost of a proof (issue 13): probes to isolate k culprits among n unsafe fixes, and the wall
time of a probe against a plain verify of the same pair, measured in one run.

    .venv/bin/python bench/bench_prove.py                # n = 8, 32, 128; k = 1, 2, a pair
    .venv/bin/python bench/bench_prove.py --sizes 8 --reps 1

The generated tree: `train.py` sums one loss term per unsafe fix, each in a module of 8 terms.
A harmless term wraps non-grad data, `x = Variable(data(step))` (the unsafe wrapper drop is
equivalent there); a culprit wraps a grad-requiring value, `t = Variable(h * 0.5)` (dropping it
lets a gradient through the target); an interacting pair `g = Variable(h); q = Variable(g * 3)`
is harmless with either drop alone and diverges with both.  Culprits sit at seeded random
positions.  Probe counts are compared with the target 2*k*ceil(log2 n) + 2 (the final
re-verification included); "per probe" is the mean wall time of a probe (re-fix of the pinned
files, fresh copy, one after run in the warm worker) divided by the wall time of a plain verify
of the same tree (before, before again, after; no drill-down), both in the same worker.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from varmigrate.config import Settings
from varmigrate.harness.api import verify
from varmigrate.harness.codebase import side_in_tree
from varmigrate.harness.pairs import Options, Pair
from varmigrate.harness.worker import make_executor
from varmigrate.prove.session import prove
from varmigrate.prove.tree import TreeFixer

PER_MODULE = 8

HEADER = '''import torch
from torch.autograd import Variable


def data(step, k):
    g = torch.Generator().manual_seed(step * 1000 + k)
    return torch.randn(4, 3, generator=g)
'''

HARMLESS = '''

def term_{i}(w, step):
    x = Variable(data(step, {i}))
    return x.mm(w).pow(2).mean()
'''

CULPRIT = '''

def term_{i}(w, step):
    h = torch.tanh(data(step, {i}).mm(w))
    t = Variable(h * 0.5)
    return (h - t).pow(2).mean()
'''

PAIR = '''

def term_{i}(w, step):
    h = data(step, {i}).mm(w)
    g = Variable(h)
    q = Variable(g * 3)
    return (h * q).mean()
'''


def make_tree(root: Path, n: int, culprits: int, pair: bool, seed: int) -> None:
    """`n` unsafe fixes: `culprits` breaking ones, or (with `pair`) one interacting pair."""
    rnd = random.Random(seed)
    units = n - (2 if pair else 0)
    kinds = ["ok"] * units
    for pos in rnd.sample(range(units), culprits):
        kinds[pos] = "bad"
    if pair:
        kinds.insert(rnd.randrange(units + 1), "pair")
    root.mkdir(parents=True)
    modules: list[list[int]] = []
    for start in range(0, len(kinds), PER_MODULE):
        modules.append(list(range(start, min(start + PER_MODULE, len(kinds)))))
    imports, calls = [], []
    for m, terms in enumerate(modules):
        body = [HEADER]
        for i in terms:
            body.append({"ok": HARMLESS, "bad": CULPRIT, "pair": PAIR}[kinds[i]].format(i=i))
            calls.append(f"m{m}.term_{i}(w, step)")
        (root / f"m{m}.py").write_text("".join(body))
        imports.append(f"import m{m}")
    (root / "train.py").write_text(
        "import torch\nfrom torch.autograd import Variable\n" + "\n".join(imports) + "\n\n"
        "torch.manual_seed(0)\nw = Variable(torch.randn(3, 2), requires_grad=True)\n"
        "opt = torch.optim.SGD([w], lr=0.01)\n"
        "for step in range(3):\n"
        "    loss = " + " + ".join(calls) + "\n"
        "    opt.zero_grad()\n    loss.backward()\n    opt.step()\n"
        "    print(step, loss.data[0])\n")


def plain_verify(root: Path, work: Path, opts: Options, ex: object) -> float:
    """One plain verify of the tree and its plain fix: before, before again, after."""
    fixer = TreeFixer(root, [root], Settings(unsafe_fixes=True))
    trees = {}
    for role in ("before", "rerun", "after"):
        trees[role] = work / role / root.name
        shutil.copytree(root, trees[role])
    for rel, ff in fixer.default.items():
        (trees["after"] / rel).write_bytes(ff.new)
    entry = ["train.py"]
    pair = Pair("plain", side_in_tree(trees["before"], entry, "before"), side_in_tree(trees["after"], entry, "after"),
                side_in_tree(trees["rerun"], entry, "before"))
    start = time.perf_counter()
    verify([pair], Options(timeout=opts.timeout, jobs=opts.jobs, drilldown=False), ex)  # type: ignore[arg-type]
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 32, 128])
    ap.add_argument("--reps", type=int, default=3, help="trees (seeds) per configuration")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="runs in parallel (a probe is one run here)")
    args = ap.parse_args()
    ex = make_executor("fork")
    opts = Options(jobs=args.jobs)
    warm = Path(tempfile.mkdtemp(prefix="bench-prove-warm-"))
    make_tree(warm / "tree", 8, 1, False, 0)
    plain_verify(warm / "tree", warm / "plain", opts, ex)  # the worker's first runs pay for imports
    shutil.rmtree(warm, ignore_errors=True)
    rows = []
    print(f"{'n':>4} {'culprits':>9} {'probes':>12} {'target':>6} {'ok':>3} {'probe s':>8} {'verify s':>8} "
          f"{'ratio':>6} {'total s':>8}")
    for n in args.sizes:
        for label, k, pair in (("k=1", 1, False), ("k=2", 2, False), ("pair", 0, True)):
            probes, ratios, per_probe, plain, totals, found_all = [], [], [], [], [], True
            for rep in range(args.reps):
                work = Path(tempfile.mkdtemp(prefix="bench-prove-"))
                try:
                    root = work / "tree"
                    make_tree(root, n, k, pair, seed=rep)
                    t_plain = plain_verify(root, work / "plain", opts, ex)
                    out = prove(root, [["train.py"]], Settings(unsafe_fixes=True), opts, ex)
                    expect = 2 if pair else k
                    found = sum(1 + len(kb.partners) for kb in out.kept_back)
                    found_all &= out.proven and found == expect and out.candidates == n
                    probes.append(out.probes)
                    mean_probe = statistics.mean(out.probe_seconds)
                    per_probe.append(mean_probe)
                    plain.append(t_plain)
                    ratios.append(mean_probe / t_plain)
                    totals.append(out.seconds)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
            kk = 2 if pair else k
            target = 2 * kk * math.ceil(math.log2(n)) + 2
            rows.append((n, label, probes, target))
            print(f"{n:>4} {label:>9} {min(probes):>5}-{max(probes):<6} {target:>6} {'yes' if found_all else 'NO':>3} "
                  f"{statistics.median(per_probe):>8.3f} {statistics.median(plain):>8.3f} "
                  f"{statistics.median(ratios):>6.2f} {statistics.median(totals):>8.1f}", flush=True)
    over = [r for r in rows if max(r[2]) > r[3]]
    print("all within the target" if not over else f"over the target: {over}")


if __name__ == "__main__":
    main()
