"""What a proof found: its status, the plain fix's and the final tree's verdicts, the fixes kept
back (plain data, torch-free)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..harness.pairs import PairResult
from .tree import Candidate, FileFix

PROVEN, NOT_PROVEN, INCONCLUSIVE_STATUS = "proven", "not proven", "inconclusive"


@dataclass
class KeptBack:
    candidate: Candidate
    action: str  # "downgraded" | "left unfixed"
    now: str  # the edit applied instead, or the finding's message
    partners: list[Candidate]
    evidence: list[dict[str, Any]]
    probes: int


@dataclass
class Outcome:
    status: str
    root: Path
    entries: list[list[str]]
    initial: list[PairResult] = field(default_factory=list)
    initial_tree: dict[str, FileFix] = field(default_factory=dict)  # what plain `fix` makes
    final: list[PairResult] = field(default_factory=list)
    kept_back: list[KeptBack] = field(default_factory=list)
    candidates: int = 0
    probes: int = 0
    reason: str = ""
    files: dict[str, FileFix] = field(default_factory=dict)  # the final tree's changed files
    written: list[str] = field(default_factory=list)
    patch: str = ""
    recovered: str = ""
    seconds: float = 0.0
    after_runs: int = 0
    after_seconds: float = 0.0
    probe_seconds: list[float] = field(default_factory=list)  # wall of each probe: re-fix, copy, after runs
    fix_errors: list[str] = field(default_factory=list)

    @property
    def proven(self) -> bool:
        return self.status == PROVEN

    @property
    def target(self) -> int:
        k = max(1, sum(1 + len(kb.partners) for kb in self.kept_back))
        return 2 * k * math.ceil(math.log2(max(2, self.candidates))) + 2
