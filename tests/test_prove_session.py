"""The proof's control flow with a fake tree and a fake harness: when it stops, what it blames,
and that two runs of one tree that disagree end INCONCLUSIVE."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from varmigrate.harness.spec import RunResult
from varmigrate.harness.verdict import AFTER_FAILED, IDENTICAL, INCONCLUSIVE, Decision
from varmigrate.policy import AppliedFix, FindingId, Pin
from varmigrate.prove.outcome import Outcome
from varmigrate.prove.phases import search_tree
from varmigrate.prove.tree import Candidate, FileFix


def _cand(i: int) -> Candidate:
    fid = FindingId("/t/m.py", i + 1, 5, "VM101")
    return Candidate(fid, "m.py", "VM101", "msg", [AppliedFix(fid, False, "VM101", "drop", "unsafe", 0, i + 1, "m")])


class FakeFixer:
    def __init__(self, n: int) -> None:
        self.candidates = [_cand(i) for i in range(n)]
        self.default = self.tree({})

    def tree(self, pins: Mapping[FindingId, Pin]) -> dict[str, FileFix]:
        kept = [c for c in self.candidates if c.id not in pins]
        text = "".join(f"{c.id.line}\n" for c in kept)
        text += "".join(f"u{c.id.line}\n" for c in self.candidates if pins.get(c.id) is Pin.UNFIXED)
        applied = [a for c in kept for a in c.tried]
        return {"m.py": FileFix("m.py", b"old", text.encode(), "old\n", text, applied)}


@dataclass
class _Pair:
    name: str = "t: train.py"


@dataclass
class FakeResult:
    decision: Decision
    runs: dict[str, RunResult]
    pair: _Pair = field(default_factory=_Pair)
    drilldown: Any = None


class FakeRunner:
    """Fails while any of `bad` is applied; `flip` makes the final re-verification disagree."""

    def __init__(self, bad: set[int], flip: bool = False, verdict: str = AFTER_FAILED, safe_breaks: bool = False,
                 n: int = 8) -> None:
        self.bad, self.flip, self.verdict, self.tags = bad, flip, verdict, []
        self.safe_breaks, self.all = safe_breaks, range(n)

    def run(self, files: Mapping[str, bytes], tag: str, drilldown: bool = False,
            keep_tree: bool = False) -> list[FakeResult]:
        self.tags.append(tag)
        words = files["m.py"].decode().split()
        lines = {int(x) for x in words if x.isdigit()}
        if self.safe_breaks and not any(w.startswith("u") for w in words) and len(lines) < len(self.all):
            lines |= {b + 1 for b in self.bad}  # a safe alternative that is itself wrong
        fails = bool(lines & {b + 1 for b in self.bad})
        if tag == "final" and self.flip:
            fails = not fails
        verdict = self.verdict if fails else IDENTICAL
        run = RunResult("r", "/nonexistent", "exception" if fails else "ok", message="boom" if fails else "")
        return [FakeResult(Decision(verdict, "why"), {"after": run})]


def _prove(n: int, runner: FakeRunner) -> Outcome:
    out = Outcome("not proven", Path("/t"), [["train.py"]])
    search_tree(out, FakeFixer(n), runner, lambda s: None)  # type: ignore[arg-type]
    return out


def test_culprits_are_downgraded_and_the_tree_re_verified() -> None:
    runner = FakeRunner({2, 5})
    out = _prove(8, runner)
    assert out.status == "proven"
    assert sorted(kb.candidate.id.line for kb in out.kept_back) == [3, 6]
    assert runner.tags[0] == "fix" and runner.tags[-1] == "final"
    assert out.probes <= out.target and len(out.probe_seconds) == out.probes


def test_a_final_run_that_contradicts_its_probe_is_inconclusive() -> None:
    out = _prove(8, FakeRunner({4}, flip=True))
    assert out.status == "inconclusive" and "not deterministic" in out.reason


def test_an_inconclusive_plain_verify_stops_before_any_probe() -> None:
    runner = FakeRunner({1}, verdict=INCONCLUSIVE)
    out = _prove(4, runner)
    assert out.status == "inconclusive" and runner.tags == ["fix"] and not out.kept_back


def test_a_tree_that_fails_without_its_unsafe_fixes_is_not_proven() -> None:
    class Always(FakeRunner):
        def run(self, files: Mapping[str, bytes], tag: str, drilldown: bool = False,
                keep_tree: bool = False) -> list[FakeResult]:
            self.tags.append(tag)
            run = RunResult("r", "/nonexistent", "exception", message="boom")
            return [FakeResult(Decision(AFTER_FAILED, "why"), {"after": run})]

    out = _prove(4, Always(set()))
    assert out.status == "not proven" and "left unfixed" in out.reason and not out.kept_back


def test_when_the_safe_alternatives_fail_the_culprits_are_left_unfixed() -> None:
    out = _prove(8, FakeRunner({3}, safe_breaks=True))
    assert out.status == "proven"
    assert [(kb.candidate.id.line, kb.action) for kb in out.kept_back] == [(4, "left unfixed")]
