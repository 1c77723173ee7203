"""Unparsable legacy files: the error points where CPython points (found on 2017-era files)."""

from __future__ import annotations

import pytest

from varmigrate.config import Settings
from varmigrate.engine import lint_source


def _error(text: str):
    result = lint_source(text, "legacy.py", Settings())
    assert not result.findings and len(result.errors) == 1
    return result.errors[0]


def test_crlf_file_reports_the_offending_line() -> None:
    text = "import torch\r\nfrom torchvision import datasets. transforms\r\nx = Variable(torch.ones(1))\r\n"
    error = _error(text)
    assert (error.line, error.column) == (2, 33)
    assert "invalid syntax" in error.message


def test_missing_colon_is_named_at_its_line() -> None:
    text = ("import torch\nfrom torch.autograd import Variable\n\n"
            "class Encoder(torch.nn.Module)\n    def f(self, x):\n\treturn Variable(x)\n")
    error = _error(text)
    assert error.line == 4
    assert "expected ':'" in error.message


def test_python2_tab_indentation_points_to_convert_py2() -> None:
    # Python 2 read a tab as indentation to the next multiple of 8: Python 3 refuses the mix.
    text = "import torch\nfrom torch.autograd import Variable\n\ndef f(x):\n\tif x:\n\t\treturn Variable(x)\n        return 2\n"
    error = _error(text)
    assert error.line == 7
    assert "inconsistent use of tabs and spaces" in error.message and "--convert-py2" in error.message


def test_ipython_magic_line_is_the_error_line() -> None:
    text = "import torch\nfrom torch.autograd import Variable as V\n%matplotlib\ninline\nx = V(torch.ones(1))\n"
    assert _error(text).line == 3


def test_syntax_warnings_of_the_compile_fallback_stay_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    text = 'import torch\nx = "\\d"\nfrom torch.autograd import Variable\ny = Variable(x\n'
    assert _error(text).line == 4
    assert capfd.readouterr().err == ""
