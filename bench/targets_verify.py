"""`verify`'s start-up and throughput targets (issue 15), as ratios measured in one run.

    .venv/bin/python bench/targets_verify.py [--repeat 5] [--pairs 20]

Two targets, the rows of ``measure()`` (the bench target table imports it):

- ``verify one tiny pair vs import torch``: the wall time of the whole CLI,
  ``python -m varmigrate verify before.py after.py`` on the bench's smallest pair (the legacy linear
  regression: before, its re-run and after, start-up of the CLI and of the warm worker included),
  divided by that of ``python -c "import torch"``; both are started alternately ``repeat`` times by
  this process and the medians are compared. Limit 1.6x.
- ``verify 20 pairs amortized``: ``bench_harness.py``'s 20 pairs (linear regressions and SGD
  classifiers, three runs each) through ``pairs.run_pairs`` on a new warm worker at the default
  ``-j``, the worker's start-up included, divided by the number of pairs. Limit 0.15 s/pair.

Where torch is installed without its bytecode (so that every ``import torch`` compiles it), the
worker caches the bytecode it imports (``harness.warm._cache_bytecode``); the one-pair ratio is
then taken against ``import torch`` with that cache, the faster floor, and the ratio to the plain
import is printed too. ``__main__`` also prints the one-pair figures for the bench's smallest pair
with an optimizer (it needs ``torch._dynamo``, which the worker imports before forking its runs).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

ONE_PAIR = "verify one tiny pair vs import torch"
TWENTY = "verify 20 pairs amortized"
ONE_PAIR_LIMIT = 1.6
TWENTY_LIMIT = 0.15


def _env(bytecode: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    if bytecode:  # what the warm worker does where torch was installed without its bytecode
        try:
            from varmigrate.harness.warm import pycache_dir

            cache = str(pycache_dir())
        except ImportError:  # measuring a commit from before the cache: the same place
            cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                                 "varmigrate", "pycache")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # every waited-for descendant
    return usage.ru_utime + usage.ru_stime


def _run(argv: list[str], cwd: Path, bytecode: bool = False) -> tuple[float, float, int]:
    """(wall, CPU of the process and what it waited for, exit status) of one command."""
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=_env(bytecode), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, _children_cpu() - cpu, proc.returncode


def _has_bytecode() -> bool:
    import importlib.util

    spec = importlib.util.find_spec("torch")
    origin = spec.origin if spec is not None else None
    return bool(origin) and os.path.exists(importlib.util.cache_from_source(str(origin)))


def one_pair(before: Path, after: Path, repeat: int) -> dict[str, Any]:
    """Medians of ``repeat`` alternated runs of a bare torch import and of the verify CLI.

    Where torch's installation has no bytecode (every import compiles it from source), the warm
    worker caches it; the floor is then also measured with that cache (``import_cached_s``), and
    the ratio is taken against the faster of the two imports."""
    imports: list[tuple[float, float]] = []
    cached: list[tuple[float, float]] = []
    verifies: list[tuple[float, float]] = []
    codes: set[int] = set()
    torch_import = [sys.executable, "-c", "import torch"]
    no_bytecode = not _has_bytecode()
    if no_bytecode:
        _run(torch_import, before.parent, bytecode=True)  # fills the cache if nothing did yet
    for _ in range(repeat):
        imports.append(_run(torch_import, before.parent)[:2])
        if no_bytecode:
            cached.append(_run(torch_import, before.parent, bytecode=True)[:2])
        *times, code = _run([sys.executable, "-m", "varmigrate", "verify", str(before), str(after)], before.parent)
        verifies.append((times[0], times[1]))
        codes.add(code)

    def med(runs: list[tuple[float, float]], i: int) -> float:
        return statistics.median(r[i] for r in runs)

    imp, ver = med(imports, 0), med(verifies, 0)
    imp_cached = med(cached, 0) if cached else imp
    floor_cpu = min(med(imports, 1), med(cached, 1) if cached else med(imports, 1))
    return {"import_s": imp, "import_cached_s": imp_cached, "verify_s": ver, "ratio": ver / min(imp, imp_cached),
            "ratio_plain": ver / imp, "cpu_ratio": med(verifies, 1) / floor_cpu, "ok": codes == {0}}


def twenty_pairs(root: Path, n: int, jobs: Optional[int] = None) -> dict[str, Any]:
    from bench_harness import as_pairs, make_pairs, verify_all

    from varmigrate.harness.worker import ForkWorker, default_jobs

    jobs = jobs or default_jobs()
    pairs = as_pairs(make_pairs(root / "pairs", n))
    cpu = _children_cpu()
    start = time.perf_counter()
    worker = ForkWorker()
    startup = time.perf_counter() - start
    try:
        total, results = verify_all(worker, pairs, jobs, root / "runs")
    finally:
        worker.close()  # waits for the worker, whose CPU then includes its runs'
    return {"startup_s": startup, "pairs_s": total, "jobs": jobs, "per_pair": (startup + total) / n,
            "cpu_per_pair": (_children_cpu() - cpu) / n, "ok": all(r.decision.ok for r in results)}


def _measure_all(repeat: int = 5, pairs: int = 20) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from bench_harness import make_pairs

    tmp = Path(tempfile.mkdtemp(prefix="varmigrate-targets-verify-"))
    try:
        tiny = make_pairs(tmp / "tiny", 2)  # pair00: linear regression; pair01: nn.Module + SGD
        one = one_pair(tiny[0][1], tiny[0][2], repeat)
        optim = one_pair(tiny[1][1], tiny[1][2], repeat)
        many = twenty_pairs(tmp / "many", pairs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [
        {"target": ONE_PAIR, "limit": ONE_PAIR_LIMIT, "ratio": round(one["ratio"], 2), "unit": "x"},
        {"target": TWENTY if pairs == 20 else f"verify {pairs} pairs amortized", "limit": TWENTY_LIMIT,
         "ratio": round(many["per_pair"], 3), "unit": "s/pair"},
    ]
    return rows, {"one": one, "optim": optim, "many": many}


def measure() -> list[dict[str, Any]]:
    """The rows of the bench target table: target, limit, measured ratio, unit (lower is better)."""
    return _measure_all()[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5, help="alternated runs of each one-pair command")
    ap.add_argument("--pairs", type=int, default=20)
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    rows, info = _measure_all(args.repeat, args.pairs)
    load1 = os.getloadavg()[0]
    one, optim, many = info["one"], info["optim"], info["many"]
    print(f"load average {load0:.2f} at start, {load1:.2f} at the end, on {os.cpu_count()} cores")
    for label, r in (("tiny pair", one), ("tiny pair with an optimizer", optim)):
        cached = (f", {r['import_cached_s']:.2f} s with its bytecode cached" if r["import_cached_s"] != r["import_s"]
                  else "")
        print(f"{label}: import torch {r['import_s']:.2f} s{cached}; verify {r['verify_s']:.2f} s = "
              f"{r['ratio']:.2f}x the faster import ({r['ratio_plain']:.2f}x the plain one; CPU "
              f"{r['cpu_ratio']:.2f}x)"
              f"{'' if r['ok'] else '; NOT all equivalent'}")
    print(f"{args.pairs} pairs: worker start-up {many['startup_s']:.2f} s + {many['pairs_s']:.2f} s at -j {many['jobs']}; "
          f"CPU of the worker and its runs {many['cpu_per_pair']:.3f} s/pair"
          f"{'' if many['ok'] else ' (NOT all equivalent)'}")
    ok = one["ok"] and many["ok"]
    for row in rows:
        met = row["ratio"] <= row["limit"]
        ok &= met
        print(f"{row['target']:<40} {row['ratio']:>7g} {row['unit']:<6} limit {row['limit']:g}  {'PASS' if met else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
