"""Matchers of torch calls and literals that read libcst nodes (the tables are in torch_api.py)."""

from __future__ import annotations

from typing import Optional

import libcst as cst


def literal_is(node: Optional[cst.BaseExpression], value: object) -> bool:
    if node is None:
        return False
    if isinstance(node, cst.Name):
        return node.value == str(value)
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value == value
    return False


def reduces_to_scalar(call: cst.Call) -> bool:
    """A loss call that was not asked to return per-element losses (`reduce=False`, `'none'`)."""
    for arg in call.args:
        if arg.keyword is None:
            continue
        key = arg.keyword.value
        if key == "reduce" and not literal_is(arg.value, True):
            return False
        if key == "reduction" and not (literal_is(arg.value, "mean") or literal_is(arg.value, "sum")):
            return False
    return True


def iterates_parameters(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value in ("parameters", "named_parameters")
    # `for p in group['params']` (an optimizer's param_groups)
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        index = node.slice[0].slice
        return isinstance(index, cst.Index) and literal_is(index.value, "params")
    return False


def is_number(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation):
        return is_number(node.expression)
    return isinstance(node, (cst.Integer, cst.Float))


def string_index(node: cst.Subscript) -> Optional[str]:
    """`'loss'` of `state['loss']`."""
    if len(node.slice) != 1:
        return None
    index = node.slice[0].slice
    if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
        value = index.value.evaluated_value
        return value if isinstance(value, str) else None
    return None


def comprehension_element(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """The element expression of `(e for ...)` or `[e for ...]` (a comprehension's loop variables are
    collected with the file's loops)."""
    if isinstance(node, (cst.GeneratorExp, cst.ListComp)):
        return node.elt
    return None
