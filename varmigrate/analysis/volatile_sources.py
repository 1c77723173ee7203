"""Where a file's volatile sources are: `Variable(x, volatile=...)` calls, helper functions that
hand a flag parameter to one, calls that may be helper calls, `x.volatile = True` statements."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from ..tree.walk import visit
from .context import FileContext
from .graph_reads import reads
from .graph_reads import target_names as target_names
from .nodes import is_variable, literal_bool, variable_args


class FindSources(cst.CSTVisitor):
    def __init__(self, ctx: FileContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.variable_calls: list[cst.Call] = []
        self.calls: list[tuple[cst.Call, Optional[str]]] = []  # (call, enclosing class name) maybe of a helper
        self.writes: list[cst.Assign] = []
        self.flag_params: list[tuple[cst.FunctionDef, str, Optional[cst.ClassDef]]] = []
        self._functions: list[tuple[cst.FunctionDef, Optional[cst.ClassDef]]] = []
        self._classes: list[Optional[cst.ClassDef]] = [None]

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._classes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append((node, self._classes[-1]))
        if any(p.name.value == "volatile" for p in node.params.params):
            # a helper whose `Variable(..., volatile=volatile)` a fix already removed: it ignores the flag
            self.flag_params.append((node, "volatile", self._classes[-1]))
        self._classes.append(None)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._functions.pop()
        self._classes.pop()

    def visit_Call(self, node: cst.Call) -> None:
        if is_variable(self.ctx, node.func):
            args = variable_args(node)
            if args.volatile is not None and literal_bool(args.volatile.value) is not False and args.simple:
                self.variable_calls.append(node)
                flag = args.volatile.value
                if isinstance(flag, cst.Name) and self._functions:
                    func, cls = self._functions[-1]
                    self.flag_params.append((func, flag.value, cls))
            return
        if node.args and (isinstance(node.func, cst.Name) or (
                isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name)
                and node.func.value.value == "self")):
            owner: Optional[str] = None
            if self._functions:
                enclosing = self._functions[-1][1]
                owner = enclosing.name.value if enclosing is not None else None
            self.calls.append((node, owner))

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1:
            target = node.targets[0].target
            if isinstance(target, cst.Attribute) and target.attr.value == "volatile" \
                    and isinstance(target.value, cst.Name) and literal_bool(node.value) is True:
                self.writes.append(node)


def argument(call: cst.Call, keyword: str, position: int) -> Optional[cst.BaseExpression]:
    positional = 0
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is not None:
            if arg.keyword.value == keyword:
                return arg.value
            continue
        if positional == position:
            return arg.value
        positional += 1
    return None


class _NameCount(cst.CSTVisitor):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.count = 0
        self.flags = 0

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.name:
            self.count += 1

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None and node.keyword.value == self.name:
            self.count -= 1  # the keyword itself is not a read
        if node.keyword is not None and node.keyword.value == "volatile" and isinstance(node.value, cst.Name) \
                and node.value.value == self.name:
            self.flags += 1

    def visit_Param(self, node: cst.Param) -> bool:
        return False


def flag_reads(ctx: FileContext, func: cst.FunctionDef, param: str) -> tuple[int, int]:
    """How often `func` reads `param`, and how often as the `volatile=` argument of a call."""
    counter = _NameCount(param)
    visit(func.body, counter, ctx.memo)
    return counter.count, counter.flags


def returns_variable(ctx: FileContext, func: cst.FunctionDef) -> bool:
    """`func` returns what its `Variable(...)` call makes (directly, or through a name it binds)."""
    finder = _Returns(ctx)
    visit(func.body, finder, ctx.memo)
    return finder.found


class _Returns(cst.CSTVisitor):
    def __init__(self, ctx: FileContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.bound: set[str] = set()
        self.found = False

    def _has_variable(self, node: cst.CSTNode) -> bool:
        finder = _HasVariable(self.ctx)
        visit(node, finder, self.ctx.memo)
        return finder.found

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._has_variable(node.value):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self.bound.add(target.target.value)

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None and (self._has_variable(node.value)
                                       or reads(self.ctx.memo, node.value, True) & self.bound):
            self.found = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False


class _HasVariable(cst.CSTVisitor):
    def __init__(self, ctx: FileContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        if is_variable(self.ctx, node.func):
            self.found = True
