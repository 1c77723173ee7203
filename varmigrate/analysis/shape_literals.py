"""Shapes as literal code tells them, with no file facts: the type of a shape, broadcasting two of
them, the shape of a nested list literal, literal integers and a stack along dim 0 (shapes.py
infers the rest).
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

Shape = Optional[tuple[int, ...]]
# What a number (or a name still being computed, in `total = total + loss`) adds to a broadcast:
# nothing. Never a real shape (no dimension has size -2).
NEUTRAL: tuple[int, ...] = (-2,)


def broadcast(left: Shape, right: Shape) -> Shape:
    if left is None or right is None:
        return None
    if left == NEUTRAL:
        return right
    if right == NEUTRAL:
        return left
    size = max(len(left), len(right))
    a = (1,) * (size - len(left)) + left
    b = (1,) * (size - len(right)) + right
    out: list[int] = []
    for x, y in zip(a, b):
        if x == y:
            out.append(x)
        elif x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        else:
            out.append(-1)
    return tuple(out)


def dim_zero(node: cst.Call) -> bool:
    """The call stacks or concatenates along dim 0 (no `dim`, or `dim=0`, or a second positional 0)."""
    positional = [a for a in node.args if a.keyword is None]
    dims = [a.value for a in node.args if a.keyword is not None and a.keyword.value == "dim"] + [a.value for a in positional[1:2]]
    return all(literal_int(d) == 0 for d in dims) and len(node.args) <= 2


def is_data(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Attribute) and node.attr.value == "data"


def literal_int(node: cst.BaseExpression) -> Optional[int]:
    if isinstance(node, cst.Integer):
        return int(node.evaluated_value)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) and isinstance(node.expression, cst.Integer):
        return -int(node.expression.evaluated_value)
    return None


def data_shape(node: cst.BaseExpression) -> Shape:
    """The shape of a literal's nesting: `[1]` is (1,), `[[1, 2]]` (1, 2), `3.0` ()."""
    if isinstance(node, (cst.Integer, cst.Float)) or (
        isinstance(node, cst.UnaryOperation) and isinstance(node.expression, (cst.Integer, cst.Float))):
        return ()
    if isinstance(node, cst.Call) and _number_call(node.func):
        return ()  # `[[random.randrange(2)]]` (the DQN tutorial's random action)
    if isinstance(node, (cst.List, cst.Tuple)):
        if not node.elements or any(isinstance(e, cst.StarredElement) for e in node.elements):
            return (len(node.elements),) if not node.elements else None
        inner = {data_shape(e.value) for e in node.elements}
        if len(inner) != 1:
            return None
        (only,) = inner
        return None if only is None else (len(node.elements), *only)
    return None


def _number_call(func: cst.BaseExpression) -> bool:
    """`int(...)`, `float(...)`, `round(...)`, `len(...)`, `random.randrange(...)`: a number."""
    if isinstance(func, cst.Name):
        return func.value in ("int", "float", "round", "len")
    return isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "random" \
        and func.attr.value in ("random", "randrange", "randint", "uniform", "gauss")
