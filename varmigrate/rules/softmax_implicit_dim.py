from __future__ import annotations

import libcst as cst

from ..analysis.nodes import short_code
from ..rule import Invalid, Rule, Valid

_FUNCTIONS = ("softmax", "log_softmax", "softmin")
_MODULES = ("Softmax", "LogSoftmax", "Softmin")
_RULE = "dim 0 for 0-, 1- and 3-D inputs, else dim 1"


class SoftmaxImplicitDim(Rule):
    """
    ## What it does
    Checks for `F.softmax(x)`, `F.log_softmax(x)`, `F.softmin(x)` (`torch.nn.functional`) and
    `nn.Softmax()`, `nn.LogSoftmax()`, `nn.Softmin()` without a `dim`.

    ## Why is this bad?
    PyTorch 0.3 picked the dimension itself, and modern PyTorch still does, with a `UserWarning`
    ("Implicit dimension choice for softmax has been deprecated. Change the call to include dim=X as
    an argument."). The choice depends on the input's rank: dim 0 for 0-, 1- and 3-D inputs, else
    dim 1. So a `(C, H, W)` image is normalised over channels but a `(N, C, H, W)` batch of them over
    its second axis, and a `(T, N, V)` sequence batch over time, which is rarely what was meant.

    ## Fix safety
    No fix: `dim=` equal to the implicit choice is equivalent (SEMANTICS.md G: "always when the rank is
    known"), but the rank of the input is almost never visible in the source. The message states the
    rule so that a person can write the `dim=` the code has been using (usually `dim=1` for
    `(N, C)` scores) or the one it meant.

    ## References
    - [`torch.nn.functional.softmax`](https://pytorch.org/docs/stable/generated/torch.nn.functional.softmax.html)
    - `torch/nn/functional.py` (`_get_softmax_dim`)
    - SEMANTICS.md, section G
    """

    CODE = "VM307"
    MESSAGE = f"softmax without `dim` picks the dimension from the input's rank ({_RULE}) and warns: pass `dim=`"
    TRIGGERS = ("softmax", "Softmax", "softmin", "Softmin")

    VALID = [
        Valid("import torch.nn.functional as F\ndef f(x):\n    return F.softmax(x, dim=1)\n"),
        Valid("import torch.nn.functional as F\ndef f(x):\n    return F.log_softmax(x, 1)\n"),
        Valid("import torch.nn as nn\nm = nn.Softmax(dim=-1)\n"),
        Valid("import torch\ndef softmax(x):\n    return x\ny = softmax(3)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch.nn.functional as F\ndef forward(self, x):\n    return F.softmax(self.affine2(x))\n",
            message="`F.softmax(self.affine2(x))` has no `dim`", range=(3, 12, 3, 38),
        ),
        Invalid(
            "import torch.nn as nn\nhead = nn.Sequential(nn.Linear(4, 2), nn.LogSoftmax())\n",
            message="`nn.LogSoftmax()` has no `dim`", range=(2, 39, 2, 54),
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        q = self.ctx.imports.qualified(node.func)
        if q is None:
            return
        last = q.rsplit(".", 1)[-1]
        if q == f"torch.nn.functional.{last}" and last in _FUNCTIONS:
            positional = [a for a in node.args if a.keyword is None and not a.star]
            if len(positional) >= 2 or any(a.star or (a.keyword is not None and a.keyword.value == "dim") for a in node.args):
                return
        elif q in (f"torch.nn.{last}", f"torch.nn.modules.activation.{last}") and last in _MODULES:
            if any(a.keyword is None or a.keyword.value == "dim" for a in node.args):
                return
        else:
            return
        self.report(
            node,
            f"`{short_code(self.ctx, node)}` has no `dim`: the implicit choice ({_RULE}) is deprecated and warns; "
            "pass the `dim=` the code relies on (usually `dim=1` for (N, C) scores)",
        )
