"""What a failing probe says, and which candidates it points at.

The ranking is a heuristic for the order of the search, never proof: a candidate is blamed
only by probes.  It reads what the harness gives for free:

- the after run's exception frame (AFTER-FAILED) and the first divergence's call site, both
  lines of the *fixed* file, mapped back to the original through the fix's own diff;
- the drill-down's first differing aten op and its source line (the initial verify runs it);
- the divergent tensor's name (`w`, `model.fc1.weight`): findings on lines that mention it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from ..harness.pairs import PairResult
from ..policy import OffsetMap, offset_of
from .tree import Candidate, FileFix

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SUSPECT = 20  # the score from which a candidate counts as pointed at


@dataclass
class Evidence:
    """The failing entry points of one probe, and the tree that probe ran."""

    results: list[PairResult]
    tree: Mapping[str, FileFix]

    @property
    def failing(self) -> list[PairResult]:
        return [r for r in self.results if not r.decision.ok]


def _original_site(site: Any, tree: Mapping[str, FileFix] | None) -> str | None:
    """``file:line`` of the fixed copy -> ``file:line`` of the original (None when unchanged)."""
    parsed = _site(site)
    if parsed is None or not tree:
        return None
    name, line = parsed
    for rel, ff in tree.items():
        if PurePosixPath(rel).name == name:
            orig = _back_to_original(ff, line)
            return f"{rel}:{orig}" if orig != line or rel != name else None
    return None


def summary(res: PairResult, tree: Mapping[str, FileFix] | None = None) -> dict[str, Any]:
    """The evidence of one entry point, for the report: the first divergence or the exception.
    Lines of the fixed copy are also given as lines of the original (`original_site`)."""
    d = res.decision
    out: dict[str, Any] = {"entry": res.pair.name, "verdict": d.verdict, "reason": d.reason}
    first = d.diff.first if d.diff is not None and d.verdict not in ("IDENTICAL", "INCONCLUSIVE") else None
    if first:
        out["first_divergence"] = {k: first.get(k) for k in ("event", "kind", "tensor", "field", "before_site",
                                                             "after_site", "max_abs", "max_rel", "note")}
        out["first_divergence"]["original_site"] = _original_site(first.get("after_site"), tree)
    after = res.runs["after"]
    if not after.ok:
        frame = after.frame or {}
        site = f"{PurePosixPath(frame['file']).name}:{frame['line']}" if frame.get("file") else None
        out["after_failure"] = {"status": after.status, "message": after.message, "frame": after.frame,
                                "original_site": _original_site(site, tree)}
    if res.drilldown:
        out["drilldown"] = res.drilldown.get("summary")
    return out


def sentence(ev: dict[str, Any]) -> str:
    """One line a person can read: where and what."""
    fd = ev.get("first_divergence")
    fail = ev.get("after_failure")
    if fail:
        frame = fail.get("frame") or {}
        where = f" at {PurePosixPath(frame['file']).name}:{frame['line']}" if frame.get("file") else ""
        if fail.get("original_site"):
            where += f" (the original's {fail['original_site']})"
        text = f"the after run failed{where}: {fail.get('message')}"
    elif fd:
        site = fd.get("after_site")
        if fd.get("original_site"):
            site = f"{site}, the original's {fd['original_site']}"
        text = (f"{ev['verdict']} at event {fd.get('event')} ({fd.get('kind')}, {site}): "
                f"{fd.get('tensor')} {fd.get('field')}")
        if fd.get("max_abs") is not None:
            text += f" (max abs {fd['max_abs']:.3g})"
    else:
        text = f"{ev['verdict']}: {ev['reason']}"
    if ev.get("drilldown"):
        text += f"; {ev['drilldown']}"
    return text


def _site(text: Any) -> tuple[str, int] | None:
    if not isinstance(text, str) or ":" not in text:
        return None
    name, _, line = text.rpartition(":")
    if not line.isdigit():
        return None
    return PurePosixPath(name.split("#cell")[0]).name, int(line)


def _back_to_original(ff: FileFix | None, line: int) -> int:
    """A line of the fixed file -> the line of the original it came from."""
    if ff is None:
        return line
    starts_new = _starts(ff.new_text)
    pos = offset_of(starts_new, line, 1)
    old_pos = OffsetMap(ff.old_text, ff.new_text).back(pos)
    return ff.old_text.count("\n", 0, old_pos) + 1


def _starts(text: str) -> list[int]:
    out = [0]
    out.extend(i + 1 for i, ch in enumerate(text) if ch == "\n")
    return out


def pointers(ev: Evidence, by_name: Mapping[str, list[str]]) -> tuple[set[tuple[str, int]], set[str]]:
    """(basename, original line) sites and tensor words the failing entry points point at.
    `by_name` maps a basename to the relative paths of the tree's files with that name."""
    sites: set[tuple[str, int]] = set()
    words: set[str] = set()

    def after_site(raw: Any) -> None:
        site = _site(raw)
        if site is None:
            return
        name, line = site
        for rel in by_name.get(name, []):
            sites.add((rel, _back_to_original(ev.tree.get(rel), line)))

    def before_site(raw: Any) -> None:
        site = _site(raw)
        if site is not None:
            sites.update((rel, site[1]) for rel in by_name.get(site[0], []))

    for res in ev.failing:
        after = res.runs["after"]
        if after.frame and after.frame.get("file"):
            after_site(f"{after.frame['file']}:{after.frame['line']}")
        first = (res.decision.diff.first or {}) if res.decision.diff else {}
        after_site(first.get("after_site"))
        before_site(first.get("before_site"))
        tensor = first.get("tensor")
        if isinstance(tensor, str) and not tensor.startswith("leaf#"):
            words.update(w for w in _WORD.findall(tensor) if w not in ("grad", "data"))
        drill = res.drilldown or {}
        if isinstance(drill.get("after"), dict):
            after_site(drill["after"].get("site"))
        if isinstance(drill.get("before"), dict):
            before_site(drill["before"].get("site"))
    return sites, words


def score(c: Candidate, lines: Sequence[str], sites: set[tuple[str, int]], words: set[str]) -> int:
    s = 0
    near = [abs(c.id.line - line) for rel, line in sites if rel == c.rel]
    if near:
        d = min(near)
        s += 100 if d == 0 else max(0, 40 - 10 * d)
        s += 5
    text = lines[c.id.line - 1] if 0 < c.id.line <= len(lines) else ""
    if words and words & set(_WORD.findall(text)):
        s += _SUSPECT
    return s


class Ranker:
    """Orders candidates by how strongly a failing probe points at them (stable otherwise)."""

    def __init__(self, originals: Mapping[str, str]) -> None:
        self.lines = {rel: text.splitlines() for rel, text in originals.items()}
        self.by_name: dict[str, list[str]] = {}
        for rel in originals:
            self.by_name.setdefault(PurePosixPath(rel).name, []).append(rel)

    def __call__(self, cands: Sequence[Candidate], evidence: Any) -> tuple[list[Candidate], int]:
        if not isinstance(evidence, Evidence):
            return list(cands), 0
        sites, words = pointers(evidence, self.by_name)
        scored = [(score(c, self.lines.get(c.rel, []), sites, words), i, c) for i, c in enumerate(cands)]
        scored.sort(key=lambda t: (-t[0], t[1]))
        return [c for _, _, c in scored], sum(1 for s, _, _ in scored if s >= _SUSPECT)
