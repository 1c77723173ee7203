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
