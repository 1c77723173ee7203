from __future__ import annotations

import libcst as cst

from ..analysis.data_uses import ASSIGN
from ..analysis.nodes import data_use
from ..rule import Invalid, Rule, Safety, Valid


class DataAssign(Rule):
    """
    ## What it does
    Checks for assignments to `.data` of a tensor: `p.data = new`, `self.fc.weight.data = w`.

    ## Why is this bad?
    `p.data = new` swaps the storage under a tensor (and possibly its shape and dtype) without telling
    autograd: the tensor keeps its identity but aliases `new`, its version counter does not move, and a
    shape change only surfaces at the next backward (`The size of tensor a (3) must match ...`).

    ## Fix safety
    There is no exact replacement (SEMANTICS.md, section E), so the rule only reports. Depending on the
    intent, use `with torch.no_grad(): p.copy_(new)` when `new` has the same shape and dtype (it copies,
    so `p` no longer aliases `new`), or `with torch.no_grad(): p.set_(new)` to alias `new` as before (the
    dtype must not change). Both bump `p`'s version, so no graph that saved `p` may be waiting for
    backward.

    ## References
    - SEMANTICS.md, section E (`p.data = new` rows)
    """

    CODE = "VM208"
    MESSAGE = (
        "Assigning `.data` swaps a tensor's storage behind autograd's back; there is no exact replacement: use "
        "`with torch.no_grad(): p.copy_(new)` (same shape and dtype) or `p.set_(new)` (keeps aliasing `new`)"
    )
    FIX = Safety.NONE
    TRIGGERS = (".data",)

    VALID = [
        Valid("import torch\nclass Node:\n    def __init__(self, data):\n        self.data = data\n"),
        Valid("import torch\nimport scipy.sparse as sp\nm = sp.eye(3).tocsr()\nm.data = m.data * 2\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nimport torch.nn as nn\nfc = nn.Linear(3, 3)\nfc.weight.data = torch.eye(3)\n",
            message="Assigning `.data` swaps a tensor's storage behind autograd's back", range=(4, 1, 4, 15),
        ),
    ]

    def visit_Attribute(self, node: cst.Attribute) -> None:
        use = data_use(self.ctx, node)
        if use is not None and use.kind == ASSIGN:
            self.report(node)
