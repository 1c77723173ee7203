"""Pairs of programs and the orchestration of their runs (torch-free).

Each pair is run three times: before, before again (the determinism gate) and after.  All
runs go to one executor through a thread pool of ``jobs`` threads, so ``-j N`` keeps N
children alive at once; results are decided and reported in pair order.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from .compare import Trace, loss_series
from .spec import DEFAULT_TENSOR_BUDGET, RunResult, RunSpec
from .verdict import DIVERGED, Decision, decide
from .worker import Executor, make_executor


@dataclass
class Side:
    """How to start one side: a script or notebook path, or ``-m module``."""

    kind: str  # script | notebook | module
    target: str
    argv: list[str] = field(default_factory=list)
    cwd: Optional[str] = None  # None: a fresh empty temporary directory per run
    sys_path0: str = ""
    label: str = ""  # what the report shows

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


@dataclass
class PairResult:
    pair: Pair
    decision: Decision
    runs: dict[str, RunResult]
    seconds: float
    loss: dict[str, list[list[float]]] = field(default_factory=dict)  # the loss curve per side
    drilldown: Optional[dict[str, Any]] = None  # first differing aten op, for DIVERGED pairs


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


def dir_pairs(before_dir: Path, after_dir: Path) -> tuple[list[Pair], list[str]]:
    """Same-named scripts/notebooks of two trees; byte-identical files are skipped (nothing
    was migrated there).  Returns the pairs and the skipped relative paths."""
    pairs, skipped = [], []
    for after in sorted(p for ext in ("*.py", "*.ipynb") for p in after_dir.rglob(ext)):
        rel = after.relative_to(after_dir)
        before = before_dir / rel
        if not before.is_file():
            continue
        if before.read_bytes() == after.read_bytes():
            skipped.append(str(rel))
            continue
        pairs.append(Pair(str(rel), Side.for_file(before), Side.for_file(after)))
    return pairs, skipped


def file_pair(before: Path, after: Path, argv: Optional[list[str]] = None) -> Pair:
    if before.resolve().parent == after.resolve().parent:
        name = f"{before.resolve().parent.name}: {before.name} -> {after.name}"
    else:
        name = f"{before} -> {after}"
    return Pair(name,
                Side.for_file(before, argv), Side.for_file(after, argv))


def _spec(side: Side, role: str, idx: int, opts: Options, work: Path) -> RunSpec:
    out = work / f"{idx:03d}-{role}"
    cwd = side.cwd
    if cwd is None:
        cwd_path = out / "cwd"
        cwd_path.mkdir(parents=True, exist_ok=True)
        cwd = str(cwd_path)
    return RunSpec(run_id=f"{idx}:{role}:{time.monotonic_ns()}", kind=side.kind, target=side.target,
                   out_dir=str(out / "trace"), cwd=cwd, argv=list(side.argv), sys_path0=side.sys_path0,
                   shim=role != "after", device=opts.device, seed=opts.seed, timeout=opts.timeout,
                   gradcheck=role == "after", tensor_budget=opts.tensor_budget)


def _safe_run(ex: Executor, spec: RunSpec) -> RunResult:
    """A dead worker is reported as this run's harness error, not as a crash of verify."""
    try:
        return ex.run(spec)
    except Exception as exc:  # noqa: BLE001 - any executor failure becomes a verdict input
        return RunResult(run_id=spec.run_id, out_dir=spec.out_dir, status="error",
                         message=f"harness error: {exc}")


def _drilldown(pair: Pair, event: int, idx: int, opts: Options, work: Path, ex: Executor) -> Optional[dict[str, Any]]:
    from .optrace import first_difference

    specs = {}
    for role, side in (("before", pair.before), ("after", pair.after)):
        spec = _spec(side, f"ops-{role}", idx, opts, work)
        spec.shim, spec.gradcheck, spec.optrace_until = role == "before", False, event
        specs[role] = spec
    runs = {role: _safe_run(ex, spec) for role, spec in specs.items()}
    if any(r.status == "error" for r in runs.values()):
        return None
    return first_difference(*(Path(specs[r].out_dir) / "ops.jsonl" for r in ("before", "after")))


def run_pairs(pairs: list[Pair], opts: Options, executor: Optional[Executor] = None,
              work_dir: Optional[Path] = None) -> Iterator[PairResult]:
    """Yields one result per pair, in order, as soon as its runs are done."""
    ex = executor or make_executor(opts.executor)
    own_work = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="varmigrate-verify-")) if own_work else Path(work_dir)  # type: ignore[arg-type]
    pool = ThreadPoolExecutor(max_workers=max(1, opts.jobs))
    try:
        jobs: list[dict[str, Future[RunResult]]] = []
        for i, pair in enumerate(pairs):
            roles = {"before": pair.before, "after": pair.after}
            if opts.gate:
                roles["before_rerun"] = pair.rerun or pair.before
            futs = {role: pool.submit(_safe_run, ex, _spec(side, role, i, opts, work)) for role, side in roles.items()}
            jobs.append(futs)
        for i, (pair, futs) in enumerate(zip(pairs, jobs)):
            runs = {role: f.result() for role, f in futs.items()}
            decision = decide(runs["before"], runs.get("before_rerun"), runs["after"])
            loss = {role: loss_series(Trace.load(runs[role].out_dir)) for role in ("before", "after")}
            drill = None
            first = (decision.diff.first or {}) if decision.diff else {}
            if opts.drilldown and decision.verdict == DIVERGED and first.get("event") is not None:
                drill = _drilldown(pair, int(first["event"]), i, opts, work, ex)
            # all runs were queued up front, so a pair's cost is its runs' wall time, not its latency
            seconds = round(sum(r.wall_s for r in runs.values()), 3)
            yield PairResult(pair, decision, runs, seconds, loss, drill)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
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
