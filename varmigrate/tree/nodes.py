"""Syntactic questions about single nodes, with no knowledge of imports or of the file."""

from __future__ import annotations

from typing import Optional

import libcst as cst


def is_docstring(stmt: cst.CSTNode) -> bool:
    """A statement that is only a string literal."""
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def single_index(sub: cst.Subscript) -> Optional[int]:
    """`n` for `x[n]` with one integer literal index; None otherwise."""
    if len(sub.slice) != 1:
        return None
    index = sub.slice[0].slice
    if isinstance(index, cst.Index) and isinstance(index.value, cst.Integer) and index.star is None:
        return int(index.value.evaluated_value)
    return None
