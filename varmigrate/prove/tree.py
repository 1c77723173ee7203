"""The linter side of a proof: fix the tree in this process (torch-free), with a policy.

`TreeFixer` runs `fix` over the tree once with an empty policy (plain `fix`, plus the origin
of every applied edit), keeps each file's decoded source, and then answers "the fixed bytes
of every changed file, with these findings pinned" for the probes.  A file's result depends
only on its own text and its own pins, so results are cached per (file, pins of that file):
a probe re-fixes only the files whose pins changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..api import FileOutcome, process_source, run
from ..config import Settings
from ..policy import AppliedFix, FindingId, Pin, PinnedPolicy
from ..sources import SourceText, decode_source


@dataclass(eq=False)  # hashed by identity: a unit of the search
class Candidate:
    """A finding of the original tree whose plain fix applies an unsafe edit."""

    id: FindingId
    rel: str  # its file, relative to the root
    code: str
    message: str
    tried: list[AppliedFix]  # the edits plain `fix` applies for it (the unsafe one among them)

    @property
    def title(self) -> str:
        unsafe = [a for a in self.tried if a.safety == "unsafe"]
        return (unsafe or self.tried)[0].title

    @property
    def location(self) -> str:
        return f"{self.rel}:{self.id.line}" + (f" (cell {self.id.cell})" if self.id.cell is not None else "")


@dataclass
class FileFix:
    rel: str
    old: bytes
    new: bytes
    old_text: str
    new_text: str
    applied: list[AppliedFix] = field(default_factory=list)


class TreeFixer:
    def __init__(self, root: Path, paths: Sequence[Path], settings: Settings, jobs: int | None = None,
                 exclude: Iterable[str] = ()) -> None:
        self.root = root.resolve()
        self.settings = settings
        report = run([str(p) for p in paths], settings, fix=True, write=False, exclude=exclude, jobs=jobs,
                     policy=PinnedPolicy())
        self.outcomes: dict[str, FileOutcome] = {o.path: o for o in report.files}
        self.errors = report.errors
        self._sources: dict[str, tuple[Path, SourceText, bytes]] = {}
        self._cache: dict[tuple[str, tuple[tuple[FindingId, str], ...]], FileFix | None] = {}
        for display, outcome in self.outcomes.items():
            if not outcome.applied and not outcome.changed:
                continue
            path = Path(display)
            raw = path.read_bytes()
            self._sources[display] = (path, decode_source(raw), raw)
            self._cache[(display, ())] = self._file_fix(display, outcome)
        self.default = self.tree({})
        self.candidates = self._candidates()

    def rel(self, display: str) -> str:
        return Path(display).resolve().relative_to(self.root).as_posix()

    def _file_fix(self, display: str, outcome: FileOutcome) -> FileFix | None:
        if not outcome.changed or any(e.kind == "error" for e in outcome.errors):
            return None
        _, source, raw = self._sources[display]
        assert outcome.new_text is not None and outcome.old_text is not None
        try:
            new = source.encode(outcome.new_text)
        except UnicodeEncodeError:
            return None  # `fix` would leave this file unchanged too
        return FileFix(self.rel(display), raw, new, outcome.old_text, outcome.new_text, outcome.applied)

    def _candidates(self) -> list[Candidate]:
        out: list[Candidate] = []
        for display in sorted(self._sources):
            ff = self._cache[(display, ())]
            if ff is None:
                continue
            by_origin: dict[FindingId, list[AppliedFix]] = {}
            for a in ff.applied:
                by_origin.setdefault(a.origin, []).append(a)
            for fid, applied in sorted(by_origin.items()):
                if any(a.safety == "unsafe" for a in applied):
                    first = next(a for a in applied if not a.follow_up) if any(not a.follow_up for a in applied) else applied[0]
                    out.append(Candidate(fid, ff.rel, first.code, first.message, applied))
        return out

    def tree(self, pins: Mapping[FindingId, Pin]) -> dict[str, FileFix]:
        """rel -> the file's fix under `pins`, for every file that changes."""
        out: dict[str, FileFix] = {}
        for display in sorted(self._sources):
            mine = tuple(sorted((k, v.value) for k, v in pins.items() if k.path == display))
            key = (display, mine)
            if key not in self._cache:
                path, source, _ = self._sources[display]
                policy = PinnedPolicy({k: v for k, v in pins.items() if k.path == display})
                outcome = process_source(path, source, self.settings.for_path(display), fix=True, write=False,
                                         policy=policy)
                self._cache[key] = self._file_fix(display, outcome)
            ff = self._cache[key]
            if ff is not None:
                out[ff.rel] = ff
        return out


def digest(tree: Mapping[str, FileFix]) -> str:
    """Identifies a fixed tree by content: two pin sets that make the same bytes are one probe."""
    h = hashlib.sha256()
    for rel in sorted(tree):
        h.update(rel.encode() + b"\0" + hashlib.sha256(tree[rel].new).digest())
    return h.hexdigest()
