from __future__ import annotations

from typing import Optional

import libcst as cst

from ..analysis.context import FileContext
from ..analysis.nodes import short_code
from ..rewrite.expressions import method_call
from ..rule import Invalid, Rule, Safety, Valid

_MASKED = frozenset({"masked_fill", "masked_fill_", "masked_select", "masked_scatter", "masked_scatter_"})
_BYTE_CONSTRUCTORS = frozenset({"torch.ByteTensor", "torch.cuda.ByteTensor"})
_DEPTH = 8
# Methods whose result has the receiver's dtype.
_KEEP_DTYPE = frozenset({"zero_", "fill_", "clone", "cuda", "cpu", "view", "view_as", "unsqueeze", "squeeze",
                         "expand", "expand_as", "t", "contiguous", "detach", "repeat", "index_select", "transpose"})


class ByteMask(Rule):
    """
    ## What it does
    Checks for a `uint8` mask passed to `masked_fill(_)`, `masked_select` or `masked_scatter(_)`:
    `x.masked_fill_(mask.byte(), -inf)`, `mask = torch.ByteTensor(...)` ... `scores.masked_fill(mask, 0)`.

    ## Why is this bad?
    PyTorch 0.3 had no `bool` tensors: masks were `ByteTensor`s, and comparisons returned them.
    Today's masked operations want a `bool` mask and raise `RuntimeError: masked_fill_ only supports
    boolean masks, but got mask with dtype unsigned char` (a comparison now gives `bool`, so only a
    mask made `uint8` on purpose is reported).

    ## Fix safety
    The mask is made `bool` (`.byte()` becomes `.bool()`, or `.bool()` is appended): a nonzero byte
    selected in 0.3 as `True` does now, so the selection is the same. Safe.

    ## References
    - [PyTorch 1.2 release notes](https://github.com/pytorch/pytorch/releases/tag/v1.2.0)
      (masks of `masked_*` operations: `torch.bool`)
    """

    CODE = "VM215"
    MESSAGE = "a `uint8` mask (0.3's `ByteTensor`) of a masked operation raises now: make it `bool`"
    FIX_TITLE = "Make the mask `bool`"
    FIX = Safety.SAFE
    TRIGGERS = ("masked_",)

    VALID = [
        # A comparison gives a bool mask today.
        Valid("import torch\ndef f(x, pad):\n    return x.masked_fill(x == pad, 0)\n"),
        # Already bool.
        Valid("import torch\ndef f(x, m):\n    return x.masked_fill(m.bool(), 0)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ndef f(scores, lengths):\n    mask = (lengths == 0).byte()\n"
            "    return scores.masked_fill_(mask, -1e9)\n",
            expected_replacement="import torch\ndef f(scores, lengths):\n    mask = (lengths == 0).byte()\n"
            "    return scores.masked_fill_(mask.bool(), -1e9)\n",
            message="`mask` is a `uint8` mask", range=(4, 32, 4, 36),
        ),
        Invalid(
            "import torch\ndef f(x, y):\n    return x.masked_select(y.gt(0).byte())\n",
            expected_replacement="import torch\ndef f(x, y):\n    return x.masked_select(y.gt(0).bool())\n",
            message="`y.gt(0).byte()` is a `uint8` mask", range=(3, 28, 3, 42),
        ),
    ]

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self._names: dict[tuple[int, str], bool] = {}

    def visit_Call(self, node: cst.Call) -> None:
        mask = _mask_argument(self.ctx, node)
        if mask is None or not self._byte(mask.value, 0):
            return
        value = mask.value
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "byte" \
                and not value.args:
            fixed: cst.BaseExpression = value.with_changes(func=value.func.with_changes(attr=cst.Name("bool")))
        else:
            fixed = method_call(value, "bool")
        code = short_code(self.ctx, value, 30)
        self.report(value, f"`{code}` is a `uint8` mask (0.3's `ByteTensor`), which `{_method(node)}` refuses since "
                    "PyTorch 1.2 (`RuntimeError`): make it `bool`", [self.edit(fixed)])

    def _byte(self, node: cst.BaseExpression, depth: int) -> bool:
        if depth > _DEPTH:
            return False
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "byte" and not node.args:
                return True
            if isinstance(func, cst.Attribute) and func.attr.value == "type" and len(node.args) == 1:
                return self.ctx.imports.qualified(node.args[0].value) in _BYTE_CONSTRUCTORS
            if isinstance(func, cst.Attribute) and func.attr.value in _KEEP_DTYPE:
                return self._byte(func.value, depth + 1)  # `torch.ByteTensor(n).zero_()`, `m.cuda()`
            q = self.ctx.imports.qualified(func)
            if q == "torch.autograd.Variable" and node.args:
                return self._byte(node.args[0].value, depth + 1)
            return q in _BYTE_CONSTRUCTORS
        if isinstance(node, cst.Attribute) and node.attr.value == "data":
            return self._byte(node.value, depth + 1)
        if isinstance(node, cst.Name):
            key = (id(self.ctx.data_uses.scopes.scope_of(node)), node.value)
            if key not in self._names:
                self._names[key] = False
                values = _bound_values(self.ctx, node)
                self._names[key] = bool(values) and all(self._byte(v, depth + 1) for v in values)
            return self._names[key]
        return False


def _mask_argument(ctx: FileContext, node: cst.Call) -> Optional[cst.Arg]:
    """The mask of `x.masked_fill(mask, v)` (its first argument) or `torch.masked_select(x, mask)`."""
    func = node.func
    keyword = next((a for a in node.args if a.keyword is not None and a.keyword.value == "mask"), None)
    if keyword is not None:
        return keyword
    positional = [a for a in node.args if a.keyword is None and not a.star]
    if ctx.imports.qualified(func) == "torch.masked_select":
        return positional[1] if len(positional) > 1 else None
    if isinstance(func, cst.Attribute) and func.attr.value in _MASKED:
        return positional[0] if positional else None
    return None


def _method(node: cst.Call) -> str:
    return node.func.attr.value if isinstance(node.func, cst.Attribute) else "masked_select"


def _bound_values(ctx: FileContext, name: cst.Name) -> list[cst.BaseExpression]:
    """What the name is bound to by plain assignments in its scope (none: some other binding)."""
    scopes = ctx.data_uses.scopes
    found = [scopes.assignment_of(binding) for binding in scopes.bindings(name)]
    return [a[0] for a in found if a is not None] if all(a is not None and not a[1] for a in found) else []
