"""The fixture programs: each after.py is what `varmigrate fix --unsafe-fixes` makes of its
before.py (or, with `hand-written`, the correct 0.3-intent migration written by hand), and the
harness proves it computes the same gradients as the legacy program read as 0.3 ran it (the
deliberately wrong one must come out DIVERGED, naming the tensor).  `modern=differs` marks a
legacy program that already computes different gradients on modern torch: the report says so."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).parent / "fixtures" / "programs"
NAMES = sorted(p.name for p in PROGRAMS.iterdir() if (p / "before.py").exists())


def header(name: str) -> dict[str, str]:
    """`# fixture: unsafe-fixes expect=DIVERGED tensor=b hand-written` -> {key: value}."""
    first = (PROGRAMS / name / "before.py").read_bytes().splitlines()[0].decode("ascii")
    assert first.startswith("# fixture:"), f"{name}/before.py needs a `# fixture:` header"
    return {k: v for k, _, v in (w.partition("=") for w in first.split(":", 1)[1].split())}


def test_at_least_ten_programs() -> None:
    assert len([n for n in NAMES if "hand-written" not in header(n)]) >= 10


@pytest.mark.parametrize("name", [n for n in NAMES if "hand-written" not in header(n)])
def test_after_is_fix_output(name: str, tmp_path: Path) -> None:
    target = tmp_path / "program.py"
    shutil.copy(PROGRAMS / name / "before.py", target)
    args = ["--unsafe-fixes"] if "unsafe-fixes" in header(name) else []
    args += ["--convert-py2"] if "convert-py2" in header(name) else []
    proc = subprocess.run([sys.executable, "-m", "varmigrate", "fix", *args, str(target)],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    assert target.read_text() == (PROGRAMS / name / "after.py").read_text()


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    from varmigrate.harness.api import verify
    from varmigrate.harness.convert import convert_pairs
    from varmigrate.harness.pairs import Options, fixture_pairs
    from varmigrate.harness.worker import shared_worker

    pairs = fixture_pairs(PROGRAMS)
    python2 = [p for p in pairs if "convert-py2" in header(p.name)]
    converted = convert_pairs(python2, tmp_path_factory.mktemp("py2")) if python2 else []
    pairs = [p for p in pairs if p not in python2] + converted
    results = verify(pairs, Options(timeout=60, jobs=2), shared_worker())
    return {r.pair.name: r for r in results}


@pytest.mark.torch
@pytest.mark.parametrize("name", NAMES)
def test_program_verifies(name: str, verified: dict[str, object]) -> None:
    if b"numpy" in (PROGRAMS / name / "before.py").read_bytes():
        pytest.importorskip("numpy", reason="numpy is not installed (it belongs in the test extra)")
    res = verified[name]
    expect = header(name).get("expect")
    d = res.decision  # type: ignore[attr-defined]
    if expect is None:
        assert d.verdict in ("IDENTICAL", "EQUAL"), d.reason
        assert d.diff.compared > 0
        assert d.gate["identical"] is True
    else:
        assert d.verdict == expect, d.reason
        assert d.diff.first["tensor"] == header(name)["tensor"]
        assert d.diff.first["event"] is not None
    modern = header(name).get("modern")
    if modern == "differs":
        assert res.readings["ran"] and res.readings["differs"] is True, res.readings  # type: ignore[attr-defined]
        assert res.readings["message"].startswith(  # type: ignore[attr-defined]
            "on modern torch your unmigrated code computes different gradients than on 0.3: first at event ")
    elif modern == "fails":  # what 0.3 ran, modern torch refuses (a 0.3 number is a 0-dim tensor now)
        assert res.readings["ran"] and res.readings["differs"] is True, res.readings  # type: ignore[attr-defined]
        assert res.readings["message"].startswith("on modern torch your unmigrated code fails")  # type: ignore[attr-defined]
    elif modern == "same":
        assert res.readings["ran"] and res.readings["differs"] is False, res.readings  # type: ignore[attr-defined]
    else:
        assert not res.readings["differs"], res.readings  # type: ignore[attr-defined]


@pytest.mark.torch
def test_shim_hits_are_counted(verified: dict[str, object]) -> None:
    hits = {name: r.runs["before"].summary["shim_hits"] for name, r in verified.items()}  # type: ignore[attr-defined]
    assert hits["linear_model"] == {"zero_dim_index": 5, "data_number": 2}  # `w.data[0, 0]`, `b.data[0]` printed
    assert hits["custom_function"]["legacy_function"] == 10
    assert hits["retain_graph"]["retain_variables"] == 5
    assert hits["cuda_placement"]["async_keyword"] == 1
    assert hits["no_shim_tensor_list"] == {}
    assert hits["dqn_target_volatile"]["volatile_variable"] == 6
    assert hits["dqn_target_volatile"]["volatile_attribute"] == 6  # `next_q.volatile = False`, once a step
    assert hits["data_resize"]["data_metadata"] == 2  # W and b, once each
    # 3 epochs x 4 batches: `correct[:k].view(-1)` once per batch, for k = 2 (k = 1 takes one row,
    # which is viewable: 12 views), `[0]` of the loss and of the two precisions (36)
    assert hits["topk_accuracy"] == {"view_contiguous": 12, "zero_dim_index": 36}
    for name, r in verified.items():
        assert r.runs["after"].summary["shim_hits"] == {}, name  # type: ignore[attr-defined]


@pytest.mark.torch
def test_python2_program_runs_converted(verified: dict[str, object]) -> None:
    res = verified["py2_classifier"]
    assert res.pair.before.label.endswith("(converted from Python 2)")  # type: ignore[attr-defined]
    note = res.pair.note  # type: ignore[attr-defined]
    assert "before converted from Python 2" in note and "1 division(s) rewritten to `//`" in note
    assert "Python 2 meaning of 1 division(s) not established: line 32:28 `total`" in note


def test_features_are_installed_only_where_the_source_uses_them(verified: dict[str, object]) -> None:
    feats = {name: r.features for name, r in verified.items()}  # type: ignore[attr-defined]
    assert "volatile" in feats["dqn_target_volatile"] and "data_metadata" not in feats["dqn_target_volatile"]
    assert "data_metadata" in feats["data_resize"] and "volatile" not in feats["data_resize"]
    assert "volatile" not in feats["linear_model"] and "legacy_function" in feats["custom_function"]
    # needs no shim, uses `x[0]`: the 0-dim index is installed (generous) yet changes nothing
    assert feats["no_shim_tensor_list"] == ["zero_dim_index", "backward_keywords"]


@pytest.mark.torch
def test_an_unchanged_program_that_needs_no_shim_verifies_against_itself(verified: dict[str, object]) -> None:
    r = verified["no_shim_tensor_list"]
    assert (PROGRAMS / "no_shim_tensor_list" / "before.py").read_bytes() == \
        (PROGRAMS / "no_shim_tensor_list" / "after.py").read_bytes()
    assert r.decision.verdict == "IDENTICAL" and r.runs["before"].status == "ok"  # type: ignore[attr-defined]
    assert r.printed["same"] is True  # type: ignore[attr-defined]


@pytest.mark.torch
def test_latin1_crlf_program_runs_as_python_reads_it(verified: dict[str, object]) -> None:
    raw = (PROGRAMS / "latin1_crlf" / "before.py").read_bytes()
    assert b"\r\n" in raw and b"\xe8" in raw  # CRLF and a Latin-1 byte that is not UTF-8
    r = verified["latin1_crlf"]
    assert r.decision.verdict == "IDENTICAL" and r.decision.diff.compared == 30  # type: ignore[attr-defined]


@pytest.mark.torch
def test_custom_function_is_gradchecked(verified: dict[str, object]) -> None:
    checks = verified["custom_function"].runs["after"].summary["gradcheck"]  # type: ignore[attr-defined]
    assert [(c["function"], c["status"]) for c in checks] == [("__main__.ScaledReLU", "passed")]


@pytest.mark.torch
def test_cuda_placement_is_mapped_on_both_sides(verified: dict[str, object]) -> None:
    r = verified["cuda_placement"]
    for role in ("before", "after"):
        hits = r.runs[role].summary["device_hits"]  # type: ignore[attr-defined]
        assert hits["Tensor.cuda"] == 16 and hits["Module.cuda"] == 1


@pytest.mark.torch
def test_leaves_are_named_after_the_users_variables(verified: dict[str, object]) -> None:
    names = {row[0] for row in verified["classifier_volatile"].decision.diff.tensors}  # type: ignore[attr-defined]
    assert {"model.fc1.weight", "model.fc2.bias", "loss"} <= names
    names = {row[0] for row in verified["two_layer_net"].decision.diff.tensors}  # type: ignore[attr-defined]
    assert names == {"w1", "w2", "loss"}
