"""Issue 15's speed targets, each a ratio measured in this one run, printed as a table with PASS/MISS.

    python bench/targets.py                       # generated corpus (bench/corpus) only
    python bench/targets.py --real ~/qa/corpus    # also a real-code set (kept outside the repository)
    python bench/targets.py --files 60 --large-lines 10000 --timeout 60   # quicker, smaller

Every measured thing runs as its own process; CPU time is user+sys including worker processes
and peak RSS the largest single process (both from `wait4`). Ratios compare CPU time unless the
row says otherwise, so that other work on a shared machine disturbs them less than wall time.

- Every process reads and writes bytecode (`allow_bytecode`: a user's machine does; this one disables
  it by default).
- check floor: `check --no-cache -j1` over a corpus against a process that only imports libcst
  and runs `libcst.parse_module` on the files `check` parses (those that pass the prefilter;
  a notebook's code cells, IPython syntax masked, when the notebook as a whole passes it).
- fix / check: `fix --unsafe-fixes -j1` (on a copy) against that `check`.
- per line: CPU per line of a `small` and a `large` file, start-up (the same command on a tiny
  file that passes the prefilter) subtracted; a typical file (legacy bench-corpus modules one
  after another) and a module-level script full of `Variable(..., volatile=True)`. A run over
  `--timeout` is stopped: its ratio is then a lower bound (`>=`).
- peak RSS: `check` and `fix` of the large typical file (the per-line runs) against a process
  that only parses it.
- pre-commit: one clean file, and a warm cache hit with findings, against `python -c pass`
  (median of `--repeat` runs); MISS also when the run imports libcst (`-X importtime`).
- TorchFix: measured when `bench/.venv-torchfix/bin/torchfix` (see run.py) or `torchfix` on PATH
  exists, else skipped with a note.
- verify: the rows of `bench/targets_verify.py` (`measure() -> list[dict]`) when present.

No timed assertion belongs in the tests: these figures come from this script only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from generate_corpus import generate  # noqa: E402

from varmigrate.prefilter import may_have_findings  # noqa: E402  (libcst-free)
from varmigrate.sources import SourceReadError, decode_source  # noqa: E402
from varmigrate.syntax.async_keyword import rename_async_keywords  # noqa: E402  (libcst-free)

PASS, MISS, SKIP = "PASS", "MISS", "SKIP"

# The process that only parses: reads a JSON list of texts, parses each with libcst.
FLOOR_SCRIPT = """
import json, sys
import libcst
texts = json.load(open(sys.argv[1], encoding="utf-8"))
for text in texts:
    try:
        libcst.parse_module(text)
    except Exception:
        pass
"""

LEGACY_TINY = (
    "import torch\nfrom torch.autograd import Variable\n\n\ndef step(model, x, y, opt):\n"
    "    x, y = Variable(x), Variable(y)\n    loss = model(x).sub(y).pow(2).mean()\n"
    "    opt.zero_grad()\n    loss.backward()\n    opt.step()\n    return loss.data[0]\n"
)
CLEAN_TINY = "import os\n\n\ndef main():\n    return os.getcwd()\n"
VOLATILE_HEADER = "import torch\nfrom torch.autograd import Variable\n\nmodel = torch.nn.Linear(10, 2)\n"
# Nine lines, two of them a volatile Variable: the dense module-level script of issue 15.
VOLATILE_BLOCK = (
    "x{i} = torch.randn(4, 10)\n"
    "v{i} = Variable(x{i}, volatile=True)\n"
    "y{i} = model(v{i})\n"
    "w{i} = Variable(y{i}.data, volatile=True)\n"
    "s{i} = w{i}.sum()\n"
    "print(s{i}.data[0])\n"
    "z{i} = Variable(x{i})\n"
    "out{i} = model(z{i}).sum()\n"
    "out{i}.backward()\n"
)


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    returncode: int
    timed_out: bool = False
    stderr: str = ""


@dataclass
class Row:
    target: str
    limit: Optional[float]
    ratio: Optional[float]
    status: str
    detail: str = ""
    lower_bound: bool = False  # a run was stopped at the timeout: the ratio is at least this

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "limit": self.limit, "ratio": self.ratio, "status": self.status,
                "detail": self.detail, "lower_bound": self.lower_bound}


def graded(target: str, limit: float, ratio: float, detail: str = "", lower_bound: bool = False,
           extra_miss: bool = False) -> Row:
    ok = ratio <= limit and not lower_bound and not extra_miss
    return Row(target, limit, ratio, PASS if ok else MISS, detail, lower_bound)


def run(argv: Sequence[str], cwd: Path, timeout: float, capture_stderr: bool = False) -> Run:
    start = time.perf_counter()
    err = tempfile.TemporaryFile() if capture_stderr else None
    proc = subprocess.Popen(list(argv), cwd=cwd, stdout=subprocess.DEVNULL, start_new_session=True,
                            stderr=err if err is not None else subprocess.DEVNULL)
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - start > timeout:
            os.killpg(proc.pid, signal.SIGKILL)  # its worker processes too
            _, status, usage = os.wait4(proc.pid, 0)
            timed_out = True
            break
        time.sleep(0.005)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = ""
    if err is not None:
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
        err.close()
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode, timed_out, text)


def varmigrate(*args: str) -> list[str]:
    return [sys.executable, "-m", "varmigrate", *args]


# ------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------
def parsed_texts(corpus: Path) -> list[str]:
    """The texts `check` parses in `corpus`: .py files that pass the prefilter, and the code
    cells of notebooks that pass it as a whole; `.cuda(async=True)` renamed as check's pre-pass
    does (libcst cannot parse it: the floor would stop at the error)."""
    from varmigrate.notebook import mask

    texts: list[str] = []
    for path in sorted(corpus.rglob("*")):
        if path.suffix not in (".py", ".ipynb") or not path.is_file() or any(p.startswith(".") for p in path.parts[len(corpus.parts):]):
            continue
        try:
            text = decode_source(path.read_bytes()).text
        except (OSError, SourceReadError):
            continue
        if path.suffix == ".py":
            if may_have_findings(text):
                texts.append(rename_async_keywords(text, set())[0] if "async" in text else text)
            continue
        try:
            cells = [c for c in json.loads(text).get("cells", []) if c.get("cell_type") == "code"]
        except (ValueError, AttributeError):
            continue
        sources = ["".join(c["source"]) if isinstance(c.get("source"), list) else str(c.get("source", "")) for c in cells]
        if may_have_findings("\n".join(sources)):
            for source in sources:
                masked = mask(source)
                if not masked.skip:
                    texts.append(rename_async_keywords(masked.text, set())[0] if "async" in masked.text else masked.text)
    return texts


def typical_file(corpus: Path, lines: int) -> str:
    """Legacy bench-corpus modules one after another up to `lines` lines."""
    chunks = [p.read_text(encoding="utf-8") for p in sorted(corpus.rglob("legacy_*.py"))]
    if not chunks:
        raise SystemExit(f"no legacy_*.py files in {corpus}")
    out: list[str] = []
    total, index = 0, 0
    while total < lines:
        chunk = chunks[index % len(chunks)]
        if index:
            chunk = "".join(line for line in chunk.splitlines(keepends=True) if not line.startswith("from __future__"))
        out.append(chunk)
        total += chunk.count("\n")
        index += 1
    return "".join(out)


def volatile_script(lines: int) -> str:
    blocks = max(1, (lines - VOLATILE_HEADER.count("\n")) // 9)
    return VOLATILE_HEADER + "".join(VOLATILE_BLOCK.format(i=i) for i in range(blocks))


def imports_libcst(stderr: str) -> bool:
    return any(line.rsplit("|", 1)[-1].strip().split(".")[0] == "libcst" for line in stderr.splitlines() if line.startswith("import time:"))


# ------------------------------------------------------------------------------------------
# Measurements
# ------------------------------------------------------------------------------------------
def corpus_rows(name: str, corpus: Path, work: Path, timeout: float) -> tuple[list[Row], Optional[Run]]:
    texts = parsed_texts(corpus)
    texts_file = work / f"{name}-texts.json"
    texts_file.write_text(json.dumps(texts), encoding="utf-8")
    floor = run([sys.executable, "-c", FLOOR_SCRIPT, str(texts_file)], work, timeout)
    check = run(varmigrate("check", "--no-cache", "-j", "1", "."), corpus, timeout)
    copy = work / f"{name}-copy"
    shutil.copytree(corpus, copy, ignore=shutil.ignore_patterns(".varmigrate_cache", ".git"))
    fix = run(varmigrate("fix", "--no-cache", "--unsafe-fixes", "-j", "1", "."), copy, timeout)
    shutil.rmtree(copy, ignore_errors=True)
    n_files = sum(1 for p in corpus.rglob("*") if p.suffix in (".py", ".ipynb"))
    rows = [
        graded(f"{name}: check --no-cache -j1 / bare libcst parse", 1.6, check.cpu / floor.cpu,
               f"{check.cpu:.1f} s vs {floor.cpu:.1f} s CPU; {len(texts)} texts parsed of {n_files} files",
               lower_bound=check.timed_out),
        graded(f"{name}: fix --unsafe-fixes / check", 1.5, fix.cpu / check.cpu,
               f"{fix.cpu:.1f} s vs {check.cpu:.1f} s CPU", lower_bound=fix.timed_out),
    ]
    return rows, check


def _run_on(path: Path, text: str, argv: Sequence[str], timeout: float) -> Run:
    path.write_text(text, encoding="utf-8")  # each time: a `fix` run rewrote it
    return run(argv, path.parent, timeout)


def per_line_rows(bench_corpus: Path, work: Path, small: int, large: int, timeout: float,
                  large_runs: dict[str, Run]) -> list[Row]:
    """`large_runs` receives the runs over the large typical file, by command (for the RSS rows)."""
    folder = work / "sizes"
    folder.mkdir()
    (folder / "pyproject.toml").write_text("[tool.varmigrate]\n", encoding="utf-8")
    (folder / "tiny.py").write_text(LEGACY_TINY, encoding="utf-8")
    shapes = {"typical": lambda n: typical_file(bench_corpus, n), "volatile script": volatile_script}
    rows: list[Row] = []
    for command in ("check", "fix"):
        flags = ["--no-cache", "-j", "1"] + (["--unsafe-fixes"] if command == "fix" else [])
        start_up = min(run(varmigrate(command, *flags, "tiny.py"), folder, timeout).cpu for _ in range(5))
        for shape, make in shapes.items():
            per_line: list[float] = []
            runs: list[Run] = []
            for size in (small, large):
                text = make(size)
                n_lines = text.count("\n")
                path = folder / f"{shape.replace(' ', '_')}_{size}.py"
                argv = varmigrate(command, *flags, path.name)
                result = _run_on(path, text, argv, timeout)
                if size == small and not result.timed_out:
                    # At 1,000 lines the start-up is most of the run: the fastest of three.
                    result = min([result, *(_run_on(path, text, argv, timeout) for _ in range(2))], key=lambda r: r.cpu)
                path.unlink()
                runs.append(result)
                if shape == "typical" and size == large:
                    large_runs[command] = result
                per_line.append(max(result.cpu - start_up, 1e-6) / n_lines * 1000)
                if result.timed_out:
                    break  # the large run stopped: nothing more to learn
            if len(per_line) < 2:
                rows.append(Row(f"{command} per line, {shape}: {large}/{small} lines", 1.2, None, MISS,
                                f"{small} lines already over the {timeout:.0f} s timeout", True))
                continue
            if runs[1].timed_out:
                rows.append(Row(f"{command} per line, {shape}: {large}/{small} lines", 1.2, None, MISS,
                                f"{per_line[0]:.3f} ms/line at {small} lines; {large} lines stopped at the {timeout:.0f} s"
                                f" timeout ({runs[1].cpu:.0f} s CPU, {runs[1].rss_mb:.0f} MB)"))
                continue
            rows.append(graded(f"{command} per line, {shape}: {large}/{small} lines", 1.2, per_line[1] / per_line[0],
                               f"{per_line[0]:.3f} -> {per_line[1]:.3f} ms/line; {runs[1].cpu:.1f} s, {runs[1].rss_mb:.0f} MB"))
    return rows


def rss_rows(bench_corpus: Path, work: Path, large: int, timeout: float, large_runs: dict[str, Run]) -> list[Row]:
    """Peak RSS of the per-line rows' runs over the large typical file against a parse-only process."""
    text = typical_file(bench_corpus, large)
    texts_file = work / "large-texts.json"
    texts_file.write_text(json.dumps([rename_async_keywords(text, set())[0]]), encoding="utf-8")
    floor = run([sys.executable, "-c", FLOOR_SCRIPT, str(texts_file)], work, timeout)
    rows = []
    for command in ("check", "fix"):
        result = large_runs.get(command)
        target = f"peak RSS: {command} / parse only, {text.count(chr(10))} lines"
        if result is None:
            rows.append(Row(target, 1.3, None, MISS, "not measured (an earlier run stopped at the timeout)"))
            continue
        rows.append(graded(target, 1.3, result.rss_mb / floor.rss_mb, f"{result.rss_mb:.0f} MB vs {floor.rss_mb:.0f} MB",
                           lower_bound=result.timed_out))
    return rows


def pre_commit_rows(work: Path, repeat: int, timeout: float) -> list[Row]:
    folder = work / "single"
    folder.mkdir()
    (folder / "pyproject.toml").write_text("[tool.varmigrate]\n", encoding="utf-8")
    (folder / "clean.py").write_text(CLEAN_TINY, encoding="utf-8")
    (folder / "legacy.py").write_text(LEGACY_TINY, encoding="utf-8")
    cache = str(work / "cache")

    def median_cpu(argv: list[str]) -> float:
        return statistics.median(run(argv, folder, timeout).cpu for _ in range(repeat))

    bare = median_cpu([sys.executable, "-c", "pass"])
    rows = []
    cases = (("pre-commit: clean file / python -c pass", 2.5, ["check", "--no-cache", "clean.py"]),
             ("pre-commit: warm cache hit with findings / python -c pass", 4.0, ["check", "--cache-dir", cache, "legacy.py"]))
    run(varmigrate("check", "--cache-dir", cache, "legacy.py"), folder, timeout)  # warm the cache
    for target, limit, args in cases:
        cpu = median_cpu(varmigrate(*args))
        trace = run([sys.executable, "-X", "importtime", "-m", "varmigrate", *args], folder, timeout, capture_stderr=True)
        libcst = imports_libcst(trace.stderr)
        rows.append(graded(target, limit, cpu / bare,
                           f"{cpu * 1000:.0f} ms vs {bare * 1000:.0f} ms CPU; libcst {'IMPORTED' if libcst else 'not imported'}",
                           extra_miss=libcst))
    return rows


def torchfix_row(corpus: Path, check: Optional[Run], timeout: float) -> Row:
    exe = HERE / ".venv-torchfix" / "bin" / "torchfix"
    found = str(exe) if exe.exists() else shutil.which("torchfix")
    if found is None and check is not None:
        from run import ensure_torchfix  # bench/run.py: a venv of its own (TorchFix pins libcst<1.6)

        made = ensure_torchfix()
        found = str(made) if made is not None else None
    if found is None or check is None:
        return Row("TorchFix / check (bench corpus)", None, None, SKIP,
                   "TorchFix could not be installed (bench/run.py sets it up in bench/.venv-torchfix)")
    result = run([found, "."], corpus, timeout)
    if result.timed_out:  # (its killed pool's workers are not counted: no ratio)
        return Row("TorchFix / check (bench corpus)", None, None, "info",
                   f"stopped at the {timeout:.0f} s timeout; `check` took {check.cpu:.1f} s CPU")
    return Row("TorchFix / check (bench corpus)", None, result.cpu / check.cpu, "info",
               f"{result.cpu:.1f} s vs {check.cpu:.1f} s CPU")


def verify_rows() -> list[Row]:
    try:
        import targets_verify  # type: ignore[import-not-found]  # written on the `speed` branch
    except ImportError:
        return [Row("verify: one tiny pair / python -c 'import torch'", 1.6, None, SKIP, "not measured here"),
                Row("verify: 20-pair bench, s/pair at the default -j", 0.15, None, SKIP, "not measured here")]
    rows = []
    for item in targets_verify.measure():
        ratio, limit = float(item["ratio"]), float(item["limit"])
        rows.append(graded(str(item["target"]), limit, ratio, str(item.get("unit", ""))))
    return rows


def format_table(rows: Sequence[Row]) -> str:
    lines = ["| target | limit | measured | status | detail |", "|---|---|---|---|---|"]
    for row in rows:
        limit = "-" if row.limit is None else f"<= {row.limit:g}"
        ratio = "-" if row.ratio is None else f"{'>= ' if row.lower_bound else ''}{row.ratio:.2f}"
        lines.append(f"| {row.target} | {limit} | {ratio} | {row.status} | {row.detail} |")
    return "\n".join(lines)


def collect(args: argparse.Namespace, work: Path) -> list[Row]:
    corpus: Path = args.corpus
    if args.regenerate or not corpus.exists() or not any(corpus.rglob("*.py")):
        generate(corpus, args.files, args.seed)
    rows, check = corpus_rows("bench", corpus, work, args.corpus_timeout)
    if args.real is not None:
        real_rows, _ = corpus_rows("real", Path(args.real).expanduser().resolve(), work, args.corpus_timeout)
        rows += real_rows
    if not args.skip_sizes:
        large_runs: dict[str, Run] = {}
        rows += per_line_rows(corpus, work, args.small_lines, args.large_lines, args.timeout, large_runs)
        rows += rss_rows(corpus, work, args.large_lines, args.timeout, large_runs)
    rows += pre_commit_rows(work, args.repeat, args.timeout)
    rows.append(torchfix_row(corpus, check, args.corpus_timeout) if not args.skip_torchfix else
                Row("TorchFix / check (bench corpus)", None, None, SKIP, "--skip-torchfix"))
    rows += verify_rows() if not args.skip_verify else []
    return rows


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Measure issue 15's targets in one run.")
    p.add_argument("--real", type=Path, help="a real-code corpus (e.g. ~/qa/corpus): the corpus rows again on it")
    p.add_argument("--files", type=int, default=600, help="bench corpus size when generating it")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--corpus", type=Path, default=HERE / "corpus")
    p.add_argument("--regenerate", action="store_true")
    p.add_argument("--small-lines", type=int, default=1000)
    p.add_argument("--large-lines", type=int, default=50000)
    p.add_argument("--timeout", type=float, default=300.0, help="seconds before a run is stopped (its ratio a lower bound)")
    p.add_argument("--corpus-timeout", type=float, default=3600.0, help="the same for a run over a whole corpus")
    p.add_argument("--repeat", type=int, default=7, help="runs of each pre-commit case (median)")
    p.add_argument("--skip-sizes", action="store_true", help="leave out the per-line and peak-RSS rows (the long ones)")
    p.add_argument("--skip-torchfix", action="store_true")
    p.add_argument("--skip-verify", action="store_true")
    p.add_argument("--json", type=Path, help="also write the rows as JSON here")
    return p


def allow_bytecode(folder: Path) -> None:
    """Every measured process reads and writes bytecode, as on a user's machine: an environment
    with PYTHONDONTWRITEBYTECODE (this one) would compile every module of varmigrate and libcst
    in every process (~0.6 s), which inflates start-up and makes the subtracted rows noisy."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(folder)
    warm = folder.parent / "warm"
    warm.mkdir(exist_ok=True)
    (warm / "tiny.py").write_text(LEGACY_TINY, encoding="utf-8")
    for command in (varmigrate("check", "--no-cache", "tiny.py"), varmigrate("fix", "--no-cache", "tiny.py"),
                    [sys.executable, "-c", "import libcst, click"]):
        subprocess.run(command, cwd=warm, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def main(argv: Optional[list[str]] = None) -> int:
    args = parser().parse_args(argv)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start", flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="varmigrate-targets-") as tmp:
        allow_bytecode(Path(tmp) / "pycache")
        rows = collect(args, Path(tmp))
    print(format_table(rows))
    print(f"load average at end: {os.getloadavg()[0]:.2f}; {time.perf_counter() - started:.0f} s in all")
    if args.json is not None:
        args.json.write_text(json.dumps([r.as_dict() for r in rows], indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
