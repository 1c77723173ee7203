"""The fast path: the static trigger set matches the rules, and clean files never import libcst."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from varmigrate.registry import all_rules
from varmigrate.triggers import TRIGGERS, may_have_findings


def test_static_triggers_match_rules() -> None:
    # A new rule (or a changed TRIGGERS) must be mirrored in varmigrate/triggers.py, or the
    # libcst-free prefilter would skip files the rule should see.
    union = {word for rule in all_rules() for word in rule.TRIGGERS}
    missing = union - TRIGGERS
    extra = TRIGGERS - union
    assert not missing, f"add to varmigrate/triggers.py: {sorted(missing)}"
    assert not extra, f"no rule uses these any more, drop from varmigrate/triggers.py: {sorted(extra)}"


def test_static_rule_codes_match_rules() -> None:
    # Command-line and configuration codes are validated against this libcst-free list.
    from varmigrate.config import RULE_CODES

    assert RULE_CODES == tuple(r.CODE for r in all_rules()), "update RULE_CODES in varmigrate/config.py"


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
    from varmigrate.triggers import may_have_findings

    modern = "import torch\nfrom torch.utils.data import DataLoader\nimport torch.utils.data as tud\n"
    assert not may_have_findings(modern)
    assert may_have_findings(modern + "x = w.data\n")
    assert may_have_findings("import torch\nprint(loss.data[0])\n")
