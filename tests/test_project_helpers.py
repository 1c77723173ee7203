"""A helper module that never names torch, called with tensors by one that does (issue 11, forms
3 and 5): `correct.float().sum().data[0]` in 3D-ResNets' utils.py raises on modern torch like any
`.data[0]`, so it is reported once a module that uses torch imports the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from varmigrate.api import run
from varmigrate.cli import main
from varmigrate.config import load_config

UTILS = """\
import csv


def accuracy(outputs, targets):
    correct = outputs.eq(targets)
    return correct.float().sum().data[0]


class Table(object):
    def first(self):
        return self.data[0]
"""
TRAIN = "import torch\nfrom utils import accuracy\n\nprint(accuracy(torch.ones(3), torch.ones(3)))\n"


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "proj"
    for rel, text in {"pyproject.toml": "[tool.varmigrate]\n", **files}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _found(root: Path, *paths: str) -> list[tuple[str, int, str]]:
    report = run([str(root / p) for p in paths] or [str(root)], load_config(root / "pyproject.toml"), jobs=1)
    return sorted((Path(f.path).name, f.line, f.code) for f in report.findings)


def test_a_helper_module_imported_by_a_torch_module_is_linted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from varmigrate.launch import clean_run

    root = _project(tmp_path, {"utils.py": UTILS, "train.py": TRAIN, "tools/other.py": UTILS.replace("accuracy", "acc")})
    assert _found(root) == [("utils.py", 6, "VM201")]  # tools/other.py: no torch module imports it
    assert _found(root, "utils.py") == [("utils.py", 6, "VM201")]  # pre-commit passes the file alone
    monkeypatch.chdir(root)
    assert clean_run(["check", "--no-cache", "utils.py"]) is None  # the click-free launcher defers
    result = CliRunner().invoke(main, ["fix", "utils.py"])
    assert "Fixed 1 finding in 1 file." in result.output, result.output
    fixed = (root / "utils.py").read_text()
    assert "return correct.float().sum().item()\n" in fixed  # a full reduction: 0-dim, the safe fix
    assert "return self.data[0]" in fixed  # `self` of a class that is no tensor


def test_a_module_without_torch_importers_stays_unparsed(tmp_path: Path) -> None:
    root = _project(tmp_path, {"utils.py": UTILS, "train.py": "from utils import accuracy\nprint(accuracy([1], [1]))\n"})
    assert _found(root) == []
    report = run([str(root)], load_config(root / "pyproject.toml"), jobs=1)
    assert {Path(o.path).name for o in report.files if o.skipped} == {"utils.py", "train.py"}


def test_the_cache_does_not_keep_a_helper_module_unparsed(tmp_path: Path) -> None:
    """Whether the helper is linted depends on its importers: a run before a torch module imports
    it must not leave a cached "not parsed" that hides the `.data[0]` once one does."""
    from varmigrate.cache import Cache

    root = _project(tmp_path, {"utils.py": UTILS})
    settings = load_config(root / "pyproject.toml")
    assert not run([str(root / "utils.py")], settings, jobs=1, cache=Cache(tmp_path / "c", settings)).findings
    (root / "train.py").write_text(TRAIN)
    report = run([str(root / "utils.py")], settings, jobs=1, cache=Cache(tmp_path / "c", settings))
    assert [(f.line, f.code) for f in report.findings] == [(6, "VM201")]


EVAL = """\
__all__ = ['accuracy']


def accuracy(output, target, topk=(1,)):
    maxk = max(topk)
    _, pred = output.topk(maxk, 1, True, True)
    pred = pred.t()
    correct = pred.eq(target.view(1, -1).expand_as(pred))
    return [correct[:k].view(-1).float().sum(0) for k in topk]
"""


def test_a_helper_package_module_without_data_reads_is_linted_through_its_package(tmp_path: Path) -> None:
    """bearpaw/pytorch-classification: `utils/eval.py` never names torch nor reads `.data`; the
    package's `__init__` re-exports it and the training script, which uses torch, imports that. Its
    `correct[:k].view(-1)` raises on modern torch (VM212), so it is linted; a copy nobody imports is not."""
    files = {"utils/__init__.py": "from .eval import *\nfrom .misc import *\n", "utils/eval.py": EVAL,
             "utils/misc.py": "import torch\n\n\ndef mkdir_p(path):\n    return torch.zeros(1)\n",
             "cifar.py": "import torch\nfrom utils import accuracy\n\nprint(accuracy(torch.ones(2, 3), torch.ones(2)))\n",
             "unused/eval.py": EVAL}
    root = _project(tmp_path, files)
    assert _found(root) == [("eval.py", 9, "VM212")]
