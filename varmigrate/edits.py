"""Each finding's fix as text edits (JSON, SARIF, `--show-fixes`, editors), computed in one place.

A finding's edits are what `varmigrate fix` would write for that finding alone: the engine applies
its one fix (with the import changes) to the unfixed module, and the result is diffed against the
source. Applying each fix costs more than the check itself, so `api.run` computes them in the
worker that linted the file, from its `LintResult`; findings that arrive without a tree (a cache
hit) are linted again here, spread over worker processes like the check.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

from .ftypes import Finding, TextEdit
from .syntax import async_keyword

if TYPE_CHECKING:
    from .config import Settings
    from .engine import LintResult

# id(finding) -> the text edits of its fix (absent: no fix, or it could not be computed).
EditMap = dict[int, list[TextEdit]]
# Per finding, by position: its text edits, or None.
FileEdits = list[Optional[list[TextEdit]]]
# What one file's edits are computed from: (source text, display path, settings, findings).
EditWork = tuple[str, str, "Settings", list[Finding]]

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


# ------------------------------------------------------------------------------------------
# Text diff to edits
# ------------------------------------------------------------------------------------------
def _line_starts(text: str) -> list[int]:
    starts = [0]
    for match in _LINE.finditer(text):
        if match.end() < len(text) or match.group().endswith(("\n", "\r")):
            starts.append(match.end())
    return starts


def _position(starts: list[int], offset: int) -> tuple[int, int]:
    index = bisect.bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index] + 1


def _offset(starts: list[int], row: int, column: int) -> int:
    return starts[min(row, len(starts)) - 1] + column - 1


def _common_prefix(x: str, y: str) -> int:
    n = 0
    for c1, c2 in zip(x, y):
        if c1 != c2:
            break
        n += 1
    return n


def text_edits(old: str, new: str, span: Optional[tuple[int, int, int, int]] = None) -> list[TextEdit]:
    """The line-diff hunks (trimmed to characters) that turn `old` into `new`.

    `span` (the finding's row, column, end row, end column): a hunk inside it is widened to the
    whole span, so that an editor replaces `Variable(torch.ones(3))` by `torch.ones(3)` rather than
    a minimal but unreadable slice of it.
    """
    a, b = _LINE.findall(old), _LINE.findall(new)
    starts = _line_starts(old)
    offsets = [0]
    for line in a:
        offsets.append(offsets[-1] + len(line))
    hunks: list[tuple[int, int, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        before, after = "".join(a[i1:i2]), "".join(b[j1:j2])
        prefix = _common_prefix(before, after)
        suffix = _common_prefix(before[prefix:][::-1], after[prefix:][::-1])
        hunks.append((offsets[i1] + prefix, offsets[i2] - suffix, after[prefix: len(after) - suffix]))
    if span is not None:
        lo = _offset(starts, span[0], span[1])
        hi = _offset(starts, span[2], span[3])
        for k, (start, end, content) in enumerate(hunks):
            others = [h for i, h in enumerate(hunks) if i != k]
            if lo <= start <= end <= hi and not any(o[0] < hi and o[1] > lo for o in others):
                hunks[k] = (lo, hi, old[lo:start] + content + old[end:hi])
    edits = []
    for start, end, content in hunks:
        row, column = _position(starts, start)
        end_row, end_column = _position(starts, end)
        edits.append(TextEdit(row, column, end_row, end_column, content))
    return edits


# ------------------------------------------------------------------------------------------
# Findings to edits
# ------------------------------------------------------------------------------------------
def lint_edits(lint: LintResult, text: str, unsafe_fixes: bool,
               findings: Optional[Sequence[Finding]] = None) -> FileEdits:
    """The edits of `findings` (default: the lint's own), which must come from `lint` (their nodes
    are in its module). By position; None where there is no fix or it does not apply."""
    from .engine import UnfixedModule, fix_alone

    chosen = list(lint.findings if findings is None else findings)
    out: FileEdits = [None] * len(chosen)
    if lint.module is None or lint.imports is None:
        return out
    base: Optional[UnfixedModule] = None  # one module, each finding applied to it alone
    for index, finding in enumerate(chosen):
        edit = finding.chosen_edit(unsafe_fixes)
        if finding.cell is not None or edit is None:
            continue
        base = base or UnfixedModule(lint)
        code = fix_alone(base, finding, edit)
        if code is not None:
            out[index] = text_edits(text, async_keyword.restore(code, text), finding.span)
    return out


def _key(f: Finding) -> tuple[str, int, int, int, int, str]:
    return (f.code, f.line, f.column, f.end_line, f.end_column, f.message)


def relinted_edits(text: str, path: str, settings: Settings, findings: Sequence[Finding]) -> FileEdits:
    """The edits of findings that carry no tree (from the cache, or another process): the file
    is linted again and each finding matched to its fresh twin. By position, like `lint_edits`."""
    from .engine import lint_source

    out: FileEdits = [None] * len(findings)
    wanted = [i for i, f in enumerate(findings) if f.cell is None and f.chosen_edit(settings.unsafe_fixes) is not None]
    if not wanted:
        return out
    lint = lint_source(text, path, settings.for_path(path))
    fresh = {_key(f): f for f in lint.findings}
    twins = [(i, fresh.get(_key(findings[i]))) for i in wanted]
    found = [(i, twin) for i, twin in twins if twin is not None]
    for (index, _), edits in zip(found, lint_edits(lint, text, settings.unsafe_fixes, [t for _, t in found])):
        out[index] = edits
    return out


def relinted_edit_map(text: str, path: str, settings: Settings, findings: Sequence[Finding]) -> EditMap:
    """`relinted_edits` keyed by id(finding) (a finding without a fix has no entry)."""
    found = relinted_edits(text, path, settings, findings)
    return {id(f): e for f, e in zip(findings, found) if e is not None}


def _safe_relinted(item: EditWork) -> FileEdits:
    # By position, not id(): the findings cross a process boundary.
    text, path, settings, findings = item
    try:
        return relinted_edits(text, path, settings, findings)
    except Exception:  # noqa: BLE001 - the findings are still reported, with `edits: null`
        return [None] * len(findings)


def _no_edits(item: EditWork, exc: BaseException) -> FileEdits:
    return [None] * len(item[3])


def parallel_edits(work: Sequence[EditWork], jobs: Optional[int] = None) -> EditMap:
    """`relinted_edits` of many files, in worker processes (`jobs` None: automatic)."""
    from .parallel import auto_jobs, run_parallel

    workers = auto_jobs(len(work)) if jobs is None else max(1, jobs)
    if workers > 1:
        from . import engine  # noqa: F401  (imported once here; forked workers inherit it)
    results = run_parallel(_safe_relinted, work, workers, _no_edits)
    edits: EditMap = {}
    for (_, _, _, findings), found in zip(work, results):
        edits.update((id(f), e) for f, e in zip(findings, found) if e is not None)
    return edits
