"""Hostile input: every case has a defined outcome, a clear message, and never damages a file.

Decisions (documented in bench/README.md, "Robustness"):
- empty and comment-only files pass;
- null bytes, undecodable bytes, too-deep nesting, symlink loops, unreadable and missing paths are
  errors (`path:line:col: error: ...`, exit 2) and the other files are still processed;
- a read-only file is refused by `fix` (exit 2, the file named, left as it is; the others are fixed);
- a file named explicitly is read as Python whatever its extension (as ruff does); folders are
  walked for *.py / *.pyi only.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from varmigrate.cli import main

LEGACY = "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(3))\n"
FIXED = "import torch\nx = torch.ones(3)\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.varmigrate]\n")
    (tmp_path / "good.py").write_text(LEGACY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, [args[0], "--no-cache", *args[1:]] if args[0] == "check" else list(args))


def _check_error(path: str, fragment: str, line: int = 0) -> Result:
    """`check` reports the file as an error and still checks good.py."""
    result = _cli("check", path, "good.py")
    assert result.exit_code == 2, result.output
    prefix = f"{path}:{line}:" if line else f"{path}:"
    errors = [row for row in result.output.splitlines() if row.startswith(prefix) and ": error: " in row]
    assert errors and fragment in errors[0], result.output
    assert "good.py:3:5: VM101" in result.output
    return result


def _fix_leaves(path: Path, before: bytes) -> None:
    result = _cli("fix", str(path.name) if path.parent == Path.cwd() else str(path), "good.py")
    assert result.exit_code == 2, result.output
    assert path.read_bytes() == before
    assert Path("good.py").read_text() == FIXED


@pytest.mark.parametrize("content", ["", "\n\n", "# just a comment\n# torch Variable\n", "#!/usr/bin/env python\n"])
def test_empty_and_comment_only_pass(project: Path, content: str) -> None:
    (project / "e.py").write_text(content)
    result = _cli("check", "e.py")
    assert result.exit_code == 0 and "All checks passed!" in result.output
    assert _cli("fix", "e.py").exit_code == 0
    assert (project / "e.py").read_text() == content


def test_null_bytes(project: Path) -> None:
    data = LEGACY.encode() + b"y = 1\x00\n"
    (project / "nul.py").write_bytes(data)
    _check_error("nul.py", "source contains null bytes", line=4)
    _fix_leaves(project / "nul.py", data)


def test_invalid_utf8_without_cookie(project: Path) -> None:
    data = LEGACY.encode() + b"s = '\xe9t\xe9'\n"
    (project / "latin.py").write_bytes(data)
    _check_error("latin.py", "cannot decode byte 0xe9 as utf-8", line=4)
    _fix_leaves(project / "latin.py", data)


def test_unknown_coding_cookie(project: Path) -> None:
    data = b"# -*- coding: klingon -*-\n" + LEGACY.encode()
    (project / "k.py").write_bytes(data)
    _check_error("k.py", "klingon")


@pytest.mark.parametrize("cookie_line", [1, 2])
def test_bom_and_a_different_coding_cookie_disagree(project: Path, cookie_line: int) -> None:
    shebang = b"#!/usr/bin/env python\n" if cookie_line == 2 else b""
    data = b"\xef\xbb\xbf" + shebang + b"# -*- coding: latin-1 -*-\n" + LEGACY.encode()
    (project / "bom.py").write_bytes(data)
    result = _check_error("bom.py", "the UTF-8 byte order mark and the coding cookie `latin-1` disagree", line=cookie_line)
    assert "encoding problem: latin-1 with BOM" in result.output and "remove the BOM or the cookie" in result.output
    _fix_leaves(project / "bom.py", data)


def test_bom_and_a_utf8_cookie_agree(project: Path) -> None:
    (project / "bom.py").write_bytes(b"\xef\xbb\xbf# coding: utf-8\n" + LEGACY.encode())
    assert _cli("fix", "bom.py").exit_code == 1
    assert (project / "bom.py").read_bytes() == b"\xef\xbb\xbf# coding: utf-8\n" + FIXED.encode()


def test_twenty_thousand_lines(project: Path) -> None:
    body = "".join(f"v{i} = {i % 7}\n" for i in range(20_000))
    text = LEGACY + body + "w = Variable(torch.ones(1))\n"
    (project / "big.py").write_text(text)
    start = time.monotonic()
    result = _cli("check", "big.py")
    assert result.exit_code == 1
    assert "big.py:3:5: VM101" in result.output and "big.py:20004:5: VM101" in result.output
    assert time.monotonic() - start < 60


@pytest.mark.parametrize(
    "expression, fragment",
    [
        ("(" * 300 + "Variable(x)" + ")" * 300, "too many nested parentheses"),
        ("[" * 1000 + "Variable(x)" + "]" * 1000, "too many nested parentheses"),
        ("-" * 5000 + "Variable(x)", "nested too deeply"),
    ],
    ids=["parens-300", "lists-1000", "unary-5000"],
)
def test_deep_nesting_is_a_clean_and_quick_error(project: Path, expression: str, fragment: str) -> None:
    data = (LEGACY + f"y = {expression}\n").encode()
    (project / "deep.py").write_bytes(data)
    start = time.monotonic()
    _check_error("deep.py", fragment)
    _fix_leaves(project / "deep.py", data)
    assert time.monotonic() - start < 30


def test_deep_calls_are_checked_and_fixed(project: Path) -> None:
    # CPython parses 150 nested calls; the engine's traversal is iterative and fix gets headroom.
    (project / "calls.py").write_text(LEGACY + "y = " + "f(" * 150 + "Variable(x)" + ")" * 150 + "\n")
    result = _cli("check", "calls.py")
    assert result.exit_code == 1 and "calls.py:4:305: VM101" in result.output
    assert _cli("fix", "--unsafe-fixes", "calls.py").exit_code == 1  # changed the file
    fixed = (project / "calls.py").read_text()
    assert fixed == "import torch\nx = torch.ones(3)\ny = " + "f(" * 150 + "x" + ")" * 150 + "\n"


def test_moderate_nesting_still_works(project: Path) -> None:
    (project / "nest.py").write_text(LEGACY + "y = " + "f(" * 40 + "Variable(torch.ones(1))" + ")" * 40 + "\n")
    result = _cli("check", "nest.py")
    assert result.exit_code == 1 and "nest.py:4:" in result.output


def test_symlink_loop(project: Path) -> None:
    os.symlink("loop_b.py", project / "loop_a.py")
    os.symlink("loop_a.py", project / "loop_b.py")
    _check_error("loop_a.py", "cannot read file: Too many levels of symbolic links")
    # Walking a folder with a loop reports it too, and goes on.
    result = _cli("check", ".")
    assert result.exit_code == 2
    assert "loop_a.py: error: cannot read file" in result.output or "loop_a.py:0:0" not in result.output
    assert "good.py:3:5: VM101" in result.output


def test_unreadable_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = project / "secret.py"
    secret.write_text(LEGACY)
    if os.geteuid() == 0:
        # root reads mode-000 files anyway: simulate the permission error where it happens.
        real = Path.read_bytes

        def read_bytes(self: Path) -> bytes:
            if self.name == "secret.py":
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    else:
        secret.chmod(0)
    result = _check_error("secret.py", "cannot read file: Permission denied")
    assert "secret.py: error" in result.output  # no fake line/column for an I/O error


def test_read_only_file_is_refused_and_the_others_are_fixed(project: Path) -> None:
    target = project / "ro.py"
    target.write_text(LEGACY)
    target.chmod(0o444)
    other = project / "rw.py"
    other.write_text(LEGACY)
    result = _cli("fix", "ro.py", "rw.py")
    assert result.exit_code == 2, result.output
    assert "ro.py: error: cannot write file: file is read-only (mode 0444)" in result.output
    assert target.read_text() == LEGACY and stat.S_IMODE(target.stat().st_mode) == 0o444
    assert other.read_text() == FIXED
    assert "Fixed 1 finding in 1 file." in result.output  # the refused file's fix is not counted
    # --diff writes nothing, so a read-only file is shown like any other
    assert "+x = torch.ones(3)" in _cli("fix", "--diff", "ro.py").output


def test_unwritable_folder_is_an_error_and_nothing_is_lost(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = project / "locked"
    folder.mkdir()
    (folder / "m.py").write_text(LEGACY)
    import tempfile  # what sources.atomic_write imports when it writes

    real = tempfile.mkstemp

    def mkstemp(*args, **kwargs):  # type: ignore[no-untyped-def]
        if Path(kwargs.get("dir", "")).name == "locked":
            raise PermissionError(13, "Permission denied")
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    result = _cli("fix", "locked/m.py", "good.py")
    assert result.exit_code == 2
    assert "locked/m.py: error: cannot write file: Permission denied; left unchanged" in result.output
    assert (folder / "m.py").read_text() == LEGACY
    assert (project / "good.py").read_text() == FIXED


def test_missing_path(project: Path) -> None:
    result = _check_error("nope.py", "no such file or directory")
    assert "nope.py: error: no such file or directory" in result.output


def test_non_python_file_named_explicitly_is_read_as_python(project: Path) -> None:
    (project / "README.md").write_text("# Notes\n\nWe use torch and a Variable here.\n")
    result = _check_error("README.md", "SyntaxError")
    (project / "notes.txt").write_text(LEGACY)
    result = _cli("check", "notes.txt")
    assert result.exit_code == 1 and "notes.txt:3:5: VM101" in result.output
    # ...but a walked folder only yields Python files.
    result = _cli("check", ".")
    assert "README.md" not in result.output and "notes.txt" not in result.output


def test_spaces_and_non_ascii_names(project: Path) -> None:
    folder = project / "mes modèles ü"
    folder.mkdir()
    target = folder / "réseau neuronal.py"
    target.write_text(LEGACY)
    result = _cli("check", ".")
    assert f"{Path('mes modèles ü') / 'réseau neuronal.py'}:3:5: VM101" in result.output
    assert _cli("fix", "mes modèles ü").exit_code != 2
    assert target.read_text() == FIXED


def test_python2_file_is_reported_and_untouched(project: Path) -> None:
    data = (LEGACY + "print x\n").encode()
    (project / "py2.py").write_bytes(data)
    _check_error("py2.py", "")
    _fix_leaves(project / "py2.py", data)


def test_add_noqa_refuses_a_read_only_file(project: Path) -> None:
    target = project / "ro.py"
    target.write_text(LEGACY)
    target.chmod(0o444)
    (project / "rw.py").write_text(LEGACY)
    result = _cli("check", "--add-noqa", "ro.py", "rw.py")
    assert result.exit_code == 2, result.output
    assert "ro.py: error: cannot write file: file is read-only (mode 0444)" in result.output
    assert target.read_text() == LEGACY and "# noqa: VM101" in (project / "rw.py").read_text()
