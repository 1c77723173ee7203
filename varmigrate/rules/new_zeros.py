from __future__ import annotations

from collections.abc import Collection
from typing import Optional

import libcst as cst

from ..analysis.nodes import short_code
from ..analysis.torch_api import REQUIRES_GRAD_FACTORIES
from ..rewrite.expressions import method_call
from ..rule import Invalid, Rule, Safety, Valid
from ..tree.walk import visit

# `x.size(0)`, `len(x)`, `x.numel()`: an int; `x.size()`, `x.shape`: a torch.Size.
_INT_METHODS = {"size", "numel", "dim", "ndimension", "nelement", "element_size"}
_INT_BUILTINS = {"len", "int"}
# In-place methods that change a tensor's strides, shape or storage (zeros_like would copy the new strides).
_METADATA_INPLACE = {"t_", "transpose_", "swapdims_", "swapaxes_", "squeeze_", "unsqueeze_", "resize_",
                     "resize_as_", "set_", "as_strided_", "share_memory_"}
# Factories whose result is a dense, contiguous, strided tensor (unless asked otherwise).
_CONTIGUOUS_FACTORIES = REQUIRES_GRAD_FACTORIES - {"torch.tensor", "torch.zeros_like", "torch.ones_like",
                                                   "torch.empty_like", "torch.full_like", "torch.rand_like",
                                                   "torch.randn_like"}


class NewZeros(Rule):
    """
    ## What it does
    Checks for the 0.3 way to make a tensor of the same type as another one and fill it:
    `w.new(n, m).zero_()`, `w.new(sizes).fill_(v)`, and `torch.zeros(x.size()).type_as(x)`.

    ## Why is this bad?
    PyTorch 0.4 introduced `w.new_zeros(n, m)`, `w.new_full(sizes, v)` and `torch.zeros_like(x)`,
    which say what they make in one call. `w.new(...)` allocates uninitialised memory and is
    "legacy" in the PyTorch documentation; its argument is read as sizes or as data depending on
    its type (`w.new([2, 3])` is a 1-D tensor holding 2 and 3).

    ## Fix safety
    `w.new(sizes).zero_()` becomes `w.new_zeros(sizes)` and `w.new(sizes).fill_(v)` becomes
    `w.new_full(sizes, v)`: the same dtype and device as `w`, the same values, a leaf that does not
    require grad, contiguous (checked on 2.13, also for a `Parameter` `w` and a 0-dim tensor
    size). `new_full` is offered only where `v` is a number (a literal, `float(...)`): it takes
    no tensor, where `fill_` with a tensor that requires grad records a graph. The fixes are
    offered only where the arguments are sizes: two or more of them, or a single
    one known to be an int (a literal, `len(...)`, `x.size(0)`) or a `torch.Size` (`x.size()`,
    `x.shape`). A single name or a list could be data. `torch.zeros(x.size()).type_as(x)`
    becomes `torch.zeros_like(x)` only where `x` is known to be a dense contiguous tensor (bound
    once, in the same function, to a torch factory call, and never transposed, resized or
    re-pointed in place there): `zeros_like` keeps `x`'s strides and
    layout, which a transposed or sparse `x` does not share with a fresh `torch.zeros`.

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
      ("new_* and *_like")
    """

    CODE = "VM312"
    MESSAGE = "`w.new(...).zero_()` is `w.new_zeros(...)` since PyTorch 0.4"
    FIX_TITLE = "Replace with `new_zeros`"
    FIX = Safety.SAFE
    TRIGGERS = (".new(", "type_as(")

    VALID = [
        Valid("import torch\nw = torch.randn(2)\nh = w.new([2, 3]).zero_()\n"),
        Valid("import torch\ndef f(w, n):\n    return w.new(n).zero_()\n"),
        Valid("import torch\ndef f(w, x):\n    return torch.zeros(x.size()).type_as(x)\n"),
        Valid("import torch\nw = torch.randn(2)\nh = w.new_zeros(2, 3)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ndef init_hidden(w, bsz, n):\n    return w.new(1, bsz, n).zero_()\n",
            expected_replacement="import torch\ndef init_hidden(w, bsz, n):\n    return w.new_zeros(1, bsz, n)\n",
            message="`w.new(...).zero_()` is `w.new_zeros(...)` since PyTorch 0.4", range=(3, 12, 3, 36),
        ),
        Invalid(
            "import torch\ndef ones(w, x):\n    return w.new(x.size()).fill_(1)\n",
            expected_replacement="import torch\ndef ones(w, x):\n    return w.new_full(x.size(), 1)\n",
            message="`w.new(...).fill_(v)` is `w.new_full(sizes, v)` since PyTorch 0.4", range=(3, 12, 3, 36),
        ),
        Invalid(
            "import torch\ndef f(w):\n    return w.new(3).fill_(-1.5)\n",
            expected_replacement="import torch\ndef f(w):\n    return w.new_full((3,), -1.5)\n",
            message="`w.new(...).fill_(v)` is `w.new_full(sizes, v)` since PyTorch 0.4", range=(3, 12, 3, 32),
        ),
        Invalid(
            "import torch\ndef f():\n    x = torch.randn(3, 4)\n    return torch.zeros(x.size()).type_as(x)\n",
            expected_replacement="import torch\ndef f():\n    x = torch.randn(3, 4)\n    return torch.zeros_like(x)\n",
            message="`torch.zeros(x.size()).type_as(x)` is `torch.zeros_like(x)` since PyTorch 0.4 (`x` is a fresh contiguous tensor here)",
            range=(4, 12, 4, 44),
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        inner = func.value
        if method in ("zero_", "fill_") and isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) \
                and inner.func.attr.value == "new":
            self._new_then_fill(node, method, inner)
        elif method == "type_as" and len(node.args) == 1 and node.args[0].keyword is None:
            self._zeros_type_as(node, inner, node.args[0].value)

    def _new_then_fill(self, node: cst.Call, method: str, new: cst.Call) -> None:
        sizes = new.args
        if not sizes or any(a.keyword is not None or a.star for a in sizes):
            return
        if len(sizes) == 1 and not self._size_value(sizes[0].value):
            return
        assert isinstance(new.func, cst.Attribute)
        owner = new.func.value
        w = short_code(self.ctx, owner, 30)
        if method == "zero_":
            if node.args:
                return
            replacement = new.with_changes(func=new.func.with_changes(attr=cst.Name("new_zeros")))
            self.report(node, f"`{w}.new(...).zero_()` is `{w}.new_zeros(...)` since PyTorch 0.4",
                        [self.edit(replacement.with_changes(lpar=node.lpar, rpar=node.rpar))])
            return
        if len(node.args) != 1 or node.args[0].keyword is not None or node.args[0].star:
            return
        if len(sizes) == 1 and not isinstance(sizes[0].value, cst.Integer) and self._size_value(sizes[0].value) != "int":
            size: cst.BaseExpression = sizes[0].value
        else:
            size = cst.Tuple([cst.Element(a.value) for a in sizes]) if len(sizes) > 1 else \
                cst.Tuple([cst.Element(sizes[0].value, comma=cst.Comma())])
        fill = node.args[0].value
        if not _number(fill, self.ctx.imports.local_defs):
            return  # `new_full` takes a Number: a tensor fill value (which `fill_` records a graph for) raises
        call = method_call(owner, "new_full", [cst.Arg(size, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                                               cst.Arg(fill)])
        self.report(node, f"`{w}.new(...).fill_(v)` is `{w}.new_full(sizes, v)` since PyTorch 0.4",
                    [self.edit(call.with_changes(lpar=node.lpar, rpar=node.rpar), title="Replace with `new_full`")])

    def _size_value(self, node: cst.BaseExpression) -> Optional[str]:
        """"int" or "size" when `node` is known to be an int or a torch.Size (None: it may be data)."""
        if isinstance(node, cst.Integer):
            return "int"
        if isinstance(node, cst.Attribute) and node.attr.value == "shape":
            return "size"
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in _INT_METHODS:
                return "size" if func.attr.value == "size" and not node.args else "int"
            if isinstance(func, cst.Name) and func.value in _INT_BUILTINS and func.value not in self.ctx.imports.local_defs:
                return "int"
            if self.ctx.imports.qualified(func) == "torch.Size":
                return "size"
        return None

    def _zeros_type_as(self, node: cst.Call, zeros: cst.BaseExpression, x: cst.BaseExpression) -> None:
        """`torch.zeros(x.size()).type_as(x)` (also `.shape`) for a contiguous `x`."""
        if not (isinstance(zeros, cst.Call) and self.ctx.imports.qualified(zeros.func) == "torch.zeros"
                and len(zeros.args) == 1 and zeros.args[0].keyword is None and isinstance(x, cst.Name)):
            return
        size = zeros.args[0].value
        base = size.func.value if isinstance(size, cst.Call) and isinstance(size.func, cst.Attribute) \
            and size.func.attr.value == "size" and not size.args else \
            size.value if isinstance(size, cst.Attribute) and size.attr.value == "shape" else None
        if not (isinstance(base, cst.Name) and base.value == x.value) or not self._contiguous(node, x):
            return
        new = cst.parse_expression(f"{self.ctx.torch}.zeros_like({x.value})")
        self.report(node, f"`torch.zeros({x.value}.size()).type_as({x.value})` is `torch.zeros_like({x.value})` since "
                          f"PyTorch 0.4 (`{x.value}` is a fresh contiguous tensor here)",
                    [self.edit(new.with_changes(lpar=node.lpar, rpar=node.rpar), title="Replace with `torch.zeros_like`",
                               needs_torch=True)])

    def _contiguous(self, node: cst.CSTNode, x: cst.Name) -> bool:
        """`x` is bound exactly once in the function (or module) that holds `node`, to a torch
        factory call that makes a dense contiguous tensor."""
        scope: Optional[cst.CSTNode] = None
        for n in reversed(self.ctx.ancestors(node)):
            if isinstance(n, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                scope = n
                break
        scope = scope if scope is not None else self.ctx.module
        finder = _Bindings(x.value)
        visit(scope.body if isinstance(scope, cst.FunctionDef) else scope, finder, self.ctx.memo)
        if isinstance(scope, cst.FunctionDef) and any(p.name.value == x.value for p in (
                *scope.params.params, *scope.params.kwonly_params, *scope.params.posonly_params)):
            return False
        if finder.other or finder.restrided or len(finder.values) != 1:
            return False
        value = finder.values[0]
        return (isinstance(value, cst.Call) and self.ctx.imports.qualified(value.func) in _CONTIGUOUS_FACTORIES
                and not any(a.keyword is not None and a.keyword.value in ("out", "layout", "memory_format") or a.star
                            for a in value.args))


class _Bindings(cst.CSTVisitor):
    """The values assigned to `name` (by plain `name = value`); `other`: bound some other way."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.values: list[cst.BaseExpression] = []
        self.other = False
        self.restrided = False

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _METADATA_INPLACE \
                and isinstance(func.value, cst.Name) and func.value.value == self.name:
            self.restrided = True

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            t = target.target
            if isinstance(t, cst.Name) and t.value == self.name:
                self.values.append(node.value)
            elif isinstance(t, (cst.Tuple, cst.List)) and any(
                    isinstance(e.value, cst.Name) and e.value.value == self.name for e in t.elements):
                self.other = True

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Name) and node.target.value == self.name:
            self.other = True

    def visit_For(self, node: cst.For) -> None:
        if any(n.value == self.name for n in _names(node.target)):
            self.other = True

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        if isinstance(node.target, cst.Name) and node.target.value == self.name:
            self.other = True

    def visit_AsName(self, node: cst.AsName) -> None:
        if isinstance(node.name, cst.Name) and node.name.value == self.name:
            self.other = True

    def visit_Global(self, node: cst.Global) -> None:
        if any(n.name.value == self.name for n in node.names):
            self.other = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False


def _number(node: cst.BaseExpression, local_defs: Collection[str]) -> bool:
    """`node` is a Python number: a literal, a negated one, or `float(...)`/`int(...)`."""
    if isinstance(node, (cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        return _number(node.expression, local_defs)
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in ("float", "int") \
        and node.func.value not in local_defs


def _names(target: cst.BaseExpression) -> list[cst.Name]:
    if isinstance(target, cst.Name):
        return [target]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _names(e.value)]
    return []
