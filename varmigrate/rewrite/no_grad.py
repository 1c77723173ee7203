"""The one `with torch.no_grad():` block builder, used by the engine (statements a fix marks
`NoGrad`) and by variable-volatile (the scope over a volatile value's uses)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Callable, Union

import libcst as cst

Block = Union[cst.IndentedBlock, cst.Module]


def with_block(statements: Sequence[cst.BaseStatement], manager: str) -> cst.With:
    """`with <manager>:` holding `statements`; the blank lines and comments above the first one stay
    above the `with`."""
    first = statements[0]
    leading: Sequence[cst.EmptyLine] = getattr(first, "leading_lines", ())
    inner = [first.with_changes(leading_lines=()), *statements[1:]]
    return cst.With(
        items=[cst.WithItem(item=cst.parse_expression(manager))],
        body=cst.IndentedBlock(body=inner),
        leading_lines=leading,
    )


def wrap_statements(
    size: int, start: int, end: int, rewrite: Callable[[cst.CSTNode], cst.CSTNode], manager: str
) -> Callable[[cst.CSTNode], cst.CSTNode]:
    """A replacement for a block of `size` statements: `rewrite` each of `body[start:end]` and put
    them under `with <manager>:`. A block whose statement count another fix changed in the same
    round is left as it is (the fix is retried on the next round)."""

    def apply(block: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(block, (cst.IndentedBlock, cst.Module))
        body = list(block.body)
        if len(body) != size:
            return block
        inner = [rewrite(s) for s in body[start:end]]
        body[start:end] = [with_block(inner, manager)]  # type: ignore[arg-type]
        return block.with_changes(body=body)

    return apply


def rewrite_statements(
    size: int, start: int, end: int, rewrite: Callable[[cst.CSTNode], cst.CSTNode]
) -> Callable[[cst.CSTNode], cst.CSTNode]:
    """As `wrap_statements`, without the `with`."""

    def apply(block: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(block, (cst.IndentedBlock, cst.Module))
        body = list(block.body)
        if len(body) != size:
            return block
        body[start:end] = [rewrite(s) for s in body[start:end]]  # type: ignore[misc]
        return block.with_changes(body=body)

    return apply


def grad_enabled_argument(flag: cst.BaseExpression, code: Callable[[cst.CSTNode], str]) -> str:
    """The `set_grad_enabled` argument meaning "not `flag`" (volatile): a real `bool` (it rejects
    ints and None), with the precedence right: `not (a or b)`, never `not a or b`. `code` gives a
    node's source."""
    if isinstance(flag, cst.UnaryOperation) and isinstance(flag.operator, cst.Not):
        inner = flag.expression
        already_bool = isinstance(inner, cst.Comparison) or (
            isinstance(inner, cst.UnaryOperation) and isinstance(inner.operator, cst.Not))
        text = code(inner)
        if inner.lpar:  # `not (a or b)`: the parentheses belong to the operand
            text = code(inner.with_changes(lpar=(), rpar=()))
        return text if already_bool else f"bool({text})"
    text = code(flag)
    if isinstance(flag, (cst.BooleanOperation, cst.IfExp, cst.Lambda, cst.NamedExpr)) and not flag.lpar:
        text = f"({text})"
    return f"not {text}"
