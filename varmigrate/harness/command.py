"""``varmigrate verify``: the click command.  Importing this module does not import torch."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import click

if TYPE_CHECKING:
    from .codebase import Prepared
    from .pairs import Options, Pair
    from .worker import Executor

_EPILOG = """\b
Modes:
  varmigrate verify BEFORE.py AFTER.py            two scripts (or two .ipynb notebooks)
  varmigrate verify --fixtures DIR                every DIR/*/before.py + after.py pair
  varmigrate verify --pairs BEFORE_DIR AFTER_DIR  same-named scripts of two trees
  varmigrate verify --root DIR [--unsafe-fixes] -- ENTRY [ARGS]
                                                  copy DIR, fix one copy, run ENTRY in both
                                                  (ENTRY: a script, or -m pytest ...)
\b
Exit status: 0 when every pair is IDENTICAL or EQUAL, 1 otherwise, 2 on usage errors.
"""


@click.command(
    "verify",
    epilog=_EPILOG,
    context_settings={"help_option_names": ["-h", "--help"]},
    short_help="Run before/after programs and prove the gradients match.",
)
@click.argument("paths", nargs=-1, type=click.UNPROCESSED)
@click.option("--fixtures", "fixtures", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Verify every DIR/*/before.py + after.py pair.")
@click.option("--pairs", "pair_dirs", nargs=2, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Verify same-named scripts/notebooks of BEFORE_DIR and AFTER_DIR (changed files only).")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Codebase mode: copy DIR, apply `varmigrate fix` to one copy, run the entry point in both.")
@click.option("--unsafe-fixes", is_flag=True, help="Codebase mode: pass --unsafe-fixes to `fix`.")
@click.option("--select", "select", default=None, help="Codebase mode: pass --select to `fix`.")
@click.option("--ignore", "ignore", default=None, help="Codebase mode: pass --ignore to `fix`.")
@click.option("--convert-py2", "convert_py2", is_flag=True,
              help="Run Python 2 sides as their Python 3 conversion (needs varmigrate[py2]); with --root, "
                   "`fix --convert-py2` makes the after copy. The report lists the divisions left undecided.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write report.json, report.md, report.html and junit.xml here.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=120.0, show_default=True,
              help="Wall-clock seconds per run (more than 0).")
@click.option("--reference", type=click.Choice(["0.3", "modern"]), default="0.3", show_default=True,
              help="How the before runs read the legacy program: as PyTorch 0.3 ran it (volatile, "
                   ".data.resize_()...), or as modern torch does.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="cpu maps CUDA placement (.cuda(), torch.cuda.*Tensor, device='cuda') to the CPU on both "
                   "sides; auto is cpu when no GPU is present.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Runs in parallel (default: one per core; each run uses one thread).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for torch, random and numpy.")
@click.option("--executor", type=click.Choice(["fork", "fresh"]), default="fork", show_default=True,
              help="fork: a warm worker forks one child per run; fresh: a new interpreter per run.")
def verify(paths: tuple[str, ...], fixtures: Optional[Path], pair_dirs: Optional[tuple[Path, Path]],
           root: Optional[Path], unsafe_fixes: bool, convert_py2: bool,
           select: Optional[str], ignore: Optional[str], report_dir: Optional[Path], timeout: float,
           reference: str, device: str, jobs: Optional[int], seed: int, executor: str) -> None:
    """Run each before/after pair under the gradient harness and compare the traces."""
    import importlib.util

    from .pairs import Options, Pair, dir_pairs, file_pair, fixture_pairs

    if importlib.util.find_spec("torch") is None:
        raise click.UsageError("`varmigrate verify` needs torch: pip install 'varmigrate[verify]'")

    from .api import start_executor
    from .worker import default_jobs

    opts = Options(timeout=timeout, device=device, seed=seed, jobs=jobs or default_jobs(), executor=executor,
                   reference=reference)
    modes = sum(x is not None for x in (fixtures, pair_dirs, root)) + (1 if paths and root is None else 0)
    if modes != 1:
        raise click.UsageError("give BEFORE AFTER, or --fixtures DIR, or --pairs BEFORE_DIR AFTER_DIR, "
                               "or --root DIR -- ENTRY")
    prepared = None
    early: Optional[Future[Executor]] = None
    pairs: list[Pair]
    if fixtures is not None:
        pairs = fixture_pairs(fixtures)
        if not pairs:
            raise click.UsageError(f"no */before.py + after.py pairs under {fixtures}")
    elif pair_dirs is not None:
        found = dir_pairs(*pair_dirs)
        pairs = found.pairs
        if found.unchanged:
            click.echo(f"skipped {len(found.unchanged)} unchanged file(s): {', '.join(found.unchanged)}")
        for side, names in ((pair_dirs[0], found.only_before), (pair_dirs[1], found.only_after)):
            if names:
                click.echo(f"not verified, only in {side}: {', '.join(names)}")
        if not pairs:
            click.echo("no changed scripts or notebooks to verify")
            sys.exit(0)
    elif root is not None:
        from .codebase import FixError, prepare

        fix_args = ["--unsafe-fixes"] if unsafe_fixes else []
        fix_args += ["--convert-py2"] if convert_py2 else []
        fix_args += ["--select", select] if select else []
        fix_args += ["--ignore", ignore] if ignore else []
        # the worker's torch import (~1 s) overlaps copying and fixing the tree
        early = start_executor(opts.executor)
        try:
            prepared = prepare(root, list(paths), fix_args)
        except (ValueError, FixError) as exc:
            raise click.UsageError(str(exc)) from exc
        pairs = [prepared.pair]
        if convert_py2:
            _convert_copies(prepared)
    else:
        if len(paths) != 2:
            raise click.UsageError("expected exactly two paths: BEFORE AFTER")
        before, after = (Path(p) for p in paths)
        for p in (before, after):
            if not p.is_file():
                raise click.UsageError(f"no such file: {p}")
        pairs = [file_pair(before, after)]
    if early is None:  # the worker's torch import overlaps the conversion and the rest of our imports
        early = start_executor(opts.executor)
    converted_dir = None
    if convert_py2 and root is None:
        import tempfile

        from .convert import ConvertError, convert_pairs

        converted_dir = Path(tempfile.mkdtemp(prefix="varmigrate-py2-"))
        try:
            pairs = convert_pairs(pairs, converted_dir)
        except ConvertError as exc:
            shutil.rmtree(converted_dir, ignore_errors=True)
            raise click.UsageError(str(exc)) from exc
    try:
        ok = _run(pairs, opts, report_dir, early)
    finally:
        if prepared is not None:
            prepared.cleanup()
        if converted_dir is not None:
            shutil.rmtree(converted_dir, ignore_errors=True)
    sys.exit(0 if ok else 1)


def _convert_copies(prepared: "Prepared") -> None:
    """Codebase mode: the before copies (run twice) hold the conversion of the Python 2 files."""
    from .convert import ConvertError, convert_tree

    pair = prepared.pair
    try:
        converted = [convert_tree(Path(side.cwd)) for side in (pair.before, pair.rerun) if side is not None and side.cwd]
    except ConvertError as exc:
        prepared.cleanup()
        raise click.UsageError(str(exc)) from exc
    if converted and converted[0]:
        first = converted[0]
        undecided = sum(len(r["reported"]) for r in first)
        pair.note += (f"; before copy: {len(first)} file(s) converted from Python 2, {undecided} division(s) whose "
                      "Python 2 meaning was not established (`varmigrate fix --convert-py2` lists them)")


def _run(pairs: list[Pair], opts: Options, report_dir: Optional[Path],
         early: Optional[Future[Executor]] = None) -> bool:
    from . import report
    from .pairs import PairResult
    from .api import verify as verify_pairs
    from .tiers import EQUAL, KIND
    from .worker import make_executor

    start = time.perf_counter()
    ex = early.result() if early is not None else make_executor(opts.executor)
    width = max(len(p.name) for p in pairs)

    colors = {"pass": "green", "warn": "yellow"}

    def line(res: PairResult) -> None:
        d = res.decision
        color = colors.get(KIND[d.verdict], "red")
        hits = sum(res.runs["before"].summary.get("shim_hits", {}).values())  # crash shims and 0.3 semantics
        events = d.diff.compared if d.diff else 0
        mapped = sum(res.runs["after"].summary.get("device_hits", {}).values())
        extra = (f"  shim×{hits}" if hits else "") + (f"  cuda→cpu×{mapped}" if mapped else "")
        click.echo(f"{click.style(f'{d.verdict:<14}', fg=color, bold=True)} {res.pair.name:<{width}}  "
                   f"{events:>4} events{extra}  {res.seconds:.2f}s")
        if not d.ok or d.verdict == EQUAL:
            click.echo(f"{'':<15}{d.reason}")
        if res.drilldown:
            click.echo(f"{'':<15}{res.drilldown['summary']}")
        if res.readings.get("differs"):
            click.echo(f"{'':<15}note: {res.readings['message']}")
        if res.printed.get("compared") and not res.printed.get("same"):
            click.echo(f"{'':<15}note: {res.printed['note']}")

    results = verify_pairs(pairs, opts, ex, on_result=line)
    elapsed = time.perf_counter() - start
    rep = report.build(results, opts, ex.name, elapsed)
    counts = ", ".join(f"{n} {v}" for v, n in rep["summary"]["counts"].items() if n)
    click.echo(f"{len(results)} pair(s): {counts} in {elapsed:.1f}s")
    if report_dir is not None:
        written = report.write(rep, report_dir)
        click.echo("report: " + ", ".join(str(p) for p in written))
    return bool(rep["summary"]["passed"])
