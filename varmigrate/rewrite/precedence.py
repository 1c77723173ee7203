"""Parentheses a replacement needs where it stands in for another expression.

A fix replaces a node by identity: `Variable(a + b).sum()` without the wrapper is `(a + b).sum()`,
not `a + b.sum()`; `Variable(x if c else y).cuda()` is `(x if c else y).cuda()`. The original node
was an atom there (a call), its replacement may bind more loosely than its place demands.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

# Binding strength, loosest first (the Python reference's operator precedence table).
_BINARY = {
    cst.BitOr: 6, cst.BitXor: 7, cst.BitAnd: 8, cst.LeftShift: 9, cst.RightShift: 9, cst.Add: 10, cst.Subtract: 10,
    cst.Multiply: 11, cst.Divide: 11, cst.FloorDivide: 11, cst.Modulo: 11, cst.MatrixMultiply: 11, cst.Power: 13,
}
_ATOM = 15


def strength(node: cst.BaseExpression, as_written: bool = True) -> int:
    """How tightly `node` binds (`as_written`: in its parentheses, which make it an atom)."""
    if as_written and node.lpar:
        return _ATOM
    if isinstance(node, (cst.Tuple, cst.NamedExpr)):
        return -1  # a bare `a, b` or `x := y`
    if isinstance(node, cst.Lambda):
        return 0
    if isinstance(node, cst.IfExp):
        return 1
    if isinstance(node, cst.BooleanOperation):
        return 2 if isinstance(node.operator, cst.Or) else 3
    if isinstance(node, cst.UnaryOperation):
        return 4 if isinstance(node.operator, cst.Not) else 12
    if isinstance(node, cst.Comparison):
        return 5
    if isinstance(node, cst.BinaryOperation):
        return _BINARY.get(type(node.operator), 6)
    if isinstance(node, cst.Await):
        return 14
    return _ATOM


def _needed(parent: cst.CSTNode, original: cst.CSTNode) -> Optional[int]:
    """The binding strength `original`'s place in `parent` needs its value to have (None: any)."""
    if isinstance(parent, cst.Attribute):
        return _ATOM if parent.value is original else None
    if isinstance(parent, cst.Subscript):
        return _ATOM if parent.value is original else None
    if isinstance(parent, cst.Call):
        return _ATOM if parent.func is original else None
    if isinstance(parent, (cst.BinaryOperation, cst.UnaryOperation, cst.BooleanOperation, cst.Comparison, cst.Await)):
        # stronger than the operator itself: a tie is parenthesized too (`a - (b - c)`, `a < (b < c)`)
        return strength(parent, as_written=False) + 1
    if isinstance(parent, cst.ComparisonTarget):
        return 6
    if isinstance(parent, cst.IfExp):
        return 2
    return None


def parenthesized_for(parent: Optional[cst.CSTNode], original: cst.CSTNode,
                      replacement: cst.CSTNode) -> cst.CSTNode:
    """`replacement`, in parentheses if its place (where `original` stood in `parent`) needs them."""
    if parent is None or not isinstance(replacement, cst.BaseExpression) or replacement is original:
        return replacement
    needed = _needed(parent, original)
    if needed is None or strength(replacement) >= needed:
        return replacement
    return replacement.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
