"""fix -> verify -> delta-debug -> downgrade -> re-verify -> (apply): one proof of one tree.

`prove()` is the one code path behind `verify --root DIR ... -- ENTRY` (and `--entry`, and
`[tool.varmigrate.verify] entry-points`) and `fix --verify-with ENTRY PATHS`.
"""

from __future__ import annotations

import difflib
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path

from ..config import Settings
from ..harness.pairs import Options
from ..harness.worker import Executor
from . import apply as apply_mod
from .outcome import INCONCLUSIVE_STATUS, NOT_PROVEN, PROVEN, KeptBack, Outcome
from .phases import search_tree
from .runner import Runner, entry_name
from .tree import FileFix, TreeFixer

__all__ = ["INCONCLUSIVE_STATUS", "NOT_PROVEN", "PROVEN", "KeptBack", "Outcome", "describe", "make_patch", "prove"]


def make_patch(files: dict[str, FileFix]) -> str:
    out: list[str] = []
    for rel in sorted(files):
        ff = files[rel]
        out.extend(difflib.unified_diff(ff.old_text.splitlines(keepends=True), ff.new_text.splitlines(keepends=True),
                                        fromfile=f"a/{rel}", tofile=f"b/{rel}"))
    return "".join(out)


def prove(root: Path, entries: Sequence[list[str]], settings: Settings, opts: Options,
          executor: Executor | Future[Executor], paths: Sequence[Path] | None = None, apply: bool = False,
          echo: Callable[[str], None] = lambda s: None, exclude: Sequence[str] = (),
          work: Path | None = None) -> Outcome:
    """The proof of `root`'s fix (of `paths` in it).  The runs go to `work` (a temporary folder
    removed at the end when not given; a caller that reports on the final tree's files passes
    its own and removes it after the report)."""
    start = time.perf_counter()
    root = root.resolve()
    out = Outcome(NOT_PROVEN, root, [list(e) for e in entries])
    if apply_mod.pending(root):
        if not apply:  # the tree may be half written: prove nothing on it
            raise apply_mod.ApplyError(f"{root / apply_mod.JOURNAL_DIR}: an interrupted `--apply` is pending; "
                                       "run with --apply to complete it, or --rollback to undo it")
        rec = apply_mod.recover(root)
        out.recovered = rec.describe()
        echo(out.recovered)
    fixer = TreeFixer(root, list(paths or [root]), settings, exclude=exclude)
    out.fix_errors = [f"{e.path}:{e.line}:{e.column}: {e.message}" for e in fixer.errors if e.kind != "info"]
    own_work = work is None
    work = Path(tempfile.mkdtemp(prefix="varmigrate-prove-")) if work is None else work
    try:
        ex = executor.result() if isinstance(executor, Future) else executor
        runner = Runner(root, entries, opts, ex, work)
        try:
            runner.baseline()
            search_tree(out, fixer, runner, echo)
        finally:
            runner.close()
        out.after_runs, out.after_seconds = runner.after_runs, runner.after_seconds
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    out.patch = make_patch(out.files)
    what = "the proven fix" if out.proven else "the fix verified last"
    note = (f"{what} changes {len(out.files)} file(s): " + ", ".join(sorted(out.files)[:20])
            if out.files else f"{what} changes nothing")
    if out.kept_back:
        note += f"; {len(out.kept_back)} unsafe fix(es) kept back"
    for r in out.final:
        r.pair.note = note
    if apply and out.proven and out.files:
        out.written = apply_mod.write_tree(root, {rel: (ff.old, ff.new) for rel, ff in out.files.items()}, out.patch)
    out.seconds = round(time.perf_counter() - start, 3)
    return out


def describe(out: Outcome) -> str:
    names = ", ".join(entry_name(e) for e in out.entries)
    if out.proven:
        kept = f", {len(out.kept_back)} fix(es) kept back" if out.kept_back else ""
        return f"proven: every entry point ({names}) verifies{kept}"
    return f"{out.status}: {out.reason}"
