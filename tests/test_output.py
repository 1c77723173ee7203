"""Output formats: JSON against its documented schema, SARIF against the official 2.1.0 schema,
GitHub annotations, and fix edits that reproduce `fix` exactly."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from varmigrate.cli import main
from varmigrate.config import Settings
from varmigrate.edits import lint_edits, relinted_edits, text_edits
from varmigrate.engine import fix_source, lint_source
from varmigrate.ftypes import TextEdit

ROOT = Path(__file__).resolve().parents[1]
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
JSON_SCHEMA = json.loads((ROOT / "docs" / "output.schema.json").read_text())

LEGACY = (
    "import torch\n"
    "from torch.autograd import Variable\n"
    "x = Variable(torch.ones(3))\n"
    "def f(h, model):\n"
    "    return model(Variable(h))\n"
    "if type(x) == Variable:\n"
    "    pass\n"
    "y = 1  # noqa: VM101\n"
)


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "legacy.py").write_text(LEGACY)
    (tmp_path / "broken.py").write_text("import torch\nfrom torch.autograd import Variable\nprint 'x'\n")
    return tmp_path


def check(*args: str) -> str:
    result = CliRunner().invoke(main, ["check", "--no-cache", *args])
    assert result.exit_code in (0, 1, 2), result.output
    return result.stdout


def apply(text: str, edits: list[TextEdit]) -> str:
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(row: int, column: int) -> int:
        return starts[row - 1] + column - 1

    for e in sorted(edits, key=lambda e: (e.row, e.column), reverse=True):
        text = text[: offset(e.row, e.column)] + e.content + text[offset(e.end_row, e.end_column):]
    return text


def test_json_matches_documented_schema(tree: Path) -> None:
    payload = json.loads(check("--output-format", "json", "--unsafe-fixes", "."))
    jsonschema.validate(payload, JSON_SCHEMA)
    by_code = {}
    for f in payload["findings"]:
        by_code.setdefault(f["code"], []).append(f)
    first = by_code["VM101"][0]
    assert first["location"] == {"row": 3, "column": 5} and first["end_location"] == {"row": 3, "column": 28}
    assert first["fix"]["applicability"] == "safe" and first["fix"]["available"] is True
    # The import removal that comes with the fix is part of its edit set.
    assert {"content": "torch.ones(3)", "location": {"row": 3, "column": 5}, "end_location": {"row": 3, "column": 28}} in first["fix"]["edits"]
    compare = by_code["VM105"][0]
    assert compare["fix"]["applicability"] == "unsafe"
    assert payload["errors"][0]["filename"] == "broken.py" and payload["errors"][0]["kind"] == "error"
    assert payload["summary"]["errors"] == 1


def test_unsafe_fix_is_marked_unavailable_without_the_flag(tree: Path) -> None:
    payload = json.loads(check("--output-format", "json", "legacy.py"))
    jsonschema.validate(payload, JSON_SCHEMA)
    compare = next(f for f in payload["findings"] if f["code"] == "VM105")
    assert compare["fix"]["available"] is False and compare["fix"]["edits"]


def test_sarif_validates_against_the_official_schema(tree: Path) -> None:
    log = json.loads(check("--output-format", "sarif", "."))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    run = log["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["VM101"]["helpUri"].startswith("https://") and rules["VM101"]["helpUri"].endswith("/rules/VM101.md")
    assert rules["VM101"]["fullDescription"]["text"].startswith("Checks for calls of the legacy")
    assert rules["VM101"]["help"]["markdown"].startswith("# variable-wrapper (VM101)")
    result = next(r for r in run["results"] if r["ruleId"] == "VM101")
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 28}
    replacement = result["fixes"][0]["artifactChanges"][0]["replacements"]
    assert {"deletedRegion": {"startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 28},
            "insertedContent": {"text": "torch.ones(3)"}} in replacement
    assert run["invocations"][0]["executionSuccessful"] is False  # broken.py


def test_sarif_of_a_clean_tree_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.py").write_text("import torch\n")
    log = json.loads(check("--output-format", "sarif", "."))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    assert log["runs"][0]["results"] == []


def test_github_annotations(tree: Path) -> None:
    lines = check("--output-format", "github", ".").splitlines()
    assert lines[0].startswith("::error file=broken.py,line=3,")
    assert "::error file=legacy.py,line=3,col=5,endLine=3,endColumn=28,title=varmigrate (VM101)::legacy.py:3:5: VM101 " in "\n".join(lines)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("unsafe", [False, True])
def test_each_edit_reproduces_fix_of_that_finding_alone(newline: str, unsafe: bool) -> None:
    text = LEGACY.replace("\n", newline)
    settings = Settings(unsafe_fixes=unsafe)
    lint = lint_source(text, "a.py", settings)
    findings = lint.findings
    by_position = lint_edits(lint, text, unsafe)
    assert any(by_position)
    # Findings without their tree (a cache hit) get the same edits by linting again.
    stripped = [f.stripped() for f in lint_source(text, "a.py", settings).findings]
    assert relinted_edits(text, "a.py", settings, stripped) == by_position
    for finding, edits in zip(findings, by_position):
        if edits is None or finding.edit_for(unsafe) is None or finding.code == "VM901":
            continue  # VM901's verdict depends on which rules run: covered in test_cli
        alone = fix_source(text, "a.py", Settings(select=[finding.code], unsafe_fixes=unsafe))
        applied = apply(text, edits)
        assert finding.line in range(1, text.count(newline) + 1)
        # Same rule, applied once: the lone edit matches `fix` when the rule has a single finding.
        if sum(f.code == finding.code for f in findings) == 1:
            assert applied == alone.source


def test_text_edits_round_trip() -> None:
    old = "a = 1\nb = Variable(x)\nc = 3\n"
    new = "a = 1\nb = x\nc = 3\nd = 4\n"
    edits = text_edits(old, new)
    assert apply(old, edits) == new
    widened = text_edits(old, new, (2, 5, 2, 16))
    assert TextEdit(2, 5, 2, 16, "x") in widened
    assert apply(old, widened) == new


def test_sarif_absolute_paths_are_file_uris(tree: Path) -> None:
    log = json.loads(check("--output-format", "sarif", str(tree / "legacy.py")))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": (tree / "legacy.py").as_uri()}


def test_json_edits_of_many_files_in_parallel_match_one_by_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Edits are computed in worker processes and matched back to findings by position.
    monkeypatch.chdir(tmp_path)
    for i in range(6):
        (tmp_path / f"m{i}.py").write_text(LEGACY.replace("torch.ones(3)", f"torch.ones({i + 1})"))
    parallel = json.loads(check("--output-format", "json", "-j", "2", "."))
    serial = json.loads(check("--output-format", "json", "-j", "1", "."))
    assert parallel == serial
    first = {}
    for f in parallel["findings"]:
        if f["code"] == "VM101":
            first.setdefault(f["filename"], f)
    assert {"content": "torch.ones(4)", "location": {"row": 3, "column": 5}, "end_location": {"row": 3, "column": 28}} \
        in first["m3.py"]["fix"]["edits"]


def test_a_failure_computing_edits_leaves_them_null(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import varmigrate.edits as edits

    def boom(*args: object) -> None:
        raise RuntimeError("edit computation failed")

    monkeypatch.setattr(edits, "lint_edits", boom)
    payload = json.loads(check("--output-format", "json", "-j", "1", "legacy.py"))
    assert payload["findings"] and all(f["fix"] is None or f["fix"]["edits"] is None for f in payload["findings"])
    assert any(f["fix"] is not None for f in payload["findings"])  # the fix itself is still described
