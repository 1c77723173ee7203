"""The one `with torch.no_grad():` block builder, used by the engine (statements a fix marks
`NoGrad`) and by variable-volatile (the scope over a volatile value's uses)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Callable, Union

import libcst as cst

Block = Union[cst.IndentedBlock, cst.Module]


def with_block(statements: Sequence[cst.BaseStatement], manager: str) -> cst.With:
    """`with <manager>:` holding `statements`; the blank lines and comments above the first one stay
    above the `with`. Under a `no_grad()` manager, a `with ...no_grad():` among the statements (not
    inside a nested function) is redundant: its statements take its place."""
    if _is_no_grad_call(cst.parse_expression(manager)):
        statements = flatten_no_grad(statements)
    first = statements[0]
    leading: Sequence[cst.EmptyLine] = getattr(first, "leading_lines", ())
    inner = [first.with_changes(leading_lines=()), *(_unindented_blanks(s) for s in statements[1:])]
    return cst.With(
        items=[cst.WithItem(item=cst.parse_expression(manager))],
        body=cst.IndentedBlock(body=inner),
        leading_lines=leading,
    )


def _unindented_blanks(statement: cst.BaseStatement) -> cst.BaseStatement:
    """A blank line above a statement that moves into a block stays empty (libcst would indent it)."""
    lines: Sequence[cst.EmptyLine] = getattr(statement, "leading_lines", ())
    if not any(line.indent and line.comment is None for line in lines):
        return statement
    return statement.with_changes(leading_lines=[line.with_changes(indent=False) if line.comment is None else line
                                                 for line in lines])


def _is_no_grad_call(node: cst.CSTNode) -> bool:
    """`no_grad()`, `torch.no_grad()`, `th.autograd.no_grad()`: by its spelling."""
    return (isinstance(node, cst.Call) and not node.args
            and (isinstance(node.func, cst.Name) and node.func.value == "no_grad"
                 or isinstance(node.func, cst.Attribute) and node.func.attr.value == "no_grad"))


def is_plain_no_grad(node: cst.CSTNode) -> bool:
    """`with torch.no_grad():` alone (no `as`, no other manager, no comment on its line)."""
    return (isinstance(node, cst.With) and len(node.items) == 1 and node.items[0].asname is None
            and _is_no_grad_call(node.items[0].item) and isinstance(node.body, cst.IndentedBlock)
            and node.body.header.comment is None and not any(line.comment for line in node.body.footer))


def flatten_no_grad(statements: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """`statements` with every `with torch.no_grad():` block among and below them (in the same
    function) replaced by its statements: they run under an enclosing `no_grad` already."""
    return _splice([s.visit(_Flatten()) if isinstance(s, cst.BaseCompoundStatement)  # type: ignore[misc]
                    and not isinstance(s, (cst.FunctionDef, cst.ClassDef)) else s for s in statements])


def _splice(statements: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement]:
    out: list[cst.BaseStatement] = []
    for statement in statements:
        if is_plain_no_grad(statement):
            assert isinstance(statement, cst.With) and isinstance(statement.body, cst.IndentedBlock)
            inner = list(statement.body.body)
            inner[0] = inner[0].with_changes(leading_lines=[*statement.leading_lines, *getattr(inner[0], "leading_lines", ())])
            out.extend(inner)
        else:
            out.append(statement)
    return out


class _Flatten(cst.CSTTransformer):
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock) -> cst.IndentedBlock:
        if any(is_plain_no_grad(s) for s in updated_node.body):
            return updated_node.with_changes(body=_splice(updated_node.body))
        return updated_node


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
