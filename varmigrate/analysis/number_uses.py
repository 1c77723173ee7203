"""Where a value that was a Python number in PyTorch 0.3 (a 0.3 `Tensor`'s full reduction or
element) is kept, passed on or printed, so that today's 0-dim tensor there is not the same: VM211
and VM213 append `.item()` only at such places."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

if TYPE_CHECKING:
    from .context import FileContext

# Builtins that make a number of it anyway: the tensor is no different there.
_NUMBER_BUILTINS = frozenset({"float", "int", "bool", "round", "abs", "len"})


def kept_as_number(ctx: FileContext, node: cst.BaseExpression) -> bool:
    """Does the program keep the number (bind, return, pass on, print, index with it), rather
    than compute with it at once?"""
    child: cst.CSTNode = node
    parent = ctx.parent(node)
    while isinstance(parent, (cst.BinaryOperation, cst.UnaryOperation)):
        if isinstance(parent, cst.BinaryOperation):
            other = parent.right if parent.left is child else parent.left
            if ctx.tensors.is_tensor(other) or ctx.plain_tensors.is_plain(other):
                return False  # a tensor op: the result is a tensor in 0.3 as well
        child, parent = parent, ctx.parent(parent)
    if isinstance(parent, cst.Attribute):
        return False  # `.item()`, `.cpu()`: written for a tensor result
    if isinstance(parent, (cst.Assign, cst.AugAssign, cst.AnnAssign, cst.Return, cst.Yield,
                           cst.Element, cst.DictElement, cst.FormattedStringExpression, cst.SubscriptElement,
                           cst.Index)):
        return True
    if isinstance(parent, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
        return parent.elt is child
    if isinstance(parent, cst.DictComp):
        return parent.value is child
    if isinstance(parent, cst.Arg):
        call = ctx.parent(parent)
        if not isinstance(call, cst.Call):
            return False
        if isinstance(call.func, cst.Name) and call.func.value in _NUMBER_BUILTINS:
            return False
        q = ctx.imports.qualified(call.func)
        if q is not None and q.startswith("torch"):
            return False
        if isinstance(call.func, cst.Attribute) and (
                ctx.tensors.is_tensor(call.func.value) or ctx.plain_tensors.is_plain(call.func.value)):
            return False  # an argument of a tensor method
        return True
    return False
