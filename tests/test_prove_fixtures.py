"""`verify --root DIR --unsafe-fixes --apply` on the legacy trees of tests/fixtures/prove: the
proven tree is IDENTICAL, exactly the culprits are kept back, every other unsafe fix is kept,
and only a proven tree is ever written."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from varmigrate.cli import main
from varmigrate.config import Settings
from varmigrate.harness.schema import SCHEMA, SCHEMA_ID
from varmigrate.policy import Pin
from varmigrate.prove.apply import JOURNAL_DIR
from varmigrate.prove.tree import TreeFixer

pytestmark = pytest.mark.torch

TREES = Path(__file__).parent / "fixtures" / "prove"

# tree -> entry args, culprits as (file, text on the culprit's line, code, action)
CASES = {
    "dqn_target": (["--", "train.py"], [("train.py", "target = Variable(r + gamma * q_next)", "VM101", "downgraded")]),
    # VM201 on a base of unknown rank (`probs` of a module's output) has two unsafe edits and no safe
    # one: the culprit `probs.item()` (2 elements) is kept back by leaving `probs.data[0]` as it is.
    "policy_item": (["--entry", "train.py"], [("train.py", "p(left)", "VM201", "left unfixed")]),
    "retain_graph_update": (["--", "train.py"], [("train.py", "w2.data -= lr * w2.grad.data", "VM207", "left unfixed")]),
    "two_culprits": ([], [("agent.py", "return Variable(reward", "VM101", "downgraded"),
                          ("train.py", "probs[0].data[0]", "VM201", "left unfixed")]),
}
# tree -> the two fixes that diverge only together: one is kept back, the other kept
PAIRS = {"interacting_pair": ("train.py", "snapshot = Variable(feat)", "target = Variable(snapshot")}


def _line(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_proven_tree_keeps_back_exactly_the_culprits(name: str, tmp_path: Path) -> None:
    root = tmp_path / name
    shutil.copytree(TREES / name, root)
    original = {p.name: p.read_bytes() for p in root.glob("*.py")}
    args, culprits = CASES[name]
    settings = Settings(unsafe_fixes=True)
    plain = TreeFixer(root, [root], settings)
    assert len(plain.candidates) > len(culprits)  # there are unsafe fixes to keep, too

    result = CliRunner().invoke(main, ["verify", "--root", str(root), "--unsafe-fixes", "--apply",
                                       "--report", str(tmp_path / "r"), *args])
    assert result.exit_code == 0, result.output
    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    jsonschema.validate(rep, SCHEMA)
    prove = rep["prove"]
    assert prove["status"] == "proven" and all(p["verdict"] == "IDENTICAL" for p in rep["pairs"])
    assert any(e["verdict"] not in ("IDENTICAL", "EQUAL") for e in prove["initial"])  # plain fix fails
    expected = {(f, _line(TREES / name / f, text), code, action)
                for f, text, code, action in culprits}
    got = {(k["finding"]["path"], k["finding"]["line"], k["finding"]["code"], k["action"]) for k in prove["kept_back"]}
    assert got == expected
    for kb in prove["kept_back"]:
        assert kb["evidence"] and kb["tried"] and kb["probes"] >= 1
    assert prove["probes"] <= prove["target"]
    assert "Fixes kept back" in (tmp_path / "r" / "report.md").read_text()
    if "cuda()" in (TREES / name / "train.py").read_text():  # no GPU here: mapped on both sides, and said
        assert prove["device_note"] and "CUDA placement" in (tmp_path / "r" / "report.md").read_text()
    assert "Fixes kept back" in (tmp_path / "r" / "report.html").read_text()

    # what was written: plain fix with exactly the culprits pinned, every other unsafe fix applied
    pins = {c.id: Pin.SAFE for c in plain.candidates
            if (c.rel, c.id.line, c.code) in {(f, line, code) for f, line, code, _ in expected}}
    assert len(pins) == len(culprits)
    proven = plain.tree(pins)
    for rel, ff in proven.items():
        assert (root / rel).read_bytes() == ff.new
    for c in plain.candidates:
        if c.id not in pins:
            kept = [a for ff in proven.values() for a in ff.applied if a.origin == c.id]
            assert any(a.safety == "unsafe" for a in kept), c.location
    assert any(proven[rel].new != plain.default[rel].new for rel in proven)  # differs from plain fix
    assert any((root / rel).read_bytes() != original[rel] for rel in original)
    patch = (tmp_path / "r" / "apply.patch").read_text()
    assert all(f"+++ b/{rel}" in patch for rel in proven)
    assert not (root / JOURNAL_DIR).exists()


NONDETERMINISTIC = """
import time
import torch
from torch.autograd import Variable

torch.manual_seed(int(time.time() * 1e6) % 100000)

def features(n):
    return torch.randn(n, 3)

w = Variable(torch.randn(3, 1), requires_grad=True)
x = Variable(features(8))
loss = x.mm(w).pow(2).sum()
loss.backward()
print(loss.data[0])
"""


def test_a_nondeterministic_entry_point_is_inconclusive_and_nothing_is_written(tmp_path: Path) -> None:
    root = tmp_path / "nondet"
    root.mkdir()
    (root / "train.py").write_text(textwrap.dedent(NONDETERMINISTIC))
    before = (root / "train.py").read_bytes()
    result = CliRunner().invoke(main, ["verify", "--root", str(root), "--unsafe-fixes", "--apply",
                                       "--report", str(tmp_path / "r"), "--", "train.py"])
    assert result.exit_code == 1, result.output
    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    assert rep["prove"]["status"] == "inconclusive" and rep["prove"]["kept_back"] == []
    assert rep["prove"]["applied"] == {"requested": True, "written": False, "files": [], "patch": None,
                                       "recovered": ""}
    assert (root / "train.py").read_bytes() == before and not (root / JOURNAL_DIR).exists()


def test_fix_verify_with_writes_the_same_proven_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "proj"
    shutil.copytree(TREES / "policy_item", root)
    (root / "pyproject.toml").write_text("[tool.varmigrate]\n")
    other = tmp_path / "other"
    shutil.copytree(TREES / "policy_item", other)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(main, ["fix", "--unsafe-fixes", "--verify-with", "train.py", "."])
    assert result.exit_code == 0, result.output
    assert "kept back train.py:" in result.output
    result = CliRunner().invoke(main, ["verify", "--root", str(other), "--unsafe-fixes", "--apply", "--", "train.py"])
    assert result.exit_code == 0, result.output
    assert (root / "train.py").read_text() == (other / "train.py").read_text() != (TREES / "policy_item" / "train.py").read_text()


def test_usage_errors(tmp_path: Path) -> None:
    root = tmp_path / "p"
    shutil.copytree(TREES / "policy_item", root)
    r = CliRunner().invoke(main, ["verify", "--root", str(root), "--apply"])
    assert r.exit_code == 2 and "entry point" in r.output
    r = CliRunner().invoke(main, ["verify", "--apply", "a.py", "b.py"])
    assert r.exit_code == 2 and "--root" in r.output
    r = CliRunner().invoke(main, ["verify", "--root", str(root), "--entry", "missing.py"])
    assert r.exit_code == 2 and "not found" in r.output
    r = CliRunner().invoke(main, ["verify", "--root", str(root), "--rollback"])
    assert r.exit_code == 0 and "no interrupted apply" in r.output


@pytest.mark.slow
def test_interacting_culprits_are_found_and_one_of_them_kept(tmp_path: Path) -> None:
    rel, first, second = PAIRS["interacting_pair"]
    root = tmp_path / "t"
    shutil.copytree(TREES / "interacting_pair", root)
    result = CliRunner().invoke(main, ["verify", "--root", str(root), "--unsafe-fixes", "--apply",
                                       "--report", str(tmp_path / "r"), "--", "train.py"])
    assert result.exit_code == 0, result.output
    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    assert rep["prove"]["status"] == "proven"
    [kb] = rep["prove"]["kept_back"]
    lines = {_line(TREES / "interacting_pair" / rel, t) for t in (first, second)}
    assert {kb["finding"]["line"], *(p["line"] for p in kb["partners"])} == lines
    assert len(kb["partners"]) == 1 and "only together with" in (tmp_path / "r" / "report.md").read_text()
    kept = kb["partners"][0]["line"]
    text = (root / rel).read_text().splitlines()[kept - 1]
    assert "Variable" not in text  # the partner's unsafe fix is kept


def test_the_parent_process_of_a_proof_never_imports_torch(tmp_path: Path) -> None:
    # Fixing, searching, applying and reporting happen in the parent; only the warm worker (a
    # child) imports torch.  A fresh interpreter: this test process has imported torch already.
    root = tmp_path / "policy_item"
    shutil.copytree(TREES / "policy_item", root)
    code = textwrap.dedent(f"""
        import sys
        from varmigrate.cli import main
        try:
            main.main(["verify", "--root", {str(root)!r}, "--unsafe-fixes", "--apply", "--report",
                       {str(tmp_path / "r")!r}, "--entry", "train.py"], standalone_mode=False)
        except SystemExit as exc:
            print("EXIT", exc.code, file=sys.stderr)
        print("TORCH", sorted(m for m in sys.modules if m.split(".")[0] == "torch")[:3], file=sys.stderr)
        """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert "TORCH []" in proc.stderr, proc.stderr[-3000:]
    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    jsonschema.validate(rep, SCHEMA)
    # the same schema id as `verify BEFORE AFTER` writes (test_harness_cli), with the proof's section
    assert rep["schema"] == SCHEMA_ID and rep["prove"]["status"] == "proven" and rep["prove"]["kept_back"]
    assert rep["prove"]["applied"]["written"] and (tmp_path / "r" / "apply.patch").read_text()
