"""The command line through click's runner: exit codes, errors, stdin, statistics, progress, noqa."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from varmigrate.cli import main

LEGACY = (
    "import torch\n"
    "from torch.autograd import Variable\n"
    "\n"
    "x = Variable(torch.ones(3))\n"
    "def f(h, model):\n"
    "    return model(Variable(h))\n"
)
FIXED = "import torch\n\nx = torch.ones(3)\ndef f(h, model):\n    return model(h.detach())\n"
CLEAN = "import torch\nx = torch.ones(3)\n"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VARMIGRATE_OUTPUT_FORMAT", raising=False)
    (tmp_path / "legacy.py").write_text(LEGACY)
    (tmp_path / "clean.py").write_text(CLEAN)
    return tmp_path


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(main, [*args, "--no-cache"] if args[0] == "check" else list(args), input=input)


def test_check_exit_codes(tree: Path) -> None:
    assert invoke("check", "clean.py").exit_code == 0
    result = invoke("check", "legacy.py")
    assert result.exit_code == 1
    assert "legacy.py:4:5: VM101 [*]" in result.output
    assert "Found 2 findings." in result.output
    assert invoke("check", "--exit-zero", "legacy.py").exit_code == 0


def test_unparsable_file_is_an_error_and_others_go_on(tree: Path) -> None:
    (tree / "py2.py").write_text("import torch\nfrom torch.autograd import Variable\nprint 'x'\n")
    result = invoke("check", ".")
    assert result.exit_code == 2
    assert any(line.startswith("py2.py:") and ": error: " in line for line in result.output.splitlines())
    assert "legacy.py:4:5: VM101" in result.output
    # --exit-zero does not hide errors
    assert invoke("check", "--exit-zero", ".").exit_code == 2


def test_missing_path_exits_2(tree: Path) -> None:
    result = invoke("check", "nope.py")
    assert result.exit_code == 2
    assert "nope.py: error: no such file or directory" in result.output


def test_fix_exit_codes_and_summary(tree: Path) -> None:
    result = invoke("fix", "legacy.py", "--show-fixes")
    assert result.exit_code == 1  # changed something: the pre-commit convention
    assert (tree / "legacy.py").read_text() == FIXED
    assert "Fixed 2 findings:" in result.output and "2 × VM101 (variable-wrapper)" in result.output
    assert invoke("fix", "legacy.py").exit_code == 0  # nothing left to do
    assert invoke("fix", "clean.py").exit_code == 0


def test_fix_diff_writes_nothing(tree: Path) -> None:
    result = invoke("fix", "--diff", "legacy.py")
    assert result.exit_code == 1
    assert "-x = Variable(torch.ones(3))" in result.output and "+x = torch.ones(3)" in result.output
    assert (tree / "legacy.py").read_text() == LEGACY


def test_statistics(tree: Path) -> None:
    result = invoke("check", "--statistics", "legacy.py")
    assert result.output.splitlines()[0].split("\t") == ["2", "VM101", "[*] variable-wrapper"]
    rows = json.loads(invoke("check", "--statistics", "--output-format", "json", "legacy.py").output)
    assert rows == [{"code": "VM101", "name": "variable-wrapper", "count": 2, "fixable": 2}]


def test_show_fixes_prints_the_edit(tree: Path) -> None:
    result = invoke("check", "--show-fixes", "legacy.py")
    assert "= help: Remove the `Variable` wrapper (safe fix)" in result.output
    assert '4:5-4:28 -> "torch.ones(3)"' in result.output


def test_stdin_check_and_fix(tree: Path) -> None:
    result = invoke("check", "--stdin-filename", "pkg/model.py", input=LEGACY)
    assert result.exit_code == 1
    assert "pkg/model.py:4:5: VM101" in result.output
    result = CliRunner().invoke(main, ["fix", "--stdin-filename", "pkg/model.py"], input=LEGACY)
    assert result.stdout == FIXED
    assert result.exit_code == 1
    result = CliRunner().invoke(main, ["fix", "--stdin-filename", "x.py"], input=CLEAN)
    assert (result.stdout, result.exit_code) == (CLEAN, 0)


def test_output_file(tree: Path) -> None:
    result = invoke("check", "--output-format", "json", "-o", "out/report.json", "legacy.py")
    assert result.exit_code == 1
    assert result.output == ""
    assert json.loads((tree / "out" / "report.json").read_text())["summary"]["findings"] == 2


def test_output_format_from_environment(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VARMIGRATE_OUTPUT_FORMAT", "github")
    assert invoke("check", "legacy.py").output.startswith("::error file=legacy.py,line=4,col=5,")


def test_progress_absent_under_runner_and_present_when_forced(tree: Path) -> None:
    for i in range(25):
        (tree / f"m{i}.py").write_text(CLEAN)
    quiet = CliRunner().invoke(main, ["check", "--no-cache", "."])
    assert "files" not in quiet.stderr and "#" not in quiet.stderr
    forced = CliRunner().invoke(main, ["check", "--no-cache", "--progress", "."])
    assert "27/27 files" in forced.stderr
    assert "27/27 files" not in forced.stdout


def test_progress_only_on_a_terminal(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from varmigrate.cli import common as cli
    from varmigrate.config import resolve_settings

    for i in range(25):
        (tree / f"m{i}.py").write_text(CLEAN)

    class Tty:
        def __init__(self) -> None:
            self.text = ""

        def isatty(self) -> bool:
            return True

        def write(self, s: str) -> None:
            self.text += s

        def flush(self) -> None:
            pass

    tty = Tty()
    monkeypatch.setattr(cli.sys, "stderr", tty)
    monkeypatch.delenv("CI", raising=False)
    assert cli.progress_bar(["."], resolve_settings(["."]), None, "Checking", cli.Ui()) is not None
    monkeypatch.setenv("CI", "true")  # never in CI logs
    assert cli.progress_bar(["."], resolve_settings(["."]), None, "Checking", cli.Ui()) is None
    monkeypatch.delenv("CI")
    assert cli.progress_bar(["clean.py"], resolve_settings(["."]), None, "Checking", cli.Ui()) is None  # few files


def test_add_noqa_baselines_and_then_check_passes(tree: Path) -> None:
    source = (
        "import torch\r\n"
        "from torch.autograd import Variable\r\n"
        "x = Variable(torch.ones(3))  # noqa: E501\r\n"
        "y = Variable(torch.zeros(2) + len('''\r\n"
        "text'''))\r\n"
        "z = Variable(torch.ones(1))  # keep me\r\n"
    )
    (tree / "legacy.py").write_bytes(source.encode())
    result = invoke("check", "--add-noqa", "legacy.py")
    assert result.exit_code == 0, result.output
    assert "Added 3 noqa directives in 1 file." in result.output
    assert (tree / "legacy.py").read_bytes().decode() == (
        "import torch\r\n"
        "from torch.autograd import Variable\r\n"
        "x = Variable(torch.ones(3))  # noqa: E501, VM101\r\n"
        "y = Variable(torch.zeros(2) + len('''\r\n"
        "text'''))  # noqa: VM101\r\n"
        "z = Variable(torch.ones(1))  # keep me  # noqa: VM101\r\n"
    )
    assert invoke("check", "legacy.py").exit_code == 0
    # Once the code is migrated, the baseline is reported as stale (VM901) and fix removes it.
    (tree / "legacy.py").write_text("import torch\nx = torch.ones(3)  # noqa: E501, VM101\n")
    result = invoke("check", "legacy.py")
    assert "legacy.py:2:20: VM901 [*] Unused `noqa` directive (unused: `VM101`)" in result.output
    assert invoke("fix", "legacy.py").exit_code == 1
    assert (tree / "legacy.py").read_text() == "import torch\nx = torch.ones(3)  # noqa: E501\n"


def test_rule_command(tree: Path) -> None:
    from varmigrate.docs import render_rule
    from varmigrate.registry import rule_by_code

    result = invoke("rule", "VM101")
    assert result.exit_code == 0
    assert result.output == render_rule(rule_by_code("VM101"))
    listing = invoke("rule", "--all").output.splitlines()
    assert listing[0].split() == ["code", "name", "fix", "message"]
    assert any(line.split()[:3] == ["VM901", "unused-noqa", "safe"] for line in listing)
    assert invoke("rule", "VM999").exit_code == 2


def test_check_never_imports_torch(tree: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom varmigrate.cli import main\n"
        "CliRunner().invoke(main, ['check', '--no-cache', '--output-format', 'sarif', '.'])\n"
        "CliRunner().invoke(main, ['fix', '--diff', '.'])\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tree, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})


def test_add_noqa_never_writes_inside_a_string_or_after_a_backslash() -> None:
    from varmigrate.config import Settings
    from varmigrate.engine import lint_source
    from varmigrate.noqa import add_noqa

    text = (
        "import torch\nfrom torch.autograd import Variable\n"
        "y = Variable(torch.zeros(2)) + len('''\ntext''')\n"
        "z = Variable(torch.ones(1)) + \\\n    1\n"
        "w = Variable(torch.ones(2))\n"
    )
    findings = lint_source(text, "a.py", Settings()).findings
    assert [f.line for f in findings] == [3, 5, 7]
    new, added, skipped = add_noqa(text, findings)
    assert (added, skipped) == (1, 2)
    assert new == text.replace("torch.ones(2))\n", "torch.ones(2))  # noqa: VM101\n")
    assert [f.line for f in lint_source(new, "a.py", Settings()).findings] == [3, 5]
