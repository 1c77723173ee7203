"""Shared matchers and node builders for the rules (pyupgrade's `_ast_helpers`, torchfix's `common`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Sequence

import libcst as cst

from .context import FileContext
from .walk import visit as walk_visit

VARIABLE = "torch.autograd.Variable"

# torch factories that accept `requires_grad=` (SEMANTICS.md B: folding is bitwise-equal, same RNG use).
REQUIRES_GRAD_FACTORIES = {
    f"torch.{name}"
    for name in (
        "randn", "rand", "zeros", "ones", "empty", "full", "arange", "linspace", "logspace", "eye",
        "tensor", "randn_like", "rand_like", "zeros_like", "ones_like", "empty_like", "full_like",
        "randperm", "range",
    )
}
# Calls that always build a new tensor nobody else references (dropping `Variable` is exact).
FRESH_TENSOR_CALLS = REQUIRES_GRAD_FACTORIES | {
    f"torch.{name}"
    for name in (
        # Not cat/stack/normal/bernoulli (they require grad when an input does) nor as_tensor
        # (returns its tensor argument itself).
        "from_numpy", "randint", "randint_like", "multinomial",
        "Tensor", "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor",
        "IntTensor", "ShortTensor", "ByteTensor", "CharTensor", "BoolTensor",
        "cuda.FloatTensor", "cuda.DoubleTensor", "cuda.HalfTensor", "cuda.LongTensor",
        "cuda.IntTensor", "cuda.ByteTensor", "cuda.BoolTensor",
    )
}
# Conversions that return a new tensor when applied to a fresh temporary.
_CONVERSIONS = {
    "type", "float", "double", "half", "long", "int", "short", "byte", "char", "bool", "cuda",
    "cpu", "to", "contiguous", "view", "unsqueeze", "squeeze", "t", "transpose", "permute",
    "normal_", "uniform_", "fill_", "zero_", "random_", "bernoulli_", "resize_", "reshape",
    "clone", "expand",
}


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


def is_no_grad_block(node: cst.CSTNode, imports: "ImportTracker") -> bool:
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
        if name in _CONVERSIONS:
            return is_fresh_tensor(ctx, func.value)
    return False


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


def add_keyword(call: cst.Call, keyword: str, value: cst.BaseExpression) -> cst.Call:
    """Append `keyword=value` to a call, keeping its formatting (and a trailing comma)."""
    args = list(call.args)
    new_arg = cst.Arg(
        value=value,
        keyword=cst.Name(keyword),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )
    if not args:
        return call.with_changes(args=[new_arg])
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        # Trailing comma (often multi-line): the new argument goes after it, and keeps one itself.
        new_arg = new_arg.with_changes(comma=last.comma)
        ws_after = last.comma.whitespace_after
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=ws_after))
        args.append(new_arg)
    else:
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(new_arg)
    return call.with_changes(args=args)


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
    if lpar and hasattr(new, "lpar") and not getattr(new, "lpar"):
        return new.with_changes(lpar=lpar, rpar=old.rpar)  # type: ignore[attr-defined]
    return new


def torch_attr(ctx: FileContext, dotted: str) -> cst.BaseExpression:
    """`torch.<dotted>` spelled with the file's alias for torch."""
    return cst.parse_expression(f"{ctx.torch}.{dotted}")


def comments_in(node: cst.CSTNode) -> list[str]:
    """The text of every comment inside `node`, in order."""
    collector = _Comments()
    walk_visit(node, collector)
    return collector.found


class _Comments(cst.CSTVisitor):
    # Module level: a class created per call costs more than the walk, and leaves a reference
    # cycle (class <-> its methods) per call for the collector.
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def visit_Comment(self, comment: cst.Comment) -> None:
        self.found.append(comment.value)


def loses_comments(old: cst.CSTNode, new: cst.CSTNode) -> bool:
    """True when a comment of `old` is not in `new` (a fix must not silently drop comments)."""
    remaining = list(comments_in(new))
    for comment in comments_in(old):
        if comment in remaining:
            remaining.remove(comment)
        else:
            return True
    return False


def _has_comment(ws: cst.BaseParenthesizableWhitespace) -> bool:
    return isinstance(ws, cst.ParenthesizedWhitespace) and bool(comments_in(ws))


def unwrap_arg(call: cst.Call, arg: cst.Arg) -> cst.BaseExpression:
    """The value of `arg` standing in for the whole `call`.

    Comments written between `(` and the argument, or right after it, move along inside a pair of
    parentheses (`Variable(  # why\n    x,\n)` -> `(  # why\n    x\n)`); without comments the
    value comes out bare.
    """
    value = arg.value
    head = call.whitespace_before_args
    tail: cst.BaseParenthesizableWhitespace = (
        arg.comma.whitespace_after if isinstance(arg.comma, cst.Comma) else arg.whitespace_after_arg
    )
    if not (_has_comment(head) or _has_comment(tail)):
        return value
    last = call.args[-1]
    final = last.comma.whitespace_after if isinstance(last.comma, cst.Comma) else last.whitespace_after_arg
    if isinstance(tail, cst.ParenthesizedWhitespace) and isinstance(final, cst.ParenthesizedWhitespace):
        # `)` goes where the call's `)` was, not at the indentation of the next argument.
        tail = tail.with_changes(indent=final.indent, last_line=final.last_line)
    elif not isinstance(tail, cst.ParenthesizedWhitespace):
        tail = final if isinstance(final, cst.ParenthesizedWhitespace) else cst.SimpleWhitespace("")
    return value.with_changes(
        lpar=[cst.LeftParen(whitespace_after=head), *value.lpar],
        rpar=[*value.rpar, cst.RightParen(whitespace_before=tail)],
    )


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


def call_replacement(node: cst.Call, new: cst.BaseExpression, safety: "Safety") -> tuple[cst.BaseExpression, "Safety", bool]:
    """`new` standing in for the call `node`: keeps the call's own parentheses, and reports whether a
    comment inside the call is lost (a safe edit that loses one is downgraded to unsafe)."""
    from .rule import Safety

    lost = loses_comments(node, new)
    if node.lpar and hasattr(new, "lpar"):
        new = new.with_changes(lpar=[*node.lpar, *new.lpar], rpar=[*new.rpar, *node.rpar])  # type: ignore[attr-defined]
    if lost and safety is Safety.SAFE:
        safety = Safety.UNSAFE
    return new, safety, lost


if TYPE_CHECKING:
    from .imports import ImportTracker
    from .rule import Safety
    from .tensors import DataUse


def data_use(ctx: FileContext, node: cst.Attribute) -> "Optional[DataUse]":
    """How the `.data` attribute `node` is used (None: not `.data`, or its base is not a tensor)."""
    if node.attr.value != "data":
        return None
    return ctx.tensors.data_uses.use(node)


# The deprecated scalar-first overloads, e.g. `add_(Number alpha, Tensor other)`: the keyword-only
# scalar of the modern signature, and how many positional arguments the legacy form takes.
_SCALAR_FIRST_OVERLOADS = {
    "add": ("alpha", 2), "add_": ("alpha", 2), "sub": ("alpha", 2), "sub_": ("alpha", 2),
    "addcmul": ("value", 3), "addcmul_": ("value", 3), "addcdiv": ("value", 3), "addcdiv_": ("value", 3),
}


def fix_add_scalar_overload(call: cst.Call) -> Optional[cst.Call]:
    """`x.add_(scalar, tensor)` -> `x.add_(tensor, alpha=scalar)` (also `add`, `sub(_)`, and
    `addcmul(_)`/`addcdiv(_)(value, t1, t2)` -> `(t1, t2, value=value)`); None when `call` is not a
    deprecated overload. The modern scalar is keyword-only, so the positional count decides."""
    if not isinstance(call.func, cst.Attribute):
        return None
    spec = _SCALAR_FIRST_OVERLOADS.get(call.func.attr.value)
    if spec is None:
        return None
    keyword, count = spec
    args = list(call.args)
    if len(args) != count or any(a.keyword is not None or a.star for a in args):
        return None
    scalar, rest = args[0], args[1:]
    last = rest[-1]
    rest[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    moved = cst.Arg(
        value=scalar.value,
        keyword=cst.Name(keyword),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
        comma=last.comma,  # keeps a trailing comma (and the line break before `)`)
    )
    return call.with_changes(args=[*rest, moved])


def drop_attribute(node: cst.Attribute) -> cst.BaseExpression:
    """`x.data` -> `x`, keeping a comment written before the dot (`(x  # why\n .data\n .cpu())`)."""
    base = node.value
    ws = node.dot.whitespace_before
    if not comments_in(ws):
        return base
    if getattr(base, "rpar", None):
        last = base.rpar[-1]  # type: ignore[attr-defined]
        return base.with_changes(rpar=[*base.rpar[:-1], last.with_changes(whitespace_after=ws)])  # type: ignore[attr-defined]
    return base.with_changes(lpar=[cst.LeftParen(), *base.lpar], rpar=[*base.rpar, cst.RightParen(whitespace_before=ws)])  # type: ignore[attr-defined]


def replace_attribute_call(node: cst.Attribute, method: str) -> cst.Call:
    """`x.data` -> `x.<method>()`, keeping the dot (and any comment around it) where it was."""
    return cst.Call(func=node.with_changes(attr=cst.Name(method)))


def drop_data(ctx: FileContext, node: cst.Attribute) -> tuple[cst.CSTNode, cst.BaseExpression]:
    """(node to replace, replacement) that removes `.data` from `node`. A comment before the dot of
    `.data` moves to the next dot of the chain (`p.grad  # why` / `.data` / `.size()` -> `p.grad  # why`
    / `.size()`); with no next dot it stays inside parentheses (`drop_attribute`)."""
    parent = ctx.tensors.data_uses.parent(node)
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


def short_code(ctx: FileContext, node: cst.CSTNode, limit: int = 40) -> str:
    """The node's source on one line, shortened to `limit` characters, for messages."""
    text = " ".join(ctx.code(node).split())
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
