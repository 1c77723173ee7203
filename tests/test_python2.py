"""Files that do not parse because they are Python 2 (or use `async` as a name) say so."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from varmigrate.cli import main
from varmigrate.config import Settings
from varmigrate.engine import lint_source
from varmigrate.syntax.python2 import diagnose

HEAD = "import torch\nfrom torch.autograd import Variable\n"


@pytest.mark.parametrize(
    "body,line,column,construct",
    [
        pytest.param('print "loss", loss.data[0]\n', 3, 1, "print statement", id="print"),
        pytest.param("print >>sys.stderr, 'x'\nprint 'y'\n", 3, 1, "print statement", id="print-chevron"),
        pytest.param('exec "x = 1"\n', 3, 1, "exec statement", id="exec"),
        pytest.param("s = `Variable(x)`\n", 3, 5, "backtick", id="backticks"),
        # `except E, e:` alone parses in libcst (Python 3.14's PEP 758 `except A, B:`): see below.
        pytest.param("try:\n    pass\nexcept ValueError, e:\n    print e\n", 5, 1, "except E, e:", id="except-comma"),
        pytest.param('raise ValueError, "bad"\n', 3, 1, "raise E, value", id="raise-comma"),
        pytest.param("os.chmod(p, 0777)\n", 3, 13, "octal", id="octal"),
        pytest.param("n = 10L\n", 3, 5, "long integer", id="long"),
        pytest.param("s = ur'\\d'\n", 3, 5, "ur''", id="ur-prefix"),
        pytest.param("if a <> b:\n    pass\n", 3, 6, "<>", id="diamond"),
    ],
)
def test_python2_construct_is_named(body: str, line: int, column: int, construct: str) -> None:
    result = lint_source(HEAD + body, "old.py", Settings())
    assert result.findings == []
    [error] = result.errors
    assert (error.line, error.column) == (line, column)
    assert error.message.startswith("Python 2 syntax (")
    assert construct in error.message
    assert "convert the file to Python 3 first" in error.message


@pytest.mark.parametrize(
    "src",
    [
        "print(x)\nprint\nprint (a), b\n",
        "x = 0\ny = 0o777\nz = 00\n",
        "raise ValueError(1, 2)\n",
        "try:\n    pass\nexcept (A, B) as e:\n    pass\n",
        "f(x,\n",  # broken, but not Python 2
    ],
)
def test_python3_or_plain_broken_code_is_not_called_python2(src: str) -> None:
    assert diagnose(src) is None


def test_plain_syntax_error_keeps_the_parser_message() -> None:
    [error] = lint_source(HEAD + "def f(:\n    pass\n", "bad.py", Settings()).errors
    assert error.message.startswith("SyntaxError")


def test_async_as_a_name() -> None:
    [error] = lint_source(HEAD + "def to_gpu(x, async=False):\n    return x\n", "a.py", Settings()).errors
    assert (error.line, error.column) == (3, 15)
    assert "reserved keyword since Python 3.7" in error.message


def test_cli_reports_python2_and_goes_on(tmp_path: Path) -> None:
    old = tmp_path / "old.py"
    old.write_text(HEAD + "x = Variable(torch.ones(1))\nprint x\n")
    new = tmp_path / "new.py"
    new.write_text(HEAD + "x = Variable(torch.ones(1))\n")
    before = old.read_bytes()
    result = CliRunner().invoke(main, ["fix", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{old}:4:1: error: Python 2 syntax (print statement): convert the file to Python 3 first" in result.output
    assert old.read_bytes() == before
    assert new.read_text() == "import torch\nx = torch.ones(1)\n"


def test_notebook_export_with_magic_gets_a_hint() -> None:
    from varmigrate.config import Settings
    from varmigrate.engine import lint_source

    text = "import torch\nfrom torch.autograd import Variable\n%matplotlib inline\nx = Variable(torch.ones(1))\n"
    (error,) = lint_source(text, "export.py", Settings()).errors
    assert (error.line, error.column) == (3, 1)
    assert "`%matplotlib` is an IPython magic or shell line" in error.message
