"""Matchers the rules share: what a node is, given the file's imports and inference
(pyupgrade's `_ast_helpers`, torchfix's `common`). Builders of new nodes live in rewrite/."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import libcst as cst

from .imports import ImportTracker
from .torch_api import CONVERSIONS, FRESH_TENSOR_CALLS, REQUIRES_GRAD_FACTORIES

if TYPE_CHECKING:
    from .context import FileContext
    from .data_uses import DataUse

VARIABLE = "torch.autograd.Variable"
_COMMENT = re.compile(r"#[^\n]*")

def is_variable(ctx: FileContext, func: cst.BaseExpression) -> bool:
    return ctx.imports.qualified(func) == VARIABLE


@dataclass
class VariableArgs:
    """The arguments of a legacy `Variable(data, requires_grad, volatile, _grad_fn, name)` call."""

    data: Optional[cst.Arg]
    requires_grad: Optional[cst.Arg]
    volatile: Optional[cst.Arg]
    others: list[cst.Arg]  # _grad_fn, name, *args, **kwargs, unknown keywords

    @property
    def simple(self) -> bool:
        return not self.others


_POSITIONAL = ("data", "requires_grad", "volatile", "_grad_fn", "name")


def variable_args(call: cst.Call) -> VariableArgs:
    slots: dict[str, cst.Arg] = {}
    others: list[cst.Arg] = []
    position = 0
    for arg in call.args:
        if arg.star:
            others.append(arg)
        elif arg.keyword is None:
            if position < len(_POSITIONAL):
                slots[_POSITIONAL[position]] = arg
            else:
                others.append(arg)
            position += 1
        else:
            slots[arg.keyword.value] = arg
    for key in list(slots):
        if key not in ("data", "requires_grad", "volatile"):
            others.append(slots.pop(key))
    return VariableArgs(slots.get("data"), slots.get("requires_grad"), slots.get("volatile"), others)


def is_no_grad_block(node: cst.CSTNode, imports: ImportTracker) -> bool:
    """`with torch.no_grad():` (also `autograd.no_grad`, `inference_mode`, `set_grad_enabled(False)`)."""
    if not isinstance(node, cst.With):
        return False
    for item in node.items:
        call = item.item
        if isinstance(call, cst.Call):
            q = imports.qualified(call.func)
            if q in ("torch.no_grad", "torch.autograd.no_grad", "torch.inference_mode"):
                return True
            if q in ("torch.set_grad_enabled", "torch.autograd.set_grad_enabled") and call.args:
                if literal_bool(call.args[0].value) is False:
                    return True
    return False


def literal_bool(node: Optional[cst.BaseExpression]) -> Optional[bool]:
    """True/False for `True`, `False`, `1`, `0`; None when not a literal."""
    if node is None:
        return None
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return node.value == "True"
    if isinstance(node, cst.Integer):
        return node.evaluated_value != 0
    return None


def is_fresh_tensor(ctx: FileContext, node: cst.BaseExpression) -> bool:
    """A call that returns a new tensor that nothing else references."""
    if not isinstance(node, cst.Call):
        return False
    func = node.func
    if any(a.keyword is not None and a.keyword.value == "out" for a in node.args):
        return False  # `torch.zeros(3, out=buf)` returns `buf`
    q = ctx.imports.qualified(func)
    if q is not None:
        if q.endswith("Tensor"):
            return _legacy_ctor_is_fresh(ctx, node)
        return q in FRESH_TENSOR_CALLS
    if isinstance(func, cst.Attribute):
        name = func.attr.value
        if name == "new":
            return _legacy_ctor_is_fresh(ctx, node)
        if name.startswith("new_"):
            return True
        if name in _COPY_METHODS and _copy_args(name, node) and _history_free(ctx, func.value):
            # `x.data.clone()`, `x.detach().repeat(1, k)`, `x.detach().view(-1).exp()`: a copy
            # without history (not a view: a view differs once written in place with grad)
            return True
        if name in _CONVERTS and _detached(func.value):
            return True  # `x.data.cuda()`: the detached tensor itself, or a copy of it (not a view)
        if name in CONVERSIONS and name not in _VIEW_METHODS:
            return is_fresh_tensor(ctx, func.value)
        if name in _ARITHMETIC_INPLACE and all(_number(a.value) for a in node.args) and node.args:
            return is_fresh_tensor(ctx, func.value)  # `fresh.mul_(0.5)`: still the fresh tensor, no history
    return False


_ARITHMETIC_INPLACE = {"mul_", "add_", "sub_", "div_", "clamp_", "pow_"}
# A view of a fresh tensor is not fresh: `Variable(v)` is not a view, and written in place with an
# operand that requires grad, a view gets another `grad_fn` (`AsStridedBackward0`, not `MulBackward0`).
_VIEW_METHODS = {"view", "reshape", "expand", "permute", "transpose", "t", "squeeze", "unsqueeze", "narrow", "select",
                 "flatten", "view_as", "expand_as", "reshape_as"}
# Conversions that return their receiver or a copy of it (never a view), and write nothing.
_CONVERTS = {"cpu", "cuda", "to", "float", "double", "half", "long", "int", "short", "byte", "char", "bool", "type",
             "contiguous"}
# Methods that make a new tensor with storage of its own from the receiver alone (their arguments
# are sizes, or numbers: `_copy_args`).
_SIZE_COPIES = {"clone", "repeat"}
_VALUE_COPIES = {"exp", "log", "sqrt", "abs", "neg", "sigmoid", "tanh", "relu", "round", "floor", "ceil", "reciprocal",
                 "sign", "mul", "div", "add", "sub", "pow", "clamp"}
_COPY_METHODS = _SIZE_COPIES | _VALUE_COPIES
# Methods that return their receiver, a view of it or a converted copy, reading only sizes, types
# and devices from their arguments.
_SHAPE_METHODS = {"view", "reshape", "expand", "permute", "transpose", "t", "squeeze", "unsqueeze", "narrow", "select",
                  "flatten", "contiguous", "cpu", "cuda", "to", "float", "double", "half", "long", "int", "type",
                  "view_as", "expand_as", "reshape_as", "type_as"}


def _copy_args(name: str, node: cst.Call) -> bool:
    if any(a.star or a.keyword is not None and a.keyword.value == "out" for a in node.args):
        return False
    return name in _SIZE_COPIES or all(_number(a.value) for a in node.args)


def _history_free(ctx: FileContext, node: cst.BaseExpression) -> bool:
    """`node` has no autograd history and does not require grad: `x.data`, `x.detach()`, a fresh
    tensor, and shape methods, copies and in-place arithmetic by numbers on one of those."""
    if _detached(node) or is_fresh_tensor(ctx, node):
        return True
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
        return False
    name = node.func.attr.value
    if name in _SHAPE_METHODS:
        ok = not any(a.star or a.keyword is not None and a.keyword.value == "out" for a in node.args)
    elif name in _COPY_METHODS:
        ok = _copy_args(name, node)
    else:
        ok = name in _ARITHMETIC_INPLACE and bool(node.args) and all(_number(a.value) for a in node.args)
    return ok and _history_free(ctx, node.func.value)


def _detached(node: cst.BaseExpression) -> bool:
    return (isinstance(node, cst.Attribute) and node.attr.value == "data") or is_detach_call(node)


def _number(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        node = node.expression
    return isinstance(node, (cst.Integer, cst.Float))


def _legacy_ctor_is_fresh(ctx: FileContext, node: cst.Call) -> bool:
    """`torch.FloatTensor(...)`/`x.new(...)` build a new tensor from sizes or data, but given one tensor
    they return an alias of it that keeps its `requires_grad` (checked on 2.13)."""
    if ctx.imports.qualified(node.func) not in FRESH_TENSOR_CALLS and not (
        isinstance(node.func, cst.Attribute) and node.func.attr.value == "new"
    ):
        return False
    positional = [a for a in node.args if a.keyword is None]
    if any(a.star for a in node.args):
        return False
    if len(positional) != 1:
        return True  # `()` or sizes `(2, 3)`
    value = positional[0].value
    if isinstance(value, (cst.Integer, cst.Float, cst.List, cst.Tuple, cst.ListComp, cst.GeneratorExp)):
        return True
    # `x.size()` / `x.shape`: a torch.Size is a size, never a tensor.
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "size":
        return True
    if isinstance(value, cst.Name) and ctx.tensors.is_known_non_tensor(value):
        return True  # bound to an int, list, ... in this file
    return isinstance(value, cst.Attribute) and value.attr.value == "shape"


def factory_call(ctx: FileContext, node: cst.BaseExpression) -> Optional[cst.Call]:
    """`node` itself when it is a direct call of a factory that takes `requires_grad=`."""
    if isinstance(node, cst.Call) and ctx.imports.qualified(node.func) in REQUIRES_GRAD_FACTORIES:
        if not any(a.keyword is not None and a.keyword.value == "requires_grad" for a in node.args):
            if not any(a.star for a in node.args):
                return node
    return None


def is_builtin_call(ctx: FileContext, call: cst.Call, name: str) -> bool:
    """`call` calls the builtin `name` (not a function of that name the file defines or imports)."""
    func = call.func
    return (
        isinstance(func, cst.Name)
        and func.value == name
        and name not in ctx.imports.local_defs
        and name not in ctx.imports.bindings
        and not any(a.star for a in call.args)
    )


def data_use(ctx: FileContext, node: cst.Attribute) -> Optional[DataUse]:
    """How the `.data` attribute `node` is used (None: not `.data`, or its base is not a tensor)."""
    if node.attr.value != "data":
        return None
    return ctx.data_uses.use(node)


def short_code(ctx: FileContext, node: cst.CSTNode, limit: int = 40) -> str:
    """The node's source on one line, shortened to `limit` characters, for messages (comments left
    out: on one line they would swallow the rest)."""
    code = ctx.code(node)
    if "#" in code:
        code = _COMMENT.sub("", code)
    text = " ".join(code.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def strip_device_moves(node: cst.BaseExpression) -> cst.BaseExpression:
    """`loss.cpu()` -> `loss` (also `.cuda()`): the value `.item()` reads is the same."""
    while (
        isinstance(node, cst.Call)
        and not node.args
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in ("cpu", "cuda")
    ):
        node = node.func.value
    return node


def is_detach_call(node: cst.BaseExpression) -> bool:
    """`x.detach()`: a new leaf that does not require grad and that nothing else references."""
    return (
        isinstance(node, cst.Call)
        and not node.args
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "detach"
    )


def keyword_arg(call: cst.Call, name: str) -> Optional[cst.Arg]:
    """The argument `name=...` of `call`."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def backward_gradient(ctx: FileContext, call: cst.Call) -> Optional[tuple[cst.BaseExpression, cst.Arg]]:
    """(result, gradient argument) of `result.backward(g)` / `result.backward(gradient=g)` /
    `torch.autograd.backward(result, g)` with one result tensor; None for anything else (a legacy
    Function's own `self.backward(...)`, a list of results)."""
    func = call.func
    if any(a.star for a in call.args):
        return None
    if isinstance(func, cst.Attribute) and func.attr.value == "backward":
        result = func.value
        if isinstance(result, cst.Name) and result.value in ("self", "ctx", "cls"):
            return None
        if ctx.imports.qualified(result) is not None:
            return None  # `torch.autograd.backward` itself, `MyFunction.backward`
        gradient = next((a for a in call.args if a.keyword is None), None) or keyword_arg(call, "gradient")
        return (result, gradient) if gradient is not None else None
    if ctx.imports.qualified(func) == "torch.autograd.backward":
        positional = [a for a in call.args if a.keyword is None]
        tensors = positional[0] if positional else keyword_arg(call, "tensors") or keyword_arg(call, "variables")
        gradient = (positional[1] if len(positional) > 1 else None) or keyword_arg(call, "grad_tensors") or keyword_arg(
            call, "grad_variables")
        if tensors is None or gradient is None or isinstance(tensors.value, (cst.List, cst.Tuple)):
            return None
        return tensors.value, gradient
    return None


def generator_argument(ctx: FileContext, call: cst.Call) -> Optional[cst.Arg]:
    """The generator argument of `torch.cat(<generator>, dim)` / `torch.stack(<generator>)`."""
    if ctx.imports.qualified(call.func) not in ("torch.cat", "torch.stack"):
        return None
    first = next((a for a in call.args if a.keyword is None or a.keyword.value == "tensors"), None)
    if first is None or first.star or not isinstance(first.value, cst.GeneratorExp):
        return None
    return first


def bare_multinomial(ctx: FileContext, call: cst.Call) -> bool:
    """`probs.multinomial()`: the 0.3 stochastic sample, one draw by default (not a method of the
    file's own classes)."""
    func = call.func
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value == "multinomial"
        and not call.args
        and "multinomial" not in ctx.imports.local_defs
        and ctx.imports.qualified(func) is None
    )
