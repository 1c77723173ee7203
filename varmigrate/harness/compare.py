"""Trace-to-trace comparison: tiers per tensor, per event and per trace.

Gate on bitwise identity first (sha256 of the raw bytes); only when hashes differ are the
stored bytes read back (``numeric``, torch-free) to tell EQUAL (``torch.equal``: -0.0 vs 0.0, NaN
payloads) from CLOSE (``torch.testing.assert_close`` dtype defaults) from DIVERGED.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .tiers import Tier


@dataclass
class Trace:
    events: list[dict[str, Any]]
    final: dict[str, Any]
    tensor_dir: Path

    @classmethod
    def load(cls, run_dir: str | Path, summary: Optional[dict[str, Any]] = None) -> "Trace":
        run_dir = Path(run_dir)
        events = []
        path = run_dir / "events.jsonl"
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:  # a line cut short by a crash
                    break
        return cls(events, (summary or {}).get("final") or {}, run_dir / "tensors")


@dataclass
class TensorDiff:
    name: str
    field: str  # value | root | grad | final
    tier: Tier
    max_abs: Optional[float] = None
    max_rel: Optional[float] = None
    mismatched: Optional[int] = None
    numel: Optional[int] = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"tensor": self.name, "field": self.field, "verdict": self.tier.name,
                "max_abs": _num(self.max_abs), "max_rel": _num(self.max_rel),
                "mismatched": self.mismatched, "numel": self.numel, "note": self.note}


def _num(x: Optional[float]) -> Optional[float]:
    if x is None:
        return None
    return x if math.isfinite(x) else (1e308 if x > 0 else -1e308)


@dataclass
class TraceDiff:
    tier: Tier = Tier.IDENTICAL
    compared: int = 0
    before_events: int = 0
    after_events: int = 0
    first: Optional[dict[str, Any]] = None
    event_tiers: list[int] = field(default_factory=list)
    tensors: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {t.name: 0 for t in Tier}
        for t in self.event_tiers:
            out[Tier(t).name] += 1
        return out


def compare_info(a: Optional[dict[str, Any]], b: Optional[dict[str, Any]], dir_a: Path, dir_b: Path,
                 name: str, fld: str) -> TensorDiff:
    """``a`` is the reference (before), ``b`` the candidate (after)."""
    if a is None and b is None:
        return TensorDiff(name, fld, Tier.IDENTICAL)
    if a is None or b is None:
        side = "before" if a is None else "after"
        return TensorDiff(name, fld, Tier.DIVERGED, note=f"{fld} is None in the {side} run")
    numel = math.prod(a["shape"])
    if a["dtype"] != b["dtype"] or a["shape"] != b["shape"]:
        return TensorDiff(name, fld, Tier.DIVERGED, numel=numel,
                          note=f"{a['dtype']}{a['shape']} before, {b['dtype']}{b['shape']} after")
    if a["sha"] == b["sha"]:
        return TensorDiff(name, fld, Tier.IDENTICAL, 0.0, 0.0, 0, numel)
    return _compare_stored(a, b, dir_a, dir_b, name, fld, numel)


def _compare_stored(a: dict[str, Any], b: dict[str, Any], dir_a: Path, dir_b: Path, name: str,
                    fld: str, numel: int) -> TensorDiff:
    from .numeric import grade, read_bytes  # torch-free: the parent never imports torch

    da = read_bytes(dir_a, a)
    db = read_bytes(dir_b, b)
    graded = grade(da, db, a["dtype"]) if da is not None and db is not None else None
    if graded is None:
        diff = None
        if "absmax" in a and "absmax" in b:
            diff = abs(a["absmax"] - b["absmax"])
        why = ("tensor not stored (budget)" if da is None or db is None
               else f"{a['dtype']} values not decoded")
        return TensorDiff(name, fld, Tier.DIVERGED, max_abs=diff, numel=numel,
                          note=f"hashes differ; {why}, lower bound from stats")
    return TensorDiff(name, fld, Tier(graded.tier), graded.max_abs, graded.max_rel, graded.mismatched, numel,
                      graded.note)


def match_leaves(la: list[dict[str, Any]], lb: list[dict[str, Any]]) -> list[tuple[Optional[dict[str, Any]], Optional[dict[str, Any]]]]:
    """Pairs leaves by name, then by any shared alias (a renamed variable), then by position."""
    pairs: list[tuple[Optional[dict[str, Any]], Optional[dict[str, Any]]]] = []
    free_b = list(lb)
    unmatched_a = []
    for ra in la:
        hit = next((rb for rb in free_b if rb["name"] == ra["name"]), None)
        if hit is None:
            unmatched_a.append(ra)
        else:
            free_b.remove(hit)
            pairs.append((ra, hit))
    still_a = []
    for ra in unmatched_a:
        hit = next((rb for rb in free_b if set(rb["aliases"]) & set(ra["aliases"])), None)
        if hit is None:
            still_a.append(ra)
        else:
            free_b.remove(hit)
            pairs.append((ra, hit))
    for ra, rb in zip(still_a, list(free_b)):
        if ra["name"].startswith("leaf#") and rb["name"].startswith("leaf#"):
            free_b.remove(rb)
            pairs.append((ra, rb))
        else:
            pairs.append((ra, None))
    pairs.extend((None, rb) for rb in free_b)
    done_a = {id(p[0]) for p in pairs if p[0] is not None}
    pairs.extend((ra, None) for ra in still_a if id(ra) not in done_a)
    return pairs


_FIELD_ORDER = {"value": 0, "root": 1, "grad": 2, "final": 3, "event": 4}


def compare_event(ea: dict[str, Any], eb: dict[str, Any], dir_a: Path, dir_b: Path) -> list[TensorDiff]:
    if ea["kind"] != eb["kind"]:
        return [TensorDiff("<event>", "event", Tier.DIVERGED,
                           note=f"event kind {ea['kind']} before, {eb['kind']} after")]
    diffs = []
    ra_list, rb_list = ea.get("roots", []), eb.get("roots", [])
    if len(ra_list) != len(rb_list):
        diffs.append(TensorDiff("<roots>", "root", Tier.DIVERGED,
                                note=f"{len(ra_list)} roots before, {len(rb_list)} after"))
    for i, (ra, rb) in enumerate(zip(ra_list, rb_list)):
        diffs.append(compare_info(ra, rb, dir_a, dir_b, ra.get("name") or f"root#{i}", "root"))
    for ra, rb in match_leaves(ea.get("leaves", []), eb.get("leaves", [])):
        name = (ra or rb or {}).get("name", "?")
        if ra is None or rb is None:
            side = "after" if ra is None else "before"
            diffs.append(TensorDiff(name, "grad", Tier.DIVERGED, note=f"leaf only in the {side} run"))
            continue
        diffs.append(compare_info(ra["value"], rb["value"], dir_a, dir_b, name, "value"))
        diffs.append(compare_info(ra["grad"], rb["grad"], dir_a, dir_b, name, "grad"))
    return diffs


def compare_traces(a: Trace, b: Trace, died: str = "") -> TraceDiff:
    """``died``: "before", "after" or "both" when that run ended early: then only the common
    prefix is compared, a longer trace on the surviving side is expected, and final values
    are not compared."""
    prefix_only = bool(died)
    out = TraceDiff(before_events=len(a.events), after_events=len(b.events))
    first_by_tier: dict[Tier, dict[str, Any]] = {}
    n = min(len(a.events), len(b.events))
    for i in range(n):
        ea, eb = a.events[i], b.events[i]
        diffs = compare_event(ea, eb, a.tensor_dir, b.tensor_dir)
        tier = max((d.tier for d in diffs), default=Tier.IDENTICAL)
        out.event_tiers.append(int(tier))
        _collect(out, diffs, i)
        if tier > Tier.IDENTICAL and tier not in first_by_tier:
            worst = min((d for d in diffs if d.tier == tier), key=lambda d: _FIELD_ORDER[d.field])
            first_by_tier[tier] = _first(i, ea, eb, worst)
    out.compared = n
    longer_ok = (died == "both" or (died == "before" and len(b.events) >= len(a.events))
                 or (died == "after" and len(a.events) >= len(b.events)))
    if len(a.events) != len(b.events) and not longer_ok:
        out.notes.append(f"the before run recorded {len(a.events)} events, the after run {len(b.events)}")
        if Tier.DIVERGED not in first_by_tier:
            first_by_tier[Tier.DIVERGED] = {
                "event": n, "kind": (a.events[n:] or b.events[n:])[0]["kind"], "field": "event",
                "tensor": None, "note": out.notes[-1], "test": None, "max_abs": None, "max_rel": None,
                "mismatched": None, "numel": None,
                **{f"{side}_{key}": (evs[n].get(field) if len(evs) > n else None)
                   for side, evs in (("before", a.events), ("after", b.events))
                   for key, field in (("site", "site"), ("file", "site_file"))}}
    if not prefix_only:
        for name in sorted(set(a.final) | set(b.final)):
            d = compare_info(a.final.get(name), b.final.get(name), a.tensor_dir, b.tensor_dir, name, "final")
            _collect(out, [d], -1)
            if d.tier > Tier.IDENTICAL and d.tier not in first_by_tier:
                first_by_tier[d.tier] = {**d.to_dict(), "event": None, "kind": "final",
                                         "before_site": None, "after_site": None, "test": None}
    out.tier = max(first_by_tier, default=Tier.IDENTICAL)
    out.first = first_by_tier.get(out.tier)
    return out


def _first(i: int, ea: dict[str, Any], eb: dict[str, Any], d: TensorDiff) -> dict[str, Any]:
    return {**d.to_dict(), "event": i, "kind": ea["kind"], "before_site": ea.get("site"),
            "after_site": eb.get("site"), "before_file": ea.get("site_file"), "after_file": eb.get("site_file"),
            "test": ea.get("test")}


def _collect(out: TraceDiff, diffs: list[TensorDiff], event: int) -> None:
    for d in diffs:
        key = (d.name, d.field)
        row = out.tensors.get(key)
        if row is None:
            row = out.tensors[key] = {"tensor": d.name, "field": d.field, "verdict": Tier.IDENTICAL.name,
                                      "first_event": None, "max_abs": 0.0, "max_rel": 0.0, "events": 0,
                                      "note": ""}
        row["events"] += 1
        if d.tier > Tier[row["verdict"]]:  # event -1: the final values (first_event stays None)
            row["verdict"], row["first_event"], row["note"] = d.tier.name, (event if event >= 0 else None), d.note
        for k in ("max_abs", "max_rel"):
            v = getattr(d, k)
            if v is not None and (row[k] is None or v > row[k]):
                row[k] = _num(v)


def loss_series(trace: Trace) -> list[list[float]]:
    """[event index, value] of each event's first scalar root: the loss curve."""
    out = []
    for ev in trace.events:
        roots = ev.get("roots") or []
        if roots and "value" in roots[0] and isinstance(roots[0]["value"], float):
            out.append([ev["i"], roots[0]["value"]])
    return out
