"""`.gitignore` is respected by default (ruff's `respect-gitignore`), with a way off.

The matcher is pathspec's GitIgnoreSpec; these tests hold it against git itself (`git check-ignore`)
on nested .gitignore files, .git/info/exclude, negations and folder-only patterns.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from varmigrate.cli import main
from varmigrate.sources import GitIgnore, discover

LEGACY = "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(3))\n"
FIXED = "import torch\nx = torch.ones(3)\n"

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

FILES = [
    "src/app.py",
    "src/app_pb2.py",        # *_pb2.py
    "src/keep_pb2.py",       # re-included by !keep_pb2.py
    "out/gen.py",            # out/ (folder-only pattern)
    "src/out.py",            # a file named out: not matched by `out/`
    "vendor/lib.py",         # .git/info/exclude
    "pkg/gen/x.py",          # pkg/.gitignore: gen/
    "pkg/mod.py",
    "pkg/deep/generated.py",  # pkg/.gitignore: generated.py (any depth below pkg)
    "other/generated.py",    # not below pkg: kept
    "docs/conf.py",          # /docs/conf.py anchored in the root file
    "sub/docs/conf.py",      # the anchored pattern does not match here
]
IGNORED = {"src/app_pb2.py", "out/gen.py", "vendor/lib.py", "pkg/gen/x.py", "pkg/deep/generated.py", "docs/conf.py"}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VARMIGRATE_OUTPUT_FORMAT", raising=False)
    (tmp_path / ".git" / "info").mkdir(parents=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("vendor/\n")
    (tmp_path / ".gitignore").write_text("# generated\n*_pb2.py\n!keep_pb2.py\nout/\n/docs/conf.py\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / ".gitignore").write_text("gen/\ngenerated.py\n")
    for name in FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(LEGACY)
    return tmp_path


def fix(*args: str) -> Result:
    return CliRunner().invoke(main, ["fix", *args])


def changed(root: Path) -> set[str]:
    return {name for name in FILES if (root / name).read_text() == FIXED}


def test_fix_leaves_git_ignored_files_alone(repo: Path) -> None:
    result = fix(".")
    assert result.exit_code == 1, result.output
    assert changed(repo) == set(FILES) - IGNORED


def test_no_respect_gitignore_walks_everything(repo: Path) -> None:
    result = fix("--no-respect-gitignore", ".")
    assert result.exit_code == 1, result.output
    assert changed(repo) == set(FILES)


def test_respect_gitignore_false_in_the_configuration(repo: Path) -> None:
    (repo / "pyproject.toml").write_text("[tool.varmigrate]\nrespect-gitignore = false\n")
    fix(".")
    assert changed(repo) == set(FILES)
    (repo / "pyproject.toml").write_text("[tool.varmigrate]\nrespect-gitignore = 'no'\n")
    result = fix(".")
    assert result.exit_code == 2 and "`respect-gitignore` must be true or false" in result.output


def test_named_ignored_file_is_checked_unless_force_exclude(repo: Path) -> None:
    # As ruff: a path named on the command line is checked; pre-commit passes --force-exclude.
    result = CliRunner().invoke(main, ["check", "--no-cache", "src/app_pb2.py"])
    assert result.exit_code == 1 and "src/app_pb2.py:3:5: VM101" in result.output
    result = CliRunner().invoke(main, ["check", "--no-cache", "--force-exclude", "src/app_pb2.py", "out/gen.py", "src/app.py"])
    assert "app_pb2" not in result.output and "out/gen.py" not in result.output
    assert "src/app.py:3:5: VM101" in result.output


def test_named_ignored_folder_is_walked(repo: Path) -> None:
    # `varmigrate fix out/` asks for out/: the folder's own ignore rule does not empty it.
    fix("out")
    assert changed(repo) == {"out/gen.py"}


def test_gitignore_outside_a_repository_applies_below_the_walked_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".gitignore").write_text("skip_me.py\n")
    (tmp_path / "skip_me.py").write_text(LEGACY)
    (tmp_path / "keep.py").write_text(LEGACY)
    assert [p.name for p, _ in discover(["."], respect_gitignore=True)] == ["keep.py"]
    assert sorted(p.name for p, _ in discover(["."])) == ["keep.py", "skip_me.py"]


@needs_git
def test_matcher_agrees_with_git_check_ignore(repo: Path) -> None:
    subprocess.run(["git", "init", "-q", "."], check=True, capture_output=True)
    (repo / ".git" / "info").mkdir(parents=True, exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text("vendor/\n")
    git = subprocess.run(["git", "check-ignore", "--no-index", *FILES], capture_output=True, text=True, check=False)
    by_git = set(git.stdout.split())
    assert by_git == IGNORED  # the fixture means what it says
    matcher = GitIgnore()
    assert {name for name in FILES if matcher.ignored(repo / name, repo)} == by_git
    walked = {p.relative_to(repo).as_posix() if p.is_absolute() else p.as_posix()
              for p, _ in discover(["."], respect_gitignore=True)}
    assert walked == set(FILES) - by_git
