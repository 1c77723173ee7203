"""Which names an expression reads, for the volatility flow: all of them (`graph_only=False`),
those read in a way that builds a graph on 0.3 (`graph_only`: not through `.data`, `.item()`,
`.detach()`, `float(...)`), and those that are operands of a graph operation (`op_reads`).
Remembered per file.

The volatile sources of a file (`Variable(x, volatile=True)` calls, helper calls that pass the
flag) are named by `marks`, one marker string per source call (a name no identifier can have):
the reads of an expression that holds one include its marker, and the call's own arguments are
not read (a legacy `Variable` wraps a tensor, never a volatile value).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

import libcst as cst

from ..tree.memo import FileMemo

# Reading a value through these gives a plain number or a tensor outside the graph (0.3 `.data`):
# volatility does not flow through them.
_SANITIZING_METHODS = {"item", "tolist", "numpy", "size", "dim", "numel", "data_ptr", "type", "detach", "stride",
                       "ndimension", "nelement", "element_size", "is_contiguous", "get_device"}
# Attributes that give no graph of their base: `.data` (0.3: a plain tensor), `.grad` (never volatile),
# flags and metadata.
_DETACHED_ATTRIBUTES = {"data", "grad", "volatile", "requires_grad", "is_leaf", "shape", "dtype", "device", "is_cuda",
                        "ndim", "grad_fn"}
_SANITIZING_BUILTINS = {"float", "int", "len", "bool", "str", "print", "isinstance", "type"}
# Attributes of a tensor read without building a graph node.
_PLAIN_ATTRIBUTES = {"data", "shape", "dtype", "device", "is_cuda", "ndim", "volatile"}
Marks = Mapping[int, str]  # id(source call) -> its marker
NO_MARKS: Marks = {}
MARK = "\x00"  # every marker starts with it


def is_mark(name: str) -> bool:
    return name.startswith(MARK)


class Reads:
    """What one expression reads: every name (`every`), the names read in a way that builds a
    graph on 0.3 (`graph`: not through `.data`, `.item()`, `float(...)` ...), the operands of graph
    operations (`ops`), and whether it holds a walrus or a `.volatile` read (`walks`)."""

    __slots__ = ("every", "graph", "ops", "walks")

    def __init__(self, every: frozenset[str], graph: frozenset[str], ops: frozenset[str], walks: bool) -> None:
        self.every, self.graph, self.ops, self.walks = every, graph, ops, walks


def expression_reads(memo: FileMemo, node: cst.CSTNode, marks: Marks = NO_MARKS) -> Reads:
    """The reads of `node`, in one walk (remembered per file while its lint runs)."""
    return memo.per_file("volatile-reads", _collect, node, memo, marks)


def _collect(node: cst.CSTNode, memo: FileMemo, marks: Marks) -> Reads:
    every: set[str] = set()
    graph: set[str] = set()
    ops: set[str] = set()
    walks = False
    children = memo.children
    Name, Attribute, Call, Arg = cst.Name, cst.Attribute, cst.Call, cst.Arg
    stack: list[tuple[cst.CSTNode, bool, bool]] = [(node, True, True)]
    pop, push = stack.pop, stack.append
    while stack:
        n, g, o = pop()
        t = type(n)
        if t is Name:
            v = n.value  # type: ignore[attr-defined]
            every.add(v)
            if g:
                graph.add(v)
            if o and v not in CONSTANTS:
                ops.add(v)
            continue
        if t is Attribute:
            attr = n.attr.value  # type: ignore[attr-defined]
            value = n.value  # type: ignore[attr-defined]
            if attr == "volatile":
                walks = True
            push((value, g and attr not in _DETACHED_ATTRIBUTES,
                  o and not (attr in _PLAIN_ATTRIBUTES and type(value) is Name)))
            continue
        if t is Call:
            mark = marks.get(id(n))
            if mark is not None:
                every.add(mark)
                if g:
                    graph.add(mark)
                if o:
                    ops.add(mark)
                continue  # a source's own arguments are not read
            func = n.func  # type: ignore[attr-defined]
            args = n.args  # type: ignore[attr-defined]
            if type(func) is Attribute and func.attr.value in _SANITIZING_METHODS:
                # `x.item()`: no graph; an operand of an operation only when not a plain name
                push((func.value, False, False) if type(func.value) is Name else (func, False, o))
                for a in args:
                    push((a.value, False, o))
                continue
            if type(func) is Name and func.value in _SANITIZING_BUILTINS:
                push((func, False, False))
                for a in args:
                    push((a.value, False, o and type(a.value) is not Name))
                continue
            push((func, g, o))
            for a in args:
                push((a.value, g, o))
            continue
        if t is Arg:
            push((n.value, g, o))  # type: ignore[attr-defined]
            continue
        if t is cst.FunctionDef:
            continue
        if t is cst.NamedExpr:
            walks = True
        for c in children(n):
            push((c, g, o))
    return Reads(frozenset(every), frozenset(graph), frozenset(ops), walks)


def reads(memo: FileMemo, node: Optional[cst.CSTNode], graph_only: bool = True,
          marks: Marks = NO_MARKS) -> frozenset[str]:
    """The names `node` reads (`graph_only`: not through `.data`, `.item()`, `float(...)` ...),
    with the markers of the sources in `marks` it holds."""
    if node is None:
        return frozenset()
    r = expression_reads(memo, node, marks)
    return r.graph if graph_only else r.every


def op_reads(memo: FileMemo, node: Optional[cst.CSTNode], marks: Marks = NO_MARKS) -> frozenset[str]:
    """The names that are operands of an operation that builds a graph node on 2.x: not `x.data`,
    `x.size()`, `float(x)`, `print(x)`... but `F.nll_loss(x).data` reads `x` (the loss is a graph op)."""
    if node is None:
        return frozenset()
    return expression_reads(memo, node, marks).ops


CONSTANTS = {"True", "False", "None"}
# Reading these on a volatile result inspects autograd state (SEMANTICS C, condition 3).
AUTOGRAD_ATTRIBUTES = {"requires_grad", "grad_fn", "is_leaf", "grad", "backward", "register_hook", "retain_grad"}


# Results with an integer or bool dtype: no graph can pass through them.
_INTEGRAL_METHODS = {"eq", "ne", "lt", "le", "gt", "ge", "argmax", "argmin", "long", "int", "byte", "bool",
                     "nonzero", "__eq__", "equal"}
_INDEXED_METHODS = {"max", "min", "sort", "topk", "kthvalue", "mode", "median"}  # `[1]` = indices


def integral(memo: FileMemo, value: cst.CSTNode) -> bool:
    """`pred.eq(t).sum()`, `out.max(1)[1]`, `(a == b).float().mean()`: the chain goes through an
    integer/bool result, and nothing after it takes another (possibly differentiable) operand."""
    node = value
    while True:
        if isinstance(node, cst.Comparison):
            return True
        if isinstance(node, cst.Subscript):
            inner = node.value
            index = node.slice[0].slice if len(node.slice) == 1 else None
            if (isinstance(index, cst.Index) and isinstance(index.value, cst.Integer) and index.value.value == "1"
                    and isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute)
                    and inner.func.attr.value in _INDEXED_METHODS and inner.args):
                return True
            node = inner
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value in _INTEGRAL_METHODS:
                return True
            if any(reads(memo, a.value) - CONSTANTS for a in node.args):
                return False
            node = node.func.value
        elif isinstance(node, cst.Attribute):
            node = node.value
        else:
            return False


def target_names(target: cst.BaseExpression) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        names: set[str] = set()
        for el in target.elements:
            names |= target_names(el.value)
        return names
    if isinstance(target, cst.StarredElement):
        return target_names(target.value)
    return set()
