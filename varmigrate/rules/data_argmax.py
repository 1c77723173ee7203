from __future__ import annotations

import libcst as cst

from ..analysis.data_uses import INDICES
from ..analysis.nodes import data_use
from ..rewrite.expressions import drop_data
from ..rule import Invalid, Rule, Safety, Valid


class DataArgmax(Rule):
    """
    ## What it does
    Checks for indices computed through `.data`: `x.data.max(1)[1]`, `torch.max(x.data, 1)[1]`,
    `x.data.max(1, keepdim=True)[1]`, `_, pred = torch.max(x.data, 1)` (with `_` unused),
    `x.data.argmax(1)`, and the `min`/`topk`/`sort` variants.

    ## Why is this bad?
    Indices are integer tensors and never carry gradient, so `.data` does nothing here except make
    the code read like 0.3 (where `max` on a `Variable` returned `Variable`s).

    ## Fix safety
    `.data` is dropped: the indices are bitwise the same (ties and NaN rows included) and never
    require grad, so the fix is safe. Only the indices are covered: the values `x.data.max(1)[0]` would
    start requiring grad without `.data`, so they are left to `data-read` (`x.detach().max(1)[0]`).
    In the tuple form the values are bound to `_`, which must not be read anywhere in the scope.

    ## References
    - SEMANTICS.md, section E (`x.data.max(1)[1]` row)
    """

    CODE = "VM205"
    MESSAGE = "`.data` is not needed to take indices (`max(dim)[1]`, `argmax`): they never carry gradient"
    FIX_TITLE = "Remove `.data`"
    FIX = Safety.SAFE
    TRIGGERS = (".data",)

    VALID = [
        Valid("import torch\nx = torch.randn(4, 3, requires_grad=True)\npred = x.max(1)[1]\n"),
        Valid("import torch\nimport numpy as np\na = np.ones((3, 3))\nb = a.data.max(1)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ndef accuracy(model, x, y):\n    model.eval()\n    output = model(x)\n"
            "    pred = output.data.max(1, keepdim=True)[1]\n    _, top = torch.max(output.data, 1)\n"
            "    return pred, top\n",
            expected_replacement="import torch\ndef accuracy(model, x, y):\n    model.eval()\n    output = model(x)\n"
            "    pred = output.max(1, keepdim=True)[1]\n    _, top = torch.max(output, 1)\n"
            "    return pred, top\n",
            message="`.data` is not needed to take indices (`max(dim)[1]`, `argmax`): they never carry gradient", range=(5, 12, 5, 23),
        ),
    ]

    def visit_Attribute(self, node: cst.Attribute) -> None:
        use = data_use(self.ctx, node)
        if use is not None and use.kind == INDICES:
            target, new = drop_data(node, self.ctx.parent(node))
            self.report(target, edits=[self.edit(new)])
