"""The fast path: the prefilter agrees with the engine, and clean files never import libcst."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from varmigrate.prefilter import may_have_findings
from varmigrate.registry import all_rules


def test_every_rule_has_triggers() -> None:
    # A rule without triggers would only run when another rule's word happens to be present.
    assert [r.CODE for r in all_rules() if not r.TRIGGERS] == []


def test_static_prefilter_agrees_with_engine() -> None:
    from varmigrate.config import Settings
    from varmigrate.engine import passes_prefilter, selected_rules

    rules = selected_rules(Settings(select=["ALL"]))
    samples = ["", "import torch\n", "import torch\nx = Variable(1)\n", "Variable(1)\n",
               "import torch\nloss.backward(retain_variables=True)\n", "import torch  # noqa\n"]
    for text in samples:
        assert may_have_findings(text) == passes_prefilter(text, rules), text


def _run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    probe = textwrap.dedent(
        """
        import sys
        from varmigrate.cli import main
        try:
            main(sys.argv[1:])
        except SystemExit as exc:
            heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("libcst", "torch"))
            print("HEAVY:" + ",".join(heavy), file=sys.stderr)
            raise
        """
    )
    return subprocess.run([sys.executable, "-c", probe, *args], cwd=cwd, capture_output=True, text=True)


def test_clean_file_does_not_import_libcst(tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text("import os\n\nprint(os.getcwd())\n")
    (tmp_path / "model.py").write_text("import torch\nx = torch.ones(3)\n")  # torch, but no trigger word
    proc = _run_cli(["check", "--no-cache", "clean.py", "model.py"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY:\n" in proc.stderr, proc.stderr


def test_findings_from_cache_do_not_reparse(tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text("import os\n")
    first = _run_cli(["check", "--cache-dir", "c", "clean.py"], tmp_path)
    second = _run_cli(["check", "--cache-dir", "c", "clean.py"], tmp_path)
    assert first.returncode == second.returncode == 0
    assert "HEAVY:\n" in second.stderr


def test_legacy_file_still_checked(tmp_path: Path) -> None:
    (tmp_path / "old.py").write_text("import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(3))\n")
    proc = _run_cli(["check", "--no-cache", "old.py"], tmp_path)
    assert proc.returncode == 1
    assert "old.py:3:5: VM101" in proc.stdout


def test_prefilter_ignores_torch_utils_data() -> None:

    modern = "import torch\nfrom torch.utils.data import DataLoader\nimport torch.utils.data as tud\n"
    assert not may_have_findings(modern)
    assert may_have_findings(modern + "x = w.data\n")
    assert may_have_findings("import torch\nprint(loss.data[0])\n")


def test_findings_from_cache_are_printed_without_libcst(tmp_path: Path) -> None:
    # A cache hit carries findings, not trees: formatting them (text, github, statistics) needs
    # the finding types of ftypes.py only.
    (tmp_path / "old.py").write_text("import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(3))\n")
    first = _run_cli(["check", "--cache-dir", "c", "old.py"], tmp_path)
    assert first.returncode == 1 and "HEAVY:libcst" in first.stderr
    for extra in ([], ["--output-format", "github"], ["--statistics"], ["--output-format", "full"]):
        again = _run_cli(["check", "--cache-dir", "c", *extra, "old.py"], tmp_path)
        assert again.returncode == 1, again.stderr
        assert "VM101" in again.stdout
        assert "HEAVY:\n" in again.stderr, (extra, again.stderr)


def test_finding_types_and_formatting_do_not_import_libcst() -> None:
    probe = textwrap.dedent(
        """
        import sys
        from varmigrate import api, cache, config, edits, ftypes, noqa, output, prefilter, triggers
        f = ftypes.Finding("VM101", "variable-wrapper", "m", "a.py", 1, 1, 1, 2,
                           edits=[ftypes.Edit(None, ftypes.Safety.SAFE, "t")])
        print(output.format_finding(f), output.json_report([f], [], False, {}, 1)[:1], noqa.noqa_map("x  # noqa"))
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("libcst", "torch")))
        """
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[]", proc.stdout
