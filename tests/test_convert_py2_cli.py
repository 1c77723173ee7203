"""`check`/`fix --convert-py2` and `[tool.varmigrate] convert-py2` on files and notebooks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from varmigrate.cli import main

pytest.importorskip("fissix")

PY2 = (
    "import torch\n"
    "from torch.autograd import Variable\n"
    "x = Variable(torch.ones(4))\n"
    "n = len(x)\n"
    "print 'half', n / 2, x.sum() / n\n"
)
FIXED = (
    "import torch\n"
    "x = torch.ones(4)\n"
    "n = len(x)\n"
    "print('half', n // 2, x.sum() / n)\n"
)


def _invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_check_without_the_flag_reports_an_error(tmp_path: Path) -> None:
    path = tmp_path / "old.py"
    path.write_text(PY2)
    result = _invoke("check", "--no-cache", str(path))
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "`varmigrate fix --convert-py2` converts and migrates it" in result.output  # type: ignore[attr-defined]
    assert path.read_text() == PY2


def test_check_with_the_flag_says_what_fix_would_do(tmp_path: Path) -> None:
    path = tmp_path / "old.py"
    path.write_text(PY2)
    result = _invoke("check", "--no-cache", "--convert-py2", str(path))
    out = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert f"{path}:1:1: note: python2: would be converted from Python 2 by `fix --convert-py2`" in out
    assert f"{path}:5:31: note: python2 division: `x.sum()` (not known) / `n` (an int)" in out
    assert f"{path}:3:5: VM101" in out  # the converted text's findings, on the original's lines
    assert "1 file would be converted from Python 2" in out
    assert path.read_text() == PY2


def test_fix_converts_then_migrates_and_is_stable(tmp_path: Path) -> None:
    path = tmp_path / "old.py"
    path.write_text(PY2)
    diff = _invoke("fix", "--convert-py2", "--diff", str(path))
    assert path.read_text() == PY2
    assert "-print 'half', n / 2, x.sum() / n\n+print('half', n // 2, x.sum() / n)\n" in diff.output  # type: ignore[attr-defined]
    assert "-from torch.autograd import Variable\n" in diff.output  # type: ignore[attr-defined]
    result = _invoke("fix", "--convert-py2", str(path))
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert path.read_text() == FIXED
    assert "Converted 1 file from Python 2." in result.output  # type: ignore[attr-defined]
    assert "python2 division: `x.sum()` (not known) / `n`" in result.output  # type: ignore[attr-defined]
    again = _invoke("fix", "--convert-py2", str(path))
    assert again.exit_code == 0 and path.read_text() == FIXED  # type: ignore[attr-defined]


def test_configuration_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.varmigrate]\nconvert-py2 = true\n")
    path = tmp_path / "old.py"
    path.write_text(PY2)
    assert _invoke("fix", str(path)).exit_code == 1  # type: ignore[attr-defined]
    assert path.read_text() == FIXED
    path.write_text(PY2)
    assert _invoke("fix", "--no-convert-py2", str(path)).exit_code == 2  # type: ignore[attr-defined]
    (tmp_path / "pyproject.toml").write_text("[tool.varmigrate]\nconvert-py2 = 1\n")
    result = _invoke("fix", str(path))
    assert result.exit_code == 2 and "`convert-py2` must be true or false" in result.output  # type: ignore[attr-defined]


def test_bom_cookie_and_crlf_bytes_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.py"
    path.write_bytes(b"\xef\xbb\xbf# caf\xc3\xa9\r\nimport os\r\nprint u'\xc3\xa9', 7 / 2\r\n")
    assert _invoke("fix", "--convert-py2", str(path)).exit_code == 1  # type: ignore[attr-defined]
    assert path.read_bytes() == b"\xef\xbb\xbf# caf\xc3\xa9\r\nimport os\r\nprint('\xc3\xa9', 7 // 2)\r\n"
    latin = tmp_path / "latin.py"
    latin.write_bytes(b"# -*- coding: latin-1 -*-\nname = u'caf\xe9'\nprint name\n")
    assert _invoke("fix", "--convert-py2", str(latin)).exit_code == 1  # type: ignore[attr-defined]
    assert latin.read_bytes() == b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\nprint(name)\n"


def test_torch_free_python2_files_are_converted_too(tmp_path: Path) -> None:
    util = tmp_path / "util.py"
    util.write_text("def mean(xs):\n    return sum(xs) / len(xs)\nfor i in xrange(3):\n    pass\n")
    result = _invoke("fix", "--convert-py2", str(tmp_path))
    assert util.read_text() == "def mean(xs):\n    return sum(xs) / len(xs)\nfor i in range(3):\n    pass\n"
    assert f"{util}:2:20: note: python2 division: `sum(xs)` (not known) / `len(xs)` (an int)" in result.output  # type: ignore[attr-defined]


def _notebook(*cells: str) -> str:
    outputs = [{"output_type": "stream", "name": "stdout", "text": ["x\n"]}]
    return json.dumps({"cells": [{"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": outputs,
                                  "source": c.splitlines(keepends=True)} for c in cells],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 2}, indent=1) + "\n"


def test_notebook_cells_are_converted_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text(_notebook("import torch\nn = 3\n%matplotlib inline\n", "print 'n', n / 2\n", "y = torch.ones(2) / 2\n"))
    result = _invoke("fix", "--convert-py2", str(path))
    assert result.exit_code == 1, result.output  # type: ignore[attr-defined]
    cells = json.loads(path.read_text())["cells"]
    assert "".join(cells[0]["source"]) == "import torch\nn = 3\n%matplotlib inline\n"
    # `n` is bound in another cell: not known there, so reported rather than rewritten.
    assert "".join(cells[1]["source"]) == "print('n', n / 2)\n"
    assert cells[1]["outputs"][0]["text"] == ["x\n"]
    assert f"{path}:cell 2:1:14: note: python2 division: `n` (not known)" in result.output  # type: ignore[attr-defined]


def test_without_the_flag_fissix_is_never_imported(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text("import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(1))\n")
    code = ("import sys\nfrom varmigrate.cli import main\n"
            f"try:\n    main(['fix', '--no-cache', {str(path)!r}])\nexcept SystemExit:\n    pass\n"
            "assert 'fissix' not in sys.modules and 'torch' not in sys.modules\nprint('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip().endswith("ok"), proc.stderr


@pytest.mark.torch
def test_verify_root_converts_both_copies(tmp_path: Path) -> None:
    """Codebase mode: the before copies hold the conversion, the after copy `fix --convert-py2`'s
    output; a Python 2 helper module the entry point imports is converted too."""
    pytest.importorskip("torch")
    from varmigrate.harness.command import verify

    (tmp_path / "helpers.py").write_text("def halves(xs):\n    n = len(xs)\n    print 'halves of', n\n    return n / 2\n")
    (tmp_path / "train.py").write_text(
        "import torch\nfrom torch.autograd import Variable\nfrom helpers import halves\n"
        "torch.manual_seed(0)\nw = Variable(torch.randn(3), requires_grad=True)\n"
        "for step in xrange(halves('abcde')):\n    loss = (w * w).sum()\n    loss.backward()\n"
        "    w.data -= 0.1 * w.grad.data\n    w.grad.data.zero_()\n    print step, loss.data[0]\n")
    report = tmp_path / "out"
    result = CliRunner().invoke(verify, ["--convert-py2", "--root", str(tmp_path), "--report", str(report), "--", "train.py"])
    assert result.exit_code == 0, result.output
    assert "IDENTICAL" in result.output
    data = json.loads((report / "report.json").read_text())
    note = data["pairs"][0]["note"]
    assert "before copy: 2 file(s) converted from Python 2" in note, note
    assert (tmp_path / "train.py").read_text().count("xrange") == 1  # the user's tree is only read
