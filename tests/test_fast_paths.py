"""Issue 15's cheap wins, as behaviour (never timed): what is parsed, and what is imported."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import libcst
import pytest

from varmigrate.config import Settings
from varmigrate.engine import fix_source

LEGACY = (
    "import torch\nfrom torch.autograd import Variable\n\n\ndef step(model, x, y, opt):\n"
    "    x = Variable(x, volatile=True)\n    loss = model(x).sub(y).pow(2).mean()\n"
    "    return loss.data[0]\n"
)


def test_fix_parses_each_text_once(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: Counter[str] = Counter()
    real = libcst.parse_module

    def counting(source: str, *args: object, **kwargs: object) -> libcst.Module:
        parsed[source] += 1
        return real(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(libcst, "parse_module", counting)
    result = fix_source(LEGACY, "step.py", Settings(unsafe_fixes=True))
    assert result.fixed and result.source != LEGACY
    assert LEGACY in parsed and result.source in parsed
    assert max(parsed.values()) == 1, parsed  # the validation parse's tree is the one linted


def _imported(args: list[str], cwd: Path) -> set[str]:
    """The modules a `varmigrate` process imports (from `-X importtime`)."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "varmigrate", *args], cwd=cwd,
                         capture_output=True, text=True, check=False)
    assert run.returncode in (0, 1), run.stderr[-2000:]
    return {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}


HEAVY = ("libcst", "multiprocessing", "concurrent.futures", "tempfile", "difflib", "varmigrate.engine", "varmigrate.harness.command")


def test_pre_commit_runs_import_no_heavy_machinery(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.varmigrate]\n")
    (tmp_path / "clean.py").write_text("import os\n\n\ndef main():\n    return os.getcwd()\n")
    (tmp_path / "legacy.py").write_text(LEGACY)
    clean = _imported(["check", "--no-cache", "clean.py"], tmp_path)
    assert "varmigrate.api" in clean  # (the trace is read right)
    assert not [m for m in clean if m.startswith(HEAVY)]
    cache = str(tmp_path / "cache")
    assert "libcst" in _imported(["check", "--cache-dir", cache, "legacy.py"], tmp_path)  # warms the cache
    hit = _imported(["check", "--cache-dir", cache, "legacy.py"], tmp_path)
    assert not [m for m in hit if m.startswith(HEAVY)]
