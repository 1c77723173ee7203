"""The project index (issue 11, form 5): a project is one namespace.

Names arrive through star imports of sibling modules and packages, functions of other modules
return tensors, module classes come from other files; the index covers the configuration root even
when only some files are checked (pre-commit), its cache entries depend on the modules they used,
and a fix never removes an import that another module still takes from the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from varmigrate.analysis.project import ProjectIndex, imports_project_torch, project_root
from varmigrate.api import run
from varmigrate.cache import Cache
from varmigrate.cli import main
from varmigrate.config import Settings, load_config

MODEL = """\
import torch
import torch.nn as nn
from torch.autograd import Variable


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x)


class Critic(nn.Module):
    def forward(self, x):
        return x.mean()


def to_var(x):
    return Variable(x)


def count(xs):
    return len(xs)
"""


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "proj"
    for rel, text in {"pyproject.toml": "[tool.varmigrate]\n", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _codes(root: Path, *paths: str) -> list[tuple[str, int, str]]:
    settings = load_config(root / "pyproject.toml")
    report = run([str(root / p) for p in paths] or [str(root)], settings, jobs=1)
    return sorted((Path(f.path).name, f.line, f.code) for f in report.findings)


def test_star_import_of_a_sibling_brings_torch_and_variable(tmp_path: Path) -> None:
    root = _project(tmp_path, {"model.py": MODEL, "train.py": (
        "from model import *\n"
        "x = Variable(torch.randn(4, 3))\n"
        "loss = Net()(x).sum()\n"
        "print(loss.data[0])\n")})
    found = [c for c in _codes(root, "train.py")]
    assert ("train.py", 2, "VM101") in found
    assert ("train.py", 4, "VM201") in found


def test_relative_star_imports_in_a_package(tmp_path: Path) -> None:
    root = _project(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/common.py": "import torch\nfrom torch.autograd import Variable\n",
        "pkg/layers.py": "from .common import *\n\ndef wrap(x):\n    return Variable(x)\n",
        "run.py": "from pkg.layers import *\nv = wrap(torch.ones(2))\nprint(v.data.cpu())\n",
    })
    found = _codes(root)
    assert ("layers.py", 4, "VM101") in found  # `Variable` of `from .common import *`
    assert ("run.py", 3, "VM203") in found  # `wrap` returns a tensor, through two star imports


def test_functions_and_module_classes_of_other_modules(tmp_path: Path) -> None:
    root = _project(tmp_path, {"model.py": MODEL, "train.py": (
        "import torch\n"
        "from model import Net, Critic, to_var, count\n"
        "net = Net()\n"
        "out = net(torch.randn(2, 3))\n"
        "print(out.data.numpy())\n"
        "print(to_var(torch.ones(3)).data.numpy())\n"
        "n = count([1, 2])\n"
        "print(n.data)\n"
        "one = torch.FloatTensor([1])\n"
        "Critic()(out).backward(one)\n")})
    found = _codes(root, "train.py")
    assert ("train.py", 5, "VM203") in found  # a module of another file: its output is a tensor
    assert ("train.py", 6, "VM203") in found  # `to_var` returns `Variable(x)`
    assert not any(line == 8 for _, line, _ in found)  # `count` returns `len(...)`: not a tensor
    assert ("train.py", 10, "VM310") in found  # Critic's forward returns `x.mean()`: 0-dim


def test_a_function_returning_an_index_of_a_tensor_returns_a_tensor(tmp_path: Path) -> None:
    # `return Variable(f(a)[None, :])` fixed into `return f(a)[None, :].detach()` must stay a tensor:
    # a finding that needs no fix (VM208) may not vanish from the importing module after the fix.
    root = _project(tmp_path, {"utils.py": (
        "import torch\n"
        "def np_to_tensor(a):\n"
        "    return torch.from_numpy(a)\n"
        "def np_to_var(a):\n"
        "    return np_to_tensor(a)[None, :].detach()\n"
        "def first_row(a):\n"
        "    rows = torch.from_numpy(a)\n"
        "    return rows[0]\n"
        "def entry(a):\n"
        "    return list(a)[0]\n"
        "def loaded(path):\n"
        "    return torch.load(path)['weights']\n"), "train.py": (
        "from utils import np_to_var, first_row, entry, loaded\n"
        "x = np_to_var(1)\n"
        "x.data = x + 1\n"
        "y = first_row(1)\n"
        "y.data = y + 1\n"
        "z = entry(1)\n"
        "z.data = z + 1\n"
        "w = loaded('w.pt')\n"
        "w.data = w + 1\n")})
    found = _codes(root, "train.py")
    assert ("train.py", 3, "VM208") in found
    assert ("train.py", 5, "VM208") in found
    assert ("train.py", 7, "VM208") not in found  # an element of a list: may be anything
    assert ("train.py", 9, "VM208") not in found  # an entry of a loaded checkpoint: may be anything


def test_a_file_that_sees_no_torch_has_no_findings(tmp_path: Path) -> None:
    root = _project(tmp_path, {"helpers.py": "import numpy as np\n", "use.py": (
        "from helpers import *\n"
        "class Buffer(object):\n"
        "    pass\n"
        "b = Buffer()\n"
        "print(b.data[0])\n")})
    assert _codes(root) == []


def test_pre_commit_passes_one_file_and_the_index_covers_the_root(tmp_path: Path) -> None:
    root = _project(tmp_path, {"lib/model.py": MODEL, "scripts/train.py": (
        "from lib.model import *\n"
        "print(to_var(torch.ones(1)).data[0])\n")})
    result = CliRunner().invoke(main, ["check", "--no-cache", str(root / "scripts" / "train.py")],
                                catch_exceptions=False, env={"PWD": str(root)})
    assert "VM201" in result.output
    assert project_root([str(root / "scripts" / "train.py")]) == root


def test_cached_results_depend_on_the_modules_they_used(tmp_path: Path) -> None:
    root = _project(tmp_path, {"model.py": MODEL, "train.py": (
        "import torch\nfrom model import to_var\nprint(to_var(torch.ones(3)).data.numpy())\n")})
    settings = load_config(root / "pyproject.toml")

    def codes() -> list[str]:
        cache = Cache(tmp_path / "cache", settings)
        return [f.code for f in run([str(root / "train.py")], settings, cache=cache, jobs=1).findings]

    assert codes() == ["VM203"]
    assert codes() == ["VM203"]  # from the cache
    # `to_var` no longer returns a tensor: the importer's cached result is stale.
    (root / "model.py").write_text(MODEL.replace("return Variable(x)", "return [x]"))
    assert codes() == []
    data = json.loads(next((tmp_path / "cache").glob("check-*.json")).read_text())
    assert any(entry["deps"] == {"model.py": entry["deps"]["model.py"]} for entry in data["entries"].values())
    assert {s["path"] for s in data["project"]} >= {"model.py"}


STAR_USER = "from model import *\nx = Variable(torch.ones(2))\nprint(x * 2)\n"


def test_an_import_another_module_uses_is_kept(tmp_path: Path) -> None:
    root = _project(tmp_path, {"model.py": MODEL.replace("    return Variable(x)", "    return x"), "train.py": STAR_USER})
    settings = load_config(root / "pyproject.toml")
    # Only model.py is fixed: train.py (outside the paths) still needs `Variable` from it.
    run([str(root / "model.py")], settings, fix=True, jobs=1)
    assert "from torch.autograd import Variable" in (root / "model.py").read_text()
    assert not [f for f in run([str(root / "model.py")], settings, jobs=1).findings if f.code == "VM107"]
    # Fixing both in one run rewrites train.py's use, so the import goes in that same run ...
    run([str(root)], settings, fix=True, jobs=1)
    assert "Variable" not in (root / "train.py").read_text()
    assert "from torch.autograd import Variable" not in (root / "model.py").read_text()
    # ... and a second fix changes nothing.
    before = {p: p.read_text() for p in root.glob("*.py")}
    run([str(root)], settings, fix=True, jobs=1)
    assert {p: p.read_text() for p in root.glob("*.py")} == before


def test_explicit_reexport_resolves_to_torch(tmp_path: Path) -> None:
    root = _project(tmp_path, {"model.py": MODEL, "t.py": "from model import Variable as V\n"})
    facts = ProjectIndex(root).for_file(root / "t.py")
    assert facts.origin("model.Variable") == "torch.autograd.Variable"
    assert facts.origin("model.Net") == "model.Net"
    assert facts.is_module_class("model.Net") and facts.constructs_module("model.Net") is True
    assert facts.forward_shape("model.Critic") == ()
    assert facts.returns_tensor("model.to_var") and facts.returns_non_tensor("model.count")
    assert imports_project_torch("from model import *\n", facts)
    assert facts.dependencies() == {"model.py": facts.dependencies()["model.py"]}


def test_notebook_cells_are_one_namespace(tmp_path: Path) -> None:
    cells = [["import torch\n", "z = torch.randn(3, requires_grad=True)\n"], ["out = z.mean()\n"],
             ["print(out.data[0])\n"]]
    notebook = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": c}
                          for c in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook, indent=1) + "\n")
    report = run([str(path)], Settings(root=tmp_path), fix=True, jobs=1)
    assert [(f.code, f.cell) for f in report.fixed] == [("VM201", 3)]
    assert json.loads(path.read_text())["cells"][2]["source"] == ["print(out.item())\n"]


SCALE_FUNCTION = """\
import torch
from torch.autograd import Function


class ScaleFunction(Function):
    def __init__(self, alpha):
        super(ScaleFunction, self).__init__()
        self.alpha = alpha

    def forward(self, x):
        return x * self.alpha

    def backward(self, g):
        return g * self.alpha
"""

SCALE_MODULE = """\
from torch.nn.modules.module import Module
from functions.scale import ScaleFunction
from functions.plain import Plain


class Scale(Module):
    def __init__(self, alpha, bchw):
        super(Scale, self).__init__()
        self.f = ScaleFunction(2.0)
        self.g = ScaleFunction(alpha)
        if bchw:
            self.h = ScaleFunction(1.0)
        else:
            self.h = ScaleFunction(-1.0)
        self.p = Plain(3)

    def forward(self, x):
        return self.f(x) + self.g(x) + self.h(x) + ScaleFunction(3.0)(x) + self.p(x)
"""


def test_calls_of_a_function_class_of_another_module(tmp_path: Path) -> None:
    """`F(...)(x)` and `self.f = F(...)` ... `self.f(x)` of a legacy Function imported from a sibling
    module raise on modern torch like local ones; the rewrite to `F.apply` is unsafe (the class is
    converted in its own module); a look-alike (a plain class called the same way) is no site; a
    folder whose name is no identifier (`x.pytorch/`) is no package name."""
    files = {"functions/__init__.py": "", "functions/scale.py": SCALE_FUNCTION,
             "functions/plain.py": "class Plain(object):\n    def __init__(self, n):\n        self.n = n\n"
             "    def __call__(self, x):\n        return x * self.n\n",
             "modules/__init__.py": "", "modules/scale.py": SCALE_MODULE}
    root = _project(tmp_path, {f"x.pytorch/{k}": v for k, v in files.items()})
    (root / "pyproject.toml").unlink()  # the run's root is the common parent: `x.pytorch/` inside it
    report = run([str(root)], Settings(), jobs=1)
    sites = sorted((f.line, f.column) for f in report.findings if f.path.endswith("modules/scale.py"))
    # self.f binding and call, self.g (arguments may change: no fix), the two self.h bindings (no
    # fix), the direct call; nothing for Plain.
    assert sites == [(9, 9), (10, 9), (12, 13), (14, 13), (18, 16), (18, 52)]
    by_line = {f.line: f for f in report.findings if f.path.endswith("modules/scale.py")}
    assert by_line[9].edits and all(e.safety.name == "UNSAFE" for e in by_line[9].edits)
    assert not by_line[10].edits and not by_line[12].edits
    runner = CliRunner()
    result = runner.invoke(main, ["fix", "--unsafe-fixes", "--no-cache", str(root / "x.pytorch")])
    assert result.exit_code in (0, 1), result.output
    text = (root / "x.pytorch" / "modules" / "scale.py").read_text()
    assert "ScaleFunction.apply(x, 2.0) + self.g(x) + self.h(x) + ScaleFunction.apply(x, 3.0) + self.p(x)" in text
    assert "self.f = " not in text and "self.g = ScaleFunction(alpha)" in text
    assert "@staticmethod" in (root / "x.pytorch" / "functions" / "scale.py").read_text()


def test_fix_writes_an_ignored_cache_and_no_cache_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `fix` run saves the project index: its folder ignores itself in git (`*`, as ruff's
    cache does, and a CACHEDIR.TAG); `--no-cache` writes nothing at all."""
    files = {"model.py": MODEL, "train.py": "from model import *\nloss = to_var(torch.ones(1)).sum()\nprint(loss.data[0])\n"}
    runner = CliRunner()
    quiet = _project(tmp_path / "a", files)
    monkeypatch.chdir(quiet)
    before = sorted(p.relative_to(quiet) for p in quiet.rglob("*"))
    for command in (["check", "--no-cache", "."], ["fix", "--no-cache", "."]):
        result = runner.invoke(main, command)
        assert result.exit_code in (0, 1), result.output
    assert "loss.item()" in (quiet / "train.py").read_text()  # the fix ran
    assert sorted(p.relative_to(quiet) for p in quiet.rglob("*")) == before
    cached = _project(tmp_path / "b", files)
    monkeypatch.chdir(cached)
    result = runner.invoke(main, ["fix", "."])
    assert result.exit_code in (0, 1), result.output
    folders = [p for p in cached.rglob(".varmigrate_cache") if p.is_dir()]
    assert len(folders) == 1
    assert (folders[0] / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (folders[0] / "CACHEDIR.TAG").is_file()
    assert any(p.suffix == ".json" for p in folders[0].iterdir())


def test_an_imported_function_instance_whose_methods_are_called_directly_is_no_site(tmp_path: Path) -> None:
    """`crf = F(); crf.forward(a, b); crf.backward(g)` runs on modern torch (no `crf(...)` call):
    no finding in the importer, as for the look-alikes of the real-code QA corpus."""
    root = _project(tmp_path, {"functions/__init__.py": "", "functions/scale.py": SCALE_FUNCTION, "test_grad.py": (
        "import torch\nfrom functions.scale import ScaleFunction\n"
        "def check(x, g):\n    f = ScaleFunction(2.0)\n    y = f.forward(x)\n    return y, f.backward(g)\n")})
    assert [c for c in _codes(root) if c[0] == "test_grad.py"] == []


DETECT_FUNCTION = """\
import torch
from torch.autograd import Function


class Detect(Function):
    def __init__(self, num_classes):
        self.num_classes = num_classes

    def forward(self, loc):
        return loc * 2
"""

SSD_MODULE = """\
import torch.nn as nn
from layers import *


class SSD(nn.Module):
    def __init__(self):
        super().__init__()
        self.detect = Detect(21)
        self.box = Box(2)

    def forward(self, x):
        return self.detect(x) + self.box(x)
"""


def test_a_file_without_trigger_words_that_uses_a_project_function_class(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ssd.pytorch's form: `from layers import *` brings a legacy Function through a package's star
    re-export, and the file names it without any word of VM301's (`Function`, `)(`): it is still
    linted, in a whole-tree run, on the file alone (pre-commit: the click-free launcher must not
    rule it out) and through the cache; a class of the same shape that is no Function is no site."""
    from varmigrate.launch import clean_run

    root = _project(tmp_path, {"layers/__init__.py": "from .functions import *\nfrom .box import Box\n",
                               "layers/functions.py": DETECT_FUNCTION,
                               "layers/box.py": "class Box(object):\n    def __init__(self, n):\n        self.n = n\n",
                               "ssd.py": SSD_MODULE})
    assert _codes(root) == [("functions.py", 5, "VM301"), ("ssd.py", 8, "VM301"), ("ssd.py", 12, "VM301")]
    assert _codes(root, "ssd.py") == [("ssd.py", 8, "VM301"), ("ssd.py", 12, "VM301")]
    settings = load_config(root / "pyproject.toml")
    for _ in range(2):  # the second run is answered by the cache
        report = run([str(root / "ssd.py")], settings, jobs=1, cache=Cache(tmp_path / "cache", settings))
        assert [(f.line, f.code) for f in report.findings] == [(8, "VM301"), (12, "VM301")]
    monkeypatch.chdir(root)
    assert clean_run(["check", "--no-cache", "ssd.py"]) is None  # left to the CLI, which reports it
    result = CliRunner().invoke(main, ["check", "--no-cache", "ssd.py"])
    assert result.exit_code == 1 and result.output.count(": VM301 ") == 2, result.output
    # A module of the tree that reaches no `Function` keeps the fast path.
    (root / "plain.py").write_text("from layers.box import Box\nb = Box(1)\n")
    assert clean_run(["check", "--no-cache", "plain.py"]) == 0


def test_may_use_project_function_follows_imports_of_the_tree(tmp_path: Path) -> None:
    from varmigrate.prefilter import may_use_project_function

    root = _project(tmp_path, {"pkg/__init__.py": "from .a import *\n", "pkg/a.py": "from .b import *\n",
                               "pkg/b.py": "class F(Function): pass\n", "util.py": "import os\n",
                               "app/main.py": ""})
    main_py = root / "app" / "main.py"
    assert may_use_project_function(main_py, "from pkg import *\n", root)  # found in a parent folder
    assert may_use_project_function(main_py, "import pkg.a\n", root)
    assert not may_use_project_function(main_py, "import os, util\nimport numpy as np\n", root)
    assert may_use_project_function(main_py, "from .missing import x\n", root)  # cannot tell: yes
    assert not may_use_project_function(main_py, "x = 1\n", root)


def test_a_run_over_several_projects_gives_each_its_own_index(tmp_path: Path) -> None:
    """`check a b` where each has its own `pyproject.toml`: the settings come from the first, but
    the second's `from model import *` still resolves in its own tree (and with the cache)."""
    a = _project(tmp_path / "a", {"model.py": MODEL, "train.py": "from model import *\nx = Variable(torch.randn(2))\n"})
    b = _project(tmp_path / "b", {"model.py": MODEL, "train.py": "from model import *\ny = Variable(torch.randn(2))\n"})
    settings = load_config(a / "pyproject.toml")
    for cache in (None, Cache(tmp_path / "cache", settings), Cache(tmp_path / "cache", settings)):
        report = run([str(a / "train.py"), str(b / "train.py")], settings, jobs=1, cache=cache)
        found = sorted((Path(f.path).parent.parent.name, f.line, f.code) for f in report.findings)
        assert found == [("a", 2, "VM101"), ("b", 2, "VM101")]
