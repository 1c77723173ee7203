"""Pairs of programs: what runs on each side, the options, a pair's result (torch-free).

``api`` runs them: each pair three times (before, before again: the determinism gate, and after);
the before runs read the program as ``--reference`` says (0.3 by default) with the legacy features
its source needs (``detect``), and when the reference run used a construct whose 0.3 meaning modern
torch changed, one more before run reads it the other way (``readings``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from . import detect, features
from .spec import DEFAULT_TENSOR_BUDGET, RunResult
from .verdict import Decision


@dataclass
class Side:
    """How to start one side: a script or notebook path, or ``-m module``."""

    kind: str  # script | notebook | module
    target: str
    argv: list[str] = field(default_factory=list)
    cwd: Optional[str] = None  # None: a fresh empty temporary directory per run
    sys_path0: str = ""
    label: str = ""  # what the report shows
    origin: Optional[tuple[str, str]] = None  # (copy, user's tree): codebase mode runs in a copy

    @classmethod
    def for_file(cls, path: Path, argv: Optional[list[str]] = None) -> "Side":
        path = path.resolve()
        kind = "notebook" if path.suffix == ".ipynb" else "script"
        return cls(kind, str(path), list(argv or []), None, str(path.parent), str(path))


@dataclass
class Pair:
    name: str
    before: Side
    after: Side
    rerun: Optional[Side] = None  # codebase mode reruns in its own copy of the tree
    note: str = ""

    def found_features(self) -> list[str]:
        """The legacy features the before program's source mentions (any reference)."""
        return found_features(self.before)


def found_features(side: Side) -> list[str]:
    """The legacy features a side's source mentions (any reference)."""
    return sorted(features.mentioned(detect.program_texts(side.kind, side.target, [side.sys_path0, side.cwd or ""])))


@dataclass
class Options:
    timeout: float = 120.0
    device: str = "auto"
    seed: int = 0
    jobs: int = 1
    executor: str = "fork"
    tensor_budget: int = DEFAULT_TENSOR_BUDGET
    gate: bool = True  # run the before side twice
    drilldown: bool = True  # re-run a DIVERGED pair with an op-level trace
    reference: str = "0.3"  # how the before runs read the legacy program: "0.3" or "modern"


@dataclass
class PairResult:
    pair: Pair
    decision: Decision
    runs: dict[str, RunResult]
    seconds: float
    loss: dict[str, list[list[float]]] = field(default_factory=dict)  # the loss curve per side
    drilldown: Optional[dict[str, Any]] = None  # first differing aten op, for DIVERGED pairs
    reference: str = "0.3"
    features: list[str] = field(default_factory=list)  # installed in the reference before runs
    readings: dict[str, Any] = field(default_factory=dict)  # the 0.3 vs modern reading (readings.py)
    printed: dict[str, Any] = field(default_factory=dict)  # stdout compared (printed.py): a note


def fixture_pairs(root: Path) -> list[Pair]:
    """Every ``root/*/before.{py,ipynb}`` with its ``after`` sibling, sorted by name."""
    pairs = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        for ext in (".py", ".ipynb"):
            b, a = d / f"before{ext}", d / f"after{ext}"
            if b.exists() and a.exists():
                pairs.append(Pair(d.name, Side.for_file(b), Side.for_file(a)))
                break
    return pairs


@dataclass
class DirPairs:
    pairs: list[Pair]
    unchanged: list[str]  # byte-identical on both sides: nothing was migrated there
    only_before: list[str]  # present on one side only: not verified
    only_after: list[str]


def _programs(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for ext in ("*.py", "*.ipynb") for p in root.rglob(ext) if p.is_file()}


def dir_pairs(before_dir: Path, after_dir: Path) -> DirPairs:
    """Same-named scripts/notebooks of two trees, by relative path."""
    in_before, in_after = _programs(before_dir), _programs(after_dir)
    out = DirPairs([], [], sorted(in_before - in_after), sorted(in_after - in_before))
    for rel in sorted(in_before & in_after):
        before, after = before_dir / rel, after_dir / rel
        if before.read_bytes() == after.read_bytes():
            out.unchanged.append(rel)
            continue
        out.pairs.append(Pair(rel, Side.for_file(before), Side.for_file(after)))
    return out


def file_pair(before: Path, after: Path, argv: Optional[list[str]] = None) -> Pair:
    if before.resolve().parent == after.resolve().parent:
        name = f"{before.resolve().parent.name}: {before.name} -> {after.name}"
    else:
        name = f"{before} -> {after}"
    return Pair(name,
                Side.for_file(before, argv), Side.for_file(after, argv))
