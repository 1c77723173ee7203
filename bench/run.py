"""Benchmark: varmigrate check vs TorchFix 0.7.0 vs a naive libcst visitor, in one run.

    python bench/run.py                  # generate bench/corpus if missing, set up TorchFix, time all
    python bench/run.py --files 50       # a smaller corpus
    python bench/run.py --skip-torchfix  # no network / no TorchFix

Every tool runs as its own process over the same files, cold (varmigrate with --no-cache); wall
time, CPU time (user+sys, including worker processes) and peak RSS (the largest single process,
from wait4's ru_maxrss) are measured per run. TorchFix lives in its own virtualenv
(bench/.venv-torchfix): it pins libcst<1.6, which conflicts with ours.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TORCHFIX_VENV = HERE / ".venv-torchfix"
TORCHFIX_SPEC = "torchfix==0.7.0"  # depends on flake8, PyYAML, libcst<1.6 (not on torch)
sys.path.insert(0, str(HERE))

from generate_corpus import generate  # noqa: E402


@dataclass
class Timing:
    name: str
    wall: float
    cpu: float
    peak_mb: float
    returncode: int
    output_lines: int


def measure(name: str, argv: list[str], cwd: Path, env: Optional[dict[str, str]] = None) -> Timing:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    lines = sum(1 for _ in proc.stdout)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux; children's values are folded in when they were waited for.
    return Timing(name, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode, lines)


def best_of(runs: int, name: str, argv: list[str], cwd: Path) -> Timing:
    timings = [measure(name, argv, cwd) for _ in range(runs)]
    return min(timings, key=lambda t: t.wall)


def ensure_torchfix() -> Optional[Path]:
    exe = TORCHFIX_VENV / "bin" / "torchfix"
    if exe.exists():
        return exe
    print(f"setting up {TORCHFIX_SPEC} in {TORCHFIX_VENV} ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(TORCHFIX_VENV)], check=True)
        subprocess.run([str(TORCHFIX_VENV / "bin" / "pip"), "install", "-q", TORCHFIX_SPEC], check=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"TorchFix unavailable ({exc}); skipping it", file=sys.stderr)
        return None
    return exe if exe.exists() else None


def varmigrate_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "varmigrate", *args]


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Time varmigrate against TorchFix and a naive libcst visitor.")
    parser.add_argument("--files", type=int, default=600, help="corpus size when generating (default 600)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--skip-torchfix", action="store_true")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each single-file case (median)")
    args = parser.parse_args(argv)

    corpus: Path = args.corpus
    if args.regenerate or not corpus.exists() or not any(corpus.rglob("*.py")):
        generate(corpus, args.files, args.seed)
    files = sorted(corpus.rglob("*.py"))
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    print(f"corpus: {len(files)} files, {lines} lines ({corpus})")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")

    results: list[Timing] = []
    results.append(measure("varmigrate check (cold, --no-cache)", varmigrate_cmd("check", "--no-cache", "."), corpus))
    results.append(measure("varmigrate check -j1 (cold, --no-cache)", varmigrate_cmd("check", "--no-cache", "-j", "1", "."), corpus))
    cache_dir = HERE / "out" / "cache"
    measure("(warming the cache)", varmigrate_cmd("check", "--cache-dir", str(cache_dir), "."), corpus)
    results.append(measure("varmigrate check (warm cache)", varmigrate_cmd("check", "--cache-dir", str(cache_dir), "."), corpus))
    if not args.skip_torchfix:
        exe = ensure_torchfix()
        if exe is not None:
            results.append(measure("TorchFix 0.7.0", [str(exe), "."], corpus))
    if not args.skip_naive:
        results.append(measure("naive libcst + QualifiedNameProvider", [sys.executable, str(HERE / "naive_visitor.py"), "."], corpus))

    # Pre-commit: one small file per run, from process start to exit.
    single = HERE / "out" / "single"
    single.mkdir(parents=True, exist_ok=True)
    (single / "pyproject.toml").write_text("[tool.varmigrate]\n")
    clean = single / "clean.py"
    clean.write_text("import os\n\n\ndef main():\n    return os.getcwd()\n")
    legacy = single / "legacy.py"
    legacy.write_text(
        "import torch\nfrom torch.autograd import Variable\n\n\ndef step(model, x, y, opt):\n"
        "    x, y = Variable(x), Variable(y)\n    loss = model(x).sub(y).pow(2).mean()\n"
        "    opt.zero_grad()\n    loss.backward()\n    opt.step()\n    return loss.data[0]\n"
    )
    pre_commit: list[Timing] = []
    for name, path in (("pre-commit: clean file", clean), ("pre-commit: file with findings", legacy)):
        runs = [measure(name, varmigrate_cmd("check", "--no-cache", path.name), single) for _ in range(args.repeat)]
        median = statistics.median(t.wall for t in runs)
        pre_commit.append(Timing(name, median, statistics.median(t.cpu for t in runs), max(t.peak_mb for t in runs),
                                 runs[0].returncode, runs[0].output_lines))

    print()
    print(f"{'run':42s} {'wall s':>8s} {'cpu s':>8s} {'peak MB':>8s} {'exit':>5s} {'lines out':>9s}")
    for t in [*results, *pre_commit]:
        print(f"{t.name:42s} {t.wall:8.2f} {t.cpu:8.2f} {t.peak_mb:8.1f} {t.returncode:5d} {t.output_lines:9d}")
    base = results[0]
    print()
    for t in results[1:]:
        print(f"{t.name} / varmigrate check: {t.wall / base.wall:5.1f}x wall, {t.cpu / max(base.cpu, 1e-9):5.1f}x cpu")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    targets = [
        ("check >= 10x faster than TorchFix (wall)", next((t.wall / base.wall >= 10 for t in results if t.name.startswith("TorchFix")), None)),
        ("clean file <= 0.1 s", pre_commit[0].wall <= 0.1),
        ("file with findings <= 0.5 s", pre_commit[1].wall <= 0.5),
        ("peak memory < 200 MB", all(t.peak_mb < 200 for t in [*results, *pre_commit] if t.name.startswith(("varmigrate", "pre-commit")))),
    ]
    for label, ok in targets:
        print(f"target {label}: {'n/a' if ok is None else ('met' if ok else 'NOT met')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
