from __future__ import annotations

import libcst as cst

from ..analysis.nodes import is_variable
from ..rule import Invalid, Rule, Valid


class VariableSubclass(Rule):
    """
    ## What it does
    Checks for classes that derive from `Variable` (`class Variable(autograd.Variable)`, a
    2017 DQN idiom whose `__init__` moved the data to the GPU).

    ## Why is this bad?
    On PyTorch >= 0.4 `Variable(...)` is a shim whose `__new__` returns a plain `torch.Tensor`, so
    constructing the subclass returns a tensor that is **not** an instance of it: its `__init__`
    never runs and its methods are never found. Nothing raises; what the class did (`data.cuda()`,
    a default `requires_grad`, a wrapped keyword) silently stops happening, and a `volatile=True`
    it passes on is ignored with a warning (the modern misreading: a graph is built).

    ## How to fix
    By hand: do what `__init__` did where the class is called (`x.cuda()` when CUDA is used,
    under `torch.no_grad()` for a volatile input), then drop the class. There is no fix.

    ## References
    - `torch/autograd/variable.py` (`Variable` is `_LegacyVariableBase`, whose `__new__` returns a tensor)
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
    """

    CODE = "VM110"
    MESSAGE = (
        "A subclass of `Variable` is never instantiated on PyTorch >= 0.4: `Variable(...)` returns a plain "
        "tensor, so its `__init__` and methods never run"
    )
    TRIGGERS = ("Variable",)

    VALID = [
        Valid("import torch\nclass Variable(object):\n    pass\n"),
        Valid("import torch\nclass Box(torch.Tensor):\n    pass\n"),
        Valid("import torch\nfrom torch.autograd import Variable\nclass Net(torch.nn.Module):\n    pass\nx = Variable(torch.ones(1))\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nimport torch.autograd as autograd\nUSE_CUDA = torch.cuda.is_available()\n\n\n"
            "class Variable(autograd.Variable):\n    def __init__(self, data, *args, **kwargs):\n        if USE_CUDA:\n"
            "            data = data.cuda()\n        super(Variable, self).__init__(data, *args, **kwargs)\n",
            message="`class Variable(autograd.Variable)`: a subclass of `Variable` is never instantiated on PyTorch >= 0.4: "
            "`Variable(...)` returns a plain tensor, so its `__init__` (`data = data.cuda()`, ...) never runs",
            range=(6, 16, 6, 33),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nclass Named(Variable):\n    def describe(self):\n        return 'x'\n",
            message="`class Named(Variable)`: a subclass of `Variable` is never instantiated on PyTorch >= 0.4: "
            "`Variable(...)` returns a plain tensor, so its methods (`describe`) never run",
            range=(3, 13, 3, 21),
        ),
    ]

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        for base in node.bases:
            if base.keyword is None and is_variable(self.ctx, base.value):
                self.report(base.value, self._message(node, base.value))
                return

    def _message(self, node: cst.ClassDef, base: cst.BaseExpression) -> str:
        header = f"`class {node.name.value}({self.ctx.code(base)})`"
        methods = [s for s in getattr(node.body, "body", ()) if isinstance(s, cst.FunctionDef)]
        init = next((m for m in methods if m.name.value == "__init__"), None)
        what: str
        if init is not None:
            first = next((s for s in _statements(init) if not _is_super_call(s)), None)
            shown = " ".join(self.ctx.code(first).split()) if first is not None else ""
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            what = f"its `__init__` (`{shown}`, ...)" if shown else "its `__init__`"
        elif methods:
            what = "its methods (" + ", ".join(f"`{m.name.value}`" for m in methods[:3]) + ")"
        else:
            what = "nothing of it"
        return (f"{header}: a subclass of `Variable` is never instantiated on PyTorch >= 0.4: `Variable(...)` "
                f"returns a plain tensor, so {what} never runs")


def _statements(function: cst.FunctionDef) -> list[cst.CSTNode]:
    """The simple statements of a function body, in order, the ones inside `if`/`for`/`with` included."""
    found: list[cst.CSTNode] = []

    def walk(block: cst.BaseSuite) -> None:
        for stmt in getattr(block, "body", ()):
            if isinstance(stmt, cst.SimpleStatementLine):
                found.extend(stmt.body)
            elif isinstance(stmt, (cst.If, cst.For, cst.While, cst.With, cst.Try)):
                walk(stmt.body)

    walk(function.body)
    return found


def _is_super_call(stmt: cst.CSTNode) -> bool:
    """`super(...).__init__(...)` (what every subclass does; not what it adds)."""
    if not isinstance(stmt, cst.Expr) or not isinstance(stmt.value, cst.Call):
        return False
    func = stmt.value.func
    return isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call) \
        and isinstance(func.value.func, cst.Name) and func.value.func.value == "super"
