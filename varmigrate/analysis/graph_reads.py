"""Which names an expression reads, for the volatility flow: all of them (`graph_only=False`),
those read in a way that builds a graph on 0.3 (`graph_only`: not through `.data`, `.item()`,
`float(...)`), and those that are operands of a graph operation (`op_reads`). Remembered per file.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from ..tree.memo import FileMemo
from ..tree.walk import visit

# Reading a value through these gives a plain number or a tensor outside the graph (0.3 `.data`):
# volatility does not flow through them.
_SANITIZING_METHODS = {"item", "tolist", "numpy", "size", "dim", "numel", "data_ptr", "type"}
_SANITIZING_BUILTINS = {"float", "int", "len", "bool", "str", "print", "isinstance", "type"}
SEED = "<volatile>"  # stands for the volatile call itself among the names an expression reads


class _Reads(cst.CSTVisitor):
    """Names an expression or statement reads; with `graph_only`, not those read through `.data`,
    `.item()`, `float(...)` and the like (no graph is built from them)."""

    def __init__(self, memo: FileMemo, graph_only: bool, seed: Optional[cst.CSTNode] = None) -> None:
        super().__init__()
        self.memo = memo
        self.names: set[str] = set()
        self.graph_only = graph_only
        self.seed = seed

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if self.graph_only and node.attr.value == "data":
            return False
        visit(node.value, self, self.memo)
        return False  # the attribute name itself is not a read of a variable

    def visit_Call(self, node: cst.Call) -> bool:
        if node is self.seed:
            self.names.add(SEED)
            return False
        if self.graph_only:
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in _SANITIZING_METHODS:
                return False
            if isinstance(func, cst.Name) and func.value in _SANITIZING_BUILTINS:
                return False
        return True

    def visit_Arg(self, node: cst.Arg) -> bool:
        visit(node.value, self, self.memo)
        return False  # skip the keyword name

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False


def reads(memo: FileMemo, node: Optional[cst.CSTNode], graph_only: bool = True,
          seed: Optional[cst.CSTNode] = None) -> frozenset[str]:
    """The names `node` reads (`graph_only`: not through `.data`, `.item()`, `float(...)` ...)."""
    if node is None:
        return frozenset()
    # The flow analysis asks about the same expressions on every fixed-point iteration and
    # again for the soundness check: computed once per file.
    return memo.per_file("volatile-reads", _collect_reads, node, memo, graph_only, seed)


def _collect_reads(node: cst.CSTNode, memo: FileMemo, graph_only: bool, seed: Optional[cst.CSTNode]) -> frozenset[str]:
    visitor = _Reads(memo, graph_only, seed)
    visit(node, visitor, memo)
    return frozenset(visitor.names)


CONSTANTS = {"True", "False", "None"}
# Attributes of a tensor read without building a graph node.
_PLAIN_ATTRIBUTES = {"data", "shape", "dtype", "device", "is_cuda", "ndim"}
# Reading these on a volatile result inspects autograd state (SEMANTICS C, condition 3).
AUTOGRAD_ATTRIBUTES = {"requires_grad", "grad_fn", "is_leaf", "grad", "backward", "register_hook", "retain_grad"}


class _OpReads(cst.CSTVisitor):
    """Names that are operands of an operation that builds a graph node on 2.x: not `x.data`,
    `x.size()`, `float(x)`, `print(x)`... but `F.nll_loss(x).data` reads `x` (the loss is a graph op)."""

    def __init__(self, memo: FileMemo, seed: Optional[cst.CSTNode]) -> None:
        super().__init__()
        self.memo = memo
        self.names: set[str] = set()
        self.seed = seed

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if not (node.attr.value in _PLAIN_ATTRIBUTES and isinstance(node.value, cst.Name)):
            visit(node.value, self, self.memo)
        return False

    def visit_Call(self, node: cst.Call) -> bool:
        if node is self.seed:
            self.names.add(SEED)
            return False
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _SANITIZING_METHODS and isinstance(func.value, cst.Name):
            for arg in node.args:
                visit(arg.value, self, self.memo)
            return False
        if isinstance(func, cst.Name) and func.value in _SANITIZING_BUILTINS:
            for arg in node.args:
                if not isinstance(arg.value, cst.Name):
                    visit(arg.value, self, self.memo)
            return False
        return True

    def visit_Arg(self, node: cst.Arg) -> bool:
        visit(node.value, self, self.memo)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value not in CONSTANTS:
            self.names.add(node.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False


def op_reads(memo: FileMemo, node: Optional[cst.CSTNode], seed: Optional[cst.CSTNode]) -> frozenset[str]:
    if node is None:
        return frozenset()
    return memo.per_file("volatile-op-reads", _collect_op_reads, node, memo, seed)


def _collect_op_reads(node: cst.CSTNode, memo: FileMemo, seed: Optional[cst.CSTNode]) -> frozenset[str]:
    visitor = _OpReads(memo, seed)
    visit(node, visitor, memo)
    return frozenset(visitor.names)


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
