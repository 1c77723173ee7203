"""Benchmark: the warm pre-fork worker against a fresh interpreter per run, in the same run.

20 tiny before/after pairs (legacy linear regression and an nn.Module + SGD classifier with
5-24 steps), two runs per pair (before under the shim, after).  Prints per-pair figures, the
totals, the ratio and whether the targets hold (>= 20x faster, <= 0.15 s per pair amortized,
worker start-up included).  Also checks that both executors record bitwise-identical traces.

    .venv/bin/python bench/bench_harness.py [--pairs 20] [--fresh-pairs 20] [--jobs 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from varmigrate.harness.compare import Tier, Trace, compare_traces  # noqa: E402
from varmigrate.harness.spec import RunResult, RunSpec  # noqa: E402
from varmigrate.harness.verdict import decide  # noqa: E402
from varmigrate.harness.worker import Executor, ForkWorker, FreshExecutor  # noqa: E402

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


def specs(pairs: list[tuple[str, Path, Path]], work: Path) -> list[RunSpec]:
    out = []
    for name, before, after in pairs:
        for role, path in (("before", before), ("after", after)):
            cwd = work / name / role / "cwd"
            cwd.mkdir(parents=True)
            out.append(RunSpec(run_id=f"{name}:{role}", kind="script", target=str(path),
                               out_dir=str(work / name / role / "trace"), cwd=str(cwd),
                               sys_path0=str(path.parent), shim=role == "before", timeout=120))
    return out


def run_all(ex: Executor, all_specs: list[RunSpec], jobs: int) -> tuple[float, list[RunResult]]:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(ex.run, all_specs))
    return time.perf_counter() - start, results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--fresh-pairs", type=int, default=None, help="fresh-subprocess pairs (default: all)")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="varmigrate-bench-"))
    try:
        pairs = make_pairs(tmp / "pairs", args.pairs)
        n_fresh = args.pairs if args.fresh_pairs is None else min(args.fresh_pairs, args.pairs)

        t0 = time.perf_counter()
        worker = ForkWorker()
        startup = time.perf_counter() - t0
        fork_specs = specs(pairs, tmp / "fork")
        fork_s, fork_res = run_all(worker, fork_specs, args.jobs)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        fork2_s = None
        if args.jobs == 1:
            fork2_s, _ = run_all(worker, specs(pairs, tmp / "fork2"), 2)
        worker.close()

        fresh_specs = specs(pairs[:n_fresh], tmp / "fresh")
        fresh_s, fresh_res = run_all(FreshExecutor(), fresh_specs, args.jobs)

        print(f"{'pair':<8} {'events':>6} {'verdict':<10} {'fork s/pair':>11} {'(cpu)':>6} "
              f"{'fresh s/pair':>12} {'(cpu)':>6} {'ratio':>6} trace")
        same_all = True
        for i, (name, _, _) in enumerate(pairs):
            fb, fa = fork_res[2 * i], fork_res[2 * i + 1]
            verdict = decide(fb, None, fa).verdict
            fork_pair = fb.wall_s + fa.wall_s
            row = (f"{name:<8} {fb.summary.get('events', 0):>6} {verdict:<10} {fork_pair:>11.3f} "
                   f"{fb.cpu_s + fa.cpu_s:>6.3f}")
            if i < n_fresh:
                rb, ra = fresh_res[2 * i], fresh_res[2 * i + 1]
                fresh_pair = rb.wall_s + ra.wall_s
                same = all(compare_traces(Trace.load(x.out_dir, x.summary), Trace.load(y.out_dir, y.summary)).tier
                           == Tier.IDENTICAL for x, y in ((fb, rb), (fa, ra)))
                same_all &= same
                row += (f" {fresh_pair:>12.3f} {rb.cpu_s + ra.cpu_s:>6.3f} {fresh_pair / fork_pair:>5.1f}x "
                        f"{'identical' if same else 'DIFFERENT'}")
            print(row)
        per_fork = (fork_s + startup) / len(pairs)
        per_fresh = fresh_s / n_fresh
        print()
        print(f"load average: {load:.2f} on {os.cpu_count()} cores (figures inflate above ~1 per core)")
        print(f"fork worker : start-up {startup:.2f} s, {len(pairs)} pairs in {fork_s:.2f} s "
              f"({fork_s / len(pairs):.3f} s/pair, {per_fork:.3f} s/pair amortized incl. start-up, -j {args.jobs})")
        if fork2_s is not None:
            print(f"fork worker : {len(pairs)} pairs in {fork2_s:.2f} s with -j 2 "
                  f"({(fork2_s) / len(pairs):.3f} s/pair)")
        print(f"fresh       : {n_fresh} pairs in {fresh_s:.2f} s ({per_fresh:.3f} s/pair, -j {args.jobs})")
        cpu_fork = sum(r.cpu_s for r in fork_res) / len(pairs)
        cpu_fresh = sum(r.cpu_s for r in fresh_res) / n_fresh
        print(f"cpu time    : fork {cpu_fork:.3f} s/pair, fresh {cpu_fresh:.3f} s/pair "
              f"({cpu_fresh / cpu_fork:.1f}x; children only, load-independent)")
        steady = per_fresh / (fork_s / len(pairs))
        ratio = per_fresh / per_fork
        print(f"ratio       : {steady:.1f}x faster per pair steady-state, {ratio:.1f}x with the worker's "
              f"start-up amortized over {len(pairs)} pairs; traces "
              f"{'bitwise identical' if same_all else 'DIFFERENT'} across executors")
        ok = steady >= 20 and per_fork <= 0.15 and same_all
        print(f"targets     : >=20x (steady-state) {'met' if steady >= 20 else 'MISSED'}, "
              f"<=0.15 s/pair amortized incl. start-up {'met' if per_fork <= 0.15 else 'MISSED'}")
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
