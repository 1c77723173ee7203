"""Benchmark: the warm pre-fork worker against a fresh interpreter per run, in the same run.

20 tiny before/after pairs (legacy linear regression and an nn.Module + SGD classifier with
5-24 steps), verified through the real pipeline (``api.run_pairs``: before, the before
re-run of the determinism gate, and after; three runs per pair) once on each executor.
Prints per-pair figures, the totals, the ratio and whether the targets hold (>= 20x faster,
<= 0.15 s per pair amortized with the worker's start-up included, at the default ``-j``,
one run per core).  Also checks that both executors record bitwise-identical traces.

    .venv/bin/python bench/bench_harness.py [--pairs 20] [--fresh-pairs 6] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from varmigrate.harness.api import run_pairs  # noqa: E402
from varmigrate.harness.compare import Tier, Trace, compare_traces  # noqa: E402
from varmigrate.harness.pairs import Options, Pair, PairResult, Side  # noqa: E402
from varmigrate.harness.worker import Executor, ForkWorker, FreshExecutor, default_jobs  # noqa: E402

LINREG = """import torch
{imp}
torch.manual_seed({seed})
x = {wrap}(torch.randn(16, 1))
y = {wrap}(2.0 * x.data + 1.0)
w = {param}
b = {bias}
for t in range({steps}):
    loss = (x.mm(w) + b - y).pow(2).mean()
    {show}
    loss.backward()
{update}
"""

MLP = """import torch
import torch.nn as nn
{imp}
torch.manual_seed({seed})
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
data = {wrap}(torch.randn(32, 8))
target = {wrap}(torch.randint(0, 3, (32,)))
for t in range({steps}):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(data), target)
    loss.backward()
    opt.step()
    {show}
"""


def make_pairs(root: Path, n: int) -> list[tuple[str, Path, Path]]:
    legacy = dict(imp="from torch.autograd import Variable", wrap="Variable",
                  show="print(t, loss.data[0])")
    modern = dict(imp="", wrap="", show="print(t, loss.item())")
    pairs = []
    for i in range(n):
        steps = 5 + i
        d = root / f"pair{i:02d}"
        d.mkdir(parents=True)
        if i % 2 == 0:
            before = LINREG.format(seed=i, steps=steps, **legacy,
                                   param="Variable(torch.randn(1, 1), requires_grad=True)",
                                   bias="Variable(torch.randn(1), requires_grad=True)",
                                   update="    w.data -= 0.1 * w.grad.data\n    b.data -= 0.1 * b.grad.data\n"
                                          "    w.grad.data.zero_()\n    b.grad.data.zero_()")
            after = LINREG.format(seed=i, steps=steps, **modern, param="torch.randn(1, 1, requires_grad=True)",
                                  bias="torch.randn(1, requires_grad=True)",
                                  update="    with torch.no_grad():\n        w -= 0.1 * w.grad\n"
                                         "        b -= 0.1 * b.grad\n        w.grad.zero_()\n        b.grad.zero_()")
            after = after.replace("x.data", "x.detach()")
        else:
            before = MLP.format(seed=i, steps=steps, **legacy)
            after = MLP.format(seed=i, steps=steps, **modern)
        (d / "before.py").write_text(before)
        (d / "after.py").write_text(after.replace("()(", "("))
        pairs.append((d.name, d / "before.py", d / "after.py"))
    return pairs


def as_pairs(raw: list[tuple[str, Path, Path]]) -> list[Pair]:
    return [Pair(name, Side.for_file(before), Side.for_file(after)) for name, before, after in raw]


def verify_all(ex: Executor, pairs: list[Pair], jobs: int, work: Path) -> tuple[float, list[PairResult]]:
    opts = Options(jobs=jobs, drilldown=False)
    start = time.perf_counter()
    work.mkdir(parents=True)
    results = list(run_pairs(pairs, opts, ex, work_dir=work))
    return time.perf_counter() - start, results


def same_traces(a: PairResult, b: PairResult) -> bool:
    return all(compare_traces(Trace.load(a.runs[r].out_dir, a.runs[r].summary),
                              Trace.load(b.runs[r].out_dir, b.runs[r].summary)).tier == Tier.IDENTICAL
               for r in ("before", "after"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--fresh-pairs", type=int, default=6, help="pairs verified with the fresh executor")
    ap.add_argument("--jobs", type=int, default=default_jobs(), help="default: one run per core")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="varmigrate-bench-"))
    try:
        pairs = as_pairs(make_pairs(tmp / "pairs", args.pairs))
        n_fresh = min(args.fresh_pairs, args.pairs)

        t0 = time.perf_counter()
        worker = ForkWorker()
        startup = time.perf_counter() - t0
        fork_s, fork_res = verify_all(worker, pairs, args.jobs, tmp / "fork")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        fork1_s = None
        if args.jobs != 1:
            fork1_s, _ = verify_all(worker, pairs, 1, tmp / "fork1")
        worker.close()
        fresh_s, fresh_res = verify_all(FreshExecutor(), pairs[:n_fresh], args.jobs, tmp / "fresh")

        print(f"{'pair':<8} {'events':>6} {'verdict':<10} {'fork s/pair':>11} {'(cpu)':>6} "
              f"{'fresh s/pair':>12} {'(cpu)':>6} {'ratio':>6} trace")
        same_all = True
        all_ok = True
        for i, res in enumerate(fork_res):
            cpu = sum(r.cpu_s for r in res.runs.values())
            all_ok &= res.decision.ok
            row = (f"{res.pair.name:<8} {res.runs['before'].summary.get('events', 0):>6} "
                   f"{res.decision.verdict:<10} {res.seconds:>11.3f} {cpu:>6.3f}")
            if i < n_fresh:
                fr = fresh_res[i]
                same = same_traces(res, fr)
                same_all &= same
                fcpu = sum(r.cpu_s for r in fr.runs.values())
                row += (f" {fr.seconds:>12.3f} {fcpu:>6.3f} {fr.seconds / res.seconds:>5.1f}x "
                        f"{'identical' if same else 'DIFFERENT'}")
            print(row)
        n = len(pairs)
        per_fork = (fork_s + startup) / n
        per_fresh = fresh_s / n_fresh
        print()
        print(f"load average: {load:.2f} on {os.cpu_count()} cores (figures inflate above ~1 per core)")
        print(f"fork worker : start-up {startup:.2f} s (warm-up {worker.ready.get('warm_s', 0):.2f} s), "
              f"{n} pairs in {fork_s:.2f} s with -j {args.jobs} ({fork_s / n:.3f} s/pair; "
              f"{per_fork:.3f} s/pair amortized incl. start-up)")
        if fork1_s is not None:
            print(f"fork worker : {n} pairs in {fork1_s:.2f} s with -j 1 ({fork1_s / n:.3f} s/pair; "
                  f"{(fork1_s + startup) / n:.3f} s/pair amortized incl. start-up)")
        print(f"fresh       : {n_fresh} pairs in {fresh_s:.2f} s with -j {args.jobs} ({per_fresh:.3f} s/pair)")
        cpu_fork = sum(r.cpu_s for res in fork_res for r in res.runs.values()) / n
        cpu_fresh = sum(r.cpu_s for res in fresh_res for r in res.runs.values()) / n_fresh
        print(f"cpu time    : fork {cpu_fork:.3f} s/pair, fresh {cpu_fresh:.3f} s/pair "
              f"({cpu_fresh / cpu_fork:.1f}x; children only, load-independent)")
        steady = per_fresh / (fork_s / n)
        print(f"ratio       : {steady:.1f}x faster per pair steady-state, {per_fresh / per_fork:.1f}x with the "
              f"worker's start-up amortized over {n} pairs; traces "
              f"{'bitwise identical' if same_all else 'DIFFERENT'} across executors")
        print(f"targets     : >=20x (steady-state) {'met' if steady >= 20 else 'MISSED'}, "
              f"<=0.15 s/pair amortized incl. start-up {'met' if per_fork <= 0.15 else 'MISSED'}"
              f"{'' if all_ok else '; SOME PAIRS NOT IDENTICAL'}")
        return 0 if steady >= 20 and per_fork <= 0.15 and same_all and all_ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
