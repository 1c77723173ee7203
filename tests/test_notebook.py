"""Notebooks: per-cell lint/fix, IPython syntax masked and restored, cross-cell imports, JSON layout kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from varmigrate.cli import main
from varmigrate.config import Settings
from varmigrate.notebook import mask, process_notebook, unmask


def _code(source: Any, count: int = 1, outputs: Any = ()) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": count, "id": f"c{count}", "metadata": {"tags": ["t"]},
            "outputs": list(outputs), "source": source}


def _notebook(cells: list[dict[str, Any]], **dump: Any) -> str:
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    options = dump or {"indent": 1, "sort_keys": True, "ensure_ascii": False}
    return json.dumps(nb, **options) + "\n"


OUTPUT = {"name": "stdout", "output_type": "stream", "text": ["loss 0.25 ✓\n"]}
LEGACY = [
    {"cell_type": "markdown", "id": "m", "metadata": {}, "source": ["# Training\n", "Ünïcode prose"]},
    _code(["%matplotlib inline\n", "import torch\n", "from torch.autograd import Variable"], 1),
    _code(["x = torch.ones(3)\n", "print(x.sum())"], 2, [OUTPUT]),
    _code(["!nvidia-smi\n", "v = Variable(torch.randn(3, 4))\n", "v = v.cuda(async=True)\n", "v?"], 3, [OUTPUT]),
]


def test_fix_round_trip_keeps_everything_but_changed_sources() -> None:
    text = _notebook(LEGACY)
    result = process_notebook(text, "nb.ipynb", Settings(), fix=True)
    assert result.errors == []
    new = json.loads(result.source)
    old = json.loads(text)
    assert new["cells"][3]["source"] == ["!nvidia-smi\n", "v = torch.randn(3, 4)\n", "v = v.cuda(non_blocking=True)\n", "v?"]
    # The import the fix made unused in another cell goes; the magic above it stays.
    assert new["cells"][1]["source"] == ["%matplotlib inline\n", "import torch"]
    for key in ("metadata", "nbformat", "nbformat_minor"):
        assert new[key] == old[key]
    for before, after in zip(old["cells"], new["cells"]):
        assert {k: v for k, v in before.items() if k != "source"} == {k: v for k, v in after.items() if k != "source"}
    # `torch.ones(3).sum()` was a number in 0.3 (VM211): printed as one again
    assert new["cells"][2]["source"] == ["x = torch.ones(3)\n", "print(x.sum().item())"]
    # Layout: the file is what nbformat would write, so only the changed source lines differ.
    for i in (1, 2, 3):
        old["cells"][i]["source"] = new["cells"][i]["source"]
    assert result.source == json.dumps(old, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    # Fixing again changes nothing.
    assert process_notebook(result.source, "nb.ipynb", Settings(), fix=True).source == result.source


@pytest.mark.parametrize(
    "dump",
    [
        {"indent": 2, "ensure_ascii": True},
        {"indent": 4, "ensure_ascii": False},
        {"indent": None, "separators": (",", ":")},
    ],
    ids=["indent2-ascii", "indent4", "compact"],
)
def test_layout_is_sniffed(dump: dict[str, Any]) -> None:
    cells = [_code("import torch\nfrom torch.autograd import Variable\nv = Variable(torch.ones(2))\n"), _code(["y = 'é'"], 2)]
    text = _notebook(cells, **dump).rstrip("\n")  # and no final newline
    result = process_notebook(text, "nb.ipynb", Settings(), fix=True)
    data = json.loads(text)
    data["cells"][0]["source"] = "import torch\nv = torch.ones(2)\n"  # a string source stays a string
    assert result.source == json.dumps(data, **dump)


def test_cross_cell_imports() -> None:
    cells = [_code(["import torch\n", "from torch.autograd import Variable as V"]), _code(["y = 1"], 2),
             _code(["def f(x):\n", "    return isinstance(x, V)"], 3)]
    result = process_notebook(_notebook(cells), "nb.ipynb", Settings(), fix=False)
    assert [(f.code, f.cell, f.line, f.column) for f in result.findings] == [("VM104", 3, 2, 26)]


@pytest.mark.parametrize(
    "source",
    [
        "%timeit x.sum()\nx = 1\n",
        "!pip install torch==0.3.1\nfiles = !ls\nx = 1",
        "x?\n??x\nif x:\n    %time y = 1\n    z = 2\n",
        "%%time\nx = 1\n",
        "y = (1 +\n     2) % 3\n",
    ],
)
def test_mask_round_trip(source: str) -> None:
    masked = mask(source)
    compile(masked.text, "cell", "exec")
    assert unmask(masked.text, masked) == source


def test_other_language_cells_are_skipped() -> None:
    cells = [_code(["%%bash\n", "echo Variable(x)"]),
             _code(["import torch\n", "from torch.autograd import Variable\n", "v = Variable(torch.ones(1))"], 2)]
    result = process_notebook(_notebook(cells), "nb.ipynb", Settings(), fix=True)
    assert json.loads(result.source)["cells"][0]["source"] == ["%%bash\n", "echo Variable(x)"]
    assert [f.cell for f in result.fixed] == [2]


def test_unparsable_cell_is_reported_with_its_number_and_the_rest_is_checked() -> None:
    cells = [_code(["import torch\n", "from torch.autograd import Variable"]), _code(["print 'epoch', 1"], 2),
             _code(["v = Variable(torch.ones(1))"], 3)]
    text = _notebook(cells)
    result = process_notebook(text, "nb.ipynb", Settings(), fix=False)
    assert [(e.cell, e.line, "print statement" in e.message) for e in result.errors] == [(2, 1, True)]
    assert [(f.code, f.cell) for f in result.findings] == [("VM101", 3)]
    # Issue 11, form 13: the Python 2 cell stays as it is (and reported); the other cells are fixed.
    fixed = process_notebook(text, "nb.ipynb", Settings(), fix=True)
    assert [(e.cell, e.line) for e in fixed.errors] == [(2, 1)]
    sources = ["".join(c["source"]) for c in json.loads(fixed.source)["cells"]]
    assert sources == ["import torch", "print 'epoch', 1", "v = torch.ones(1)"]


def test_cli_notebooks(tmp_path: Path) -> None:
    (tmp_path / "bad.ipynb").write_text('{"cells": [')
    good = tmp_path / "good.ipynb"
    good.write_text(_notebook(LEGACY))
    checkpoints = tmp_path / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / "good-checkpoint.ipynb").write_text(_notebook(LEGACY))
    result = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{tmp_path / 'bad.ipynb'}:1:12: error: not a valid notebook: invalid JSON" in result.output
    assert f"{good}:cell 3:2:5: VM101" in result.output
    assert "checkpoint" not in result.output
    result = CliRunner().invoke(main, ["fix", str(good)])
    assert result.exit_code == 1, result.output
    assert json.loads(good.read_text())["cells"][3]["outputs"] == [OUTPUT]


def test_cell_edits_never_carry_the_async_placeholder() -> None:
    # A fix applied alone leaves the other `async=` arguments as the user wrote them (the parser's
    # placeholder must not reach an editor's edit).
    from varmigrate.notebook import cell_fix_edits
    from varmigrate.syntax.async_keyword import PLACEHOLDER

    cells = [_code(["import torch\n", "from torch.autograd import Variable\n", "x = torch.ones(3)"], 1),
             _code(["y = Variable(x.cuda(async=True))\n", "z = Variable(x)\n"], 2)]
    text, settings = _notebook(cells), Settings(unsafe_fixes=True)
    findings = process_notebook(text, "nb.ipynb", settings, fix=False).findings
    edits = cell_fix_edits(text, "nb.ipynb", settings, findings)
    contents = {(f.code, f.line): [e.content for e in edits[id(f)]] for f in findings if id(f) in edits}
    assert not any(PLACEHOLDER in c for cs in contents.values() for c in cs)
    assert contents[("VM101", 1)] == ["x.cuda(async=True)"]
    assert contents[("VM101", 2)] == ["x"]
