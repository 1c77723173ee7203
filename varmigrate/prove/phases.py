"""The search of a proof: a delta debugging (`search.py`) over the findings whose plain fix is
unsafe, then the culprits kept back and the whole tree re-verified.

1. **Downgraded.** A candidate outside a probed set gets its safe alternative.
2. **Left unfixed** (only when 1 fails even with every candidate downgraded: a safe alternative
   is wrong too): the same search, a candidate outside a probed set left unfixed.

The result is proven only by the final re-verification of the whole tree, run as the user will
run it.  A probe whose tree was probed before and whose result disagrees stops the search
(INCONCLUSIVE: the after side is not deterministic), and so does a final run that disagrees with
its probe.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from ..harness.pairs import PairResult
from ..harness.verdict import BEFORE_FAILED, INCONCLUSIVE, NOT_VERIFIABLE
from ..policy import Pin
from .evidence import Evidence, Ranker, sentence, summary
from .outcome import INCONCLUSIVE_STATUS, NOT_PROVEN, PROVEN, KeptBack, Outcome
from .runner import Runner
from .search import Probe, SearchResult, find_culprits
from .tree import Candidate, FileFix, TreeFixer, digest

_NONDETERMINISTIC = "two runs of the same fixed tree disagree: the after side is not deterministic"


def signature(results: Sequence[PairResult]) -> tuple[Any, ...]:
    """What two runs of one tree must agree on."""
    out = []
    for r in results:
        first = (r.decision.diff.first or {}) if r.decision.diff else {}
        out.append((r.decision.verdict, first.get("event"), first.get("tensor"), first.get("field"),
                    r.runs["after"].status, r.runs["after"].summary.get("events")))
    return tuple(out)


class _Prober:
    """Runs probes: a pin set -> a fixed tree -> its after runs, remembered by the tree's content."""

    def __init__(self, out: Outcome, fixer: TreeFixer, runner: Runner, echo: Callable[[str], None]) -> None:
        self.out, self.fixer, self.runner, self.echo = out, fixer, runner, echo
        self.seen: dict[str, tuple[tuple[Any, ...], bool]] = {digest(fixer.default): (signature(out.initial), False)}
        self.count = 0

    def tester(self, cands: Sequence[Candidate], pin: Pin) -> Callable[[frozenset[Candidate]], Probe]:
        """The search's test: the tree with `applied` fixed as plain `fix` does, the other
        candidates pinned to `pin`."""

        def test(applied: frozenset[Candidate]) -> Probe:
            t0 = time.perf_counter()
            try:
                probe = self.run(self.fixer.tree({c.id: pin for c in cands if c not in applied}))
                if not probe.inconclusive:
                    self.echo(f"  probe {self.count}: {len(applied)}/{len(cands)} unsafe fixes kept: "
                              + ("passes" if probe.passed else "fails"))
                return probe
            finally:
                self.out.probe_seconds.append(time.perf_counter() - t0)

        return test

    def run(self, tree: dict[str, FileFix]) -> Probe:
        key = digest(tree)
        self.count += 1
        results = self.runner.run({rel: ff.new for rel, ff in tree.items()}, f"p{self.count:03d}")
        sig, passed = signature(results), all(r.decision.ok for r in results)
        if key in self.seen and self.seen[key][0] != sig:
            return Probe(passed, Evidence(results, tree), inconclusive=_NONDETERMINISTIC)
        self.seen[key] = (sig, passed)
        return Probe(passed, Evidence(results, tree))


def search_tree(out: Outcome, fixer: TreeFixer, runner: Runner, echo: Callable[[str], None]) -> None:
    """Verify the plain fix; when it fails, search, keep the culprits back, re-verify."""
    tree0 = fixer.default
    out.initial = runner.run({rel: ff.new for rel, ff in tree0.items()}, "fix", drilldown=True, keep_tree=True)
    out.files = out.initial_tree = tree0
    out.final = out.initial
    if all(r.decision.ok for r in out.initial):
        out.status = PROVEN
        return
    for r in out.initial:
        echo(f"plain fix: {r.decision.verdict} {r.pair.name}"
             + ("" if r.decision.ok else f": {sentence(summary(r, tree0))}"))
    stop = [r for r in out.initial if r.decision.verdict in (INCONCLUSIVE, BEFORE_FAILED, NOT_VERIFIABLE)]
    if stop:
        out.status = INCONCLUSIVE_STATUS if any(r.decision.verdict == INCONCLUSIVE for r in stop) else NOT_PROVEN
        out.reason = "; ".join(f"{r.pair.name}: {r.decision.verdict}: {r.decision.reason}" for r in stop)
        out.reason += " (no fix can be blamed: the search needs a reproducible, runnable before side)"
        return
    cands = fixer.candidates
    out.candidates = len(cands)
    if not cands:
        out.reason = "no unsafe fix to keep back: the safe fixes alone do not verify"
        return
    prober = _Prober(out, fixer, runner, echo)
    rank = Ranker({ff.rel: ff.old_text for ff in tree0.values()})
    failing = Probe(False, Evidence(out.initial, tree0))
    pin = Pin.SAFE
    res: SearchResult[Candidate] = find_culprits(cands, prober.tester(cands, pin), failing, rank=rank)
    if res.status == "unresolved":
        # the safe alternatives do not verify either: search again with the candidates left unfixed
        pin, spent = Pin.UNFIXED, res.probes
        res = find_culprits(cands, prober.tester(cands, pin), failing, rank=rank)
        res.probes += spent
        if res.status == "unresolved":
            res.reason = "the tree fails even with every unsafe fix downgraded or left unfixed"
    out.probes = res.probes
    if res.status != "proven":
        out.status = INCONCLUSIVE_STATUS if res.status == "inconclusive" else NOT_PROVEN
        out.reason = res.reason
        last = res.last.evidence if res.last is not None else None
        if isinstance(last, Evidence):
            out.final = list(last.results)
        return
    _finish(out, fixer, runner, prober, pin, res)


def _finish(out: Outcome, fixer: TreeFixer, runner: Runner, prober: _Prober, pin: Pin,
            res: SearchResult[Candidate]) -> None:
    """Keep the culprits back (pinned to `pin`) and re-verify the whole tree."""
    final_tree = fixer.tree({c.candidate.id: pin for c in res.culprits})
    t0 = time.perf_counter()
    out.final = runner.run({rel: ff.new for rel, ff in final_tree.items()}, "final", keep_tree=True)
    out.probe_seconds.append(time.perf_counter() - t0)
    out.probes += 1  # the re-verification of the whole tree
    out.files = final_tree
    key = digest(final_tree)
    if key in prober.seen and prober.seen[key][0] != signature(out.final):
        out.status = INCONCLUSIVE_STATUS
        out.reason = ("the re-verification of the final tree disagrees with the probe of the same tree: "
                      "the after side is not deterministic")
    elif all(r.decision.ok for r in out.final):
        out.status = PROVEN
    else:
        out.reason = "the tree with the culprits downgraded still does not verify"
    for cul in res.culprits:
        c = cul.candidate
        mine = [a for ff in final_tree.values() for a in ff.applied if a.origin == c.id]
        ev = cul.probe.evidence
        evidence = [summary(r, ev.tree) for r in ev.failing] if isinstance(ev, Evidence) else []
        out.kept_back.append(KeptBack(c, "downgraded" if mine else "left unfixed",
                                      "; ".join(dict.fromkeys(a.title for a in mine)) if mine else c.message,
                                      list(cul.partners), evidence, cul.probes))
