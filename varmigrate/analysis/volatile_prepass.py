"""The pre-pass over one body, before the volatile flow: statement positions, when names die,
what needs grad, what closures read, which names the flow keeps kinds of."""

from __future__ import annotations

import bisect
from typing import Optional

import libcst as cst

from ..tree.memo import FileMemo
from ..tree.walk import visit
from .context import FileContext
from .graph_reads import reads
from .graph_reads import target_names as target_names
from .volatile_plans import Block

_GRAD_METHODS = {"backward", "requires_grad_", "retain_grad", "register_hook"}
_GRAD_FUNCTIONS = {"torch.autograd.grad", "torch.autograd.backward", "torch.enable_grad", "torch.set_grad_enabled",
                   "torch.autograd.enable_grad", "torch.autograd.set_grad_enabled"}


class Prepass:
    """One walk over a body, before the flow: per block the index of each statement, when each
    name is mentioned for the last time (`expiry`: the flow forgets a name after it), the
    statements that need autograd, the names nested functions and lambdas read, the names the
    flow keeps kinds of, and the sources in the body."""

    def __init__(self, ctx: FileContext, root: cst.CSTNode, marks: dict[int, str], writes: dict[int, int]) -> None:
        self.ctx = ctx
        self.memo: FileMemo = ctx.memo
        self.marks, self.writes = marks, writes
        self.nodes: dict[int, cst.CSTNode] = {}
        self.parent: dict[int, int] = {}  # id(statement) -> id(enclosing statement), within the body
        self.needs_grad: set[int] = set()  # statements (and their enclosing ones) that need autograd
        self.closure_reads: set[str] = set()
        self.marks_seen: list[str] = []
        self.writes_seen: list[int] = []
        self.expiry: dict[int, list[str]] = {}
        self._indexes: dict[int, dict[int, int]] = {}
        self._last: dict[str, int] = {}  # name -> position after which no statement mentions it
        self._position = 0
        self._assigns: list[tuple[set[str], frozenset[str]]] = []
        self._volatile_bases: set[str] = set()
        self.bound: dict[int, set[str]] = {}  # id(statement) -> the names it binds itself
        self._aggregated: dict[tuple[int, int], object] = {}
        top = list(root.body) if isinstance(root, (cst.IndentedBlock, cst.Module)) else [root]
        ends: list[int] = []
        for statement in top:
            self._statement(statement, None, None)
            ends.append(self._position)
        by_last: dict[int, list[str]] = {}
        for name, last in self._last.items():
            by_last.setdefault(last, []).append(name)
        for last, names in by_last.items():
            k = bisect.bisect_left(ends, last)
            if k < len(top):
                self.expiry.setdefault(id(top[k]), []).extend(names)
        self.tracked = self._tracked()

    def _statement(self, node: cst.CSTNode, parent: Optional[int], loop: Optional[set[str]]) -> None:
        key = id(node)
        self.nodes[key] = node
        if parent is not None:
            self.parent[key] = parent
        self._position += 1
        outermost = loop is None and isinstance(node, (cst.For, cst.While))
        mentions: Optional[set[str]] = set() if outermost else loop
        header = _Header(self, node)
        visit(node, header, self.memo)
        if header.bound:
            self.bound[key] = header.bound
        if mentions is not None:
            mentions |= header.names
        else:
            for name in header.names:
                self._last[name] = self._position
        for child in header.statements:
            self._statement(child, key, mentions)
        if header.grad:
            s: Optional[int] = key
            while s is not None and s not in self.needs_grad:
                self.needs_grad.add(s)
                s = self.parent.get(s)
        if outermost and mentions is not None:
            # read again on the next iteration: alive to the end of the outermost loop
            for name in mentions:
                self._last[name] = max(self._last.get(name, 0), self._position)

    def _tracked(self) -> set[str]:
        tracked = set(self._volatile_bases)
        changed = bool(tracked)
        while changed:
            changed = False
            for targets, sources in self._assigns:
                if targets & tracked and not sources <= tracked:
                    tracked |= sources
                    changed = True
        return tracked

    def index_in(self, block: Block) -> dict[int, int]:
        found = self._indexes.get(id(block))
        if found is None:
            found = self._indexes[id(block)] = {id(s): i for i, s in enumerate(block.body)}
        return found

    def has(self, key: int, flagged: set[int]) -> bool:
        """`key` or a statement under it is in `flagged`."""
        cache = self._aggregated.get((id(flagged), 0))
        if cache is None:
            up: set[int] = set()
            for k in flagged:
                s: Optional[int] = k
                while s is not None and s not in up:
                    up.add(s)
                    s = self.parent.get(s)
            self._aggregated[(id(flagged), 0)] = cache = up
        return key in cache  # type: ignore[operator]

    def names_under(self, key: int, table: dict[int, set[str]]) -> set[str]:
        """The names the statements at and under `key` have in `table`."""
        cache = self._aggregated.get((id(table), 1))
        if cache is None:
            out: dict[int, set[str]] = {}
            for k, names in table.items():
                s: Optional[int] = k
                while s is not None:
                    out.setdefault(s, set()).update(names)
                    s = self.parent.get(s)
            self._aggregated[(id(table), 1)] = cache = out
        return cache.get(key, set())  # type: ignore[attr-defined,no-any-return]


class _Header(cst.CSTVisitor):
    """The parts of a statement that belong to it (not to the statements nested in it): names,
    sources, autograd calls, assignments; the nested statements are collected for the walk."""

    def __init__(self, pre: Prepass, statement: cst.CSTNode) -> None:
        super().__init__()
        self.pre = pre
        self.top = statement
        self.statements: list[cst.CSTNode] = []
        self.names: set[str] = set()
        self.bound: set[str] = set()
        self.grad = False
        if isinstance(statement, cst.For):
            self.bound |= target_names(statement.target)

    def _nested(self, node: cst.CSTNode) -> bool:
        """A statement below the one this header belongs to: walked on its own."""
        if node is self.top:
            return True
        self.statements.append(node)
        return False

    def _closure(self, node: cst.CSTNode, body: cst.CSTNode) -> None:
        # a closure (or a class body) may read these at any later time
        names = _all_names(self.pre.memo, body)
        self.pre.closure_reads |= names
        for name in names:
            self.pre._last[name] = 1 << 60

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        return self._nested(node)

    def visit_If(self, node: cst.If) -> bool:
        return self._nested(node)

    def visit_For(self, node: cst.For) -> bool:
        return self._nested(node)

    def visit_While(self, node: cst.While) -> bool:
        return self._nested(node)

    def visit_With(self, node: cst.With) -> bool:
        return self._nested(node)

    def visit_Try(self, node: cst.Try) -> bool:
        return self._nested(node)

    def visit_TryStar(self, node: cst.TryStar) -> bool:
        return self._nested(node)

    def visit_Match(self, node: cst.Match) -> bool:
        return self._nested(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        if node is not self.top:
            self.statements.append(node)
            return False
        self._closure(node, node)
        self.names.add(node.name.value)
        self.bound.add(node.name.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return self.visit_FunctionDef(node)  # type: ignore[arg-type]

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self._closure(node, node)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_Call(self, node: cst.Call) -> None:
        mark = self.pre.marks.get(id(node))
        if mark is not None:
            self.pre.marks_seen.append(mark)
        func = node.func
        if isinstance(func, cst.Attribute):
            name = func.attr.value
            if name in _GRAD_METHODS:
                self.grad = True
            elif name == "step" and (not node.args or "optim" in self.pre.ctx.code(func.value).lower()):
                self.grad = True
        if self.pre.ctx.imports.qualified(func) in _GRAD_FUNCTIONS:
            self.grad = True

    def visit_Yield(self, node: cst.Yield) -> None:
        # A generator suspended inside `with torch.no_grad():` leaves grad mode off in its caller
        # until it resumes: no scope may hold a suspension point.
        self.grad = True

    def visit_Await(self, node: cst.Await) -> None:
        self.grad = True

    def visit_Assign(self, node: cst.Assign) -> None:
        if id(node) in self.pre.writes:
            self.pre.writes_seen.append(id(node))
        targets: set[str] = set()
        for t in node.targets:
            targets |= {n for n in target_names(t.target)}
        self.bound |= targets
        if targets:
            self.pre._assigns.append((targets, reads(self.pre.memo, node.value, True)))

    def visit_AsName(self, node: cst.AsName) -> None:
        if isinstance(node.name, cst.BaseExpression):
            self.bound |= target_names(node.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.bound |= target_names(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.bound |= target_names(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.bound |= target_names(node.target)
        if isinstance(node.target, cst.Name):
            self.pre._assigns.append(({node.target.value}, reads(self.pre.memo, node.value, True)))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "volatile" and isinstance(node.value, cst.Name):
            self.pre._volatile_bases.add(node.value.value)


def _all_names(memo: FileMemo, node: cst.CSTNode) -> frozenset[str]:
    return reads(memo, node, False)

