"""The harness side of a proof: the before runs once, then one after run per entry point per
probe, in the warm fork worker.  Torch-free on this side (the worker imports it)."""

from __future__ import annotations

import shlex
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..harness.codebase import _IGNORE, _side
from ..harness.compare import Trace, loss_series
from ..harness.pairs import Options, Pair, PairResult, _drilldown, _safe_run, _spec
from ..harness.spec import RunResult
from ..harness.verdict import DIVERGED, INCONCLUSIVE, decide
from ..harness.worker import Executor
from .apply import JOURNAL_DIR

_SKIP = {JOURNAL_DIR, ".varmigrate"}


def _ignore(src: str, names: list[str]) -> set[str]:
    return set(_IGNORE(src, names)) | (_SKIP & set(names))


def parse_entry(text: str) -> list[str]:
    """``"train.py --epochs 1"`` or ``"-m pytest tests/test_model.py"`` as an argv."""
    argv = shlex.split(text)
    if not argv:
        raise ValueError("an empty entry point")
    if argv[0] == "-m" and len(argv) < 2:
        raise ValueError(f"entry point {text!r}: `-m` needs a module name")
    return argv


def entry_name(argv: Sequence[str]) -> str:
    return shlex.join(argv)


@dataclass
class Baseline:
    before: RunResult
    rerun: RunResult


class Runner:
    """Runs the entry points of one tree: the before side once, the after side per probe."""

    def __init__(self, root: Path, entries: Sequence[list[str]], opts: Options, executor: Executor,
                 work: Path) -> None:
        self.root = root.resolve()
        self.entries = [list(e) for e in entries]
        self.opts, self.ex, self.work = opts, executor, work
        self.baselines: list[Baseline] = []
        self._idx = 0
        self._lock = threading.Lock()
        self.after_runs = 0
        self.after_seconds = 0.0
        for argv in self.entries:
            if argv[0] != "-m" and not (self.root / argv[0]).exists():
                raise ValueError(f"entry point {argv[0]} not found under {self.root}")

    def _copy(self, tag: str, files: Mapping[str, bytes] | None = None) -> Path:
        tree = self.work / "trees" / tag / self.root.name
        shutil.copytree(self.root, tree, ignore=_ignore, symlinks=True)
        for rel, data in (files or {}).items():
            target = tree / rel
            if target.is_symlink():
                target.unlink()
            target.write_bytes(data)
        return tree

    def _next(self) -> int:
        with self._lock:
            self._idx += 1
            return self._idx

    def pair(self, i: int, after_tree: Path) -> Pair:
        argv = self.entries[i]
        before = self.work / "trees" / "before" / self.root.name
        rerun = self.work / "trees" / "rerun" / self.root.name
        label = str(self.root)
        return Pair(f"{self.root.name}: {entry_name(argv)}", _side(before, argv, label),
                    _side(after_tree, argv, f"{label} (fixed copy)"), _side(rerun, argv, label))

    def baseline(self) -> None:
        """The before side of every entry point, twice (the determinism gate)."""
        self._copy("before")
        self._copy("rerun")
        with ThreadPoolExecutor(max_workers=max(1, self.opts.jobs)) as pool:
            futs = []
            for i in range(len(self.entries)):
                pair = self.pair(i, self.root)
                idx = self._next()
                futs.append((pool.submit(_safe_run, self.ex, _spec(pair.before, "before", idx, self.opts, self.work)),
                             pool.submit(_safe_run, self.ex, _spec(pair.rerun or pair.before, "before_rerun", idx,
                                                                   self.opts, self.work))))
            self.baselines = [Baseline(b.result(), r.result()) for b, r in futs]

    def run(self, files: Mapping[str, bytes], tag: str, drilldown: bool = False,
            keep_tree: bool = False) -> list[PairResult]:
        """The after side of every entry point on a fresh copy of the tree with `files` written."""
        tree = self._copy(tag, files)
        try:
            with ThreadPoolExecutor(max_workers=max(1, self.opts.jobs)) as pool:
                jobs = []
                for i in range(len(self.entries)):
                    pair = self.pair(i, tree)
                    idx = self._next()
                    jobs.append((pair, idx, pool.submit(_safe_run, self.ex,
                                                        _spec(pair.after, "after", idx, self.opts, self.work))))
                results = []
                for i, (pair, idx, fut) in enumerate(jobs):
                    after = fut.result()
                    self.after_runs += 1
                    self.after_seconds += after.wall_s
                    results.append(self._decide(i, pair, idx, after, drilldown))
            return results
        finally:
            if not keep_tree:
                shutil.rmtree(tree.parent, ignore_errors=True)

    def _decide(self, i: int, pair: Pair, idx: int, after: RunResult, drilldown: bool) -> PairResult:
        base = self.baselines[i]
        start = time.perf_counter()
        decision = decide(base.before, base.rerun, after)
        runs = {"before": base.before, "before_rerun": base.rerun, "after": after}
        loss = {role: loss_series(Trace.load(runs[role].out_dir)) for role in ("before", "after")}
        drill = None
        first = (decision.diff.first or {}) if decision.diff else {}
        if drilldown and decision.verdict == DIVERGED and first.get("event") is not None:
            drill = _drilldown(pair, int(first["event"]), idx, self.opts, self.work, self.ex)
        seconds = round(sum(r.wall_s for r in runs.values()) + time.perf_counter() - start, 3)
        return PairResult(pair, decision, runs, seconds, loss, drill)

    def inconclusive(self, results: Sequence[PairResult]) -> str:
        bad = [r for r in results if r.decision.verdict == INCONCLUSIVE]
        return "; ".join(f"{r.pair.name}: {r.decision.reason}" for r in bad)
