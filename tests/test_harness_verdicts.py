"""Verdicts for user code that misbehaves: hangs, crashes, is not deterministic, needs the
legacy shim, or fails on one side.  Each program is tiny; the warm worker is shared."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from varmigrate.harness.api import verify
from varmigrate.harness.pairs import Options, Pair, PairResult, Side, file_pair

pytestmark = pytest.mark.torch

TRAIN = """
import torch
torch.manual_seed(0)
w = torch.randn(3, requires_grad=True)
x = torch.randn(8, 3)
for step in range(4):
    loss = (x.mv(w) - 1).pow(2).mean()
    loss.backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
        w.grad.zero_()
"""


@pytest.fixture(scope="module")
def worker() -> Any:
    from varmigrate.harness.worker import shared_worker

    return shared_worker()


def write(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source))
    return path


def run_pair(tmp_path: Path, worker: Any, before: str, after: str, **opts: Any) -> PairResult:
    b = write(tmp_path / "before.py", before)
    a = write(tmp_path / "after.py", after)
    return verify([file_pair(b, a)], Options(**{"timeout": 30, **opts}), worker)[0]


def test_hang_in_after_is_a_timeout_with_the_users_frame(tmp_path: Path, worker: Any) -> None:
    res = run_pair(tmp_path, worker, TRAIN, TRAIN + "while True:\n    pass\n", timeout=3)
    after = res.runs["after"]
    assert res.decision.verdict == "AFTER-FAILED"
    assert after.status == "timeout"
    assert after.frame is not None and after.frame["file"].endswith("after.py")
    assert after.frame["line"] in (TRAIN.count("\n") + 1, TRAIN.count("\n") + 2)  # `while` or `pass`
    assert "agree on the 4 events" in res.decision.reason


def test_segfault_in_after_is_a_crash(tmp_path: Path, worker: Any) -> None:
    res = run_pair(tmp_path, worker, TRAIN, TRAIN + "import ctypes\nctypes.string_at(0)\n")
    after = res.runs["after"]
    assert res.decision.verdict == "AFTER-FAILED"
    assert (after.status, after.signal) == ("crashed", "SIGSEGV")
    assert after.frame is not None and after.frame["file"].endswith("after.py")
    assert "Segmentation fault" in after.stderr_tail


def test_nondeterministic_before_is_inconclusive(tmp_path: Path, worker: Any) -> None:
    src = TRAIN.replace("torch.manual_seed(0)", "import time\ntorch.manual_seed(time.time_ns() % 2**31)")
    res = run_pair(tmp_path, worker, src, src)
    assert res.decision.verdict == "INCONCLUSIVE"
    assert res.decision.gate["identical"] is False
    assert "not deterministic" in res.decision.reason


def test_before_that_needs_the_shim(tmp_path: Path, worker: Any) -> None:
    before = """
    import torch
    from torch.autograd import Variable
    torch.manual_seed(0)
    w = Variable(torch.randn(3), requires_grad=True)
    for step in range(3):
        loss = (w * w).sum()
        if type(loss) == Variable:
            loss.backward()
        print(loss.data[0])
        w.data -= 0.1 * w.grad.data
        w.grad.data.zero_()
    """
    after = """
    import torch
    torch.manual_seed(0)
    w = torch.randn(3, requires_grad=True)
    for step in range(3):
        loss = (w * w).sum()
        if isinstance(loss, torch.Tensor):
            loss.backward()
        print(loss.item())
        with torch.no_grad():
            w -= 0.1 * w.grad
            w.grad.zero_()
    """
    res = run_pair(tmp_path, worker, before, after)
    assert res.decision.verdict == "IDENTICAL", res.decision.reason
    assert res.runs["before"].summary["shim_hits"] == {"type_eq_variable": 3, "zero_dim_index": 3}


def test_after_that_raises(tmp_path: Path, worker: Any) -> None:
    # a bad rewrite detaches w in place: the next backward finds nothing that requires grad
    res = run_pair(tmp_path, worker, TRAIN, TRAIN.replace("w.grad.zero_()", "w.grad.zero_()\n        w.detach_()"))
    assert res.decision.verdict == "AFTER-FAILED"
    assert res.runs["after"].summary["exception"]["type"] == "RuntimeError"
    assert res.runs["after"].frame["code"] == "loss.backward()"
    assert "agree on the 1 events" in res.decision.reason


def test_memory_limit_is_a_clean_failure(tmp_path: Path, worker: Any) -> None:
    res = run_pair(tmp_path, worker, TRAIN, TRAIN + "big = torch.empty(10**11)\n")
    assert res.decision.verdict == "AFTER-FAILED"
    assert "can't allocate memory" in res.runs["after"].message


LEGACY_FN_BEFORE = """
import torch
from torch.autograd import Function
torch.manual_seed(0)
x = torch.randn(5, requires_grad=True)
y = torch.gesv(x, x)  # gone since torch 1.x: the before side cannot run at all
"""

NEW_FN_AFTER = """
import torch
from torch.autograd import Function

class Cube(Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return k * x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * ctx.k * GRAD_FACTOR * x ** 2, None

torch.manual_seed(0)
x = torch.randn(5, requires_grad=True)
Cube.apply(x, 2.0).sum().backward()
"""


def test_before_that_cannot_run_falls_back_to_gradcheck(tmp_path: Path, worker: Any) -> None:
    res = run_pair(tmp_path, worker, LEGACY_FN_BEFORE, NEW_FN_AFTER.replace("GRAD_FACTOR", "3"))
    assert res.decision.verdict == "BEFORE-FAILED"
    assert "1 custom Function(s) pass gradcheck" in res.decision.reason
    assert res.runs["before"].summary["exception"]["type"] == "AttributeError"


def test_wrong_custom_function_fails_gradcheck(tmp_path: Path, worker: Any) -> None:
    res = run_pair(tmp_path, worker, LEGACY_FN_BEFORE, NEW_FN_AFTER.replace("GRAD_FACTOR", "2"))
    assert res.decision.verdict == "DIVERGED"
    assert "gradcheck of __main__.Cube" in res.decision.reason
    (check,) = res.runs["after"].summary["gradcheck"]
    assert check["status"] == "failed" and "Jacobian mismatch" in check["detail"]


def test_nothing_to_compare_is_not_verifiable(tmp_path: Path, worker: Any) -> None:
    res = run_pair(tmp_path, worker, "import torch\ntorch.gesv\n", "import torch\nprint(torch.ones(2))\n")
    assert res.decision.verdict == "NOT VERIFIABLE"
    res = run_pair(tmp_path, worker, "print(1)\n", "print(1)\n")
    assert res.decision.verdict == "NOT VERIFIABLE"


def test_reassociated_arithmetic_is_close_not_equal(tmp_path: Path, worker: Any) -> None:
    base = """
    import torch
    torch.manual_seed(0)
    x = torch.randn(16, 64)
    w = torch.randn(64, 1, requires_grad=True)
    for step in range(5):
        pred = PRED
        loss = (pred - 1).pow(2).mean()
        loss.backward()
        with torch.no_grad():
            w -= 0.01 * w.grad
            w.grad.zero_()
    """
    res = run_pair(tmp_path, worker, base.replace("PRED", "x.mm(w)"),
                   base.replace("PRED", "(x.unsqueeze(2) * w.unsqueeze(0)).sum(1)"))
    assert res.decision.verdict == "CLOSE", res.decision.reason
    first = res.decision.diff.first
    assert 0 < first["max_abs"] < 1e-4 and first["event"] == 0


def test_signed_zero_is_equal_not_identical(tmp_path: Path, worker: Any) -> None:
    base = """
    import torch
    w = torch.ones(3, requires_grad=True)
    (w * ZERO).sum().backward()
    """
    res = run_pair(tmp_path, worker, base.replace("ZERO", "0.0"), base.replace("ZERO", "-0.0"))
    assert res.decision.verdict == "EQUAL", res.decision.reason
    assert res.decision.diff.first["tensor"] in ("w", "root#0")


def test_notebook_pair_drops_magics(tmp_path: Path, worker: Any) -> None:
    def nb(cells: list[str]) -> str:
        return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
            {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
             "source": c.splitlines(keepends=True)} for c in cells] + [
            {"cell_type": "markdown", "metadata": {}, "source": ["# text"]}]})

    setup = "%matplotlib inline\n!pip install nothing\nimport torch\ntorch.manual_seed(0)\n"
    (tmp_path / "before.ipynb").write_text(nb([
        setup, "from torch.autograd import Variable\nw = Variable(torch.randn(3), requires_grad=True)\n",
        "%%time\nloss = (w ** 2).sum()\nloss.backward()\nprint(loss.data[0])\n"]))
    (tmp_path / "after.ipynb").write_text(nb([
        setup, "w = torch.randn(3, requires_grad=True)\n",
        "%%time\nloss = (w ** 2).sum()\nloss.backward()\nprint(loss.item())\n"]))
    res = verify([file_pair(tmp_path / "before.ipynb", tmp_path / "after.ipynb")], Options(timeout=30), worker)[0]
    assert res.decision.verdict == "IDENTICAL", res.decision.reason
    assert res.runs["before"].summary["shim_hits"] == {"zero_dim_index": 1}


def test_pytest_entry_reports_each_test(tmp_path: Path, worker: Any) -> None:
    tests = """
    import torch

    def test_a():
        w = torch.ones(2, requires_grad=True)
        (w * torch.randn(2)).sum().backward()

    def test_b():
        w = torch.ones(2, requires_grad=True)
        (w * torch.randn(2)).sum().backward()
    """
    for side in ("b", "a"):
        (tmp_path / side).mkdir()
        write(tmp_path / side / "test_it.py", tests)
    pair = Pair("pytest", *(Side("module", "pytest", ["-q", "test_it.py"], str(tmp_path / s), str(tmp_path / s),
                                 s) for s in ("b", "a")))
    res = verify([pair], Options(timeout=60), worker)[0]
    assert res.decision.verdict == "IDENTICAL", res.decision.reason
    outcomes = [(t["test"], t["outcome"]) for t in res.runs["after"].summary["tests"]]
    assert outcomes == [("test_it.py::test_a", "passed"), ("test_it.py::test_b", "passed")]


def test_fresh_subprocess_executor_gives_the_same_trace(tmp_path: Path) -> None:
    from varmigrate.harness.worker import FreshExecutor

    src = TRAIN
    res = run_pair(tmp_path, FreshExecutor(), src, src, gate=False)
    assert res.decision.verdict == "IDENTICAL"
    assert res.decision.gate == {"checked": False}


def test_op_traces_of_a_faithful_migration_are_identical(tmp_path: Path, worker: Any) -> None:
    """Direct evidence for the bitwise gate: the rewrite runs the same aten ops on the same data."""
    from varmigrate.harness.detect import needed
    from varmigrate.harness.optrace import first_difference
    from varmigrate.harness.spec import RunSpec

    programs = Path(__file__).parent / "fixtures" / "programs" / "custom_function"
    outs = {}
    for role in ("before", "after"):
        cwd = tmp_path / role
        cwd.mkdir()
        spec = RunSpec(run_id=f"ops-{role}", kind="script", target=str(programs / f"{role}.py"),
                       out_dir=str(tmp_path / f"{role}-trace"), cwd=str(cwd), sys_path0=str(programs),
                       shim=role == "before", timeout=60, optrace_until=1 << 30,
                       features=needed("script", str(programs / "before.py"), [str(programs)]))
        assert worker.run(spec).status == "ok"
        outs[role] = tmp_path / f"{role}-trace" / "ops.jsonl"
    diff = first_difference(outs["before"], outs["after"])
    assert diff["change"] == "none" and diff["before_ops"] == diff["after_ops"] > 100


def test_user_code_runs_with_the_collector_on_and_its_children_are_reaped(tmp_path: Path, worker: Any) -> None:
    # the worker imports torch with gc off; the program must not inherit that, and a child
    # process the program starts must not confuse the worker's SIGCHLD wake-up
    probe = TRAIN + textwrap.dedent("""
    import gc, subprocess, sys
    assert gc.isenabled(), "gc is off in the user program"
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    """)
    res = run_pair(tmp_path, worker, probe, probe)
    assert res.decision.verdict == "IDENTICAL", res.decision.reason
    assert {r.status for r in res.runs.values()} == {"ok"}


def test_verify_runs_one_job_per_core_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from varmigrate.harness import worker as worker_mod

    monkeypatch.setattr(worker_mod.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert worker_mod.default_jobs() == 3


DQN = """
import torch
import torch.nn as nn
from torch.autograd import Variable
torch.manual_seed(0)
model = nn.Linear(4, 2)
s, s2 = Variable(torch.randn(8, 4)), Variable(torch.randn(8, 4){volatile})
target = model(s2).max(1)[0]
{clear}
loss = ((model(s).max(1)[0] - (0.9 * target + 1)) ** 2).mean()
loss.backward()
print(model.bias.grad.tolist())
"""


def test_deleting_volatile_is_not_certified_against_the_03_reading(tmp_path: Path, worker: Any) -> None:
    legacy = DQN.format(volatile=", volatile=True", clear="target.volatile = False")
    deleted = DQN.format(volatile="", clear="")  # the migration that keeps modern torch's misreading
    res = run_pair(tmp_path, worker, legacy, deleted)
    assert res.decision.verdict == "DIVERGED" and res.decision.diff is not None
    assert res.decision.diff.first["tensor"] == "model.bias" and res.decision.diff.first["event"] == 0
    assert res.readings["differs"] is True  # the unmigrated code itself reads differently today
    # and the same pair against the modern reading: deleting the flag changes nothing there
    modern = run_pair(tmp_path, worker, legacy, deleted, reference="modern")
    assert modern.decision.verdict == "IDENTICAL", modern.decision.reason
    assert modern.reference == "modern" and modern.readings["differs"] is True


# the names are spelled in pieces: the worker reads a program's text to see whether it may need dynamo
DYNAMO_PROBE = """
import sys
import torch
print("dynamo at start:", "torch." + "_dyn" + "amo" in sys.modules, torch.are_deterministic_algorithms_enabled())
"""
INDUCTOR_PROBE = """
import importlib
print("inductor deterministic:", importlib.import_module("torch." + "_ind" + "uctor.config").deterministic)
"""


def test_dynamo_is_preloaded_only_for_programs_that_may_need_it_and_changes_no_gradient(tmp_path: Path) -> None:
    """The worker imports torch._dynamo before the first run that mentions an optimizer (or the
    like), not at start-up; a run's trace is the same with or without it, and torch's determinism
    flags (inductor's too, whenever it is imported) are set either way."""
    from varmigrate.harness.compare import Tier, Trace, compare_traces
    from varmigrate.harness.spec import RunResult, RunSpec
    from varmigrate.harness.worker import ForkWorker

    plain = write(tmp_path / "plain.py", DYNAMO_PROBE + TRAIN + INDUCTOR_PROBE)
    optim = write(tmp_path / "optim.py", DYNAMO_PROBE + TRAIN + "torch.optim.SGD([w], lr=0.1).step()\n" + INDUCTOR_PROBE)
    worker = ForkWorker()  # its own: the shared one may have imported dynamo already
    runs: list[RunResult] = []
    try:
        for i, prog in enumerate((plain, optim, plain)):
            spec = RunSpec(run_id=str(i), kind="script", target=str(prog), out_dir=str(tmp_path / f"run{i}"),
                           cwd=str(tmp_path), timeout=120)
            res = worker.run(spec)
            assert res.status == "ok", res.message + res.stderr_tail
            runs.append(res)
    finally:
        worker.close()
    assert "dynamo at start: False True" in runs[0].stdout_tail
    assert "dynamo at start: True True" in runs[1].stdout_tail
    assert "dynamo at start: True True" in runs[2].stdout_tail  # loaded in the worker by then
    assert all("inductor deterministic: True" in r.stdout_tail for r in runs)
    assert runs[0].summary["events"] == 4
    diff = compare_traces(Trace.load(runs[0].out_dir, runs[0].summary), Trace.load(runs[2].out_dir, runs[2].summary))
    assert diff.tier == Tier.IDENTICAL
