"""Unit tests of the tensor inference and the `.data` use classifier (varmigrate/tensors.py)."""

from __future__ import annotations

import libcst as cst
import pytest

from varmigrate.analysis.context import FileContext
from varmigrate.analysis.data_uses import ASSIGN, GRAD, INDEX_ZERO, INDICES, INPLACE, INSIDE_UPDATE, ITEM, METADATA, READ
from varmigrate.analysis.tensors import TensorInference


def _context(src: str) -> FileContext:
    return FileContext("t.py", cst.parse_module(src))


def _inference(src: str) -> TensorInference:
    return _context(src).tensors


def _data_nodes(inf: TensorInference) -> list[cst.Attribute]:
    found: list[cst.Attribute] = []

    class _Find(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            if node.attr.value == "data":
                found.append(node)

    inf.module.visit(_Find())
    return found


def _kinds(src: str) -> list[str | None]:
    ctx = _context(src)
    uses = [ctx.data_uses.use(n) for n in _data_nodes(ctx.tensors)]
    return [u.kind if u is not None else None for u in uses]


PRELUDE = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nfrom torch.autograd import Variable\n"


@pytest.mark.parametrize(
    "line,kind",
    [
        ("loss = F.nll_loss(o, y)\nprint(loss.data[0])", INDEX_ZERO),
        ("x = torch.randn(3)\ny = x.data.item()", ITEM),
        ("x = torch.randn(3)\ny = x.data.numpy()", READ),
        ("x = torch.randn(3)\nn = x.data.size(0)", METADATA),
        ("x = torch.randn(3)\nn = len(x.data)", METADATA),
        ("x = torch.randn(3)\nt = x.data.type(torch.DoubleTensor)", READ),
        ("x = torch.randn(3, 2)\ni = x.data.max(1)[1]", INDICES),
        ("x = torch.randn(3, 2)\nv = x.data.max(1)[0]", READ),
        ("x = torch.randn(3, 2)\nv = x.data.max()", READ),
        ("x = torch.randn(3, 2)\n_, i = torch.max(x.data, 1)", INDICES),
        ("w = torch.randn(3, requires_grad=True)\nw.data = torch.zeros(3)", ASSIGN),
        ("w = torch.randn(3, requires_grad=True)\nw.data -= 1", INPLACE),
        ("w = torch.randn(3, requires_grad=True)\nw.data[0] = 1", INPLACE),
        ("w = torch.randn(3, requires_grad=True)\nw.data.normal_(0, 1)", INPLACE),
        ("w = torch.randn(3, requires_grad=True)\ng = w.grad.data", GRAD),
    ],
)
def test_classification(line: str, kind: str) -> None:
    assert _kinds(PRELUDE + line + "\n")[-1] == kind


def test_update_statement_owns_its_reads_but_not_grad_data() -> None:
    src = PRELUDE + "a = torch.randn(3)\nb = torch.randn(3)\na.data.copy_(b.data + b.grad.data)\n"
    assert _kinds(src) == [INPLACE, INSIDE_UPDATE, GRAD]


@pytest.mark.parametrize(
    "src",
    [
        "import torch\nimport numpy as np\na = np.ones(3)\nprint(a.data[0], a.data.max())\n",
        "import torch\nimport scipy.sparse as sp\nm = sp.eye(3).tocsr()\nm.data *= 2\n",
        "import torch\nimport torch.utils.data\nx = torch.utils.data.DataLoader([])\n",
        "import torch\ndef f(dataset):\n    return dataset.data.float()\n",
        "import torch\ndef f(train_loader):\n    return train_loader.dataset.data.numpy()\n",
        "import torch\nimport argparse\nargs = argparse.ArgumentParser().parse_args()\nprint(args.data)\n",
        "import torch\nclass R(object):\n    def __init__(self, data):\n        self.data = data\n    def f(self):\n        return self.data.cpu()\n",
        "import torch\ndef f(thing):\n    return thing.data.max(1)\n",
    ],
)
def test_not_tensors(src: str) -> None:
    assert set(_kinds(src)) <= {None}


@pytest.mark.parametrize(
    "src,name",
    [
        (PRELUDE + "def f(model, x):\n    model.eval()\n    out = model(x)\n", "out"),
        (PRELUDE + "def f(params):\n    for p in params:\n        p.grad.zero_()\n", "p"),
        (PRELUDE + "rnn = nn.LSTM(2, 2)\nout, (h, c) = rnn(x)\n", "h"),
        (PRELUDE + "data, target = Variable(a), Variable(b)\n", "target"),
        (PRELUDE + "for group in opt.param_groups:\n    for p in group['params']:\n        pass\n", "p"),
    ],
)
def test_tensor_names(src: str, name: str) -> None:
    assert _inference(src).is_tensor(cst.Name(name))


@pytest.mark.parametrize(
    "expr,scalar",
    [
        ("loss", True),
        ("criterion(out, y)", True),
        ("per_sample(out, y)", False),
        ("F.nll_loss(out, y, size_average=False)", True),
        ("F.nll_loss(out, y, reduce=False)", False),
        ("F.cross_entropy(out, y, reduction='none')", False),
        ("out.sum()", True),
        ("out.sum(1)", False),
        ("errD_real + errD_fake", True),
        ("0.5 * loss", True),
        ("out", False),
        ("losses", False),
    ],
)
def test_is_scalar(expr: str, scalar: bool) -> None:
    src = PRELUDE + (
        "criterion = nn.CrossEntropyLoss()\nper_sample = nn.CrossEntropyLoss(reduce=False)\n"
        "model = nn.Linear(2, 2)\nout = model(x)\nerrD_real = criterion(out, y)\nerrD_fake = criterion(out, y)\n"
        "losses = per_sample(out, y)\n"
    )
    assert _inference(src).is_scalar(cst.parse_expression(expr)) is scalar


def test_alias_escape() -> None:
    src = PRELUDE + (
        "rnn = nn.LSTM(2, 2)\nw = torch.randn(3)\n"
        "def read_only(x):\n    h = w.data\n    out, _ = rnn(x, h)\n    return out * h.sum()\n"
        "def written(x):\n    h = w.data\n    h.zero_()\n"
        "def returned():\n    return w.data\n"
    )
    ctx = _context(src)
    uses = [ctx.data_uses.use(n) for n in _data_nodes(ctx.tensors)]
    assert [u.escape is None for u in uses if u is not None] == [True, False, False]


def test_create_graph_detected() -> None:
    assert _inference(PRELUDE + "loss.backward(create_graph=True)\n").uses_create_graph
    assert not _inference(PRELUDE + "loss.backward(create_graph=False)\n").uses_create_graph


def test_attributes_of_self_are_classified_from_their_assignments() -> None:
    # `self.x = ...` in a class: modules, legacy Function instances, tensors, 0-dim ones, and `+=`.
    inf = _inference(PRELUDE + (
        "class Fn(torch.autograd.Function):\n    pass\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        self.fc = nn.Linear(3, 4)\n"
        "        self.fn = Fn()\n"
        "        self.h = torch.zeros(3)\n"
        "        self.loss = F.mse_loss(self.h, self.h)\n"
        "        self.total = 0\n"
        "        self.total += F.mse_loss(self.h, self.h)\n"
    ))
    assert inf.self_module_attrs == {"fc"} and inf.self_function_attrs == {"fn"}
    assert {"h", "loss", "total"} <= inf.self_tensor_attrs
    assert {"loss", "total"} <= inf.self_scalar_attrs and "h" not in inf.self_scalar_attrs
