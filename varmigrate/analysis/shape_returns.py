"""The shapes of list items: what a list display or an appended-to list holds, and the items of
the list a function of the file returns (`prec1, prec5 = accuracy(...)`: the ImageNet example's
`accuracy` returns one 0-dim tensor per k). A mixin of `Shapes` (shapes.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Optional

import libcst as cst

from .shape_literals import NEUTRAL, Shape

if TYPE_CHECKING:
    from .tensors import TensorInference


def agreed(shapes: set[Shape]) -> Shape:
    """The one shape of several values (None when they differ; a number's NEUTRAL is no shape)."""
    if len(shapes) != 1:
        return None
    (shape,) = shapes
    return None if shape == NEUTRAL else shape


class ReturnedItems:
    inference: TensorInference
    sources: dict[str, list[tuple[str, Optional[cst.BaseExpression]]]]
    returns: dict[str, list[cst.BaseExpression]]
    appends: dict[str, list[cst.BaseExpression]]
    _shape: Callable[[cst.BaseExpression, int], Shape]  # Shapes._shape

    def returned_items(self, call: cst.Call) -> Shape:
        """The shape every item has of what the call of a function of this file returns."""
        return self._returned_items(call, 1)

    def _returned_items(self, call: cst.Call, depth: int) -> Shape:
        """The shape every item has of the list or tuple that a function of this file (never
        re-bound) returns: `res.append(correct_k.mul_(100.0 / n))` ... `return res` (the ImageNet
        example's `accuracy`, whose items are 0-dim since 0.4)."""
        func = call.func
        if depth > 8 or not isinstance(func, cst.Name) or func.value not in self.returns or func.value in self.sources:
            return None
        return agreed({self._returned_list(value, depth + 1) for value in self.returns[func.value]})

    def _returned_list(self, value: cst.BaseExpression, depth: int) -> Shape:
        """The items' shape of a returned list display, or of a name only ever bound to `[]` and
        appended to."""
        if not isinstance(value, cst.Name):
            return self._items(value, depth)
        sources = self.sources.get(value.value, [])
        appended = self.appends.get(value.value)
        if not sources or not appended or not all(
                kind == "value" and isinstance(v, cst.List) and not v.elements for kind, v in sources):
            return None
        return agreed({self._shape(v, depth + 1) for v in appended})

    def _items(self, node: cst.BaseExpression, depth: int) -> Shape:
        """The shape every item of a list of tensors has (a name appended to, or a literal)."""
        values: list[cst.BaseExpression]
        if isinstance(node, cst.Name) and node.value in self.inference.list_items:
            values = self.inference.list_items[node.value]
        elif isinstance(node, (cst.List, cst.Tuple)) and not any(isinstance(e, cst.StarredElement) for e in node.elements):
            values = [e.value for e in node.elements]
        else:
            return None
        return agreed({self._shape(v, depth + 1) for v in values})
