from __future__ import annotations

import libcst as cst

from ..analysis.context import FileContext
from ..analysis.nodes import short_code
from ..rule import Invalid, Rule, Safety, Valid

# What lays a tensor out transposed (not contiguous): a view of it in another order.
_TRANSPOSES = frozenset({"t", "transpose", "permute"})
# Elementwise methods (and type conversions): 0.3 gave a new contiguous tensor, today's follow the
# operand's layout.
_POINTWISE = frozenset({
    "eq", "ne", "lt", "le", "gt", "ge", "add", "sub", "mul", "div", "pow", "abs", "neg", "exp", "log", "sqrt",
    "sigmoid", "tanh", "relu", "clamp", "float", "double", "long", "int", "byte", "half", "type_as",
    "expand_as", "masked_fill", "sign", "round", "floor", "ceil",
})
_DEPTH = 12


class ViewOfTransposed(Rule):
    """
    ## What it does
    Checks for `.view(...)` of an elementwise result of a transposed tensor: `pred = pred.t()`,
    `correct = pred.eq(target.view(1, -1).expand_as(pred))`, `correct[:k].view(-1)` (the 2017
    ImageNet example's `accuracy`, copied into countless repositories).

    ## Why is this bad?
    In PyTorch 0.3 an elementwise op (a comparison, arithmetic, a type conversion) returned a new
    contiguous tensor, so viewing its result worked. Today's ops keep the layout of a transposed
    operand, the result is not contiguous, and `view` raises `RuntimeError: view size is not
    compatible with input tensor's size and stride ... Use .reshape(...) instead`.

    ## Fix safety
    `.view(` becomes `.reshape(`, which gives the same values: a view where one exists, else a
    copy. It is safe where the result is consumed at once by a method that does not write in
    place (`correct[:k].reshape(-1).float().sum(0)`): 0.3's view aliased only the op's fresh
    result, which nothing else holds. Where the result is kept (bound, returned, written to), the
    fix is unsafe: equivalent only if nothing writes through it, or through what it views.
    A `.view` of the transposed tensor itself (`x.t().view(-1)`) is not reported: 0.3 raised there too.

    ## References
    - [pytorch/examples#497](https://github.com/pytorch/examples/pull/497) (`accuracy`: `view(-1)` to
      `reshape(-1)`)
    - [torch.Tensor.view](https://pytorch.org/docs/stable/generated/torch.Tensor.view.html)
    """

    CODE = "VM212"
    MESSAGE = ("`.view()` of an elementwise result of a transposed tensor: contiguous in PyTorch 0.3, "
               "not today (`view` raises): use `.reshape()`")
    FIX_TITLE = "Replace `.view(` with `.reshape(`"
    FIX = Safety.SAFE
    TRIGGERS = (".view(",)

    VALID = [
        # A view of the transposed tensor itself raised in 0.3 as well.
        Valid("import torch\nx = torch.randn(2, 3)\ny = x.t().view(-1)\n"),
        # Nothing transposed: the result is contiguous.
        Valid("import torch\ndef f(pred, target):\n    correct = pred.eq(target)\n    return correct.view(-1).sum()\n"),
        # Made contiguous on the way.
        Valid("import torch\ndef f(pred, y):\n    c = pred.t().eq(y).contiguous()\n    return c.view(-1).sum()\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ndef accuracy(output, target, k):\n    _, pred = output.topk(k, 1, True, True)\n"
            "    pred = pred.t()\n    correct = pred.eq(target.view(1, -1).expand_as(pred))\n"
            "    return correct[:k].view(-1).float().sum(0)\n",
            expected_replacement="import torch\ndef accuracy(output, target, k):\n    _, pred = output.topk(k, 1, True, True)\n"
            "    pred = pred.t()\n    correct = pred.eq(target.view(1, -1).expand_as(pred))\n"
            "    return correct[:k].reshape(-1).float().sum(0)\n",
            message="`correct[:k].view(-1)` views an elementwise result of a transposed tensor", range=(6, 12, 6, 32),
        ),
        Invalid(
            "import torch\ndef f(a, b):\n    d = (a.t() - b)\n    flat = d.view(-1)\n    return flat\n",
            expected_replacement="import torch\ndef f(a, b):\n    d = (a.t() - b)\n    flat = d.reshape(-1)\n    return flat\n",
            expected_safe_replacement="import torch\ndef f(a, b):\n    d = (a.t() - b)\n    flat = d.view(-1)\n    return flat\n",
            message="unsafe: only if nothing writes through the result", range=(4, 12, 4, 22),
        ),
    ]

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self._names: dict[tuple[str, int, str], bool] = {}

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "view" or not node.args:
            return
        if not self._pointwise_of_transposed(func.value, 0):
            return
        consumed = self._consumed(node)
        condition = "" if consumed else " (unsafe: only if nothing writes through the result, or through what it views)"
        code = short_code(self.ctx, node, 40)
        self.report(
            node,
            f"`{code}` views an elementwise result of a transposed tensor: contiguous in PyTorch 0.3, not today "
            f"(`view` raises): use `.reshape(...)`{condition}",
            [self.edit(node.with_changes(func=func.with_changes(attr=cst.Name("reshape"))),
                       Safety.SAFE if consumed else Safety.UNSAFE, self.FIX_TITLE + condition)],
        )

    def _consumed(self, node: cst.Call) -> bool:
        """Used at once by a method that does not write in place (`.float()`, `.sum(0)`)."""
        parent = self.ctx.parent(node)
        if not isinstance(parent, cst.Attribute) or parent.value is not node or parent.attr.value.endswith("_"):
            return False
        return isinstance(self.ctx.parent(parent), cst.Call)

    def _values(self, node: cst.Name) -> list[cst.BaseExpression]:
        """What the name is bound to in its scope (each plain assignment; `_, pred = ...` gives the
        call)."""
        scopes = self.ctx.data_uses.scopes
        found = (scopes.assignment_of(binding) for binding in scopes.bindings(node))
        return [a[0] for a in found if a is not None]

    def _name(self, node: cst.Name, kind: str, depth: int) -> bool:
        """Is some binding of the name `kind` (`pred = pred.t()` among them: the layout follows the
        last one, and a name re-bound to a transposed tensor is one, generously)?"""
        key = (kind, id(self.ctx.data_uses.scopes.scope_of(node)), node.value)
        if key not in self._names:
            self._names[key] = False  # a binding that reads the name itself is no evidence
            test = self._transposed if kind == "t" else self._pointwise_of_transposed
            self._names[key] = any(test(v, depth + 1) for v in self._values(node))
        return self._names[key]

    def _transposed(self, node: cst.BaseExpression, depth: int) -> bool:
        if depth > _DEPTH:
            return False
        if isinstance(node, cst.Attribute):
            return node.attr.value == "T"
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            return node.func.attr.value in _TRANSPOSES
        if isinstance(node, cst.Subscript):
            return self._transposed(node.value, depth + 1)
        return isinstance(node, cst.Name) and self._name(node, "t", depth)

    def _pointwise_of_transposed(self, node: cst.BaseExpression, depth: int) -> bool:
        """An elementwise result whose layout a transposed operand decides (through slices, names
        and further elementwise ops)."""
        if depth > _DEPTH:
            return False
        if isinstance(node, cst.Subscript):
            return self._pointwise_of_transposed(node.value, depth + 1)
        if isinstance(node, (cst.BinaryOperation, cst.Comparison)):
            operands = [node.left, node.right] if isinstance(node, cst.BinaryOperation) else \
                [node.left, *(c.comparator for c in node.comparisons)]
            return any(self._transposed(o, depth + 1) or self._pointwise_of_transposed(o, depth + 1) for o in operands)
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value not in _POINTWISE:
                return False
            receiver = node.func.value
            return self._transposed(receiver, depth + 1) or self._pointwise_of_transposed(receiver, depth + 1)
        return isinstance(node, cst.Name) and self._name(node, "op", depth)
