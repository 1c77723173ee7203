"""How a volatile value flows through a function body (SEMANTICS.md C: 0.3 volatility followed the
data flow, `no_grad` is lexical).

`VolatileFlow` propagates, statement by statement, which names hold the value of a volatile call
(or, for the soundness check, values computed independently of it): a re-assignment ends a live
range, branches join, loops iterate to a fixed point. It records the statements that use the value,
and whether the value escapes (returned, stored, yielded) or has its autograd state inspected.
volatile_scope.py turns that into the block a `no_grad` scope may cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional, Union

import libcst as cst

from ..tree.memo import FileMemo
from ..tree.walk import visit
from .graph_reads import (
    AUTOGRAD_ATTRIBUTES,
    CONSTANTS,
    SEED,
    integral,
    op_reads,
    reads,
    target_names,
)

_STORING_METHODS = {"append", "extend", "insert", "add", "put", "update", "setdefault", "__setitem__"}


def suite_statements(suite: cst.BaseSuite) -> list[cst.CSTNode]:
    """The statements of a block; a one-line suite (`if x: y = 1`) is one statement."""
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    return [suite]


@dataclass
class FlowState:
    """Names holding the volatile value (`graph`: in 0.3 they were volatile) and names derived
    from it through `.data`/`.item()` (`loose`: no graph, but still the evaluation's results)."""

    graph: set[str] = field(default_factory=set)
    loose: set[str] = field(default_factory=set)

    def copy(self) -> FlowState:
        return FlowState(set(self.graph), set(self.loose))

    def union(self, other: FlowState) -> FlowState:
        return FlowState(self.graph | other.graph, self.loose | other.loose)


@dataclass
class _Loop:
    exits: list[FlowState] = field(default_factory=list)  # states at `break`
    nexts: list[FlowState] = field(default_factory=list)  # states at `continue`


class VolatileFlow:
    """Flow-sensitive propagation of volatility through a function (or module) body: a
    re-assignment ends a value's live range, branches join, loops iterate to a fixed point (so a
    value is carried to the next iteration only when it is read before being re-assigned).

    The sources are the volatile call `seed`, and (second use, condition 2 of SEMANTICS C) the
    names that statements listed in `generators` bind from values independent of the seed."""

    def __init__(self, memo: FileMemo, seed: Optional[cst.CSTNode],
                 generators: Optional[dict[int, set[str]]] = None) -> None:
        self.memo = memo
        self.seed = seed
        self.generators = generators or {}
        self.uses: set[int] = set()  # ids of statements that operate on a volatile value
        self.loose_uses: set[int] = set()  # ids of statements that read anything derived from it
        self.independent: dict[int, set[str]] = {}  # id -> names bound from graph-building, non-volatile values
        self.ever: set[str] = set()
        self.declared: set[str] = set()  # `global`/`nonlocal` names
        self.escapes = False
        self.inspects = False
        self.nokill = 0
        self.loops: list[_Loop] = []

    # -- expressions ---------------------------------------------------------------------------
    def _expr(self, node: Optional[cst.CSTNode], owner: cst.CSTNode, st: FlowState) -> tuple[bool, bool]:
        """Visit an evaluated expression of statement `owner`; (graph-tainted, loose-tainted) value."""
        if node is None:
            return False, False
        flow = reads(self.memo, node, graph_only=True, seed=self.seed)
        ops = op_reads(self.memo, node, self.seed)
        loose = reads(self.memo, node, graph_only=False, seed=self.seed)
        if ops & (st.graph | {SEED}):
            self.uses.add(id(owner))
        if loose & (st.loose | {SEED}):
            self.loose_uses.add(id(owner))
        visit(node, _Inner(self, st), self.memo)
        return bool(flow & (st.graph | {SEED})), bool(loose & (st.loose | {SEED}))

    def _bind(self, target: cst.BaseExpression, graph: bool, loose: bool, st: FlowState) -> None:
        if isinstance(target, (cst.Attribute, cst.Subscript)):
            if graph:
                self.escapes = True  # stored on an object or in a container
            return
        for name in target_names(target):
            if graph:
                st.graph.add(name)
                self.ever.add(name)
            elif not self.nokill:
                st.graph.discard(name)
            if loose or graph:
                st.loose.add(name)
            elif not self.nokill:
                st.loose.discard(name)

    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression, line: cst.CSTNode, st: FlowState,
                before: FlowState) -> None:
        # `a, b = Variable(x, volatile=True), Variable(y)`: element by element.
        if (isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List))
                and len(target.elements) == len(value.elements)
                and not any(isinstance(e, cst.StarredElement) for e in (*target.elements, *value.elements))):
            for t, v in zip(target.elements, value.elements):
                self._assign(t.value, v.value, line, st, before)
            return
        g, lo = self._taint_of(value, before)
        self._bind(target, g, lo, st)
        if not g:
            self._independent(line, target_names(target), value, before)

    def _taint_of(self, value: cst.CSTNode, st: FlowState) -> tuple[bool, bool]:
        g = bool(reads(self.memo, value, graph_only=True, seed=self.seed) & (st.graph | {SEED}))
        lo = bool(reads(self.memo, value, graph_only=False, seed=self.seed) & (st.loose | {SEED}))
        return g, lo

    def _independent(self, line: cst.CSTNode, names: set[str], value: cst.CSTNode, st: FlowState) -> None:
        # A value computed from other names may be a graph that something later differentiates.
        if names and reads(self.memo, value, graph_only=True) - CONSTANTS and not integral(self.memo, value):
            self.independent.setdefault(id(line), set()).update(names)

    def _generate(self, line: cst.CSTNode, st: FlowState) -> None:
        for name in self.generators.get(id(line), ()):
            st.graph.add(name)
            st.loose.add(name)
            self.ever.add(name)

    # -- statements ----------------------------------------------------------------------------
    def block(self, statements: Sequence[cst.CSTNode], st: FlowState) -> FlowState:
        for statement in statements:
            st = self.statement(statement, st)
        return st

    def statement(self, node: cst.CSTNode, st: FlowState) -> FlowState:
        if isinstance(node, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            self.independent.pop(id(node), None)  # the last (largest-state) visit decides
            for small in node.body:
                st = self.small(small, node, st)
            self._generate(node, st)
            return st
        if isinstance(node, cst.If):
            self._expr(node.test, node, st)
            body = self.block(suite_statements(node.body), st.copy())
            other = self.statement(node.orelse, st.copy()) if node.orelse is not None else st
            return body.union(other)
        if isinstance(node, cst.Else):
            return self.block(suite_statements(node.body), st)
        if isinstance(node, (cst.For, cst.While)):
            return self._loop(node, st)
        if isinstance(node, cst.With):
            for item in node.items:
                g, lo = self._expr(item.item, node, st)
                if item.asname is not None:
                    self._bind(item.asname.name, g, lo, st)
            return self.block(suite_statements(node.body), st)
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            for decorator in node.decorators:
                self._expr(decorator.decorator, node, st)
            if isinstance(node, cst.FunctionDef):
                for param in (*node.params.params, *node.params.kwonly_params, *node.params.posonly_params):
                    self._expr(param.default, node, st)
            self._bind(node.name, False, False, st)
            return st
        if isinstance(node, cst.Try):
            out = self.block(suite_statements(node.body), st.copy())
            self.nokill += 1  # an exception may leave the body anywhere
            anywhere = self.block(suite_statements(node.body), st.copy()).union(st)
            self.nokill -= 1
            result = self.block(suite_statements(node.orelse.body), out) if node.orelse else out
            for handler in node.handlers:
                self._expr(handler.type, handler, anywhere)
                result = result.union(self.block(suite_statements(handler.body), anywhere.copy()))
            if node.finalbody is not None:
                result = self.block(suite_statements(node.finalbody.body), result.union(anywhere))
            return result
        # Anything else (match, try*): every path, nothing killed.
        self.nokill += 1
        result = st.copy()
        for _ in range(10):
            before = result.copy()
            for child in node.children:
                if isinstance(child, (cst.BaseSuite,)):
                    result = result.union(self.block(suite_statements(child), result.copy()))
                elif isinstance(child, cst.BaseExpression):
                    self._expr(child, node, result)
            if result == before:
                break
        self.nokill -= 1
        return result

    def _loop(self, node: Union[cst.For, cst.While], entry: FlowState) -> FlowState:
        head = entry.copy()
        exits: list[FlowState] = []
        if isinstance(node, cst.For):
            iter_g, iter_l = self._expr(node.iter, node, entry)
        for _ in range(20):
            if isinstance(node, cst.While):
                self._expr(node.test, node, head)
            frame = _Loop()
            self.loops.append(frame)
            st = head.copy()
            if isinstance(node, cst.For):
                self._bind(node.target, iter_g, iter_l, st)
            out = self.block(suite_statements(node.body), st)
            self.loops.pop()
            exits = frame.exits
            new_head = entry.copy()
            for s in (head, out, *frame.nexts):
                new_head = new_head.union(s)
            if new_head == head:
                break
            head = new_head
        result = self.block(suite_statements(node.orelse.body), head.copy()) if node.orelse is not None else head
        for s in exits:
            result = result.union(s)
        return result

    def small(self, node: cst.BaseSmallStatement, line: cst.CSTNode, st: FlowState) -> FlowState:
        before = st.copy()
        if isinstance(node, cst.Assign):
            self._expr(node.value, line, st)
            for target in node.targets:
                self._expr(target.target if isinstance(target.target, (cst.Attribute, cst.Subscript)) else None, line, st)
                self._assign(target.target, node.value, line, st, before)
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self._expr(node.value, line, st)
                self._assign(node.target, node.value, line, st, before)
        elif isinstance(node, cst.AugAssign):
            # `t += v` is an operation on `t` too.
            self._expr(cst.BinaryOperation(left=node.target, operator=cst.Add(), right=node.value), line, st)
            g, lo = self._taint_of(node.value, before)
            g = g or bool(reads(self.memo, node.target) & before.graph)
            lo = lo or bool(reads(self.memo, node.target, graph_only=False) & before.loose)
            self._bind(node.target, g, lo, st)
            if not g:
                self._independent(line, target_names(node.target), node.value, before)
        elif isinstance(node, cst.Expr):
            self._expr(node.value, line, st)
            call = node.value
            # `acc.add_(v)`: an in-place op makes its receiver carry the value.
            if (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
                    and isinstance(call.func.value, cst.Name) and call.func.attr.value.endswith("_")):
                args = cst.Tuple([cst.Element(a.value) for a in call.args]) if call.args else None
                if args is not None:
                    receiver = call.func.value
                    g, lo = self._taint_of(args, before)
                    if g:
                        self._bind(receiver, True, True, st)
                    else:
                        if lo:
                            st.loose.add(receiver.value)
                        self._independent(line, {receiver.value}, args, before)
        elif isinstance(node, cst.Return):
            g, _ = self._expr(node.value, line, st)
            if g:
                self.escapes = True
        elif isinstance(node, cst.Del):
            self._expr(node.target, line, st)
            self._bind(node.target, False, False, st)
        elif isinstance(node, (cst.Global, cst.Nonlocal)):
            self.declared |= {n.name.value for n in node.names}
        elif isinstance(node, cst.Break):
            if self.loops:
                self.loops[-1].exits.append(st.copy())
        elif isinstance(node, cst.Continue):
            if self.loops:
                self.loops[-1].nexts.append(st.copy())
        elif isinstance(node, (cst.Raise, cst.Assert)):
            for child in node.children:
                if isinstance(child, cst.BaseExpression):
                    self._expr(child, line, st)
        return st


class _Inner(cst.CSTVisitor):
    """Escapes and autograd inspections inside one evaluated expression of `VolatileFlow`."""

    def __init__(self, walk: VolatileFlow, st: FlowState) -> None:
        super().__init__()
        self.walk, self.st = walk, st

    def _taints(self, node: Optional[cst.CSTNode]) -> bool:
        # st.graph as of now: a walrus earlier in the expression may have added to it
        return bool(reads(self.walk.memo, node, seed=self.walk.seed) & (self.st.graph | {SEED}))

    def visit_Attribute(self, n: cst.Attribute) -> None:
        if n.attr.value in AUTOGRAD_ATTRIBUTES and self._taints(n.value):
            self.walk.inspects = True

    def visit_Call(self, n: cst.Call) -> None:
        func = n.func
        if isinstance(func, cst.Attribute) and func.attr.value in _STORING_METHODS:
            if any(self._taints(a.value) for a in n.args):
                self.walk.escapes = True

    def visit_Yield(self, n: cst.Yield) -> None:
        if self._taints(n.value):
            self.walk.escapes = True

    def visit_NamedExpr(self, n: cst.NamedExpr) -> None:
        g = self._taints(n.value)
        self.walk._bind(n.target, g, g, self.st)

    def visit_Lambda(self, n: cst.Lambda) -> bool:
        return False  # checked as a closure in `_captures`

    def visit_FunctionDef(self, n: cst.FunctionDef) -> bool:
        return False
