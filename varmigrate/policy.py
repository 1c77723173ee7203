"""Fix policies: which edit each finding gets in a fix run, and the lineage that ties every
finding of a later fixed-point round to the finding of the original text it continues.

A plain `fix` applies each finding's first allowed edit.  A *probe* of `verify --apply`
(issue 13) re-runs `fix` with a chosen subset of the original findings pinned to their safe
alternative, or left unfixed.  For that to be legal for any subset, the unit must be a finding
of the ORIGINAL text, and whatever a fix sets in motion in later rounds (a statement its
replacement exposes, a rule that only fires on its output) must follow that finding's pin.

`Lineage` does the bookkeeping: after each round it diffs the old and new text
(`OffsetMap`), and gives each new finding the identity (`FindingId`) of

1. the old finding, not applied in that round, with the same code at the same (unchanged)
   position: the same finding, still waiting (an outer call whose argument another fix
   rewrote in this round) or pinned;
2. else such a finding whose exact text another fix moved (the argument of a removed
   wrapper), the nearest one;
3. else the applied fix whose span covers the new finding's span, mapped back: a follow-up
   of that fix (its `Origin.follow_up` is true);
4. else the position mapped back to the original text: a finding that no original finding
   explains (it has an identity of its own and can be pinned like any other).

Policies are plain, picklable data: they cross to `fix`'s worker processes.
"""

from __future__ import annotations

import bisect
import difflib
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol

if TYPE_CHECKING:
    import libcst as cst

    from .ftypes import Edit, Finding

SpanOf = Callable[["cst.CSTNode"], tuple[tuple[int, int], tuple[int, int]]]


@dataclass(frozen=True, order=True)
class FindingId:
    """A finding of the original text: where it starts there, and its rule."""

    path: str
    line: int
    column: int
    code: str
    cell: int | None = None  # notebooks: 1-based code cell

    def __str__(self) -> str:
        cell = f"#cell{self.cell}" if self.cell is not None else ""
        return f"{self.path}{cell}:{self.line}:{self.column} {self.code}"

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "column": self.column, "code": self.code,
                "cell": self.cell}


@dataclass(frozen=True)
class Origin:
    id: FindingId
    follow_up: bool = False  # a later-round finding inside what the origin's fix rewrote


class Pin(enum.Enum):
    SAFE = "safe"  # the finding's safe alternative (its first safe edit); unfixed when it has none
    UNFIXED = "unfixed"


class FixPolicy(Protocol):
    """Chooses the edit a finding gets (None: leave it unfixed) in a fix run."""

    def choose(self, finding: Finding, origin: Origin, unsafe_fixes: bool) -> Edit | None: ...


def pinned_edit(finding: Finding, pin: Pin | None, unsafe_fixes: bool) -> Edit | None:
    if pin is None:
        return finding.edit_for(unsafe_fixes)
    if pin is Pin.UNFIXED:
        return None
    return finding.edit_for(False)


@dataclass(frozen=True)
class PinnedPolicy:
    """Every finding gets its usual edit, except the pinned ones (and their follow-ups)."""

    pins: Mapping[FindingId, Pin] = field(default_factory=dict)

    def choose(self, finding: Finding, origin: Origin, unsafe_fixes: bool) -> Edit | None:
        return pinned_edit(finding, self.pins.get(origin.id), unsafe_fixes)

    def for_path(self, path: str) -> PinnedPolicy:
        """The pins of one file: what a per-file result depends on (a cache key)."""
        return PinnedPolicy({k: v for k, v in self.pins.items() if k.path == path})

    def key(self) -> tuple[tuple[FindingId, str], ...]:
        return tuple(sorted((k, v.value) for k, v in self.pins.items()))


@dataclass(frozen=True)
class AppliedFix:
    """One edit a fix run applied, tied to the original finding it belongs to."""

    origin: FindingId
    follow_up: bool
    code: str
    title: str
    safety: str  # Safety value: "safe" / "unsafe"
    round: int
    line: int  # in that round's text
    message: str


# ------------------------------------------------------------------------------------------
# Position mapping through one round's edits
# ------------------------------------------------------------------------------------------
_CHAR_DIFF_LIMIT = 20_000  # a changed block larger than this is one replacement


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def offset_of(starts: Sequence[int], line: int, column: int) -> int:
    """1-based line and column (as findings carry them) to a character offset."""
    line = max(1, min(line, len(starts)))
    return starts[line - 1] + max(0, column - 1)


class OffsetMap:
    """Character offsets of the new text of a round mapped back to the old text.

    Lines are aligned first (difflib), then characters inside each changed block of lines,
    so an offset outside every edit maps exactly and one inside an edit maps to the old
    region the edit replaced.
    """

    def __init__(self, old: str, new: str) -> None:
        # (new_start, new_end, old_start, old_end, equal)
        self.blocks: list[tuple[int, int, int, int, bool]] = []
        la, lb = old.splitlines(keepends=True), new.splitlines(keepends=True)
        oa, ob = _cumulative(la), _cumulative(lb)
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, la, lb, autojunk=False).get_opcodes():
            a0, a1, b0, b1 = oa[i1], oa[i2], ob[j1], ob[j2]
            if tag == "equal":
                self._add(b0, b1, a0, a1, True)
            elif a1 - a0 + b1 - b0 > _CHAR_DIFF_LIMIT:
                self._add(b0, b1, a0, a1, False)
            else:
                sub = difflib.SequenceMatcher(None, old[a0:a1], new[b0:b1], autojunk=False)
                for ctag, c1, c2, d1, d2 in sub.get_opcodes():
                    self._add(b0 + d1, b0 + d2, a0 + c1, a0 + c2, ctag == "equal")
        self._starts = [b[0] for b in self.blocks]

    def _add(self, b0: int, b1: int, a0: int, a1: int, equal: bool) -> None:
        if b0 == b1 and a0 == a1:
            return
        self.blocks.append((b0, b1, a0, a1, equal))

    def _block(self, pos: int) -> tuple[int, int, int, int, bool] | None:
        i = bisect.bisect_right(self._starts, pos) - 1
        # an insertion (empty new range) never contains a position: prefer the block after it
        while 0 <= i < len(self.blocks) and self.blocks[i][1] <= pos and i + 1 < len(self.blocks):
            i += 1
        if i < 0:
            return None
        return self.blocks[i]

    def exact(self, pos: int) -> int | None:
        """The old offset of `pos` if it lies outside every edit."""
        blk = self._block(pos)
        if blk is None or not blk[4] or not blk[0] <= pos < max(blk[1], blk[0] + 1):
            return None
        return blk[2] + (pos - blk[0])

    def back(self, pos: int, end: bool = False) -> int:
        """The old offset of `pos`; inside an edit, the start (or the end) of what it replaced."""
        blk = self._block(pos)
        if blk is None:
            return 0
        b0, _b1, a0, a1, equal = blk
        if equal:
            return a0 + min(pos - b0, a1 - a0)
        return a1 if end else a0

    def changed_regions(self) -> list[tuple[int, int]]:
        """Old-text regions that an edit replaced (empty for pure insertions)."""
        return [(a0, a1) for b0, b1, a0, a1, equal in self.blocks if not equal]


def _cumulative(lines: Sequence[str]) -> list[int]:
    out = [0]
    for line in lines:
        out.append(out[-1] + len(line))
    return out


# ------------------------------------------------------------------------------------------
# Lineage across the rounds of one fix run
# ------------------------------------------------------------------------------------------
class Lineage:
    """The origin of every finding of every round of one file's fix run."""

    def __init__(self, path: str, text: str, findings: Sequence[Finding], cell: int | None = None) -> None:
        self.path, self.cell = path, cell
        self._original_starts = _line_starts(text)
        self._starts = self._original_starts
        self._maps: list[OffsetMap] = []  # round r+1 text -> round r text
        self._origins: dict[int, Origin] = {}
        self._findings: list[Finding] = list(findings)
        for f in findings:
            self._origins[id(f)] = Origin(FindingId(path, f.line, f.column, f.code, cell))
        self.round = 0
        self.applied: list[AppliedFix] = []

    def origin(self, finding: Finding) -> Origin:
        return self._origins[id(finding)]

    def record(self, applied: Sequence[tuple[Finding, Edit]]) -> None:
        for finding, edit in applied:
            o = self.origin(finding)
            self.applied.append(AppliedFix(o.id, o.follow_up, finding.code, edit.title, edit.safety.value,
                                           self.round, finding.line, finding.message))

    def advance(self, old_text: str, new_text: str, applied: Sequence[tuple[Finding, Edit]],
                new_findings: Sequence[Finding], fix_span: SpanOf | None = None) -> None:
        """Round done: `new_findings` (of `new_text`) get their origins.  `fix_span` gives the
        range of an applied finding's `fix_node` (a statement or block it rewrote) in the old
        text, ``((line, column0), (end_line, end_column0))``."""
        omap = OffsetMap(old_text, new_text)
        old_starts, new_starts = self._starts, _line_starts(new_text)
        done = {id(f) for f, _ in applied}
        waiting: dict[tuple[str, int], Finding] = {}  # not applied this round: still there
        by_text: dict[tuple[str, str], list[tuple[int, Finding]]] = {}
        for f in self._findings:
            if id(f) in done:
                continue
            s = offset_of(old_starts, f.line, f.column)
            e = offset_of(old_starts, f.end_line, f.end_column)
            waiting.setdefault((f.code, s), f)
            by_text.setdefault((f.code, old_text[s:e]), []).append((s, f))
        spans = []
        for f, _ in applied:
            s = offset_of(old_starts, f.line, f.column)
            e = max(s + 1, offset_of(old_starts, f.end_line, f.end_column))
            if f.fix_node is not None and f.fix_node is not f.node and fix_span is not None:
                (line, col), (end_line, end_col) = fix_span(f.fix_node)
                s = min(s, offset_of(old_starts, line, col + 1))
                e = max(e, offset_of(old_starts, end_line, end_col + 1))
            spans.append((s, e, f))
        origins: dict[int, Origin] = {}
        claimed: set[int] = set()
        for g in new_findings:
            gs = offset_of(new_starts, g.line, g.column)
            ge = max(gs + 1, offset_of(new_starts, g.end_line, g.end_column))
            # 1. an old finding that waited (or was pinned) at the same, unchanged position
            same = omap.exact(gs)
            prev = waiting.get((g.code, same)) if same is not None else None
            if prev is None:
                # 2. ... or whose text another fix moved (the argument of a removed wrapper)
                rs = omap.back(gs)
                moved = [(abs(s - rs), s, f) for s, f in by_text.get((g.code, new_text[gs:ge]), [])
                         if id(f) not in claimed]
                prev = min(moved, key=lambda t: (t[0], t[1]))[2] if moved else None
            if prev is not None and id(prev) not in claimed:
                claimed.add(id(prev))
                origins[id(g)] = self._origins[id(prev)]
                continue
            # 3. a follow-up of the applied fix that covers it
            rs, re_ = omap.back(gs), omap.back(ge - 1, end=True)
            parent = _covering(spans, rs, max(re_, rs + 1))
            if parent is not None:
                origins[id(g)] = Origin(self._origins[id(parent)].id, True)
                continue
            # 4. nothing explains it: its own identity, at its position in the original text
            self._maps.append(omap)
            line, column = self._to_original(gs)
            self._maps.pop()
            origins[id(g)] = Origin(FindingId(self.path, line, column, g.code, self.cell))
        self._maps.append(omap)
        self._origins = origins
        self._findings = list(new_findings)
        self._starts = new_starts
        self.round += 1

    def _to_original(self, pos: int) -> tuple[int, int]:
        for omap in reversed(self._maps):
            pos = omap.back(pos)
        starts = self._original_starts
        i = bisect.bisect_right(starts, pos) - 1
        return i + 1, pos - starts[i] + 1


def _covering(spans: Sequence[tuple[int, int, Finding]], start: int, end: int) -> Finding | None:
    """The applied fix whose span covers [start, end): the innermost containing one, else the
    one overlapping most."""
    containing = [(e - s, f) for s, e, f in spans if s <= start and end <= e]
    if containing:
        return min(containing, key=lambda t: t[0])[1]
    best, best_overlap = None, 0
    for s, e, f in spans:
        overlap = min(e, end) - max(s, start)
        if overlap > best_overlap:
            best, best_overlap = f, overlap
    return best
