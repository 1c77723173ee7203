"""fix -> verify -> delta-debug -> downgrade -> re-verify -> (apply): one proof of one tree.

`prove()` is the one code path behind `verify --root DIR ... -- ENTRY` (and `--entry`, and
`[tool.varmigrate.verify] entry-points`) and `fix --verify-with ENTRY PATHS`.
"""

from __future__ import annotations

import difflib
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..harness.pairs import Options, PairResult
from ..harness.verdict import BEFORE_FAILED, INCONCLUSIVE, NOT_VERIFIABLE
from ..harness.worker import Executor
from ..policy import FindingId, Pin
from . import apply as apply_mod
from .evidence import Evidence, Ranker, sentence, summary
from .runner import Runner, entry_name
from .search import Probe, SearchResult, find_culprits
from .tree import Candidate, FileFix, TreeFixer, digest

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


def _signature(results: Sequence[PairResult]) -> tuple[Any, ...]:
    out = []
    for r in results:
        first = (r.decision.diff.first or {}) if r.decision.diff else {}
        out.append((r.decision.verdict, first.get("event"), first.get("tensor"), first.get("field"),
                    r.runs["after"].status, r.runs["after"].summary.get("events")))
    return tuple(out)


def make_patch(files: dict[str, FileFix]) -> str:
    out: list[str] = []
    for rel in sorted(files):
        ff = files[rel]
        out.extend(difflib.unified_diff(ff.old_text.splitlines(keepends=True), ff.new_text.splitlines(keepends=True),
                                        fromfile=f"a/{rel}", tofile=f"b/{rel}"))
    return "".join(out)


def prove(root: Path, entries: Sequence[list[str]], settings: Settings, opts: Options,
          executor: Executor | Future[Executor], paths: Sequence[Path] | None = None, apply: bool = False,
          echo: Callable[[str], None] = lambda s: None, exclude: Sequence[str] = ()) -> Outcome:
    start = time.perf_counter()
    root = root.resolve()
    out = Outcome(NOT_PROVEN, root, [list(e) for e in entries])
    if apply_mod.pending(root):
        if not apply:  # the tree may be half written: prove nothing on it
            raise apply_mod.ApplyError(f"{root / apply_mod.JOURNAL_DIR}: an interrupted `--apply` is pending; "
                                       "run with --apply to complete it, or --rollback to undo it")
        rec = apply_mod.recover(root)
        out.recovered = rec.describe()
        echo(out.recovered)
    fixer = TreeFixer(root, list(paths or [root]), settings, exclude=exclude)
    out.fix_errors = [f"{e.path}:{e.line}:{e.column}: {e.message}" for e in fixer.errors if e.kind != "info"]
    work = Path(tempfile.mkdtemp(prefix="varmigrate-prove-"))
    try:
        ex = executor.result() if isinstance(executor, Future) else executor
        runner = Runner(root, entries, opts, ex, work)
        runner.baseline()
        _search(out, fixer, runner, echo)
        out.after_runs, out.after_seconds = runner.after_runs, runner.after_seconds
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out.patch = make_patch(out.files)
    what = "the proven fix" if out.proven else "the fix verified last"
    note = (f"{what} changes {len(out.files)} file(s): " + ", ".join(sorted(out.files)[:20])
            if out.files else f"{what} changes nothing")
    if out.kept_back:
        note += f"; {len(out.kept_back)} unsafe fix(es) kept back"
    for r in out.final:
        r.pair.note = note
    if apply and out.proven and out.files:
        out.written = apply_mod.write_tree(root, {rel: (ff.old, ff.new) for rel, ff in out.files.items()}, out.patch)
    out.seconds = round(time.perf_counter() - start, 3)
    return out


def _search(out: Outcome, fixer: TreeFixer, runner: Runner, echo: Callable[[str], None]) -> None:
    tree0 = fixer.default
    out.initial = runner.run({rel: ff.new for rel, ff in tree0.items()}, "fix", drilldown=True)
    out.files = out.initial_tree = tree0
    if all(r.decision.ok for r in out.initial):
        out.status, out.final = PROVEN, out.initial
        return
    for r in out.initial:
        echo(f"plain fix: {r.decision.verdict} {r.pair.name}"
             + ("" if r.decision.ok else f": {sentence(summary(r, tree0))}"))
    stop = [r for r in out.initial if r.decision.verdict in (INCONCLUSIVE, BEFORE_FAILED, NOT_VERIFIABLE)]
    if stop:
        out.status = INCONCLUSIVE_STATUS if any(r.decision.verdict == INCONCLUSIVE for r in stop) else NOT_PROVEN
        out.final = out.initial
        out.reason = "; ".join(f"{r.pair.name}: {r.decision.verdict}: {r.decision.reason}" for r in stop)
        out.reason += " (no fix can be blamed: the search needs a reproducible, runnable before side)"
        return
    cands = fixer.candidates
    out.candidates = len(cands)
    if not cands:
        out.final = out.initial
        out.reason = "no unsafe fix to keep back: the safe fixes alone do not verify"
        return
    seen: dict[str, tuple[tuple[Any, ...], bool]] = {digest(tree0): (_signature(out.initial), False)}
    counter = [0]

    pin = [Pin.SAFE]  # what a candidate outside the probed set gets

    def pins_without(applied: frozenset[Candidate]) -> dict[FindingId, Pin]:
        return {c.id: pin[0] for c in cands if c not in applied}

    def test(applied: frozenset[Candidate]) -> Probe:
        t0 = time.perf_counter()
        try:
            return _probe(applied)
        finally:
            out.probe_seconds.append(time.perf_counter() - t0)

    def _probe(applied: frozenset[Candidate]) -> Probe:
        tree = fixer.tree(pins_without(applied))
        key = digest(tree)
        counter[0] += 1
        results = runner.run({rel: ff.new for rel, ff in tree.items()}, f"p{counter[0]:03d}")
        sig = _signature(results)
        passed = all(r.decision.ok for r in results)
        if key in seen and seen[key][0] != sig:
            return Probe(passed, Evidence(results, tree), inconclusive=(
                "two runs of the same fixed tree disagree: the after side is not deterministic"))
        seen[key] = (sig, passed)
        echo(f"  probe {counter[0]}: {len(applied)}/{len(cands)} unsafe fixes kept: "
             + ("passes" if passed else "fails"))
        return Probe(passed, Evidence(results, tree))

    originals = {ff.rel: ff.old_text for ff in tree0.values()}
    initial_probe = Probe(False, Evidence(out.initial, tree0))
    res: SearchResult[Candidate] = find_culprits(cands, test, initial_probe, rank=Ranker(originals))
    if res.status == "unresolved":
        # the safe alternatives do not verify either: search again with the candidates left unfixed
        pin[0] = Pin.UNFIXED
        spent = res.probes
        res = find_culprits(cands, test, initial_probe, rank=Ranker(originals))
        res.probes += spent
        if res.status == "unresolved":
            res.reason = "the tree fails even with every unsafe fix downgraded or left unfixed"
    out.probes = res.probes
    if res.status != "proven":
        out.status = INCONCLUSIVE_STATUS if res.status == "inconclusive" else NOT_PROVEN
        out.reason = res.reason
        out.final = res.last.evidence.results if res.last is not None and isinstance(res.last.evidence, Evidence) else out.initial
        return
    final_pins = {c.candidate.id: pin[0] for c in res.culprits}
    t0 = time.perf_counter()
    final_tree = fixer.tree(final_pins)
    out.final = runner.run({rel: ff.new for rel, ff in final_tree.items()}, "final")
    out.probe_seconds.append(time.perf_counter() - t0)
    out.probes += 1  # the re-verification of the whole tree
    out.files = final_tree
    key = digest(final_tree)
    if key in seen and seen[key][0] != _signature(out.final):
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


def describe(out: Outcome) -> str:
    names = ", ".join(entry_name(e) for e in out.entries)
    if out.proven:
        kept = f", {len(out.kept_back)} fix(es) kept back" if out.kept_back else ""
        return f"proven: every entry point ({names}) verifies{kept}"
    return f"{out.status}: {out.reason}"
