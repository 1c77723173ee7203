"""`varmigrate verify` through click: modes, exit codes, the four report files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from varmigrate.harness.command import verify

PROGRAMS = Path(__file__).parent / "fixtures" / "programs"


def test_importing_the_command_does_not_import_torch() -> None:
    code = "import sys, varmigrate.harness.command, varmigrate.harness.pairs, varmigrate.harness.api; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("args", [[], ["{t}/one.py"], ["--fixtures", "{t}"], ["{t}/a.py", "{t}/b.py"],
                                  ["{t}/one.py", "{t}/one.py", "--fixtures", "{t}"],
                                  ["{t}/one.py", "{t}/one.py", "--timeout", "0"],
                                  ["{t}/one.py", "{t}/one.py", "--timeout", "-5"],
                                  ["{t}/one.py", "{t}/one.py", "--reference", "0.4"]])
def test_usage_errors_exit_2(args: list[str], tmp_path: Path) -> None:
    (tmp_path / "one.py").write_text("")
    result = CliRunner().invoke(verify, [a.format(t=tmp_path) for a in args])
    assert result.exit_code == 2, result.output


@pytest.mark.torch
def test_two_files_with_reports(tmp_path: Path) -> None:
    import jsonschema

    from varmigrate.harness.schema import SCHEMA, SCHEMA_ID

    d = PROGRAMS / "linear_model_wrong"
    result = CliRunner().invoke(verify, [str(d / "before.py"), str(d / "after.py"), "--report", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("DIVERGED")
    assert "b grad" in result.output and "1 pair(s): 1 DIVERGED" in result.output
    rep = json.loads((tmp_path / "report.json").read_text())
    jsonschema.validate(rep, SCHEMA)
    assert rep["schema"] == SCHEMA_ID and "prove" not in rep  # a proof's report adds its section (test_prove_fixtures)
    (pair,) = rep["pairs"]
    assert pair["first_divergence"]["tensor"] == "b" and pair["first_divergence"]["event"] == 1
    assert pair["shim"]["hits"] == {"zero_dim_index": 5, "data_number": 2}  # `w.data[0, 0]`, `b.data[0]`
    # the op-level drill-down names the lost `b.grad.data.zero_()` (before.py line 26)
    assert pair["drilldown"]["change"] == "delete"
    assert pair["drilldown"]["before"] == {"op": "aten.zero_.default", "site": "before.py:26", "event": 1}
    assert "aten.zero_.default at before.py:26 (event 1) runs only before" in result.output
    assert len(pair["loss"]["before"]) == 50
    html = (tmp_path / "report.html").read_text()
    assert "<svg" in html and "first divergence (event 1)" in html
    # one inline script (sorting the per-tensor table), nothing loaded from anywhere
    assert html.count("<script") == 1 and "src=" not in html and "http" not in html.replace("http://www.w3.org", "")
    md = (tmp_path / "report.md").read_text()
    assert "| DIVERGED | 1 | backward | before.py:22 / after.py:21 | b grad |" in md
    assert "| b | final | DIVERGED | final values |" in md  # not a Python None
    # HTML: inline code rendered, no raw backticks or Python None; the sites link to source excerpts
    text = html.split("<script")[0]
    assert "`" not in text and ">None<" not in text and "<code>loss.data[0]</code>" in text
    assert '<a href="#pair0-before-src">before.py:22</a>' in html and 'id="pair0-before-src"' in html
    assert "<span class=hl>   22      loss.backward()</span>" in html
    assert 'class="sortable"' in html and ">final values<" in html
    assert "zero_dim_index</code> ×5 (crash shim)" in html  # this run's hits, explained
    assert ">event (backward / optimizer step, in order)<" in html and ">loss (first root of each event)<" in html
    assert pair["reference"] == "0.3" and rep["environment"]["reference"] == "0.3"
    # the printed losses changed with the gradients: a note beside the verdict, never a verdict
    assert pair["printed"]["same"] is False and "note: printed output differs" in result.output
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("1", "1")
    assert suite.find("testcase/failure").get("type") == "DIVERGED"


@pytest.mark.torch
def test_fixtures_mode_exit_0_when_all_identical(tmp_path: Path) -> None:
    for name in ("two_layer_net", "tensor_reads"):
        shutil.copytree(PROGRAMS / name, tmp_path / name)
    result = CliRunner().invoke(verify, ["--fixtures", str(tmp_path), "-j", "2", "--seed", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("IDENTICAL") and "tensor_reads" in lines[0]
    assert lines[1].startswith("IDENTICAL") and "two_layer_net" in lines[1]
    assert lines[-1].startswith("2 pair(s): 2 IDENTICAL")


@pytest.mark.torch
def test_pairs_mode_skips_unchanged_files(tmp_path: Path) -> None:
    for side in ("b", "a"):
        (tmp_path / side).mkdir()
        shutil.copy(PROGRAMS / "lstm_tbptt" / ("before.py" if side == "b" else "after.py"), tmp_path / side / "lstm.py")
        (tmp_path / side / "same.py").write_text("print('unchanged')\n")
    result = CliRunner().invoke(verify, ["--pairs", str(tmp_path / "b"), str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert "skipped 1 unchanged file(s): same.py" in result.output
    assert "IDENTICAL" in result.output and "lstm.py" in result.output
    assert "not verified, only in" not in result.output
    (tmp_path / "b" / "old_only.py").write_text("print(1)\n")
    (tmp_path / "a" / "sub").mkdir()
    (tmp_path / "a" / "sub" / "new_only.py").write_text("print(2)\n")
    result = CliRunner().invoke(verify, ["--pairs", str(tmp_path / "b"), str(tmp_path / "a")])
    assert f"not verified, only in {tmp_path / 'b'}: old_only.py" in result.output
    assert f"not verified, only in {tmp_path / 'a'}: sub/new_only.py" in result.output


LEGACY_PROJECT = {
    "train.py": """
        import torch
        from torch.autograd import Variable
        from model import make

        torch.manual_seed(0)
        w = make()
        x = Variable(torch.randn(4, 3))
        for step in range(3):
            loss = x.mv(w).pow(2).sum()
            loss.backward()
            with torch.no_grad():
                w -= 0.1 * w.grad
                w.grad.zero_()
        """,
    "model.py": """
        import torch

        def make():
            return torch.randn(3, requires_grad=True)
        """,
    "test_train.py": """
        import torch
        from torch.autograd import Variable

        def test_step():
            w = torch.ones(3, requires_grad=True)
            (Variable(torch.randn(3)) * w).sum().backward()
        """,
}


def _project(root: Path) -> Path:
    root.mkdir()
    for name, src in LEGACY_PROJECT.items():
        (root / name).write_text(textwrap.dedent(src))
    return root


@pytest.mark.torch
def test_codebase_mode_with_a_script_and_with_pytest(tmp_path: Path) -> None:
    root = _project(tmp_path / "proj")
    before = {p.name: p.read_text() for p in root.iterdir()}
    result = CliRunner().invoke(verify, ["--root", str(root), "--unsafe-fixes", "--report", str(tmp_path / "r"),
                                         "--", "train.py"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("IDENTICAL")
    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    assert "changed 2 file(s): test_train.py, train.py" in rep["pairs"][0]["note"]
    assert {p.name: p.read_text() for p in root.iterdir()} == before  # the user's tree is never written

    result = CliRunner().invoke(verify, ["--root", str(root), "--unsafe-fixes", "--", "-m", "pytest", "-q"])
    assert result.exit_code == 0, result.output
    assert "IDENTICAL" in result.output


def test_codebase_mode_needs_an_existing_entry(tmp_path: Path) -> None:
    root = _project(tmp_path / "proj")
    result = CliRunner().invoke(verify, ["--root", str(root), "--", "missing.py"])
    assert result.exit_code == 2 and "not found" in result.output


def test_module_entry_point_help() -> None:
    out = subprocess.run([sys.executable, "-m", "varmigrate.harness", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--fixtures" in out.stdout and "IDENTICAL or EQUAL" in out.stdout


@pytest.mark.torch
def test_missing_data_file_in_pair_mode_suggests_root(tmp_path: Path) -> None:
    script = "import torch\nw = torch.ones(2, requires_grad=True)\nopen('data/train.csv')\n"
    (tmp_path / "before.py").write_text(script)
    (tmp_path / "after.py").write_text(script)
    result = CliRunner().invoke(verify, [str(tmp_path / "before.py"), str(tmp_path / "after.py")])
    assert result.exit_code == 1 and "NOT VERIFIABLE" in result.output
    assert "FileNotFoundError" in result.output and "--root DIR -- ENTRY" in result.output


@pytest.mark.torch
def test_legacy_code_that_diverges_on_modern_torch_is_reported(tmp_path: Path) -> None:
    import jsonschema

    from varmigrate.harness.schema import SCHEMA

    d = PROGRAMS / "frozen_backbone"
    result = CliRunner().invoke(verify, [str(d / "before.py"), str(d / "after.py"), "--report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("IDENTICAL")
    message = ("on modern torch your unmigrated code computes different gradients than on 0.3: "
               "first at event 0, tensor backbone.")
    assert "note: " + message in result.output
    rep = json.loads((tmp_path / "report.json").read_text())
    jsonschema.validate(rep, SCHEMA)
    (pair,) = rep["pairs"]
    assert pair["readings"]["ran"] and pair["readings"]["differs"] and pair["readings"]["other"] == "modern"
    assert pair["readings"]["message"].startswith(message) and "leaf only in the modern reading" in pair["readings"]["message"]
    assert pair["runs"]["before_other"]["status"] == "ok"
    assert pair["shim"]["semantics"]["volatile_variable"] == 8 and "volatile" in pair["shim"]["features"]
    assert rep["summary"]["legacy_differs"] == 1
    assert message in (tmp_path / "report.md").read_text() and message in (tmp_path / "report.html").read_text()

    # --reference modern: the before run is the legacy code as modern torch reads it, so the
    # 0.3-intent migration now differs from it; the note still tells the two readings apart
    result = CliRunner().invoke(verify, [str(d / "before.py"), str(d / "after.py"), "--reference", "modern",
                                         "--report", str(tmp_path / "m")])
    assert result.exit_code == 1 and result.output.startswith("DIVERGED")
    rep = json.loads((tmp_path / "m" / "report.json").read_text())
    jsonschema.validate(rep, SCHEMA)
    (pair,) = rep["pairs"]
    assert pair["reference"] == "modern" and rep["environment"]["reference"] == "modern"
    assert pair["shim"]["semantics"] == {} and "volatile" not in pair["shim"]["features"]
    assert pair["readings"]["other"] == "0.3" and pair["readings"]["differs"] is True
    assert pair["readings"]["message"].startswith(message)
