"""Issue 14: the command line a ruff user expects. One test per defect, then the options.

Defects: unknown codes on the command line, files never parsed reported as passing, `fix --diff`
findings at rows of a text that is not on disk, fix/check asymmetries, `check --fix`, and the
safe-vs-unsafe clarity of the messages and summaries.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from varmigrate.cli import main

REPO = Path(__file__).resolve().parents[1]
LEGACY = (
    "import torch\n"
    "from torch.autograd import Variable\n"
    "\n"
    "x = Variable(torch.ones(3))\n"
    "def f(h, model):\n"
    "    return model(Variable(h))\n"
    "if type(x) == Variable:\n"
    "    pass\n"
)
CLEAN = "import os\nprint(os.getcwd())\n"
SCHEMA = json.loads((REPO / "docs" / "output.schema.json").read_text())


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("VARMIGRATE_OUTPUT_FORMAT", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "legacy.py").write_text(LEGACY)
    (tmp_path / "clean.py").write_text(CLEAN)
    return tmp_path


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    extra = ["--no-cache"] if args[0] == "check" else []
    return CliRunner().invoke(main, [args[0], *extra, *args[1:]], env=env)


# ------------------------------------------------------------------------------------------
# Defect 1: an unknown code on the command line switched the linter off
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["check", "fix"])
@pytest.mark.parametrize("args, option", [
    (["--select", "NOPE"], "--select"),
    (["--select", "VM1,NOPE"], "--select"),
    (["--select", "VM999"], "--select"),  # shaped like a code, but no rule has it
    (["--extend-select", "NOPE"], "--extend-select"),
    (["--ignore", "NOPE"], "--ignore"),
    (["--extend-ignore", "VM7"], "--extend-ignore"),
    (["--per-file-ignores", "tests/*:NOPE"], "--per-file-ignores"),
])
def test_unknown_code_on_the_command_line_is_an_error(tree: Path, command: str, args: list[str], option: str) -> None:
    result = cli(command, *args, "legacy.py")
    assert result.exit_code == 2, result.output
    assert f"invalid value for `{option}`" in result.output
    assert "All checks passed" not in result.output
    assert (tree / "legacy.py").read_text() == LEGACY


def test_known_codes_and_prefixes_are_accepted(tree: Path) -> None:
    assert cli("check", "--select", "VM1,vm201,ALL", "--ignore", "VM9", "legacy.py").exit_code == 1
    assert cli("check", "--per-file-ignores", "legacy.py:VM1", "legacy.py").exit_code == 0
    result = cli("check", "--per-file-ignores", "VM1", "legacy.py")
    assert result.exit_code == 2 and "expected GLOB:CODES" in result.output


# ------------------------------------------------------------------------------------------
# Defect 2: files that were never parsed were reported as passing
# ------------------------------------------------------------------------------------------
def test_summary_counts_files_checked_and_not_parsed(tree: Path) -> None:
    (tree / "broken.py").write_text("def f(:\n    print 'no torch here'\n")  # no trigger: never parsed
    result = cli("check", ".")
    assert result.exit_code == 1
    assert "3 files checked, 2 of them not parsed: no PyTorch autograd usage" in result.output
    (tree / "legacy.py").unlink()
    result = cli("check", ".")
    assert result.exit_code == 0
    assert "All checks passed!" in result.output
    assert "2 files checked, none parsed: no PyTorch autograd usage (nothing to migrate)." in result.output
    payload = json.loads(cli("check", "--output-format", "json", ".").output)
    assert payload["summary"]["files"] == 2 and payload["summary"]["skipped_files"] == 2
    jsonschema.validate(payload, SCHEMA)


def test_show_files_lists_parsed_and_not_parsed(tree: Path) -> None:
    result = cli("check", "--show-files", ".")
    assert result.exit_code == 0
    rows = dict(line.split("\t") for line in result.stdout.splitlines())
    assert rows == {"clean.py": "not parsed: no PyTorch autograd usage (nothing to migrate)", "legacy.py": "parsed"}
    assert "2 files checked, 1 of them not parsed" in result.stderr


def test_skipped_count_survives_the_cache(tree: Path) -> None:
    first = CliRunner().invoke(main, ["check", "--cache-dir", "c", "."])
    second = CliRunner().invoke(main, ["check", "--cache-dir", "c", "."])
    assert "2 files checked, 1 of them not parsed" in first.output
    assert "2 files checked, 1 of them not parsed" in second.output


def test_readme_states_that_files_without_autograd_usage_are_not_parsed() -> None:
    readme = (REPO / "README.md").read_text()
    assert "Files without PyTorch autograd usage are not parsed" in readme


# ------------------------------------------------------------------------------------------
# Defect 3: fix --diff printed findings at rows of the fixed text, which is not on disk
# ------------------------------------------------------------------------------------------
def test_fix_diff_prints_only_the_diff_and_the_summary(tree: Path) -> None:
    result = cli("fix", "--diff", "legacy.py")
    assert result.exit_code == 1
    assert result.stdout.startswith("--- a/legacy.py")
    # The VM105 left is at row 7 on disk but row 6 of the fixed text: neither is printed.
    assert not re.search(r"legacy\.py:\d+:\d+: VM", result.output), result.output
    assert result.stderr.strip() == "Would fix 2 findings in 1 file. 1 remaining (1 fixable with --unsafe-fixes)."
    assert (tree / "legacy.py").read_text() == LEGACY


# ------------------------------------------------------------------------------------------
# Defect 8: fix lacked --no-cache, --statistics, --output-format; check --statistics sarif
# ------------------------------------------------------------------------------------------
def test_fix_accepts_no_cache_and_skips_files_the_cache_knows_clean(tree: Path) -> None:
    assert cli("fix", "--no-cache", "legacy.py").exit_code == 1
    assert (tree / "legacy.py").read_text() != LEGACY
    assert CliRunner().invoke(main, ["check", "--cache-dir", "c", "clean.py"]).exit_code == 0
    assert CliRunner().invoke(main, ["fix", "--cache-dir", "c", "clean.py"]).exit_code == 0


def test_fix_statistics_counts_the_applied_fixes(tree: Path) -> None:
    result = cli("fix", "--statistics", "legacy.py")
    assert result.exit_code == 1
    assert [line.split("\t")[:2] for line in result.output.splitlines()[:1]] == [["2", "VM101"]]
    assert "Fixed 2 findings in 1 file. 1 remaining" in result.output
    (tree / "legacy.py").write_text(LEGACY)
    rows = json.loads(cli("fix", "--statistics", "--output-format", "json", "legacy.py").output)
    assert rows["fixed"] == [{"code": "VM101", "name": "variable-wrapper", "count": 2, "fixable": 2}]
    assert [r["code"] for r in rows["remaining"]] == ["VM105"]


def test_fix_json_has_the_check_schema_with_the_applied_fixes(tree: Path) -> None:
    payload = json.loads(cli("fix", "--output-format", "json", "legacy.py").output)
    jsonschema.validate(payload, SCHEMA)
    assert [f["code"] for f in payload["fixed"]] == ["VM101", "VM101"]
    assert [f["code"] for f in payload["findings"]] == ["VM105"]
    left = payload["findings"][0]
    # the finding left is located in the file as it is now (fixed, on disk)
    assert (tree / "legacy.py").read_text().splitlines()[left["location"]["row"] - 1].startswith("if type(x)")
    assert payload["summary"]["fixed"] == 2 and payload["summary"]["findings"] == 1


def test_fix_sarif_and_github(tree: Path) -> None:
    schema = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
    log = json.loads(cli("fix", "--output-format", "sarif", "legacy.py").output)
    jsonschema.Draft4Validator(schema).validate(log)
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["VM105"]
    assert [f["ruleId"] for f in log["runs"][0]["properties"]["fixed"]] == ["VM101", "VM101"]
    (tree / "legacy.py").write_text(LEGACY)
    lines = cli("fix", "--output-format", "github", "legacy.py").output.splitlines()
    assert sum(line.startswith("::notice ") for line in lines) == 2
    assert sum(line.startswith("::error ") for line in lines) == 1


@pytest.mark.parametrize("fmt", ["sarif", "github"])
def test_statistics_with_a_format_it_cannot_print_is_an_error(tree: Path, fmt: str) -> None:
    result = cli("check", "--statistics", "--output-format", fmt, "legacy.py")
    assert result.exit_code == 2
    assert f"--statistics prints text or json, not {fmt}" in result.output


# ------------------------------------------------------------------------------------------
# check --fix, --fix-only, --exit-non-zero-on-fix (ruff's exit status); fix keeps its own
# ------------------------------------------------------------------------------------------
def test_check_fix_has_ruff_exit_semantics(tree: Path) -> None:
    fixable_only = "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(3))\n"
    (tree / "m.py").write_text(fixable_only)
    result = cli("check", "--fix", "m.py")
    assert result.exit_code == 0, result.output  # everything fixed, nothing left
    assert (tree / "m.py").read_text() == "import torch\nx = torch.ones(3)\n"
    assert "Fixed 1 finding in 1 file. Nothing left to migrate." in result.output
    (tree / "m.py").write_text(fixable_only)
    assert cli("check", "--fix", "--exit-non-zero-on-fix", "m.py").exit_code == 1
    assert cli("check", "--fix", "--exit-non-zero-on-fix", "m.py").exit_code == 0  # nothing to change any more

    result = cli("check", "--fix", "legacy.py")
    assert result.exit_code == 1  # VM105 is left
    row = int(re.search(r"legacy\.py:(\d+):4: VM105", result.output).group(1))  # type: ignore[union-attr]
    assert (tree / "legacy.py").read_text().splitlines()[row - 1] == "if type(x) == Variable:"  # its row on disk
    (tree / "legacy.py").write_text(LEGACY)
    result = cli("check", "--fix-only", "legacy.py")
    assert result.exit_code == 0 and "VM105" not in result.output
    (tree / "legacy.py").write_text(LEGACY)
    assert cli("check", "--fix", "--unsafe-fixes", "legacy.py").exit_code == 0
    assert "isinstance(x, torch.Tensor)" in (tree / "legacy.py").read_text()


def test_fix_keeps_the_pre_commit_exit_status(tree: Path) -> None:
    (tree / "m.py").write_text("import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(3))\n")
    assert cli("fix", "m.py").exit_code == 1  # changed a file
    assert cli("fix", "m.py").exit_code == 0  # nothing changed, nothing left


# ------------------------------------------------------------------------------------------
# Defect 9: safe vs unsafe made obvious
# ------------------------------------------------------------------------------------------
def test_safe_fix_message_says_what_the_safe_fix_does(tree: Path) -> None:
    line = next(row for row in cli("check", "legacy.py").output.splitlines() if row.startswith("legacy.py:6:18:"))
    assert "[*]" in line and "returns `h.detach()`, which the safe fix writes" in line
    assert "does not require grad" not in line  # the unsafe alternative's condition is not the [*] fix's
    shown = cli("check", "--show-fixes", "legacy.py").output
    block = shown[shown.index("legacy.py:6:18:"):].split("\nlegacy.py:")[0]
    assert "= help: Replace `Variable(h)` with `h.detach()` (safe fix)" in block
    assert "= alternative: Remove the `Variable` wrapper (unsafe: equivalent only if `h` does not require grad" in block
    assert "(unsafe fix, needs --unsafe-fixes)" in block


def test_fix_explains_findings_exposed_by_earlier_fixes(tree: Path) -> None:
    (tree / "v.py").write_text("import torch\nfrom torch.autograd import Variable\ndef ev(data):\n"
                               "    return Variable(data, volatile=True)\n")
    check = cli("check", "v.py").output
    assert "[*] 1 fixable with `varmigrate fix`." in check
    result = cli("fix", "--diff", "v.py")
    assert "Would fix 2 findings in 1 file (1 more than `check` counted as fixable: a fix can expose another finding" in result.stderr


def test_statistics_explain_the_markers(tree: Path) -> None:
    result = cli("check", "--statistics", "legacy.py")
    assert "[*] `varmigrate fix` fixes all of them, [-] some of them, [ ] none" in result.output
    assert "`--unsafe-fixes` fixes more" in result.output
    assert "[*] variable-wrapper" in result.output and "[ ] variable-type-compare" in result.output


# ------------------------------------------------------------------------------------------
# Options
# ------------------------------------------------------------------------------------------
def test_quiet_silent_verbose(tree: Path) -> None:
    quiet = cli("check", "-q", "legacy.py")
    assert quiet.exit_code == 1 and "VM101" in quiet.output
    assert "Found" not in quiet.output and "checked" not in quiet.output
    assert cli("check", "-q", "clean.py").output == ""
    silent = cli("check", "--silent", "legacy.py")
    assert silent.exit_code == 1 and silent.output == ""
    (tree / "bad.py").write_text("import torch\nx = Variable(\n")
    assert cli("check", "--silent", "bad.py").output == "" and cli("check", "--silent", "bad.py").exit_code == 2
    verbose = cli("check", "-v", ".")
    assert "varmigrate: configuration: none found (defaults)" in verbose.stderr
    assert "varmigrate: clean.py: not parsed (nothing to migrate)" in verbose.stderr
    assert "varmigrate: legacy.py: checked" in verbose.stderr
    assert cli("check", "-q", "-v", ".").exit_code == 2


def test_output_format_full_shows_the_source_line_with_a_caret(tree: Path) -> None:
    result = cli("check", "--output-format", "full", "legacy.py")
    lines = result.output.splitlines()
    at = lines.index(next(row for row in lines if row.startswith("legacy.py:4:5: VM101 [*]")))
    assert lines[at + 1:at + 5] == [
        "  |",
        "4 | x = Variable(torch.ones(3))",
        "  |     ^^^^^^^^^^^^^^^^^^^^^^^ VM101",
        "  |",
    ]
    assert lines[at + 5] == "  = help: Remove the `Variable` wrapper"
    assert cli("check", "--output-format", "concise", "legacy.py").output == cli("check", "--output-format", "text", "legacy.py").output


def test_full_format_in_a_notebook_shows_the_cell_line(tree: Path) -> None:
    cells: list[dict[str, object]] = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": src}
             for src in ["import torch\nfrom torch.autograd import Variable\n", "y = Variable(torch.ones(2))\n"]]
    (tree / "nb.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    output = cli("check", "--output-format", "full", "nb.ipynb").output
    assert "nb.ipynb:cell 2:1:5: VM101" in output and "1 | y = Variable(torch.ones(2))" in output


def test_colour_on_a_terminal_honours_no_color_and_force_color(tree: Path) -> None:
    plain = cli("check", "legacy.py").output
    assert "\x1b[" not in plain  # not a terminal
    forced = cli("check", "legacy.py", env={"FORCE_COLOR": "1"}).output
    assert "\x1b[" in forced and re.sub(r"\x1b\[[0-9;]*m", "", forced) == plain
    assert "\x1b[" not in cli("check", "legacy.py", env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).output
    assert "\x1b[" not in cli("check", "--output-format", "json", "legacy.py", env={"FORCE_COLOR": "1"}).output


def test_exclude_extend_exclude_and_per_file_ignores_on_the_command_line(tree: Path) -> None:
    (tree / "gen").mkdir()
    (tree / "gen" / "g.py").write_text(LEGACY)
    (tree / "pyproject.toml").write_text("[tool.varmigrate]\nexclude = ['gen']\n")
    assert "gen/g.py" not in cli("check", ".").output
    assert "gen/g.py:4:5: VM101" in cli("check", "--exclude", "nothing", ".").output  # replaces the configured list
    assert "legacy.py" not in cli("check", "--exclude", "nothing", "--extend-exclude", "legacy.py", ".").output
    result = cli("check", "--per-file-ignores", "gen/*:VM101", "--exclude", "", ".")
    assert "gen/g.py:7:4: VM105" in result.output and "gen/g.py:4:5" not in result.output


def test_show_settings(tree: Path) -> None:
    (tree / "pyproject.toml").write_text("[tool.varmigrate]\nignore = ['VM105']\n")
    result = cli("check", "--show-settings", "--extend-select", "VM901", ".")
    assert result.exit_code == 0
    assert 'ignore = ["VM105"]' in result.output and 'extend-select = ["VM901"]' in result.output
    assert "pyproject.toml" in result.output.splitlines()[0]
    assert "respect-gitignore = true" in result.output


def test_every_option_is_documented(tree: Path) -> None:
    readme = (REPO / "README.md").read_text()
    configuration = (REPO / "docs" / "configuration.md").read_text()
    for command in ("check", "fix"):
        help_text = cli(command, "--help").output
        options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", help_text)) - {"--help"}
        assert len(options) > 20
        for option in options:
            assert option in help_text
            assert option in readme or option in configuration, f"{command} {option} is not documented"


def test_watch_rechecks_changed_files(tree: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    for name in ("NO_COLOR", "FORCE_COLOR", "VARMIGRATE_OUTPUT_FORMAT"):
        env.pop(name, None)
    (tree / "legacy.py").write_text(CLEAN)
    proc = subprocess.Popen([sys.executable, "-m", "varmigrate", "check", "--watch", "--no-cache", "."], cwd=tree, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            # a suite started in the background inherits SIGINT ignored
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen: list[str] = []
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()

    def until(fragment: str) -> None:
        while True:
            try:  # a broken watcher fails the test instead of hanging the suite
                line = lines.get(timeout=120)
            except queue.Empty:
                raise AssertionError(f"no {fragment!r} in:\n{''.join(seen)}") from None
            if line is None:
                raise AssertionError(f"the watcher exited before {fragment!r}:\n{''.join(seen)}")
            seen.append(line)
            if fragment in line:
                return

    try:
        until("Watching for changes")
        assert any("All checks passed!" in line for line in seen)
        (tree / "legacy.py").write_text(LEGACY)
        until("legacy.py:4:5: VM101")
        until("Found 3 findings.")
        assert any("1 file changed: checking again" in line for line in seen)
        (tree / "legacy.py").write_text(CLEAN)
        until("All checks passed!")
        proc.send_signal(signal.SIGINT)
        until("Stopped watching.")
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not any("clean.py" in line for line in seen[1:] if "VM" in line)
