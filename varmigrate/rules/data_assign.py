from __future__ import annotations

import libcst as cst

from ..analysis.data_uses import ASSIGN, RESIZE_METHODS
from ..analysis.nodes import data_use
from ..rule import Invalid, Rule, Safety, Valid


class DataAssign(Rule):
    """
    ## What it does
    Checks for assignments to `.data` of a tensor: `p.data = new`, `self.fc.weight.data = w`.
    `w.data = w.data.resize_(n)` (or `set_`, `resize_as_`, with in-place methods after it) is not
    reported: it is how `w.data.resize_(n)` keeps its 0.3 meaning (VM209's fix).

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
        Valid("import torch\nw = torch.zeros(3, requires_grad=True)\nw.data = w.data.resize_(5).zero_()\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nw = torch.zeros(3, requires_grad=True)\nw.data = w.data.resize_(5).clone()\n",
            message="Assigning `.data` swaps a tensor's storage behind autograd's back", range=(3, 1, 3, 7),
        ),
        Invalid(
            "import torch\nv = torch.zeros(3)\nw = torch.zeros(3, requires_grad=True)\nw.data = v.data.resize_(5)\n",
            message="Assigning `.data` swaps a tensor's storage behind autograd's back", range=(4, 1, 4, 7),
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\nfc = nn.Linear(3, 3)\nfc.weight.data = torch.eye(3)\n",
            message="Assigning `.data` swaps a tensor's storage behind autograd's back", range=(4, 1, 4, 15),
        ),
    ]

    def visit_Attribute(self, node: cst.Attribute) -> None:
        use = data_use(self.ctx, node)
        if use is not None and use.kind == ASSIGN and not self._resized_back(node):
            self.report(node)

    def _resized_back(self, target: cst.Attribute) -> bool:
        """`w.data = w.data.resize_(n)...`: the 0.3 resize of `w` itself, as VM209 writes it; the
        tensor assigned is `w`'s own data changed in place, so nothing is swapped behind autograd."""
        holder = self.ctx.parent(target)
        statement = self.ctx.parent(holder) if isinstance(holder, cst.AssignTarget) else None
        if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
            return False
        value: cst.BaseExpression = statement.value
        methods: list[str] = []  # outermost first
        while isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
            methods.append(value.func.attr.value)
            value = value.func.value
        # The innermost call resizes or re-points; every later one works in place and returns self.
        if not methods or methods[-1] not in RESIZE_METHODS or not all(m.endswith("_") for m in methods):
            return False
        return value.deep_equals(target)
