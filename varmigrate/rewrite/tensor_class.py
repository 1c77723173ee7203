"""`Variable` spelled `torch.Tensor` in the class argument of `isinstance`/`issubclass`."""

from __future__ import annotations

from typing import Callable, Optional

import libcst as cst

from .expressions import torch_attr

VARIABLE = "torch.autograd.Variable"


def spell_variable_as_tensor(
    types: cst.BaseExpression, qualified: Callable[[cst.BaseExpression], Optional[str]], torch_name: str
) -> Optional[cst.BaseExpression]:
    """The class argument of isinstance/issubclass with `Variable` spelled `torch.Tensor`, or None
    when it names no `Variable`. `qualified` resolves names (the file's imports).

    In a tuple that already names `torch.Tensor`, `Variable` is dropped instead of duplicated.
    """
    tensor = torch_attr(torch_name, "Tensor")
    if qualified(types) == VARIABLE:
        return tensor.with_changes(lpar=getattr(types, "lpar", ()), rpar=getattr(types, "rpar", ()))
    if not isinstance(types, cst.Tuple):
        return None
    elements = list(types.elements)
    hits = [i for i, el in enumerate(elements) if not isinstance(el, cst.StarredElement) and qualified(el.value) == VARIABLE]
    if not hits:
        return None
    has_tensor = any(
        not isinstance(el, cst.StarredElement) and qualified(el.value) == "torch.Tensor" for el in elements
    )
    first = None if has_tensor else hits[0]
    out: list[cst.BaseElement] = []
    for i, el in enumerate(elements):
        if i == first:
            out.append(el.with_changes(value=tensor))
        elif i not in hits:
            out.append(el)
    if len(out) == 1:
        return out[0].value  # `(torch.Tensor, Variable)` -> `torch.Tensor`
    if out[-1].comma is not cst.MaybeSentinel.DEFAULT and elements[-1].comma is cst.MaybeSentinel.DEFAULT:
        out[-1] = out[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return types.with_changes(elements=out)
