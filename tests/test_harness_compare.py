"""Unit tests of the comparison and the pair decision, on synthetic traces."""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path
from typing import Any, Optional

import pytest

from varmigrate.harness.compare import Tier, Trace, compare_traces, match_leaves
from varmigrate.harness.notebook import code_cells
from varmigrate.harness.spec import RunResult
from varmigrate.harness.verdict import decide


def info(tag: str, shape: Optional[list[int]] = None, dtype: str = "float32") -> dict[str, Any]:
    return {"sha": hashlib.sha256(tag.encode()).hexdigest(), "shape": shape or [2], "dtype": dtype}


def leaf(name: str, grad: Optional[str], value: str, aliases: Optional[list[str]] = None) -> dict[str, Any]:
    return {"name": name, "aliases": aliases or [name], "grad": None if grad is None else info(grad),
            "value": info(value)}


def event(i: int, leaves: list[dict[str, Any]], loss: str = "L", kind: str = "backward") -> dict[str, Any]:
    return {"i": i, "kind": kind, "site": "x.py:1", "test": None,
            "roots": [{**info(loss + str(i), [], "float32"), "name": "loss", "value": float(i)}],
            "leaves": leaves}


def trace(tmp: Path, name: str, events: list[dict[str, Any]], final: Optional[dict[str, Any]] = None) -> Trace:
    d = tmp / name
    (d / "tensors").mkdir(parents=True)
    (d / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return Trace.load(d, {"final": final or {}})


def test_identical_hashes_are_identical(tmp_path: Path) -> None:
    evs = [event(i, [leaf("w", f"g{i}", f"v{i}")]) for i in range(3)]
    diff = compare_traces(trace(tmp_path, "a", evs), trace(tmp_path, "b", evs))
    assert diff.tier == Tier.IDENTICAL and diff.compared == 3 and diff.first is None
    assert diff.counts()["IDENTICAL"] == 3


def test_missing_grad_is_a_divergence_named_by_tensor(tmp_path: Path) -> None:
    a = [event(0, [leaf("w", "g", "v"), leaf("b", "h", "u")])]
    b = [event(0, [leaf("w", "g", "v"), leaf("b", None, "u")])]
    diff = compare_traces(trace(tmp_path, "a", a), trace(tmp_path, "b", b))
    assert diff.tier == Tier.DIVERGED
    assert (diff.first["tensor"], diff.first["field"], diff.first["event"]) == ("b", "grad", 0)
    assert diff.first["note"] == "grad is None in the after run"


def test_value_difference_is_reported_before_the_grad_it_causes(tmp_path: Path) -> None:
    a = [event(0, [leaf("w", "g", "v")])]
    b = [event(0, [leaf("w", "g2", "v2")])]
    diff = compare_traces(trace(tmp_path, "a", a), trace(tmp_path, "b", b))
    assert diff.first["field"] == "value"


def test_dtype_change_diverges(tmp_path: Path) -> None:
    a = [event(0, [leaf("w", "g", "v")])]
    b = [event(0, [leaf("w", "g", "v")])]
    b[0]["leaves"][0]["grad"]["dtype"] = "float64"
    diff = compare_traces(trace(tmp_path, "a", a), trace(tmp_path, "b", b))
    assert diff.tier == Tier.DIVERGED and "float64" in diff.first["note"]


def test_event_count_and_kind(tmp_path: Path) -> None:
    evs = [event(i, [leaf("w", f"g{i}", f"v{i}")]) for i in range(3)]
    diff = compare_traces(trace(tmp_path, "a", evs), trace(tmp_path, "b", evs[:2]))
    assert diff.tier == Tier.DIVERGED and diff.first["event"] == 2 and diff.first["field"] == "event"
    # the before run died after two events: the after run's extra event is expected
    diff = compare_traces(trace(tmp_path, "c", evs[:2]), trace(tmp_path, "d", evs), died="before")
    assert diff.tier == Tier.IDENTICAL and diff.compared == 2
    other = [dict(evs[0], kind="optimizer_step")]
    diff = compare_traces(trace(tmp_path, "e", evs[:1]), trace(tmp_path, "f", other))
    assert diff.tier == Tier.DIVERGED and "event kind" in diff.first["note"]


def test_final_values_are_compared(tmp_path: Path) -> None:
    evs = [event(0, [leaf("w", "g", "v")])]
    diff = compare_traces(trace(tmp_path, "a", evs, {"w": info("end")}), trace(tmp_path, "b", evs, {"w": info("x")}))
    assert diff.tier == Tier.DIVERGED and diff.first["kind"] == "final"


def test_leaf_matching_by_name_alias_and_position() -> None:
    la = [leaf("w", "g", "v", ["w", "params[0]"]), leaf("leaf#1", "g", "v"), leaf("gone", "g", "v")]
    lb = [leaf("leaf#1", "g", "v"), leaf("weight", "g", "v", ["weight", "params[0]"])]
    pairs = [(a and a["name"], b and b["name"]) for a, b in match_leaves(la, lb)]
    assert ("w", "weight") in pairs and ("leaf#1", "leaf#1") in pairs and ("gone", None) in pairs


def run(tmp: Path, name: str, events: list[dict[str, Any]], status: str = "ok",
        exc: Optional[str] = None) -> RunResult:
    trace(tmp, name, events)
    summary: dict[str, Any] = {"status": status, "final": {}}
    if exc:
        summary["exception"] = {"type": exc, "message": "boom", "frame": None}
    return RunResult(run_id=name, out_dir=str(tmp / name), status=status, summary=summary,
                     message=f"{exc}: boom" if exc else "")


def test_decide_gate_and_failures(tmp_path: Path) -> None:
    evs = [event(i, [leaf("w", f"g{i}", f"v{i}")]) for i in range(3)]
    ok = decide(run(tmp_path, "b1", evs), run(tmp_path, "b2", evs), run(tmp_path, "a1", evs))
    assert ok.verdict == "IDENTICAL" and ok.ok
    moved = [event(0, [leaf("w", "other", "v0")])] + evs[1:]
    gate = decide(run(tmp_path, "b3", evs), run(tmp_path, "b4", moved), run(tmp_path, "a2", moved))
    assert gate.verdict == "INCONCLUSIVE" and not gate.ok
    ended = decide(run(tmp_path, "b5", evs), run(tmp_path, "b6", evs, "exception", "IndexError"),
                   run(tmp_path, "a3", evs))
    assert ended.verdict == "INCONCLUSIVE" and "ended differently" in ended.reason
    died = decide(run(tmp_path, "b7", evs[:1], "exception", "IndexError"),
                  run(tmp_path, "b8", evs[:1], "exception", "IndexError"), run(tmp_path, "a4", evs))
    assert died.verdict == "BEFORE-FAILED" and "matches the 1 events" in died.reason
    after = decide(run(tmp_path, "b9", evs), None, run(tmp_path, "a5", evs[:2], "exception", "KeyError"))
    assert after.verdict == "AFTER-FAILED" and after.gate == {"checked": False}


@pytest.mark.torch
def test_stored_tensors_separate_equal_close_and_diverged(tmp_path: Path) -> None:
    import torch

    from varmigrate.harness.compare import compare_info
    from varmigrate.harness.tensorio import TensorStore

    sa, sb = TensorStore(tmp_path / "a", 1 << 20), TensorStore(tmp_path / "b", 1 << 20)
    ref = torch.tensor([1.0, 0.0, float("nan"), 3.0])

    def cmp(other: torch.Tensor) -> Any:
        ia, ib = sa.record(ref), sb.record(other)
        sa.flush()
        sb.flush()
        return compare_info(ia, ib, tmp_path / "a", tmp_path / "b", "w", "grad")

    assert cmp(ref.clone()).tier == Tier.IDENTICAL
    assert cmp(torch.tensor([1.0, -0.0, float("nan"), 3.0])).tier == Tier.EQUAL
    close = cmp(torch.tensor([1.0 + 2e-7, 0.0, float("nan"), 3.0]))
    assert close.tier == Tier.CLOSE and close.max_abs == pytest.approx(2.38e-7, rel=0.1)
    far = cmp(torch.tensor([1.5, 0.0, float("nan"), 3.0]))
    assert (far.tier, far.max_abs, far.max_rel, far.mismatched) == (Tier.DIVERGED, 0.5, 0.5, 1)
    assert cmp(torch.tensor([1.0, 0.0, 2.0, 3.0])).tier == Tier.DIVERGED  # NaN only on one side
    tiny = TensorStore(tmp_path / "c", 0)  # over budget: hashes still decide, amounts are a bound
    ia, ic = sa.record(ref), tiny.record(ref + 1)
    sa.flush()
    d = compare_info(ia, ic, tmp_path / "a", tmp_path / "c", "w", "grad")
    assert d.tier == Tier.DIVERGED and "not stored" in d.note


@pytest.mark.torch
def test_async_keyword_source_shim() -> None:
    from varmigrate.harness.shim import fix_source

    src = "x = y.cuda(async=True)\nz = f(1, async = False)\nasync def g(): pass\n"
    assert fix_source(src) == "x = y.cuda(non_blocking=True)\nz = f(1, non_blocking = False)\nasync def g(): pass\n"


def test_notebook_cells_drop_ipython_syntax(tmp_path: Path) -> None:
    nb = {"cells": [
        {"cell_type": "code", "source": ["%matplotlib inline\n", "import torch\n", "files = !ls\n"]},
        {"cell_type": "markdown", "source": ["text?"]},
        {"cell_type": "code", "source": "%%bash\necho hi\n"},
        {"cell_type": "code", "source": "%%time\nfor i in range(2):\n    !echo $i\n    x = i\ntorch.ones?\n"},
    ]}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb))
    cells = code_cells(path)
    assert [n for n, _ in cells] == [0, 3]
    assert cells[0][1] == "pass\nimport torch\npass\n"
    assert cells[1][1] == textwrap.dedent("""\
        pass
        for i in range(2):
            pass
            x = i
        pass
        """)
    for _, src in cells:
        compile(src, "cell", "exec")


def test_two_readings_of_the_legacy_program(tmp_path: Path) -> None:
    from varmigrate.harness.readings import compare_readings

    evs = [event(i, [leaf("w", f"g{i}", f"v{i}")]) for i in range(3)]
    leaked = [event(0, [leaf("w", "g0", "v0"), leaf("target.bias", "t0", "b0")])] + evs[1:]
    same = compare_readings(run(tmp_path, "r1", evs), run(tmp_path, "r2", evs), "0.3")
    assert same["ran"] and same["differs"] is False and same["other"] == "modern"
    assert same["message"] == "on modern torch your unmigrated code computes the same gradients as on 0.3 (3 events compared)"
    differs = compare_readings(run(tmp_path, "r3", evs), run(tmp_path, "r4", leaked), "0.3")
    assert differs["differs"] is True and differs["message"] == (
        "on modern torch your unmigrated code computes different gradients than on 0.3: first at event 0, "
        "tensor target.bias (grad): leaf only in the modern reading")
    # the reference may be the modern reading: the sentence still says which reading is which
    flipped = compare_readings(run(tmp_path, "r5", leaked), run(tmp_path, "r6", evs), "modern")
    assert flipped["other"] == "0.3" and flipped["message"] == differs["message"]
    fails = compare_readings(run(tmp_path, "r7", evs), run(tmp_path, "r8", evs[:1], "exception", "IndexError"), "0.3")
    assert fails["differs"] is True and fails["message"].startswith(
        "on modern torch your unmigrated code fails (IndexError: boom) where 0.3 ran it")
    broken = RunResult(run_id="x", out_dir=str(tmp_path / "none"), status="error", message="harness error: gone")
    assert compare_readings(run(tmp_path, "r9", evs), broken, "0.3")["ran"] is False


def test_async_keyword_shim_shares_the_linters_detector() -> None:
    from varmigrate.harness.shim import fix_source
    from varmigrate.syntax.async_keyword import async_keyword_spots

    # a parameter named async, a lambda's and a dict key are not call keywords: neither side renames them
    src = "def f(async=1): pass\ng = lambda async=2: 0\nd = dict(x=1)\ny = x.cuda(async=True)\n"
    assert async_keyword_spots(src) == [(4, 11)]
    assert fix_source(src) == src.replace("cuda(async=", "cuda(non_blocking=")
