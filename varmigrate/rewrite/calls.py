"""Call builders shared by fixes: arguments added, dropped, renamed or unwrapped, a call replaced
keeping its parentheses and comments."""

from __future__ import annotations

from typing import Callable, Optional

import libcst as cst

from ..ftypes import Safety
from .comments import has_comment, loses_comments
from .expressions import method_call


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
    if not (has_comment(head) or has_comment(tail)):
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


def call_replacement(node: cst.Call, new: cst.BaseExpression, safety: Safety) -> tuple[cst.BaseExpression, Safety, bool]:
    """`new` standing in for the call `node`: keeps the call's own parentheses, and reports whether a
    comment inside the call is lost (a safe edit that loses one is downgraded to unsafe)."""
    lost = loses_comments(node, new)
    if node.lpar and hasattr(new, "lpar"):
        new = new.with_changes(lpar=[*node.lpar, *new.lpar], rpar=[*new.rpar, *node.rpar])
    if lost and safety is Safety.SAFE:
        safety = Safety.UNSAFE
    return new, safety, lost


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


def drop_argument(call: cst.Call, arg: cst.Arg) -> cst.Call:
    """`call` without `arg`, keeping the commas and line layout of the others."""
    args = list(call.args)
    index = next(i for i, a in enumerate(args) if a is arg)
    del args[index]
    if args and index == len(args):
        # Removed the last argument: the new last one takes its comma (trailing or none).
        args[-1] = args[-1].with_changes(comma=arg.comma, whitespace_after_arg=arg.whitespace_after_arg)
    return call.with_changes(args=args)


def rename_keyword(arg: cst.Arg, new: str) -> cst.Arg:
    assert arg.keyword is not None
    return arg.with_changes(keyword=arg.keyword.with_changes(value=new))


def replace_call(original_code: str, new: cst.Call) -> Callable[[cst.CSTNode], cst.CSTNode]:
    """A function that, inside an (updated) subtree, replaces the first call whose code is
    `original_code` by `new` (keeping that call's parentheses)."""

    class _Replace(cst.CSTTransformer):
        done = False

        def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
            if not self.done and cst.Module([]).code_for_node(updated_node) == original_code:
                self.done = True
                return new.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)
            return updated_node

    def rewrite(node: cst.CSTNode) -> cst.CSTNode:
        return node.visit(_Replace())  # type: ignore[return-value]

    return rewrite


def reshape_to_scalar(value: cst.BaseExpression) -> cst.Call:
    """`g` -> `g.reshape(())`: a one-element gradient shaped like a 0-dim result."""
    empty = cst.Tuple(elements=[], lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return method_call(value, "reshape", [cst.Arg(empty)])


def tuple_of_generator(generator: cst.GeneratorExp) -> cst.Call:
    """`(f(x) for x in xs)` -> `tuple(f(x) for x in xs)` (the call's parentheses are the generator's)."""
    inner = generator.with_changes(lpar=[], rpar=[])
    call = cst.Call(func=cst.Name("tuple"), args=[cst.Arg(inner)])
    if generator.lpar:
        # Whitespace inside the generator's own parentheses (a line break) goes inside the call's.
        call = call.with_changes(whitespace_before_args=generator.lpar[0].whitespace_after)
    return call


def with_num_samples(call: cst.Call, count: int = 1) -> cst.Call:
    """`probs.multinomial()` -> `probs.multinomial(1)`."""
    return call.with_changes(args=[cst.Arg(cst.Integer(str(count)))])
