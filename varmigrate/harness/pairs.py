"""Pairs of programs and the orchestration of their runs (torch-free).

Each pair is run three times: before, before again (the determinism gate) and after.  The
before runs read the program as ``--reference`` says (0.3 by default) with the legacy features
its source needs (``detect``).  When the reference run used a construct whose 0.3 meaning
modern torch changed, one more before run reads it the other way (``readings``).  All runs go
to one executor through a thread pool of ``jobs`` threads, so ``-j N`` keeps N children alive
at once; results are decided and reported in pair order.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from . import detect, features, printed, readings
from .compare import Trace, loss_series
from .spec import DEFAULT_TENSOR_BUDGET, RunResult, RunSpec
from .tiers import DIVERGED
from .verdict import Decision, decide
from .worker import Executor, make_executor

BEFORE_ROLES = ("before", "before_rerun", "before_other")


@dataclass
class Side:
    """How to start one side: a script or notebook path, or ``-m module``."""

    kind: str  # script | notebook | module
    target: str
    argv: list[str] = field(default_factory=list)
    cwd: Optional[str] = None  # None: a fresh empty temporary directory per run
    sys_path0: str = ""
    label: str = ""  # what the report shows
    origin: Optional[tuple[str, str]] = None  # (copy, user's tree): codebase mode runs in a copy

    @classmethod
    def for_file(cls, path: Path, argv: Optional[list[str]] = None) -> "Side":
        path = path.resolve()
        kind = "notebook" if path.suffix == ".ipynb" else "script"
        return cls(kind, str(path), list(argv or []), None, str(path.parent), str(path))


@dataclass
class Pair:
    name: str
    before: Side
    after: Side
    rerun: Optional[Side] = None  # codebase mode reruns in its own copy of the tree
    note: str = ""

    def found_features(self) -> list[str]:
        """The legacy features the before program's source mentions (any reference)."""
        return found_features(self.before)


def found_features(side: Side) -> list[str]:
    """The legacy features a side's source mentions (any reference)."""
    return sorted(features.mentioned(detect.program_texts(side.kind, side.target, [side.sys_path0, side.cwd or ""])))


@dataclass
class Options:
    timeout: float = 120.0
    device: str = "auto"
    seed: int = 0
    jobs: int = 1
    executor: str = "fork"
    tensor_budget: int = DEFAULT_TENSOR_BUDGET
    gate: bool = True  # run the before side twice
    drilldown: bool = True  # re-run a DIVERGED pair with an op-level trace
    reference: str = "0.3"  # how the before runs read the legacy program: "0.3" or "modern"


@dataclass
class PairResult:
    pair: Pair
    decision: Decision
    runs: dict[str, RunResult]
    seconds: float
    loss: dict[str, list[list[float]]] = field(default_factory=dict)  # the loss curve per side
    drilldown: Optional[dict[str, Any]] = None  # first differing aten op, for DIVERGED pairs
    reference: str = "0.3"
    features: list[str] = field(default_factory=list)  # installed in the reference before runs
    readings: dict[str, Any] = field(default_factory=dict)  # the 0.3 vs modern reading (readings.py)
    printed: dict[str, Any] = field(default_factory=dict)  # stdout compared (printed.py): a note


def fixture_pairs(root: Path) -> list[Pair]:
    """Every ``root/*/before.{py,ipynb}`` with its ``after`` sibling, sorted by name."""
    pairs = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        for ext in (".py", ".ipynb"):
            b, a = d / f"before{ext}", d / f"after{ext}"
            if b.exists() and a.exists():
                pairs.append(Pair(d.name, Side.for_file(b), Side.for_file(a)))
                break
    return pairs


@dataclass
class DirPairs:
    pairs: list[Pair]
    unchanged: list[str]  # byte-identical on both sides: nothing was migrated there
    only_before: list[str]  # present on one side only: not verified
    only_after: list[str]


def _programs(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for ext in ("*.py", "*.ipynb") for p in root.rglob(ext) if p.is_file()}


def dir_pairs(before_dir: Path, after_dir: Path) -> DirPairs:
    """Same-named scripts/notebooks of two trees, by relative path."""
    in_before, in_after = _programs(before_dir), _programs(after_dir)
    out = DirPairs([], [], sorted(in_before - in_after), sorted(in_after - in_before))
    for rel in sorted(in_before & in_after):
        before, after = before_dir / rel, after_dir / rel
        if before.read_bytes() == after.read_bytes():
            out.unchanged.append(rel)
            continue
        out.pairs.append(Pair(rel, Side.for_file(before), Side.for_file(after)))
    return out


def file_pair(before: Path, after: Path, argv: Optional[list[str]] = None) -> Pair:
    if before.resolve().parent == after.resolve().parent:
        name = f"{before.resolve().parent.name}: {before.name} -> {after.name}"
    else:
        name = f"{before} -> {after}"
    return Pair(name,
                Side.for_file(before, argv), Side.for_file(after, argv))


def _spec(side: Side, role: str, idx: int, opts: Options, work: Path,
          feats: Optional[list[str]] = None) -> RunSpec:
    """One run of a side; a before run gets the legacy features its source needs under
    ``opts.reference`` unless ``feats`` says which."""
    if feats is None:
        feats = features.for_reference(found_features(side), opts.reference) if role in BEFORE_ROLES else []
    out = work / f"{idx:03d}-{role}"
    cwd = side.cwd
    if cwd is None:
        cwd_path = out / "cwd"
        cwd_path.mkdir(parents=True, exist_ok=True)
        cwd = str(cwd_path)
    return RunSpec(run_id=f"{idx}:{role}:{time.monotonic_ns()}", kind=side.kind, target=side.target,
                   out_dir=str(out / "trace"), cwd=cwd, argv=list(side.argv), sys_path0=side.sys_path0,
                   shim=role != "after", features=list(feats or []), device=opts.device, seed=opts.seed,
                   timeout=opts.timeout,
                   gradcheck=role == "after", tensor_budget=opts.tensor_budget)


_ROOT_HINT = ("; pair mode runs each side in an empty temporary folder: to run it in a copy of its "
              "project, use `varmigrate verify --root DIR -- ENTRY`")


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


def _drilldown(pair: Pair, event: int, idx: int, opts: Options, work: Path, ex: Executor,
               feats: Optional[list[str]] = None) -> Optional[dict[str, Any]]:
    from .optrace import first_difference

    specs = {}
    for role, side in (("before", pair.before), ("after", pair.after)):
        if role == "before" and feats is None:
            feats = features.for_reference(found_features(side), opts.reference)
        spec = _spec(side, f"ops-{role}", idx, opts, work, feats if role == "before" else [])
        spec.shim, spec.gradcheck, spec.optrace_until = role == "before", False, event
        specs[role] = spec
    runs = {role: _safe_run(ex, spec) for role, spec in specs.items()}
    if any(r.status == "error" for r in runs.values()):
        return None
    return first_difference(*(Path(specs[r].out_dir) / "ops.jsonl" for r in ("before", "after")))


def _planned(pair: Pair, opts: Options) -> tuple[list[str], list[str], bool]:
    """(features of the reference before runs, of the other reading, whether the other reading
    can differ at all: only when a 0.3-semantics feature is in play)."""
    found = pair.found_features()
    ref = features.for_reference(found, opts.reference)
    alt = features.for_reference(found, readings.other(opts.reference))
    return ref, alt, ref != alt


def run_pairs(pairs: list[Pair], opts: Options, executor: Optional[Executor] = None,
              work_dir: Optional[Path] = None) -> Iterator[PairResult]:
    """Yields one result per pair, in order, as soon as its runs are done."""
    ex = executor or make_executor(opts.executor)
    own_work = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="varmigrate-verify-")) if own_work else Path(work_dir)  # type: ignore[arg-type]
    pool = ThreadPoolExecutor(max_workers=max(1, opts.jobs))
    try:
        jobs: list[tuple[dict[str, Future[RunResult]], Future[Optional[RunResult]], list[str]]] = []
        for i, pair in enumerate(pairs):
            ref_feats, alt_feats, alt_differs = _planned(pair, opts)
            roles = {"before": pair.before, "after": pair.after}
            if opts.gate:
                roles["before_rerun"] = pair.rerun or pair.before
            futs = {role: pool.submit(_safe_run, ex, _spec(side, role, i, opts, work,
                                                           ref_feats if role != "after" else []), side)
                    for role, side in roles.items()}
            jobs.append((futs, _other_reading(pool, ex, pair, i, opts, work, futs["before"], alt_feats,
                                              alt_differs), ref_feats))
        for i, (pair, (futs, other_fut, ref_feats)) in enumerate(zip(pairs, jobs)):
            runs = {role: f.result() for role, f in futs.items()}
            decision = decide(runs["before"], runs.get("before_rerun"), runs["after"])
            loss = {role: loss_series(Trace.load(runs[role].out_dir)) for role in ("before", "after")}
            drill = None
            first = (decision.diff.first or {}) if decision.diff else {}
            if opts.drilldown and decision.verdict == DIVERGED and first.get("event") is not None:
                drill = _drilldown(pair, int(first["event"]), i, opts, work, ex, ref_feats)
            other_run = other_fut.result()
            if other_run is not None:
                runs["before_other"] = other_run
                reading = readings.compare_readings(runs["before"], other_run, opts.reference)
            else:
                reading = readings.not_run(opts.reference, _why_not(opts.reference, ref_feats))
            stdout = (printed.compare_runs(runs["before"].out_dir, runs["after"].out_dir)
                      if runs["before"].ok and runs["after"].ok else
                      {"compared": False, "note": "printed output not compared: a run did not finish"})
            # all runs were queued up front, so a pair's cost is its runs' wall time, not its latency
            seconds = round(sum(r.wall_s for r in runs.values()), 3)
            yield PairResult(pair, decision, runs, seconds, loss, drill, opts.reference, ref_feats, reading,
                             stdout)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if own_work:
            shutil.rmtree(work, ignore_errors=True)


def _semantic_hits(res: RunResult) -> dict[str, int]:
    return features.split_hits(res.summary.get("shim_hits", {}))[1]


def _other_reading(pool: ThreadPoolExecutor, ex: Executor, pair: Pair, idx: int, opts: Options, work: Path,
                   before: Future[RunResult], feats: list[str], can_differ: bool) -> Future[Optional[RunResult]]:
    """One more before run reading the program the other way, started as soon as the reference
    run shows it is needed: under the 0.3 reference, when that run hit a 0.3-only construct;
    under the modern one, when the source has such a construct (only the 0.3 run can tell)."""
    out: Future[Optional[RunResult]] = Future()
    if not can_differ:
        out.set_result(None)
        return out

    def chain(f: Future[RunResult]) -> None:
        try:
            needed = opts.reference != "0.3" or bool(_semantic_hits(f.result()))
            if not needed:
                out.set_result(None)
                return
            spec = _spec(pair.before, "before_other", idx, opts, work, feats)
            run = pool.submit(_safe_run, ex, spec, pair.before)
            run.add_done_callback(lambda r: out.set_result(r.result()) if not r.cancelled() else out.set_result(None))
        except BaseException:  # noqa: BLE001 - e.g. the pool shut down: no second reading
            if not out.done():
                out.set_result(None)

    before.add_done_callback(chain)
    return out


def _why_not(reference: str, feats: list[str]) -> str:
    sem = [f for f in feats if features.BY_NAME[f].kind == features.SEMANTICS]
    if reference == "0.3" and sem:
        return ("the before run used no construct whose 0.3 meaning modern torch changed: both readings "
                "are the same program")
    return "the source has no construct whose 0.3 meaning modern torch changed: both readings are the same program"


def verify(pairs: list[Pair], opts: Options, executor: Optional[Executor] = None,
           on_result: Optional[Callable[[PairResult], None]] = None) -> list[PairResult]:
    results = []
    for res in run_pairs(pairs, opts, executor):
        if on_result:
            on_result(res)
        results.append(res)
    return results
