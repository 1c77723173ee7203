"""A replacement is parenthesized where the place of the node it replaces binds tighter than it."""

from __future__ import annotations

import libcst as cst
import pytest

from varmigrate.rewrite.precedence import parenthesized_for


def _place(code: str) -> tuple[cst.CSTNode, cst.CSTNode]:
    """(parent, the node `X` stands for) in the expression `code`."""
    found: list[tuple[cst.CSTNode, cst.CSTNode]] = []

    class Finder(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            for child in node.children:
                if isinstance(child, cst.Name) and child.value == "X":
                    found.append((node, child))
            return True

    cst.parse_expression(code).visit(Finder())
    ((parent, original),) = found
    return parent, original


@pytest.mark.parametrize("where, replacement, expected", [
    ("X.sum()", "a + b", "(a + b)"),
    ("X[0]", "a if c else b", "(a if c else b)"),
    ("X(1)", "lambda: 1", "(lambda: 1)"),
    ("2 * X", "a + b", "(a + b)"),
    ("2 + X", "a * b", "a * b"),
    ("a - X", "b - c", "(b - c)"),  # a tie: right operand
    ("-X", "a - b", "(a - b)"),
    ("X ** 2", "-a", "(-a)"),
    ("not X", "a == b", "a == b"),
    ("a < X", "b < c", "(b < c)"),
    ("a < X", "b + c", "b + c"),
    ("a and X", "b or c", "(b or c)"),
    ("a or X", "b and c", "b and c"),
    ("f(X)", "a + b", "a + b"),
    ("[X, 1]", "a if c else b", "a if c else b"),
    ("X.sum()", "f(a)", "f(a)"),
    ("X.sum()", "(a + b)", "(a + b)"),
])
def test_parentheses_follow_the_place(where: str, replacement: str, expected: str) -> None:
    parent, original = _place(where)
    new = parenthesized_for(parent, original, cst.parse_expression(replacement))
    assert cst.Module([]).code_for_node(new) == expected
