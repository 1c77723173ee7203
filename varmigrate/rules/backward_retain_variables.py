from __future__ import annotations

import libcst as cst

from ..analysis.nodes import keyword_arg
from ..rewrite.calls import rename_keyword
from ..rule import Invalid, Rule, Safety, Valid

_BACKWARD_FUNCS = ("torch.autograd.backward",)


class BackwardRetainVariables(Rule):
    """
    ## What it does
    Checks for `loss.backward(retain_variables=...)` and
    `torch.autograd.backward(..., retain_variables=...)`.

    ## Why is this bad?
    `retain_variables` is the PyTorch 0.1/0.2 name of `retain_graph`. PyTorch 0.3 accepted it with a
    deprecation warning; modern PyTorch rejects it: `TypeError: Tensor.backward() got an unexpected
    keyword argument 'retain_variables'`. The script stops at its first backward.

    ## Fix safety
    The keyword is renamed to `retain_graph`, the same parameter under its current name. The rename is
    required to run at all, and it is safe: the graph is kept (or freed) exactly as the legacy code
    asked. When the call already passes `retain_graph=` too, the finding has no fix: delete one of them.

    ## References
    - [PyTorch 0.3 `Variable.backward`](https://github.com/pytorch/pytorch/blob/v0.3.1/torch/autograd/variable.py)
    - [`torch.Tensor.backward`](https://pytorch.org/docs/stable/generated/torch.Tensor.backward.html)
    """

    CODE = "VM302"
    MESSAGE = "`retain_variables=` was renamed `retain_graph=`: modern PyTorch raises `TypeError` on it"
    FIX_TITLE = "Rename `retain_variables=` to `retain_graph=`"
    FIX = Safety.SAFE
    TRIGGERS = ("retain_variables",)

    VALID = [
        Valid("import torch\ndef step(loss):\n    loss.backward(retain_graph=True)\n"),
        Valid("import torch\ndef f(opt, retain_variables):\n    opt.step(retain_variables=retain_variables)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ndef step(loss):\n    loss.backward(retain_variables=True)\n",
            expected_replacement="import torch\ndef step(loss):\n    loss.backward(retain_graph=True)\n",
            message="`retain_variables=` was renamed `retain_graph=`: modern PyTorch raises `TypeError` on it", range=(3, 19, 3, 40),
        ),
        Invalid(
            "import torch\ndef step(loss, g):\n    torch.autograd.backward([loss], [g], retain_variables=True)\n",
            expected_replacement="import torch\ndef step(loss, g):\n    torch.autograd.backward([loss], [g], retain_graph=True)\n",
            message="`retain_variables=` was renamed `retain_graph=`: modern PyTorch raises `TypeError` on it", range=(3, 42, 3, 63),
        ),
        Invalid(
            "import torch\ndef step(loss):\n    loss.backward(retain_graph=True, retain_variables=True)\n",
            message="`retain_variables=` is the removed name of `retain_graph=`, which this call also passes; keep one", range=(3, 38, 3, 59),
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        arg = keyword_arg(node, "retain_variables")
        if arg is None:
            return
        is_method = isinstance(node.func, cst.Attribute) and node.func.attr.value == "backward"
        if not is_method and self.ctx.imports.qualified(node.func) not in _BACKWARD_FUNCS:
            return
        if keyword_arg(node, "retain_graph") is not None:
            self.report(arg, "`retain_variables=` is the removed name of `retain_graph=`, which this call also passes; keep one")
            return
        self.report(arg, edits=[self.edit(rename_keyword(arg, "retain_graph"))])
