"""The harness side of a proof, through the harness's public API (`harness.api.Harness`): the
before side of every entry point once (both readings, as `verify` decides), then one after run
per entry point per probe, in the warm fork worker.  Torch-free on this side (the worker imports it).
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..harness.api import Harness, Reference
from ..harness.codebase import COPY_IGNORE, side_in_tree
from ..harness.pairs import Options, Pair, PairResult, Side
from ..harness.worker import Executor
from .apply import JOURNAL_DIR

_SKIP = {JOURNAL_DIR, ".varmigrate"}


def _ignore(src: str, names: list[str]) -> set[str]:
    return set(COPY_IGNORE(src, names)) | (_SKIP & set(names))


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


class Runner:
    """Runs the entry points of one tree: the before side once, the after side per probe."""

    def __init__(self, root: Path, entries: Sequence[list[str]], opts: Options, executor: Executor,
                 work: Path) -> None:
        self.root = root.resolve()
        self.entries = [list(e) for e in entries]
        self.opts, self.ex, self.work = opts, executor, work
        self.harness = Harness(opts, executor, work)
        self.references: list[Reference] = []
        self.after_runs = 0
        self.after_seconds = 0.0
        for argv in self.entries:
            if argv[0] != "-m" and not (self.root / argv[0]).exists():
                raise ValueError(f"entry point {argv[0]} not found under {self.root}")

    def close(self) -> None:
        self.harness.close()

    def _copy(self, tag: str, files: Mapping[str, bytes] | None = None) -> Path:
        tree = self.work / "trees" / tag / self.root.name
        shutil.copytree(self.root, tree, ignore=_ignore, symlinks=True)
        for rel, data in (files or {}).items():
            target = tree / rel
            if target.is_symlink():
                target.unlink()
            target.write_bytes(data)
        return tree

    def _after_side(self, i: int, tree: Path) -> Side:
        return side_in_tree(tree, self.entries[i], f"{self.root} (fixed copy)", f"{self.root} (fixed copy)")

    def pair(self, i: int, after_tree: Path) -> Pair:
        argv = self.entries[i]
        before = self.work / "trees" / "before" / self.root.name
        rerun = self.work / "trees" / "rerun" / self.root.name
        label = str(self.root)
        return Pair(f"{self.root.name}: {entry_name(argv)}", side_in_tree(before, argv, label, label),
                    self._after_side(i, after_tree), side_in_tree(rerun, argv, label, label))

    def baseline(self) -> None:
        """The before side of every entry point, as `verify` runs it: the reference reading twice
        (the determinism gate) and the other reading when the harness decides it can differ."""
        before = self._copy("before")
        self._copy("rerun")
        self.references = self.harness.reference([self.pair(i, before) for i in range(len(self.entries))])

    def run(self, files: Mapping[str, bytes], tag: str, drilldown: bool = False,
            keep_tree: bool = False) -> list[PairResult]:
        """The after side of every entry point on a fresh copy of the tree with `files` written
        (kept with `keep_tree`: a report reads the source lines of the plain and the final tree)."""
        tree = self._copy(tag, files)
        try:
            sides = [self._after_side(i, tree) for i in range(len(self.entries))]
            results = self.harness.after(self.references, sides, drilldown=drilldown)
            for r in results:
                self.after_runs += 1
                self.after_seconds += r.runs["after"].wall_s
            return results
        finally:
            if not keep_tree:
                shutil.rmtree(tree.parent, ignore_errors=True)
