"""Issue 15's cheap wins, as behaviour (never timed): what is parsed, and what is imported."""

from __future__ import annotations

import os
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
    assert "varmigrate.prefilter" in clean  # (the trace is read right)
    assert not [m for m in clean if m.startswith(HEAVY)]
    # nor, with the cache on, the run driver, the cache or the machine formats: a clean file is
    # never parsed, so there is nothing to look up
    cached = _imported(["check", "clean.py"], tmp_path)
    assert "varmigrate.prefilter" in cached
    assert not {"varmigrate.api", "varmigrate.cache", "varmigrate.output.machine", "hashlib"} & cached
    cache = str(tmp_path / "cache")
    assert "libcst" in _imported(["check", "--cache-dir", cache, "legacy.py"], tmp_path)  # warms the cache
    hit = _imported(["check", "--cache-dir", cache, "legacy.py"], tmp_path)
    assert not [m for m in hit if m.startswith(HEAVY)]


CLEAN = "import os\n\n\ndef main():\n    return os.getcwd()\n"


@pytest.mark.parametrize("args", [
    ["check", "--no-cache", "a.py"],
    ["check", "a.py", "b.py"],  # with the cache (written as the CLI writes it)
    ["check", "--force-exclude", "--no-cache", "a.py", "skipped/c.py"],
    ["check", "-q", "--no-cache", "a.py"],
    ["check", "--no-cache", "a.py", "legacy.py"],  # one file passes the prefilter: the click CLI
    ["check", "--no-cache", "--select", "VM1", "a.py"],  # another option: the click CLI
])
def test_launch_answers_as_the_cli(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.varmigrate]\nextend-exclude = ["skipped"]\n')
    (tmp_path / "a.py").write_text(CLEAN)
    (tmp_path / "b.py").write_text("print('torch')\n")
    (tmp_path / "skipped").mkdir()
    (tmp_path / "skipped" / "c.py").write_text(LEGACY)
    (tmp_path / "legacy.py").write_text(LEGACY)
    env = {**os.environ, "VARMIGRATE_CACHE_DIR": str(tmp_path / "cache-a")}
    entry = subprocess.run([sys.executable, "-m", "varmigrate", *args], cwd=tmp_path, capture_output=True, text=True, env=env)
    env["VARMIGRATE_CACHE_DIR"] = str(tmp_path / "cache-b")
    click_cli = subprocess.run([sys.executable, "-c", "from varmigrate.cli import main; main()", *args], cwd=tmp_path,
                               capture_output=True, text=True, env=env)
    assert (entry.returncode, entry.stdout, entry.stderr) == (click_cli.returncode, click_cli.stdout, click_cli.stderr)

    def cache_files(folder: Path) -> list[str]:
        return sorted(p.name for p in folder.rglob("*") if p.is_file())

    if entry.stdout.startswith("All checks passed!") and "--select" not in args:
        # answered by the launcher: files it never parsed leave nothing in the cache
        assert cache_files(tmp_path / "cache-a") == []
    else:
        assert cache_files(tmp_path / "cache-a") == cache_files(tmp_path / "cache-b")  # the same entries written


def test_launch_leaves_everything_else_to_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from varmigrate.launch import clean_run

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.varmigrate]\n")
    (tmp_path / "a.py").write_text(CLEAN)
    (tmp_path / "legacy.py").write_text(LEGACY)
    (tmp_path / "n.ipynb").write_text("{}")
    for argv in (["fix", "a.py"], ["check"], ["check", "."], ["check", "legacy.py"], ["check", "n.ipynb"],
                 ["check", "missing.py"], ["check", "-v", "a.py"], ["check", "--stdin-filename", "a.py"]):
        assert clean_run(argv) is None, argv
    assert clean_run(["check", "--no-cache", "a.py"]) == 0


def test_a_clean_pre_commit_run_does_not_import_click(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.varmigrate]\n")
    (tmp_path / "a.py").write_text(CLEAN)
    assert not [m for m in _imported(["check", "--force-exclude", "a.py"], tmp_path) if m.startswith("click")]
    assert "click" in _imported(["check", "--no-cache", "--select", "VM1", "a.py"], tmp_path)
