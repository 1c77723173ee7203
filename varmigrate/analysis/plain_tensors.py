"""Which expressions were 0.3 `Tensor`s rather than `Variable`s: what `.data` gave, and what tensor
methods, torch functions and operators computed from it.

A 0.3 `Tensor` had no 0-dim form: its full reductions (`pred.eq(target).sum()`) and its elements
(`topi[0][0]`) were Python numbers, where today they are 0-dim tensors. A 0.3 program could not mix
the two kinds in one op (`Variable.eq(Tensor)` raised), so an op with a `.data` operand was a
`Tensor` op. Names count when their one binding in the scope is such an expression (`pred =
out.data.max(1)[1]`; also `_, topi = out.data.topk(1)`).
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from ..tree.parents import Parents
from .data_uses import DataUses
from .imports import ImportTracker
from .shapes import SAME_SHAPE_METHODS
from .torch_api import ALIAS_METHODS, COMPARISON_METHODS

# Tensor methods whose results (or the parts of the tuple they return) are tensors again.
TENSOR_RESULT_METHODS = frozenset(
    (ALIAS_METHODS | SAME_SHAPE_METHODS | COMPARISON_METHODS) - {"equal"}
    | {"max", "min", "topk", "sort", "kthvalue", "median", "mode", "sum", "mean", "prod", "cumsum",
       "add", "sub", "mul", "div", "pow", "fmod", "remainder", "masked_select", "masked_fill", "index_select",
       "gather", "mm", "matmul", "bmm", "t", "repeat", "argmax", "argmin", "nonzero", "float", "exp", "log",
       "multinomial", "bernoulli", "softmax", "log_softmax", "argsort"}
)

_DEPTH = 30
# torch functions that made a new 0.3 Tensor (a Variable only when wrapped).
_FACTORIES = frozenset({"zeros", "ones", "randn", "rand", "empty", "arange", "range", "linspace", "eye", "full",
                        "randperm", "randint", "from_numpy", "zeros_like", "ones_like", "rand_like", "randn_like"})
_LEGACY_CONSTRUCTORS = frozenset({"Tensor", "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor",
                                  "ShortTensor", "ByteTensor", "CharTensor"})


def single_binding_value(data_uses: DataUses, parent: Parents, name: cst.Name,
                         unpacked: bool = False) -> Optional[cst.BaseExpression]:
    """The value of the one assignment that binds `name` in its scope (`unpacked`: also a target
    of `a, b = value`, giving `value`); None when it is bound otherwise or more than once."""
    bindings = data_uses.scopes.bindings(name)
    found = data_uses.scopes.assignment_of(bindings[0]) if len(bindings) == 1 else None
    if found is None or (found[1] and not unpacked):
        return None
    return found[0]


class PlainTensors:
    """Answers `is_plain(expr)` for one file (built on first use by the file's context)."""

    def __init__(self, data_uses: DataUses, parents: Parents, imports: ImportTracker) -> None:
        self.data_uses = data_uses
        self.parents = parents
        self.imports = imports
        self._names: dict[int, bool] = {}
        self._calls_item: Optional[bool] = None
        self._functions: dict[str, bool] = {}

    def written_for_0_4(self) -> bool:
        """Does the file call `.item()` (new in 0.4)? Then it ran on a torch where a `.data` tensor's
        full reduction already was a 0-dim tensor, and that is what its author meant by it."""
        if self._calls_item is None:
            self._calls_item = any(isinstance(p, cst.Attribute) and p.attr.value == "item"
                                   and isinstance(self.parents.parent(p), cst.Call)
                                   for p in self.parents.map().values())
        return self._calls_item

    def is_plain(self, node: cst.BaseExpression, depth: int = 0) -> bool:
        """Was `node` a 0.3 `Tensor` (or a tuple of them, `x.data.topk(1)`)?"""
        if depth > _DEPTH:
            return False
        if isinstance(node, cst.Attribute):
            return node.attr.value == "data" and self.data_uses.base_is_tensor(node)
        if isinstance(node, cst.Subscript):
            return self.is_plain(node.value, depth + 1)
        if isinstance(node, cst.Name):
            return self._name(node, depth)
        if isinstance(node, (cst.BinaryOperation, cst.Comparison)):
            left = node.left
            rights = [node.right] if isinstance(node, cst.BinaryOperation) else [c.comparator for c in node.comparisons]
            return any(self.is_plain(e, depth + 1) for e in [left, *rights])
        if isinstance(node, cst.UnaryOperation):
            return self.is_plain(node.expression, depth + 1)
        if isinstance(node, cst.Call):
            return self._call(node, depth)
        return False

    def _name(self, node: cst.Name, depth: int) -> bool:
        key = id(node)
        if key not in self._names:
            self._names[key] = False  # a binding that reads itself is not evidence
            value = single_binding_value(self.data_uses, self.parents, node, unpacked=True)
            self._names[key] = value is not None and self.is_plain(value, depth + 1)
        return self._names[key]

    def _call(self, node: cst.Call, depth: int) -> bool:
        func = node.func
        q = self.imports.qualified(func)
        if q is not None and q.startswith("torch.") and q.count(".") == 1:
            # `torch.max(x.data, 1)`, `torch.cat([a.data, b.data])`
            name = q.split(".", 1)[1]
            if name in _FACTORIES or name in _LEGACY_CONSTRUCTORS:
                # 0.3's factories made Tensors (`requires_grad=` is 0.4's: a tensor of today)
                return not any(a.keyword is not None and a.keyword.value == "requires_grad" for a in node.args)
            if name not in TENSOR_RESULT_METHODS and name not in ("cat", "stack"):
                return False
            return any(self.is_plain_argument(a.value, depth) for a in node.args if a.keyword is None)
        if isinstance(func, cst.Name):
            return self._function(func.value, depth)
        if not isinstance(func, cst.Attribute) or func.attr.value not in TENSOR_RESULT_METHODS:
            return False
        if self.is_plain(func.value, depth + 1):
            return True
        # `pred.eq(target.data)`: a 0.3 Variable's method refused a Tensor argument
        return func.attr.value in COMPARISON_METHODS and any(
            a.keyword is None and self.is_plain(a.value, depth + 1) for a in node.args)

    def _function(self, name: str, depth: int) -> bool:
        """A function of this file (never re-bound) whose every return value is plain
        (`select_action` returning `q.data.max(1)[1].view(1, 1)` or `LongTensor([[a]])`)."""
        shapes = self.data_uses.inference.shapes
        values = shapes.returns.get(name)
        if not values or name in shapes.sources:
            return False
        if name not in self._functions:
            self._functions[name] = False  # a recursive function is no evidence
            # (`return probs.multinomial().data`: a returned `.data` whose base may be a tensor is one)
            self._functions[name] = all(self.is_plain_argument(v, depth + 1) for v in values)
        return self._functions[name]

    def is_plain_argument(self, value: cst.BaseExpression, depth: int = 0) -> bool:
        """`is_plain` for an operand of a torch function (`torch.max(out.data, 1)`, `torch.sum(x.data)`):
        there, a `.data` whose base may be a tensor is a tensor's."""
        if isinstance(value, (cst.List, cst.Tuple)):
            return bool(value.elements) and all(self.is_plain_argument(e.value, depth + 1) for e in value.elements)
        if isinstance(value, cst.Attribute) and value.attr.value == "data":
            return self.data_uses.could_be_tensor(value.value)
        return self.is_plain(value, depth + 1)
