"""Expression builders shared by fixes: method calls on a receiver, attributes dropped or turned
into calls, parentheses carried over."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import libcst as cst

from .comments import comments_in


def method_call(receiver: cst.BaseExpression, method: str, args: Sequence[cst.Arg] = ()) -> cst.Call:
    return cst.Call(func=cst.Attribute(value=receiver_for_attribute(receiver), attr=cst.Name(method)), args=list(args))


def receiver_for_attribute(node: cst.BaseExpression) -> cst.BaseExpression:
    """Parenthesize an expression that cannot take `.attr` as is (`a + b`, `-x`, `lambda`)."""
    if isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.SimpleString, cst.List, cst.Tuple, cst.Dict)):
        return node
    if getattr(node, "lpar", None):
        return node
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def with_expression_whitespace(new: cst.BaseExpression, old: cst.BaseExpression) -> cst.BaseExpression:
    """Carry the parentheses of `old` over to `new` (a replacement should not lose `(...)`)."""
    lpar = getattr(old, "lpar", ())
    if lpar and hasattr(new, "lpar") and not new.lpar:
        return new.with_changes(lpar=lpar, rpar=old.rpar)
    return new


def torch_attr(torch_name: str, dotted: str) -> cst.BaseExpression:
    """`torch.<dotted>` spelled with the file's name for torch (`th` after `import torch as th`)."""
    return cst.parse_expression(f"{torch_name}.{dotted}")


def drop_attribute(node: cst.Attribute) -> cst.BaseExpression:
    """`x.data` -> `x`, keeping a comment written before the dot (`(x  # why\n .data\n .cpu())`)."""
    base = node.value
    ws = node.dot.whitespace_before
    if not comments_in(ws):
        return base
    if getattr(base, "rpar", None):
        last = base.rpar[-1]
        return base.with_changes(rpar=[*base.rpar[:-1], last.with_changes(whitespace_after=ws)])
    return base.with_changes(lpar=[cst.LeftParen(), *base.lpar], rpar=[*base.rpar, cst.RightParen(whitespace_before=ws)])


def replace_attribute_call(node: cst.Attribute, method: str) -> cst.Call:
    """`x.data` -> `x.<method>()`, keeping the dot (and any comment around it) where it was."""
    return cst.Call(func=node.with_changes(attr=cst.Name(method)))


def detach_data_root(node: cst.BaseExpression) -> cst.BaseExpression:
    """`x.data.clone().mul_(0.5)` -> `x.detach().clone().mul_(0.5)`: the `.data` at the root of a
    method-call chain becomes `.detach()` (nothing else changes)."""
    if isinstance(node, cst.Attribute) and node.attr.value == "data":
        return replace_attribute_call(node, "detach").with_changes(lpar=node.lpar, rpar=node.rpar)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.with_changes(func=node.func.with_changes(value=detach_data_root(node.func.value)))
    return node


def drop_data(node: cst.Attribute, parent: Optional[cst.CSTNode]) -> tuple[cst.CSTNode, cst.BaseExpression]:
    """(node to replace, replacement) that removes `.data` from `node`. A comment before the dot of
    `.data` moves to the next dot of the chain (`p.grad  # why` / `.data` / `.size()` -> `p.grad  # why`
    / `.size()`); with no next dot it stays inside parentheses (`drop_attribute`). `parent`: the
    parent of `node` in the tree."""
    ws = node.dot.whitespace_before
    if (
        comments_in(ws)
        and isinstance(parent, cst.Attribute)
        and parent.value is node
        and not comments_in(parent.dot.whitespace_before)
        and not comments_in(node.dot.whitespace_after)
    ):
        return parent, parent.with_changes(value=node.value, dot=parent.dot.with_changes(whitespace_before=ws))
    return node, drop_attribute(node)


