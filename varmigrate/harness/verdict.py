"""The pair decision: from three runs (before, before again, after) to one verdict.

Order of questions, each answered once:
1. Is the reference reproducible?  before vs before-again must end the same way with
   bitwise-equal (or ``torch.equal``) traces, else INCONCLUSIVE: never blamed on the migration.
2. Did the before run finish?  If not, compare the prefix it produced, and lean on the
   gradcheck of the after-run's custom Functions; with neither, NOT VERIFIABLE.
3. Did the after run finish?  If not, AFTER-FAILED (with how far the traces agreed).
4. Both finished: the trace tier is the verdict (IDENTICAL / EQUAL / CLOSE / DIVERGED).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from .compare import Trace, TraceDiff, compare_traces
from .spec import RunResult
from .tiers import (AFTER_FAILED, ALL, BEFORE_FAILED, CLOSE, DIVERGED, EQUAL, IDENTICAL, INCONCLUSIVE,
                    NOT_VERIFIABLE, PASSING, Tier)

__all__ = ["ALL", "PASSING", "IDENTICAL", "EQUAL", "CLOSE", "DIVERGED", "BEFORE_FAILED", "AFTER_FAILED",
           "INCONCLUSIVE", "NOT_VERIFIABLE", "Decision", "decide", "describe"]


@dataclass
class Decision:
    verdict: str
    reason: str
    diff: Optional[TraceDiff] = None
    gate: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verdict in PASSING


def _signature(r: RunResult) -> tuple[Any, ...]:
    exc = (r.summary.get("exception") or {}).get("type")
    return (r.status, r.exit_code, r.signal, exc)


def describe(r: RunResult) -> str:
    """How a run ended, in a few words: the message and the user's frame."""
    where = ""
    if r.frame:
        where = f" at {r.frame['file'].rsplit('/', 1)[-1]}:{r.frame['line']}"
    return f"{r.message or r.status}{where}"


def _gradchecks(r: RunResult) -> tuple[int, list[str]]:
    rows = r.summary.get("gradcheck") or []
    passed = sum(1 for g in rows if g["status"] == "passed")
    failed = [g["function"] for g in rows if g["status"] == "failed"]
    return passed, failed


def decide(before: RunResult, rerun: Optional[RunResult], after: RunResult) -> Decision:
    tb = Trace.load(before.out_dir, before.summary)
    ta = Trace.load(after.out_dir, after.summary)
    gate: dict[str, Any] = {"checked": rerun is not None}
    if rerun is not None:
        tr = Trace.load(rerun.out_dir, rerun.summary)
        same_end = _signature(before) == _signature(rerun)
        gdiff = compare_traces(tb, tr)
        gate.update(identical=same_end and gdiff.tier <= Tier.EQUAL, tier=gdiff.tier.name,
                    first=gdiff.first)
        if not gate["identical"]:
            if not same_end:
                why = f"the two before runs ended differently ({describe(before)} vs {describe(rerun)})"
            else:
                f = gdiff.first or {}
                why = (f"the two before runs differ at event {f.get('event')} "
                       f"({f.get('tensor')} {f.get('field')}, max abs {f.get('max_abs')})")
            return Decision(INCONCLUSIVE, why + ": the reference is not deterministic", gdiff, gate)

    if not before.ok:
        diff = compare_traces(tb, ta, died="before" if after.ok else "both")
        passed, failed = _gradchecks(after)
        if diff.compared and diff.tier == Tier.DIVERGED:
            return Decision(DIVERGED, f"the before run failed ({describe(before)}), and the "
                            f"{diff.compared}-event prefix it produced already diverges", diff, gate)
        if failed:
            return Decision(DIVERGED, f"the before run failed ({describe(before)}); gradcheck of "
                            f"{', '.join(failed)} in the after run fails", diff, gate)
        evidence = []
        if diff.compared:
            evidence.append(f"the after run matches the {diff.compared} events it produced "
                            f"({diff.tier.name.lower()})")
        if passed:
            evidence.append(f"{passed} custom Function(s) pass gradcheck")
        if not evidence:
            return Decision(NOT_VERIFIABLE, f"the before run failed before any gradient event "
                            f"({describe(before)}) and the after run used no custom autograd.Function "
                            f"to gradcheck", diff, gate)
        return Decision(BEFORE_FAILED, f"the before run failed ({describe(before)}); "
                        + "; ".join(evidence), diff, gate)

    diff = compare_traces(tb, ta, died="" if after.ok else "after")
    if not after.ok:
        if diff.tier > Tier.EQUAL:
            agreed = f"the traces already diverge at event {(diff.first or {}).get('event')}"
        elif diff.compared:
            agreed = f"the traces agree on the {diff.compared} events before that"
        else:
            agreed = "it failed before its first gradient event"
        return Decision(AFTER_FAILED, f"the after run failed ({describe(after)}); {agreed}", diff, gate)
    if not tb.events and not ta.events:
        return Decision(NOT_VERIFIABLE, "neither run computed a gradient (no backward, autograd.grad "
                        "or optimizer step)", diff, gate)
    n = diff.compared
    if diff.tier == Tier.IDENTICAL:
        return Decision(IDENTICAL, f"{n} events and {len(tb.final)} final values bitwise identical", diff, gate)
    f = diff.first or {}
    where = (f"event {f.get('event')} ({f.get('kind')}{', ' + str(f.get('after_site')) if f.get('after_site') else ''})"
             if f.get("event") is not None else "the final values")
    tensor = f"{f.get('tensor')} {f.get('field')}" if f.get("tensor") else str(f.get("note"))
    amounts = f"max abs {_fmt(f.get('max_abs'))}, max rel {_fmt(f.get('max_rel'))}"
    if diff.tier == Tier.EQUAL:
        return Decision(EQUAL, f"{n} events equal by value; bits differ first at {where}: {tensor}", diff, gate)
    if diff.tier == Tier.CLOSE:
        return Decision(CLOSE, f"within float tolerance, not exact: first at {where}: {tensor} ({amounts})",
                        diff, gate)
    note = f"; {f['note']}" if f.get("note") and f.get("tensor") else ""
    return Decision(DIVERGED, f"first divergence at {where}: {tensor} ({amounts}){note}", diff, gate)


def _fmt(x: Optional[float]) -> str:
    return "n/a" if x is None else f"{x:.3g}"
