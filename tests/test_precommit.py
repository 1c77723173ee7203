"""Real pre-commit (`pre-commit try-repo`) against a committed copy of this repository.

pre-commit builds the hook's virtualenv with pip (libcst and click come from PyPI), so this is slow
(~30-60 s the first time) and needs the package index; it is skipped when pre-commit or git is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEGACY = (
    "import torch\n"
    "from torch.autograd import Variable\n"
    "\n"
    "x = Variable(torch.ones(3))\n"
    "w = Variable(torch.randn(3), requires_grad=True)\n"
)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
}

pytestmark = pytest.mark.slow


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def _hook_repo(dest: Path) -> Path:
    """The files pip needs to install varmigrate, plus the hook definitions, committed."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "varmigrate", dest / "varmigrate", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _git(dest, "init", "-q")
    _git(dest, "add", ".")
    _git(dest, "commit", "-q", "-m", "hook repo")
    return dest


def _try_repo(project: Path, repo: Path, hook: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(repo), hook, "--all-files", "--verbose"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )


def test_hooks_fail_on_legacy_code_and_pass_once_fixed(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = _hook_repo(tmp_path / "hooks")
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text(LEGACY)
    (project / "notes.txt").write_text("Variable(torch.ones(3))\n")  # not Python: never passed
    _git(project, "init", "-q")
    _git(project, "add", ".")
    home = tmp_path / "pre-commit-home"

    failed = _try_repo(project, repo, "varmigrate", home)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "train.py:4:5: VM101 [*]" in failed.stdout
    assert "train.py:5:5: VM102 [*]" in failed.stdout
    assert "notes.txt" not in failed.stdout
    assert "Checking [" not in failed.stdout + failed.stderr  # no progress bar in hook output

    fixing = _try_repo(project, repo, "varmigrate-fix", home)
    assert fixing.returncode == 1  # files were modified: pre-commit's convention
    assert (project / "train.py").read_text() == "import torch\n\nx = torch.ones(3)\nw = torch.randn(3, requires_grad=True)\n"
    _git(project, "add", ".")

    passed = _try_repo(project, repo, "varmigrate", home)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
