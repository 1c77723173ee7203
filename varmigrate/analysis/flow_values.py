"""Expressions and bindings of the volatile flow (`FlowValues`, the base of `Flow` in
volatility.py): which sources a value carries, what a binding does to a name, and the escapes,
inspections and `.volatile` reads inside one evaluated expression."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Optional

import libcst as cst

from ..tree.memo import FileMemo
from ..tree.walk import visit
from .flow_state import (
    CAP,
    SOME,
    SOME_SET,
    STORING_METHODS,
    UNBOUND,
    Cut,
    Facts,
    Kind,
    Loop,
    Source,
    State,
    VolatileRead,
    capped,
    plain,
    shape_kind,
)
from .graph_reads import AUTOGRAD_ATTRIBUTES, MARK, Marks, expression_reads, integral, reads, target_names
from .imports import ImportTracker


class FlowValues:
    """The state of the one pass over a body (a function's, or the module's) for all its sources,
    and how expressions and bindings change it (the statements are in `Flow`)."""

    def __init__(self, memo: FileMemo, imports: ImportTracker, marks: Marks, sources: Sequence[Source],
                 writes: dict[int, int], tracked: set[str], params: Iterable[str] = ()) -> None:
        self.memo = memo
        self.imports = imports
        self.marks = marks
        self.sources = sources
        self.writes = writes  # id(Assign of `x.volatile = True`) -> source index
        self.tracked = tracked  # names whose kinds are kept
        self.facts = {s.index: Facts() for s in sources}
        self.some = Facts()  # what the sources of an overflowed set do together
        self.cuts: dict[int, Cut] = {}
        self.volatile_reads: dict[int, VolatileRead] = {}
        # id(statement) -> names it binds from values that may carry a graph and come from no
        # volatile source (a `no_grad` scope over it would drop that graph); the last visit decides.
        self.independent: dict[int, set[str]] = {}
        # id(statement) -> it stores such a value (on an object, in a container, or returns it).
        self.independent_escapes: set[int] = set()
        self.declared: set[str] = set()  # `global`/`nonlocal` names
        self.binding_statements: set[int] = set()  # `x = Variable(t, volatile=True)`: binds a source, nothing more
        self.expiry: dict[int, list[str]] = {}  # id(statement of the body) -> names never read after it
        self.params = set(params)
        self.nokill = 0
        self.no_grad = 0
        self.loops: list[Loop] = []
        # Imported names and the file's own functions and classes: reading them builds no graph
        # (an assigned name, `y = net(x)`, may hold one: not in here).
        self._modules = set(imports.bindings) | imports.definitions
        self.no_grad_statements: set[int] = set()  # ids of statements inside a `no_grad` block

    # -- sources and their facts ------------------------------------------------------------
    def _of(self, names: frozenset[str], table: dict[str, frozenset[int]]) -> frozenset[int]:
        found: frozenset[int] = frozenset()
        for name in names:
            got = table.get(name)
            if got is not None:
                found = found | got if found else got
            elif name[:1] == MARK:
                found = found | {int(name[1:])}
        return capped(found) if len(found) > CAP else found

    def _facts(self, sources: frozenset[int]) -> Iterable[Facts]:
        if SOME in sources:
            yield self.some
            return
        for s in sources:
            yield self.facts[s]

    def _overflowing(self, a: frozenset[int], b: frozenset[int]) -> frozenset[int]:
        joined = a | b
        if len(joined) <= CAP:
            return joined
        for s in joined:
            if s != SOME:
                self.facts[s].overflow = True
        return SOME_SET

    # -- expressions ---------------------------------------------------------------------------
    def _expr(self, node: Optional[cst.CSTNode], owner: cst.CSTNode, st: State) -> tuple[frozenset[int], frozenset[int]]:
        """Visit an evaluated expression of statement `owner`: the sources its value carries
        (through a graph, and at all)."""
        if node is None:
            return frozenset(), frozenset()
        memo = self.memo
        r = expression_reads(memo, node, self.marks)
        loose = self._of(r.every, st.loose)
        graph = self._of(r.graph, st.graph)
        if (graph or loose) and not plain(node):
            ops = self._of(r.ops, st.graph)
            if not self.no_grad:
                for facts in self._facts(ops):
                    facts.uses.add(id(owner))
                for facts in self._facts(loose):
                    facts.loose_uses.add(id(owner))
        if graph or loose or r.walks:
            visit(node, _Inner(self, st), memo)
        return graph, loose

    def _bind(self, target: cst.BaseExpression, graph: frozenset[int], loose: frozenset[int], st: State,
              kind: int) -> None:
        if isinstance(target, cst.Subscript):
            base = target.value
            # 0.3: `a[mask] = v` makes `a` volatile (its __setitem__ is an in-place op on `a`).
            if isinstance(base, cst.Name):
                if graph:
                    self._add(base.value, graph, st, Kind.VOL | Kind.OP)
                if loose:
                    st.loose[base.value] = self._overflowing(st.loose.get(base.value, frozenset()), loose)
                return
            if graph:
                for facts in self._facts(graph):
                    facts.escapes = True
            return
        if isinstance(target, cst.Attribute):
            if graph:
                for facts in self._facts(graph):
                    facts.escapes = True  # stored on an object
            return
        for name in target_names(target):
            if graph:
                st.graph[name] = graph
                for facts in self._facts(graph):
                    facts.ever.add(name)
            elif not self.nokill:
                st.graph.pop(name, None)
            both = graph | loose if graph and loose else graph or loose
            if both:
                st.loose[name] = both
            elif not self.nokill:
                st.loose.pop(name, None)
            if name in self.tracked:
                st.kinds[name] = (st.kinds.get(name, 0) | kind) if self.nokill else kind

    def _add(self, name: str, graph: frozenset[int], st: State, kind: int) -> None:
        """`name` now also carries `graph` (an in-place op, an item assignment)."""
        st.graph[name] = self._overflowing(st.graph.get(name, frozenset()), graph)
        st.loose[name] = self._overflowing(st.loose.get(name, frozenset()), graph)
        for facts in self._facts(graph):
            facts.ever.add(name)
        if name in self.tracked:
            st.kinds[name] = (st.kinds.get(name, UNBOUND) & ~Kind.NONVOL) | kind

    def _kind(self, value: cst.BaseExpression, graph: frozenset[int], st: State) -> int:
        """The kind of value `value` gives the names it is bound to (a bare name copy marks its
        source as aliased in `st`)."""
        if isinstance(value, cst.Name) and value.value not in ("True", "False", "None"):
            source = value.value
            kind = st.kinds.get(source, UNBOUND) | Kind.ALIAS
            if source in st.kinds:
                st.kinds[source] |= Kind.ALIAS
            return (kind & ~Kind.NONVOL) | Kind.VOL if graph else kind
        kind = shape_kind(self.imports, value)
        if graph:
            kind = (kind & ~(Kind.NONVOL | Kind.UNKNOWN)) | Kind.VOL
            if not kind & (Kind.FREE | Kind.LEAF):
                kind |= Kind.OP
        elif kind & Kind.OP and self._from_outside(value, st):
            kind |= Kind.OUTSIDE
        if self.no_grad and kind & Kind.OP:
            kind = (kind & ~Kind.OP) | Kind.FREE  # an operation under no_grad records nothing
        return kind

    def _from_outside(self, value: cst.BaseExpression, st: State) -> bool:
        for name in reads(self.memo, value, True):
            if name in self._modules or name in ("self", "cls", "True", "False", "None"):
                continue
            kind = st.kinds.get(name)
            if kind is None or kind & (Kind.UNKNOWN | Kind.OUTSIDE):
                return True
        return False

    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression, line: cst.CSTNode, st: State,
                out: list[tuple[cst.BaseExpression, frozenset[int], frozenset[int], int, cst.BaseExpression]]) -> None:
        """What binding `value` to `target` does, evaluated against `st` (bound later by the
        caller, so that every right-hand side reads the state before the statement)."""
        # `a, b = Variable(x, volatile=True), Variable(y)`: element by element.
        if (isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List))
                and len(target.elements) == len(value.elements)
                and not any(isinstance(e, cst.StarredElement) for e in (*target.elements, *value.elements))):
            for t, v in zip(target.elements, value.elements):
                self._assign(t.value, v.value, line, st, out)
            return
        graph = self._of(reads(self.memo, value, True, self.marks), st.graph)
        loose = self._of(reads(self.memo, value, False, self.marks), st.loose)
        out.append((target, graph, loose, self._kind(value, graph, st), value))

    def _independent(self, line: cst.CSTNode, target: cst.BaseExpression, value: cst.CSTNode) -> None:
        """A value computed from other inputs may be a graph that something later differentiates:
        a `no_grad` scope over `line` would lose it."""
        if self.no_grad or not self._graph_capable(value):
            return
        if isinstance(target, (cst.Attribute, cst.Subscript)) and not (
                isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name)):
            self.independent_escapes.add(id(line))
            return
        names = target_names(target.value if isinstance(target, cst.Subscript) else target)
        if names:
            self.independent.setdefault(id(line), set()).update(names)

    def _graph_capable(self, value: cst.CSTNode) -> bool:
        names = reads(self.memo, value, True) - {"True", "False", "None"} - self._modules
        if not names:
            return False
        if isinstance(value, cst.BaseExpression) and shape_kind(self.imports, value) & Kind.FREE:
            return False
        return not integral(self.memo, value)

    # -- statements ----------------------------------------------------------------------------
    def record_read(self, node: cst.Attribute, st: State) -> None:
        base = node.value
        name = base.value if isinstance(base, cst.Name) else None
        sources = st.graph.get(name, frozenset()) if name is not None else \
            self._of(reads(self.memo, base, True, self.marks), st.graph)
        kind = st.kinds.get(name, UNBOUND) if name is not None else UNBOUND
        read = self.volatile_reads.get(id(node))
        if read is None:
            read = self.volatile_reads[id(node)] = VolatileRead(node, name)
        read.sources = self._overflowing(read.sources, sources)
        read.kind |= kind



class _Inner(cst.CSTVisitor):
    """Escapes, autograd inspections, `.volatile` reads and walrus bindings inside one evaluated
    expression of `Flow`."""

    def __init__(self, walk: FlowValues, st: State) -> None:
        super().__init__()
        self.walk, self.st = walk, st

    def _sources(self, node: Optional[cst.CSTNode]) -> frozenset[int]:
        # st.graph as of now: a walrus earlier in the expression may have added to it
        return self.walk._of(reads(self.walk.memo, node, True, self.walk.marks), self.st.graph)

    def visit_Attribute(self, n: cst.Attribute) -> None:
        if n.attr.value == "volatile":
            self.walk.record_read(n, self.st)
        elif n.attr.value in AUTOGRAD_ATTRIBUTES:
            for facts in self.walk._facts(self._sources(n.value)):
                facts.inspects = True

    def visit_Call(self, n: cst.Call) -> None:
        func = n.func
        if isinstance(func, cst.Attribute) and func.attr.value in STORING_METHODS and \
                not isinstance(func.value, cst.Name):
            for a in n.args:
                for facts in self.walk._facts(self._sources(a.value)):
                    facts.escapes = True

    def visit_Yield(self, n: cst.Yield) -> None:
        for facts in self.walk._facts(self._sources(n.value)):
            facts.escapes = True

    def visit_NamedExpr(self, n: cst.NamedExpr) -> None:
        g = self._sources(n.value)
        self.walk._bind(n.target, g, g, self.st, Kind.OP | (Kind.VOL if g else Kind.NONVOL))

    def visit_Lambda(self, n: cst.Lambda) -> bool:
        return False  # checked as a closure

    def visit_FunctionDef(self, n: cst.FunctionDef) -> bool:
        return False

