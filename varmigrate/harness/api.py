"""The harness as a library: the before side of a pair run once, judged against any number of
after sides (torch-free; the runs happen in the executor's children).

`verify` judges each pair once; a proof (`varmigrate.prove`) runs the before side of every entry
point once and an after side per probe.  Both go through `Harness`, so a probe is judged exactly
as `verify` judges a pair:

- the before runs read the legacy program as ``opts.reference`` says (0.3 by default), with the
  legacy features its source needs (``detect``, ``features``), twice (the determinism gate);
- the other reading runs when the harness decides it can differ (``readings``): a note beside
  the verdict, never the verdict;
- an after run is decided against them (``verdict.decide``), its printed output compared as a
  note (``printed``), and a DIVERGED pair gets the op-level drill-down.

::

    with Harness(opts, executor, work_dir) as harness:
        refs = harness.reference(pairs)                  # the before side of each pair, once
        results = harness.after(refs, [side, ...])       # one after run per pair, judged
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

from . import features, printed, readings
from .compare import Trace, loss_series
from .pairs import Options, Pair, PairResult, Side
from .spec import RunResult, RunSpec
from .tiers import DIVERGED
from .verdict import decide
from .worker import Executor, make_executor

__all__ = ["Harness", "Reference", "run_pairs", "start_executor", "verify"]

BEFORE_ROLES = ("before", "before_rerun", "before_other")
_ROOT_HINT = ("; pair mode runs each side in an empty temporary folder: to run it in a copy of its "
              "project, use `varmigrate verify --root DIR -- ENTRY`")


@dataclass
class Reference:
    """The before side of one pair, run once: what every after side of the pair is judged against."""

    pair: Pair
    idx: int
    features: list[str]  # the legacy features installed in the reference before runs
    before: RunResult
    rerun: Optional[RunResult]  # the determinism gate's second run (None: gate off)
    other: Optional[RunResult]  # the legacy program under the other reading, when it ran
    readings: dict[str, Any]  # the two readings compared (``readings``)


class _Pending:
    """A reference whose runs are queued: `result()` waits for them."""

    def __init__(self, pair: Pair, idx: int, feats: list[str], before: Future[RunResult],
                 rerun: Optional[Future[RunResult]], other: Future[Optional[RunResult]], reference: str) -> None:
        self.pair, self.idx, self.feats, self.reference = pair, idx, feats, reference
        self._before, self._rerun, self._other = before, rerun, other

    def result(self) -> Reference:
        before = self._before.result()
        rerun = self._rerun.result() if self._rerun is not None else None
        other = self._other.result()
        if other is not None:
            reading = readings.compare_readings(before, other, self.reference)
        else:
            reading = readings.not_run(self.reference, _why_not(self.reference, self.feats))
        return Reference(self.pair, self.idx, self.feats, before, rerun, other, reading)


class Harness:
    """Runs before sides once and after sides on demand, in one executor, `opts.jobs` at a time."""

    def __init__(self, opts: Options, executor: Executor, work: Path) -> None:
        self.opts, self.executor, self.work = opts, executor, Path(work)
        self.pool = ThreadPoolExecutor(max_workers=max(1, opts.jobs))
        self._lock = threading.Lock()
        self._idx = 0

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, typ: Optional[type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def next_index(self, given: Optional[int] = None) -> int:
        """A fresh run number (or `given`, which later numbers then follow): names the runs'
        folders under the work directory."""
        with self._lock:
            self._idx = max(self._idx, given) if given is not None else self._idx + 1
            return self._idx if given is None else given

    # -- the before side ------------------------------------------------------------------

    def start_reference(self, pair: Pair, idx: Optional[int] = None) -> _Pending:
        """Queues the before runs of `pair`: the reference reading (twice with the gate) and,
        chained on the first, the other reading when it can differ."""
        idx = self.next_index(idx)
        found = pair.found_features()
        ref = features.for_reference(found, self.opts.reference)
        alt = features.for_reference(found, readings.other(self.opts.reference))
        before = self._submit(pair.before, "before", idx, ref)
        rerun = self._submit(pair.rerun or pair.before, "before_rerun", idx, ref) if self.opts.gate else None
        other = self._other_reading(pair, idx, before, alt, ref != alt)
        return _Pending(pair, idx, ref, before, rerun, other, self.opts.reference)

    def reference(self, pairs: Sequence[Pair]) -> list[Reference]:
        """The before side of every pair, run in parallel; in pair order."""
        pending = [self.start_reference(p) for p in pairs]
        return [p.result() for p in pending]

    # -- the after side -------------------------------------------------------------------

    def start_after(self, side: Side, idx: Optional[int] = None) -> Future[RunResult]:
        """Queues one after run of `side` (no legacy features, no shim: as the user will run it)."""
        return self._submit(side, "after", self.next_index(idx), [])

    def judge(self, ref: Reference, after: RunResult, side: Optional[Side] = None, idx: Optional[int] = None,
              drilldown: Optional[bool] = None) -> PairResult:
        """The verdict of `after` (a run of `side`, by default the pair's own after side) against
        the reference, with the printed-output note and, when DIVERGED, the drill-down."""
        base = ref.pair
        pair = base if side is None else Pair(base.name, base.before, side, base.rerun, base.note)
        decision = decide(ref.before, ref.rerun, after)
        runs = {"before": ref.before, "after": after}
        if ref.rerun is not None:
            runs["before_rerun"] = ref.rerun
        loss = {role: loss_series(Trace.load(runs[role].out_dir)) for role in ("before", "after")}
        drill = None
        first = (decision.diff.first or {}) if decision.diff else {}
        if (self.opts.drilldown if drilldown is None else drilldown) and decision.verdict == DIVERGED \
                and first.get("event") is not None:
            drill = self._drilldown(pair, int(first["event"]), ref.idx if idx is None else idx, ref.features)
        if ref.other is not None:
            runs["before_other"] = ref.other
        stdout = (printed.compare_runs(ref.before.out_dir, after.out_dir) if ref.before.ok and after.ok else
                  {"compared": False, "note": "printed output not compared: a run did not finish"})
        # the runs were queued up front, so a pair's cost is its runs' wall time, not its latency
        seconds = round(sum(r.wall_s for r in runs.values()), 3)
        return PairResult(pair, decision, runs, seconds, loss, drill, self.opts.reference, ref.features,
                          ref.readings, stdout)

    def after(self, refs: Sequence[Reference], sides: Sequence[Side],
              drilldown: Optional[bool] = None) -> list[PairResult]:
        """One after run per reference (``sides[i]`` against ``refs[i]``), run in parallel, judged."""
        if len(refs) != len(sides):
            raise ValueError("one after side per reference")
        jobs = []
        for side in sides:
            idx = self.next_index()
            jobs.append((idx, self.start_after(side, idx)))
        return [self.judge(ref, fut.result(), side, idx, drilldown)
                for ref, side, (idx, fut) in zip(refs, sides, jobs)]

    # -- runs -----------------------------------------------------------------------------

    def _submit(self, side: Side, role: str, idx: int, feats: list[str]) -> Future[RunResult]:
        spec = _spec(side, role, idx, self.opts, self.work, feats)
        return self.pool.submit(_safe_run, self.executor, spec, side)

    def _other_reading(self, pair: Pair, idx: int, before: Future[RunResult], feats: list[str],
                       can_differ: bool) -> Future[Optional[RunResult]]:
        """One more before run reading the program the other way, started as soon as the reference
        run shows it is needed: under the 0.3 reference, when that run hit a 0.3-only construct;
        under the modern one, when the source has such a construct (only the 0.3 run can tell)."""
        out: Future[Optional[RunResult]] = Future()
        if not can_differ:
            out.set_result(None)
            return out

        def chain(f: Future[RunResult]) -> None:
            try:
                hits = features.split_hits(f.result().summary.get("shim_hits", {}))[1]
                if self.opts.reference == "0.3" and not hits:
                    out.set_result(None)
                    return
                run = self._submit(pair.before, "before_other", idx, feats)
                run.add_done_callback(lambda r: out.set_result(None if r.cancelled() else r.result()))
            except BaseException:  # noqa: BLE001 - e.g. the pool shut down: no second reading
                if not out.done():
                    out.set_result(None)

        before.add_done_callback(chain)
        return out

    def _drilldown(self, pair: Pair, event: int, idx: int, feats: list[str]) -> Optional[dict[str, Any]]:
        from .optrace import first_difference

        specs = {}
        for role, side in (("before", pair.before), ("after", pair.after)):
            spec = _spec(side, f"ops-{role}", idx, self.opts, self.work, feats if role == "before" else [])
            spec.shim, spec.gradcheck, spec.optrace_until = role == "before", False, event
            specs[role] = spec
        runs = {role: _safe_run(self.executor, spec) for role, spec in specs.items()}
        if any(r.status == "error" for r in runs.values()):
            return None
        return first_difference(*(Path(specs[r].out_dir) / "ops.jsonl" for r in ("before", "after")))


def _spec(side: Side, role: str, idx: int, opts: Options, work: Path, feats: list[str]) -> RunSpec:
    """One run of a side with the legacy features `feats` (a before run's, or none)."""
    out = work / f"{idx:03d}-{role}"
    cwd = side.cwd
    if cwd is None:
        cwd_path = out / "cwd"
        cwd_path.mkdir(parents=True, exist_ok=True)
        cwd = str(cwd_path)
    return RunSpec(run_id=f"{idx}:{role}:{time.monotonic_ns()}", kind=side.kind, target=side.target,
                   out_dir=str(out / "trace"), cwd=cwd, argv=list(side.argv), sys_path0=side.sys_path0,
                   shim=role in BEFORE_ROLES, features=list(feats), device=opts.device, seed=opts.seed,
                   timeout=opts.timeout, gradcheck=role == "after", tensor_budget=opts.tensor_budget)


def _safe_run(ex: Executor, spec: RunSpec, side: Optional[Side] = None) -> RunResult:
    """A dead worker is reported as this run's harness error, not as a crash of verify."""
    try:
        res = ex.run(spec)
    except Exception as exc:  # noqa: BLE001 - any executor failure becomes a verdict input
        return RunResult(run_id=spec.run_id, out_dir=spec.out_dir, status="error",
                         message=f"harness error: {exc}")
    exc_type = (res.summary.get("exception") or {}).get("type")
    if side is not None and side.cwd is None and exc_type == "FileNotFoundError":
        res.message += _ROOT_HINT
    return res


def _why_not(reference: str, feats: list[str]) -> str:
    sem = [f for f in feats if features.BY_NAME[f].kind == features.SEMANTICS]
    if reference == "0.3" and sem:
        return ("the before run used no construct whose 0.3 meaning modern torch changed: both readings "
                "are the same program")
    return "the source has no construct whose 0.3 meaning modern torch changed: both readings are the same program"


def start_executor(kind: str) -> Future[Executor]:
    """Starts the executor (``make_executor(kind)``: the warm worker imports torch) in a
    background thread, so that the caller prepares its runs meanwhile; an error is raised where
    the future's result is asked for."""
    fut: Future[Executor] = Future()

    def start() -> None:
        try:
            fut.set_result(make_executor(kind))
        except BaseException as exc:  # noqa: BLE001 - re-raised where the executor is used
            fut.set_exception(exc)

    threading.Thread(target=start, daemon=True).start()
    return fut


def run_pairs(pairs: list[Pair], opts: Options, executor: Optional[Executor] = None,
              work_dir: Optional[Path] = None) -> Iterator[PairResult]:
    """Yields one result per pair, in order, as soon as its runs are done; every run is queued
    up front, so ``-j N`` keeps N children alive at once."""
    ex = executor or make_executor(opts.executor)
    own_work = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="varmigrate-verify-")) if work_dir is None else Path(work_dir)
    try:
        with Harness(opts, ex, work) as harness:
            jobs = []
            for i, pair in enumerate(pairs):
                pending = harness.start_reference(pair, i)
                jobs.append((pending, harness.start_after(pair.after, i)))
            for pending, after in jobs:
                yield harness.judge(pending.result(), after.result())
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)


def verify(pairs: list[Pair], opts: Options, executor: Optional[Executor] = None,
           on_result: Optional[Callable[[PairResult], None]] = None) -> list[PairResult]:
    results = []
    for res in run_pairs(pairs, opts, executor):
        if on_result:
            on_result(res)
        results.append(res)
    return results
