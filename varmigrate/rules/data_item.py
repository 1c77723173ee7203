from __future__ import annotations

import libcst as cst

from ..analysis.data_uses import ITEM
from ..analysis.nodes import data_use
from ..rewrite.expressions import drop_data
from ..rule import Invalid, Rule, Safety, Valid


class DataItem(Rule):
    """
    ## What it does
    Checks for `x.data.item()`.

    ## Why is this bad?
    `.item()` already returns a plain Python number with no autograd history, so going through
    `.data` first only adds a legacy detour (and an extra tensor object).

    ## Fix safety
    `x.data.item()` becomes `x.item()`, which returns the same float bit for bit, and raises the
    same error when `x` has more than one element. The fix is safe.

    ## References
    - SEMANTICS.md, section E (`loss.data.item()` row)
    """

    CODE = "VM202"
    MESSAGE = "`.data` is not needed before `.item()`"
    FIX_TITLE = "Replace `x.data.item()` with `x.item()`"
    FIX = Safety.SAFE
    TRIGGERS = (".data",)

    VALID = [
        Valid("import torch\nloss = torch.ones(())\nprint(loss.item())\n"),
        Valid("import torch\nimport numpy as np\na = np.ones(1)\nprint(a.data.item())\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ndef log(loss):\n    print(loss.data.item())\n",
            expected_replacement="import torch\ndef log(loss):\n    print(loss.item())\n",
            message="`.data` is not needed before `.item()`", range=(3, 11, 3, 20),
        ),
    ]

    def visit_Attribute(self, node: cst.Attribute) -> None:
        use = data_use(self.ctx, node)
        if use is not None and use.kind == ITEM:
            target, new = drop_data(node, self.ctx.parent(node))
            self.report(target, edits=[self.edit(new)])
