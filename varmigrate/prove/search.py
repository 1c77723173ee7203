"""Delta debugging over findings: which unsafe fixes make an entry point diverge.

The unit is a *candidate*: a finding of the original tree whose fix is unsafe.  A probe
``test(applied)`` runs the tree with exactly the candidates in ``applied`` fixed as plain
`fix --unsafe-fixes` would, every other candidate pinned to its safe alternative (or left
unfixed), and says whether every entry point still passes.  Known: the full set fails (the
plain verify that started the search); probed first: the empty set passes.

The search keeps an ordered list ``kept`` of candidates that pass together, and a ranked
``rest``.  While ``kept + rest`` fails:

1. bisect ``rest`` for the shortest prefix ``p`` such that ``kept + p`` fails; its last
   element is a culprit (``kept + p[:-1]`` passes).  The first split is taken at the end of
   the *suspects* (candidates the evidence points at: the failing op's source line, the
   divergent tensor's name, the exception's line), so a well-aimed suspicion costs one probe;
2. probe the culprit alone: if it passes, it only fails together with others (interacting
   culprits): bisect ``kept`` (suspects first) for the partner, and again until the members
   fail together;
3. downgrade the culprit (not its partners: without it they pass, that was probed), move
   ``p[:-1]`` into ``kept`` and re-rank the rest by the evidence of the next failing probe.

Cost with k culprits among n candidates: one probe for the empty set, about
``ceil(log2 n) + 2`` per independent culprit (bisection, the alone-probe, the next
``kept + rest``), ``ceil(log2 n)`` more per partner.  Results are cached per applied set, so
no subset is probed twice; the caller's final re-verification catches a flaky program
(a result that contradicts the cached one).  Monotonicity (more unsafe fixes never make a
failing tree pass) is assumed for speed, never for correctness: the result is only ever
proven by the final re-verification of the whole tree.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

C = TypeVar("C", bound=Hashable)


@dataclass
class Probe:
    """One probe's answer."""

    passed: bool
    evidence: Any = None  # what the ranking reads (first divergence, failing line, ...)
    inconclusive: str = ""  # non-empty: the program itself is not deterministic; stop


@dataclass
class Culprit(Generic[C]):
    candidate: C
    partners: list[C]  # interacting: the culprit passes alone and fails with these
    probe: Probe  # the failing probe that isolated it
    probes: int  # probes spent on isolating it (bisection + alone + partners)


@dataclass
class SearchResult(Generic[C]):
    status: str  # "proven" (kept passes), "inconclusive", "unresolved"
    culprits: list[Culprit[C]] = field(default_factory=list)
    kept: list[C] = field(default_factory=list)
    probes: int = 0
    reason: str = ""
    last: Probe | None = None  # the last probe of the kept set


Ranker = Callable[[Sequence[C], Any], tuple[list[C], int]]
"""Orders candidates by suspicion given a failing probe's evidence; returns the order and how
many of the first ones are suspects (0: the evidence points at none)."""


def no_ranking(candidates: Sequence[C], evidence: Any) -> tuple[list[C], int]:
    return list(candidates), 0


class _Inconclusive(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Search(Generic[C]):
    def __init__(self, test: Callable[[frozenset[C]], Probe], max_probes: int) -> None:
        self._test = test
        self.cache: dict[frozenset[C], Probe] = {}
        self.probes = 0
        self.max_probes = max_probes

    def probe(self, applied: Sequence[C] | frozenset[C]) -> Probe:
        key = frozenset(applied)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        if self.probes >= self.max_probes:
            raise _Inconclusive(f"gave up after {self.probes} probes")
        self.probes += 1
        res = self._test(key)
        if res.inconclusive:
            raise _Inconclusive(res.inconclusive)
        self.cache[key] = res
        return res

    def shortest_failing_prefix(self, base: Sequence[C], seq: Sequence[C], suspects: int) -> tuple[int, Probe]:
        """The smallest ``m`` with ``base + seq[:m]`` failing; known: ``m = len(seq)`` fails and
        ``m = 0`` passes."""
        lo, hi = 0, len(seq)
        failing = self.probe([*base, *seq])
        mid = suspects if 0 < suspects < hi - lo and suspects * 4 <= hi - lo else (lo + hi) // 2
        while hi - lo > 1:
            res = self.probe([*base, *seq[:mid]])
            if res.passed:
                lo = mid
            else:
                hi, failing = mid, res
            mid = (lo + hi) // 2
        return hi, failing


def find_culprits(candidates: Sequence[C], test: Callable[[frozenset[C]], Probe], initial: Probe,
                  rank: Ranker[C] = no_ranking, max_probes: int | None = None) -> SearchResult[C]:
    """Delta-debug `candidates` (all applied: `initial`, a failing probe) down to the culprits."""
    limit = max_probes if max_probes is not None else 4 * len(candidates) + 8
    s: _Search[C] = _Search(test, limit)
    full = frozenset(candidates)
    s.cache[full] = initial
    if initial.passed:
        return SearchResult("proven", kept=list(candidates), last=initial)
    culprits: list[Culprit[C]] = []
    kept: list[C] = []
    try:
        empty = s.probe(frozenset())
        if not empty.passed:
            return SearchResult("unresolved", probes=s.probes, last=empty,
                                reason="the tree fails even with every unsafe fix downgraded")
        rest, suspects = rank(list(candidates), initial.evidence)
        current = initial
        while not current.passed:
            if not rest:  # kept passed before: only a flaky program gets here
                raise _Inconclusive("a set of fixes that passed before fails now")
            spent = s.probes
            m, failing = s.shortest_failing_prefix(kept, rest, suspects)
            culprit = rest[m - 1]
            kept.extend(rest[: m - 1])
            partners = _partners(s, culprit, kept, failing, rank)
            culprits.append(Culprit(culprit, partners, failing, s.probes - spent))
            rest = rest[m:]
            current = s.probe([*kept, *rest])
            if not current.passed:
                rest, suspects = rank(rest, current.evidence)
        kept.extend(rest)
        return SearchResult("proven", culprits, kept, s.probes, last=current)
    except _Inconclusive as exc:
        return SearchResult("inconclusive", culprits, kept, s.probes, reason=exc.reason)


def _partners(s: _Search[C], culprit: C, kept: Sequence[C], failing: Probe, rank: Ranker[C]) -> list[C]:
    """The kept candidates without which `culprit` passes (empty: it fails on its own)."""
    members: list[C] = []
    pool = list(kept)
    while True:
        alone = s.probe([culprit, *members])
        if not alone.passed or not pool:
            return members
        pool, suspects = rank(pool, failing.evidence)
        m, failing = s.shortest_failing_prefix([culprit, *members], pool, suspects)
        members.append(pool[m - 1])
        pool = pool[: m - 1]
