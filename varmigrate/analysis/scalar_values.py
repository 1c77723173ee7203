"""Where a Python number can stand in for a tensor value, and totals that are 0-dim tensors: what
the fix of `x.data[0]` (VM201) needs to know about the code around the value it rewrites.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from ..tree.parents import Parents
from .names import Scopes
from .tensors import TensorInference

# Builtins that take their argument as a sequence: a number there raises `TypeError`.
_SEQUENCE_CONSUMERS = frozenset({
    "len", "list", "tuple", "zip", "enumerate", "sorted", "iter", "reversed", "set", "dict", "map", "filter", "any", "all",
})


class ScalarValues:
    """Questions about a value's later uses in its scope (one per file, sharing the `.data` uses' scopes)."""

    def __init__(self, inference: TensorInference, parents: Parents, scopes: Scopes) -> None:
        self.inference = inference
        self.parent = parents.parent
        self.scopes = scopes

    def accumulated_scalar(self, name: cst.Name, read: Optional[cst.CSTNode] = None) -> Optional[tuple[str, bool]]:
        """For `total[0]`: the code of a value `total` accumulates, when `total` is, in its scope, only
        ever set to `0` and `+=` values read through `.data`/`.detach()` (`total_loss += loss.data`),
        and whether they are all known to be 0-dim (so that the total is a 0-dim tensor); else of
        a rank not known (`crit(out, y).data` of a `crit` passed in). None otherwise. An assignment
        whose value holds `read` itself (`total = total[0] / n`) turns the total into a number after
        the read."""
        scope = self.scopes.scope_of(name)
        sample: Optional[str] = None
        known = loose = True
        for n in self.scopes.names_in(scope).get(name.value, []):
            parent = self.parent(n)
            if isinstance(parent, cst.AugAssign) and parent.target is n:
                if not isinstance(parent.operator, cst.AddAssign):
                    return None
                known = known and self._scalar_read(parent.value)
                loose = loose and self._scalar_read(parent.value, loose=True)
                if not (known or loose):
                    return None
                sample = sample or self.inference.module.code_for_node(parent.value)
            elif isinstance(parent, cst.AssignTarget):
                assign = self.parent(parent)
                value = assign.value if isinstance(assign, cst.Assign) else None
                if read is not None and value is not None and self._holds(value, read):
                    continue
                if not (isinstance(value, (cst.Integer, cst.Float)) and float(value.evaluated_value) == 0):
                    return None
            elif self.scopes.is_binding(n) or isinstance(parent, cst.NameItem):
                return None
        return (sample, known) if sample is not None else None

    def _holds(self, outer: cst.CSTNode, inner: cst.CSTNode) -> bool:
        node: Optional[cst.CSTNode] = inner
        while node is not None:
            if node is outer:
                return True
            node = self.parent(node)
        return False

    def _scalar_read(self, value: cst.BaseExpression, loose: bool = False) -> bool:
        """`loss.data`, `loss.detach()`, `n * crit(out, y).data`: a 0-dim tensor without history
        (`loose`: or of a rank not known)."""
        inf = self.inference
        if isinstance(value, cst.Attribute) and value.attr.value == "data":
            return self._scalar(value.value, loose)
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "detach" and not value.args:
            return self._scalar(value.func.value, loose)
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, (cst.Multiply, cst.Divide)):
            left, right = value.left, value.right
            if self._scalar_read(left, loose):
                return not inf.is_tensor(right)
            return isinstance(value.operator, cst.Multiply) and self._scalar_read(right, loose) and not inf.is_tensor(left)
        return False

    def _scalar(self, node: cst.BaseExpression, loose: bool) -> bool:
        inf = self.inference
        if inf.is_scalar(node):
            return True
        return loose and inf.shape(node) is None and not inf.is_per_element(node)

    def number_ok(self, node: cst.CSTNode) -> bool:
        """A Python number can stand in for the tensor value of `node` as far as the code shows: it
        is not used as a tensor (no `.attr`, indexing or in-place update on it, directly or through
        the name it is bound to) nor as a sequence (iterated over, unpacked, `len(...)`, `list(...)`:
        a row, not a number). A value stored in an attribute or an item (`self.m = ...`,
        `d[k] = ...`) shows no use here: every 0.3 loss was one-element, so a number may stand in."""
        parent = self.parent(node)
        if isinstance(parent, (cst.Attribute, cst.Subscript)) and parent.value is node:
            return False
        if self._as_sequence(node):
            return False
        if isinstance(parent, cst.Assign) and parent.value is node:
            targets = [t.target for t in parent.targets]
            if len(targets) != 1:
                return False
            if not isinstance(targets[0], cst.Name):
                return isinstance(targets[0], (cst.Attribute, cst.Subscript))
            for use in self.scopes.uses(targets[0]):
                if self._holds(node, use):
                    continue  # `t = t.data[0]`: the read itself, of the binding before
                holder = self.parent(use)
                if isinstance(holder, (cst.Attribute, cst.Subscript)) and holder.value is use:
                    return False
                if isinstance(holder, cst.AugAssign) and holder.target is use:
                    return False
                if self._as_sequence(use):
                    return False
        return True

    def _as_sequence(self, node: cst.CSTNode) -> bool:
        """`for v in node`, `[... for v in node]`, `*node`, `len(node)`, `list(node)`, `zip(node, ...)`."""
        parent = self.parent(node)
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is node:
            return True
        if isinstance(parent, cst.StarredElement):
            return True
        if isinstance(parent, cst.Arg):
            if parent.star:
                return True
            call = self.parent(parent)
            return (isinstance(call, cst.Call) and isinstance(call.func, cst.Name)
                    and call.func.value in _SEQUENCE_CONSUMERS)
        return False
