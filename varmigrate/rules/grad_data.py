from __future__ import annotations

import libcst as cst

from ..analysis.data_uses import GRAD
from ..analysis.nodes import data_use, short_code
from ..rewrite.expressions import drop_data
from ..rule import Invalid, Rule, Safety, Valid


class GradData(Rule):
    """
    ## What it does
    Checks for `w.grad.data` (outside in-place updates, which `data-inplace-update` rewrites as a
    whole): `w.grad.data.norm()`, `d_p = p.grad.data`, `w1 - lr * w1.grad.data`.

    ## Why is this bad?
    In PyTorch 0.3 `.grad` was a `Variable` and its values lived in `.grad.data`. Since 0.4 the gradient
    is a plain tensor that does not require grad, so `.data` adds nothing but a second tensor object.

    ## Fix safety
    `w.grad.data` becomes `w.grad`. Since a gradient does not require grad, the two are the same
    values with the same storage, and the fix is safe. The exception is a file that calls
    `backward(create_graph=True)` (or `autograd.grad(..., create_graph=True)`): there gradients do
    require grad, `.data` cuts their history and `.grad` keeps it, so the fix is unsafe and the message
    says so.

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
    - SEMANTICS.md, section E (`w.grad.data.zero_()` row)
    """

    CODE = "VM206"
    MESSAGE = "`w.grad.data`: the gradient is a plain tensor since PyTorch 0.4, `.data` is not needed"
    FIX_TITLE = "Replace `w.grad.data` with `w.grad`"
    FIX = Safety.SAFE
    TRIGGERS = (".data",)

    VALID = [
        Valid("import torch\nw = torch.ones(3, requires_grad=True)\nprint(w.grad.norm())\n"),
        Valid("import torch\nclass Opt:\n    def __init__(self):\n        self.grad = {}\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ndef grad_norm(model):\n"
            "    return sum(p.grad.data.norm() ** 2 for p in model.parameters())\n",
            expected_replacement="import torch\ndef grad_norm(model):\n"
            "    return sum(p.grad.norm() ** 2 for p in model.parameters())\n",
            message="`p.grad.data`: the gradient is a plain tensor since PyTorch 0.4, `.data` is not needed", range=(3, 16, 3, 27),
        ),
        Invalid(
            "import torch\ndef hvp(loss, w):\n    loss.backward(create_graph=True)\n    g = w.grad.data\n    return g\n",
            expected_replacement="import torch\ndef hvp(loss, w):\n    loss.backward(create_graph=True)\n    g = w.grad\n    return g\n",
            expected_safe_replacement="import torch\ndef hvp(loss, w):\n    loss.backward(create_graph=True)\n    g = w.grad.data\n    return g\n",
            message="`w.grad.data`: this file uses `create_graph=True`", range=(4, 9, 4, 20),
        ),
    ]

    def visit_Attribute(self, node: cst.Attribute) -> None:
        use = data_use(self.ctx, node)
        if use is None or use.kind != GRAD:
            return
        target, new = drop_data(node, self.ctx.parent(node))
        # The user's own expression, not a placeholder (`b.grad.data`, `self.fc.weight.grad.data`).
        code, grad = short_code(self.ctx, node, 50), short_code(self.ctx, node.value, 45)
        if self.ctx.tensors.uses_create_graph:
            self.report(
                target,
                f"`{code}`: this file uses `create_graph=True`, where gradients carry history that `.data` cuts "
                f"and `.grad` keeps; `{grad}` is equivalent only if this gradient does not require grad",
                [self.edit(new, Safety.UNSAFE, f"Replace `{code}` with `{grad}` (unsafe: only if the gradient does not require grad)")],
            )
            return
        self.report(target, f"`{code}`: the gradient is a plain tensor since PyTorch 0.4, `.data` is not needed",
                    [self.edit(new, Safety.SAFE, f"Replace `{code}` with `{grad}`")])
