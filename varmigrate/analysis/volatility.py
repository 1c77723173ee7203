"""How volatile values flow through a function (or module) body, for every volatile source of
it in one pass (SEMANTICS.md C and "The reference is 0.3": 0.3 volatility followed the data flow).

A *source* is a `Variable(x, volatile=...)` call, a call of a helper that hands its flag to one
(`to_var(x, volatile=True)`), or an `x.volatile = True` statement. `Flow` walks the body once:
each name maps to the sources whose value it holds (a re-assignment ends a live range, branches
join, loops iterate to a fixed point), and per source it records the statements that operate on
the value (`uses`), the statements that read anything derived from it through `.data`/`.item()`
(`loose_uses`), whether it escapes (stored on an object, yielded, bound to a `global`) or has its
autograd state inspected, and the `x.volatile = False` statements it reaches (`cuts`).

Why cuts matter: 0.3 refused to differentiate through a volatile value (any result computed
from one was volatile, and `backward` on it raised), so in a program that ran on 0.3 the
computation of a volatile value reached a gradient only through `x.volatile = False`, which made
`x` a constant. Modern torch ignores the flag and builds the graph: the gradient then leaks
through `x`. Everything else a volatile value does is the same on both.

For the names a `.volatile` attribute is read or written on (and the names they are computed
from), the flow also keeps what kind of value each definition gave them (`Kind`), which decides
how `x.volatile = False` is rewritten (volatile_scope.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Optional, Union

import libcst as cst

from ..tree.memo import FileMemo
from ..tree.walk import visit
from .graph_reads import (
    AUTOGRAD_ATTRIBUTES,
    MARK,
    Marks,
    expression_reads,
    integral,
    reads,
    target_names,
)
from .imports import ImportTracker
from .nodes import is_no_grad_block, literal_bool
from .torch_api import FRESH_TENSOR_CALLS, REQUIRES_GRAD_FACTORIES
from .torch_nodes import iterates_parameters

_MOVES = {"cuda", "cpu", "to", "float", "double", "half", "long", "int", "type", "contiguous"}
_STORING_METHODS = {"append", "extend", "insert", "add", "put", "update", "setdefault", "__setitem__"}
# A set of sources this large stops being followed one by one (an accumulator that every source
# of a long script flows into): its sources are `Facts.overflow`, and it stands for "some".
CAP = 24
SOME = -1


class Kind:
    """What a definition gives a name (bit flags, joined by `|` where paths meet)."""

    VOL = 1  # computed from a volatile source
    FREE = 2  # cannot carry a graph: a fresh tensor, `.data`/`.detach()`, a constant, under no_grad
    OP = 4  # the result of an operation (a call, arithmetic, indexing)
    LEAF = 8  # may be a leaf that requires grad (Parameter, requires_grad=True, .parameters())
    UNKNOWN = 16  # from outside the body (a parameter, an attribute, a global, a bare copy of one)
    ALIAS = 32  # another name or a container may hold the same tensor
    NONVOL = 64  # not computed from a volatile source of this body
    OUTSIDE = 128  # computed from a value from outside (that may have been volatile there)


_UNBOUND = Kind.UNKNOWN | Kind.NONVOL | Kind.OUTSIDE


def suite_statements(suite: cst.CSTNode) -> list[cst.CSTNode]:
    """The statements of a block; a one-line suite (`if x: y = 1`) is one statement."""
    if isinstance(suite, (cst.IndentedBlock, cst.Module)):
        return list(suite.body)
    return [suite]


@dataclass
class Source:
    index: int
    node: cst.CSTNode  # the call, or the `x.volatile = True` Assign
    kind: str  # "variable" | "helper" | "write"
    flag: Optional[cst.BaseExpression]  # the flag expression (None for a write)


@dataclass
class Cut:
    """An `x.volatile = False` statement a volatile value may reach."""

    line: cst.SimpleStatementLine
    assign: cst.Assign
    name: Optional[str]  # `x` for a plain name
    sources: frozenset[int] = frozenset()
    kind: int = 0


@dataclass
class VolatileRead:
    node: cst.Attribute
    name: Optional[str]
    sources: frozenset[int] = frozenset()
    kind: int = 0


@dataclass
class Facts:
    uses: set[int] = field(default_factory=set)  # ids of statements that operate on the value
    loose_uses: set[int] = field(default_factory=set)  # ids of statements that read anything derived
    ever: set[str] = field(default_factory=set)  # names that ever held it
    cuts: set[int] = field(default_factory=set)  # ids of the Cut assigns it reaches
    escapes: bool = False
    inspects: bool = False
    overflow: bool = False


@dataclass
class State:
    graph: dict[str, frozenset[int]] = field(default_factory=dict)
    loose: dict[str, frozenset[int]] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)

    def copy(self) -> State:
        return State(dict(self.graph), dict(self.loose), dict(self.kinds))

    def join(self, other: State) -> State:
        return State(_join(self.graph, other.graph), _join(self.loose, other.loose),
                     _join_kinds(self.kinds, other.kinds))


def _join(a: dict[str, frozenset[int]], b: dict[str, frozenset[int]]) -> dict[str, frozenset[int]]:
    if not b:
        return dict(a)
    out = dict(a)
    for k, v in b.items():
        old = out.get(k)
        out[k] = v if old is None or old is v else _capped(old | v)
    return out


def _join_kinds(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, _UNBOUND) | v
    for k in a:
        if k not in b:
            out[k] = a[k] | _UNBOUND
    return out


_SOME = frozenset({SOME})


def _capped(s: frozenset[int]) -> frozenset[int]:
    return s if len(s) <= CAP else _SOME


@dataclass
class _Loop:
    exits: list[State] = field(default_factory=list)  # states at `break`
    nexts: list[State] = field(default_factory=list)  # states at `continue`


class Flow:
    """The one pass over a body (a function's, or the module's) for all its sources."""

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
        self.loops: list[_Loop] = []
        self._modules = set(imports.bindings) | set(imports.local_defs)
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
        return _capped(found) if len(found) > CAP else found

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
        return _SOME

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
        if (graph or loose) and not _plain(node):
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
            st.kinds[name] = (st.kinds.get(name, _UNBOUND) & ~Kind.NONVOL) | kind

    def _kind(self, value: cst.BaseExpression, graph: frozenset[int], st: State) -> int:
        """The kind of value `value` gives the names it is bound to (a bare name copy marks its
        source as aliased in `st`)."""
        if isinstance(value, cst.Name) and value.value not in ("True", "False", "None"):
            source = value.value
            kind = st.kinds.get(source, _UNBOUND) | Kind.ALIAS
            if source in st.kinds:
                st.kinds[source] |= Kind.ALIAS
            return (kind & ~Kind.NONVOL) | Kind.VOL if graph else kind
        kind = _shape(self.imports, value)
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
        if isinstance(value, cst.BaseExpression) and _shape(self.imports, value) & Kind.FREE:
            return False
        return not integral(self.memo, value)

    # -- statements ----------------------------------------------------------------------------
    def block(self, statements: Sequence[cst.CSTNode], st: State) -> State:
        expiry = self.expiry
        for statement in statements:
            st = self.statement(statement, st)
            dead = expiry.get(id(statement))
            if dead:  # names no later statement reads: their values can do nothing more
                for name in dead:
                    st.graph.pop(name, None)
                    st.loose.pop(name, None)
        return st

    def statement(self, node: cst.CSTNode, st: State) -> State:
        if isinstance(node, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            self.independent.pop(id(node), None)  # the last (largest-state) visit decides
            self.independent_escapes.discard(id(node))
            for small in node.body:
                st = self.small(small, node, st)
            return st
        if isinstance(node, cst.If):
            self._expr(node.test, node, st)
            body = self.block(suite_statements(node.body), st.copy())
            other = self.statement(node.orelse, st.copy()) if node.orelse is not None else st
            return body.join(other)
        if isinstance(node, cst.Else):
            return self.block(suite_statements(node.body), st)
        if isinstance(node, (cst.For, cst.While)):
            return self._loop(node, st)
        if isinstance(node, cst.With):
            no_grad = is_no_grad_block(node, self.imports)
            for item in node.items:
                graph, loose = self._expr(item.item, node, st)
                if item.asname is not None:
                    self._bind(item.asname.name, graph, loose, st, _UNBOUND)
            self.no_grad += no_grad
            try:
                return self.block(suite_statements(node.body), st)
            finally:
                self.no_grad -= no_grad
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            for decorator in node.decorators:
                self._expr(decorator.decorator, node, st)
            if isinstance(node, cst.FunctionDef):
                for param in (*node.params.params, *node.params.kwonly_params, *node.params.posonly_params):
                    self._expr(param.default, node, st)
            self._bind(node.name, frozenset(), frozenset(), st, _UNBOUND)
            return st
        if isinstance(node, cst.Try):
            out = self.block(suite_statements(node.body), st.copy())
            self.nokill += 1  # an exception may leave the body anywhere
            anywhere = self.block(suite_statements(node.body), st.copy()).join(st)
            self.nokill -= 1
            result = self.block(suite_statements(node.orelse.body), out) if node.orelse else out
            for handler in node.handlers:
                self._expr(handler.type, handler, anywhere)
                result = result.join(self.block(suite_statements(handler.body), anywhere.copy()))
            if node.finalbody is not None:
                result = self.block(suite_statements(node.finalbody.body), result.join(anywhere))
            return result
        # Anything else (match, try*): every path, nothing killed.
        self.nokill += 1
        result = st.copy()
        for _ in range(10):
            before = result.copy()
            for child in node.children:
                if isinstance(child, cst.BaseSuite):
                    result = result.join(self.block(suite_statements(child), result.copy()))
                elif isinstance(child, cst.BaseExpression):
                    self._expr(child, node, result)
            if result == before:
                break
        self.nokill -= 1
        return result

    def _loop(self, node: Union[cst.For, cst.While], entry: State) -> State:
        head = entry.copy()
        exits: list[State] = []
        iter_graph: frozenset[int] = frozenset()
        iter_loose: frozenset[int] = frozenset()
        if isinstance(node, cst.For):
            iter_graph, iter_loose = self._expr(node.iter, node, entry)
            kind = (Kind.LEAF | Kind.NONVOL) if iterates_parameters(node.iter) else _UNBOUND
            if iter_graph:
                kind = Kind.VOL | Kind.OP
        for _ in range(20):
            if isinstance(node, cst.While):
                self._expr(node.test, node, head)
            frame = _Loop()
            self.loops.append(frame)
            st = head.copy()
            if isinstance(node, cst.For):
                self._bind(node.target, iter_graph, iter_loose, st, kind)
            out = self.block(suite_statements(node.body), st)
            self.loops.pop()
            exits = frame.exits
            new_head = entry
            for s in (head, out, *frame.nexts):
                new_head = new_head.join(s)
            if new_head == head:
                break
            head = new_head
        result = self.block(suite_statements(node.orelse.body), head.copy()) if node.orelse is not None else head
        for s in exits:
            result = result.join(s)
        return result

    def small(self, node: cst.BaseSmallStatement, line: cst.CSTNode, st: State) -> State:
        if isinstance(node, (cst.Assign, cst.AnnAssign)):
            if isinstance(node, cst.Assign) and self._volatile_write(node, line, st):
                return st
            if node.value is None:
                return st
            self._expr(node.value, line, st)
            targets: list[cst.BaseExpression] = [t.target for t in node.targets] if isinstance(node, cst.Assign) \
                else [node.target]
            if all(isinstance(t, (cst.Name, cst.Tuple, cst.List)) for t in targets) and self._bare(node.value):
                self.binding_statements.add(id(line))
            bindings: list[tuple[cst.BaseExpression, frozenset[int], frozenset[int], int, cst.BaseExpression]] = []
            for target in targets:
                if isinstance(target, (cst.Attribute, cst.Subscript)):
                    self._expr(target, line, st)
                self._assign(target, node.value, line, st, bindings)
            for target, graph, loose, kind, value in bindings:
                self._bind(target, graph, loose, st, kind)
                if not graph:
                    self._independent(line, target, value)
        elif isinstance(node, cst.AugAssign):
            # `t += v` is an operation on `t` too.
            self._expr(cst.BinaryOperation(left=node.target, operator=cst.Add(), right=node.value), line, st)
            graph = self._of(reads(self.memo, node.value, True, self.marks), st.graph)
            loose = self._of(reads(self.memo, node.value, False, self.marks), st.loose)
            graph = self._overflowing(graph, self._of(reads(self.memo, node.target, True), st.graph))
            loose = self._overflowing(loose, self._of(reads(self.memo, node.target, False), st.loose))
            kind = Kind.OP | (Kind.VOL if graph else Kind.NONVOL)
            if isinstance(node.target, cst.Name):
                prev = st.kinds.get(node.target.value, _UNBOUND)
                kind |= (prev & ~Kind.NONVOL) if graph else prev
                if not graph and self._from_outside(node.value, st):
                    kind |= Kind.OUTSIDE
            self._bind(node.target, graph, loose, st, kind)
            if not graph:
                self._independent(line, node.target, node.value)
        elif isinstance(node, cst.Expr):
            self._expr(node.value, line, st)
            self._call_effects(node.value, line, st)
        elif isinstance(node, cst.Return):
            graph, _ = self._expr(node.value, line, st)
            if node.value is not None and self._bare(node.value):
                self.binding_statements.add(id(line))
            if node.value is not None and not graph and not self.no_grad and self._graph_capable(node.value):
                self.independent_escapes.add(id(line))
        elif isinstance(node, cst.Del):
            self._expr(node.target, line, st)
            self._bind(node.target, frozenset(), frozenset(), st, _UNBOUND)
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

    def _bare(self, value: cst.BaseExpression) -> bool:
        """`value` only makes a source's value (`Variable(x, volatile=True)`, `.cuda()` of one, a
        tuple of such and other plain values): the statement operates on nothing volatile."""
        found = False
        elements = value.elements if isinstance(value, (cst.Tuple, cst.List)) else [cst.Element(value)]
        if isinstance(value, cst.IfExp):
            return self._bare(value.body) and self._bare(value.orelse)
        for element in elements:
            item = element.value
            while isinstance(item, cst.Call) and isinstance(item.func, cst.Attribute) and item.func.attr.value in _MOVES \
                    and id(item) not in self.marks:
                item = item.func.value
            if isinstance(item, cst.Call) and id(item) in self.marks:
                found = True
            elif not isinstance(item, (cst.Name, cst.Subscript, cst.Attribute, cst.Call)) or \
                    self._of(reads(self.memo, item, True, self.marks), {}) or not isinstance(element, cst.Element):
                return False
        return found

    def _call_effects(self, call: cst.BaseExpression, line: cst.CSTNode, st: State) -> None:
        """`acc.add_(v)`: an in-place op makes its receiver carry the value; `values.append(v)`
        puts it in a local container."""
        if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
                and isinstance(call.func.value, cst.Name) and call.args):
            return
        method = call.func.attr.value
        receiver = call.func.value.value
        inplace = method.endswith("_") and not method.startswith("_")
        if not inplace and method not in _STORING_METHODS:
            return
        args = cst.Tuple([cst.Element(a.value) for a in call.args])
        graph = self._of(reads(self.memo, args, True, self.marks), st.graph)
        loose = self._of(reads(self.memo, args, False, self.marks), st.loose)
        local = receiver not in self.params and receiver not in self.declared
        if graph:
            if inplace or local:
                self._add(receiver, graph, st, Kind.VOL | Kind.OP)
            if not inplace:
                for name in reads(self.memo, args, True):
                    if name in st.kinds:
                        st.kinds[name] |= Kind.ALIAS
                if not local:
                    for facts in self._facts(graph):
                        facts.escapes = True
        else:
            if loose:
                st.loose[receiver] = self._overflowing(st.loose.get(receiver, frozenset()), loose)
            if not self.no_grad and self._graph_capable(args):
                if inplace or local:
                    self.independent.setdefault(id(line), set()).add(receiver)
                else:
                    self.independent_escapes.add(id(line))

    def _volatile_write(self, node: cst.Assign, line: cst.CSTNode, st: State) -> bool:
        """`x.volatile = True` (a source) and `x.volatile = False` (a cut)."""
        if len(node.targets) != 1:
            return False
        target = node.targets[0].target
        if not (isinstance(target, cst.Attribute) and target.attr.value == "volatile"):
            return False
        flag = literal_bool(node.value)
        base = target.value
        name = base.value if isinstance(base, cst.Name) else None
        if name is None:
            self._expr(base, line, st)
        if id(node) in self.writes and name is not None:
            index = self.writes[id(node)]
            if name in self.params or name in self.declared:
                self.facts[index].escapes = True  # the caller's tensor became volatile
            self._add(name, frozenset({index}), st, Kind.VOL)
            if name in self.tracked:
                st.kinds[name] &= ~Kind.NONVOL
            return True
        if flag is False and isinstance(line, cst.SimpleStatementLine):
            sources = st.graph.get(name, frozenset()) if name is not None else \
                self._of(reads(self.memo, base, True, self.marks), st.graph)
            kind = st.kinds.get(name, _UNBOUND) if name is not None else _UNBOUND
            cut = self.cuts.get(id(node))
            if cut is None:
                cut = self.cuts[id(node)] = Cut(line, node, name)
            cut.sources = self._overflowing(cut.sources, sources)
            cut.kind |= kind
            for facts in self._facts(sources):
                facts.cuts.add(id(node))
            if name is not None and not self.nokill:
                st.graph.pop(name, None)  # 0.3: a constant from here on
                st.loose.pop(name, None)
                if name in self.tracked:
                    st.kinds[name] = Kind.FREE | Kind.NONVOL | (kind & Kind.ALIAS)
            return True
        return False

    def record_read(self, node: cst.Attribute, st: State) -> None:
        base = node.value
        name = base.value if isinstance(base, cst.Name) else None
        sources = st.graph.get(name, frozenset()) if name is not None else \
            self._of(reads(self.memo, base, True, self.marks), st.graph)
        kind = st.kinds.get(name, _UNBOUND) if name is not None else _UNBOUND
        read = self.volatile_reads.get(id(node))
        if read is None:
            read = self.volatile_reads[id(node)] = VolatileRead(node, name)
        read.sources = self._overflowing(read.sources, sources)
        read.kind |= kind


def _shape(imports: ImportTracker, value: cst.BaseExpression) -> int:
    """The kind of value an expression gives, from its form alone (NONVOL included)."""
    n = Kind.NONVOL
    if isinstance(value, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString,
                          cst.FormattedString, cst.List, cst.Tuple, cst.Dict, cst.Set, cst.ListComp,
                          cst.DictComp, cst.SetComp, cst.Comparison)):
        return Kind.FREE | n
    if isinstance(value, cst.Name):
        if value.value in ("True", "False", "None"):
            return Kind.FREE | n
        return Kind.UNKNOWN | n
    if isinstance(value, cst.Attribute):
        if value.attr.value in ("data", "grad", "shape"):
            return Kind.FREE | n
        return Kind.UNKNOWN | n
    if isinstance(value, cst.Subscript):
        inner = _shape(imports, value.value)
        if inner & Kind.FREE:
            return Kind.FREE | n
        return (Kind.OP if inner & Kind.OP else Kind.UNKNOWN) | n
    if isinstance(value, cst.Call):
        func = value.func
        q = imports.qualified(func)
        if q is not None:
            if q == "torch.autograd.Variable":
                rg = next((a for a in value.args if a.keyword is not None and a.keyword.value == "requires_grad"),
                          value.args[1] if len(value.args) > 1 and value.args[1].keyword is None else None)
                return (Kind.FREE if rg is None or literal_bool(rg.value) is False else Kind.LEAF) | n
            if q == "torch.nn.Parameter":
                return Kind.LEAF | n
            if q in REQUIRES_GRAD_FACTORIES:
                rg = next((a for a in value.args if a.keyword is not None and a.keyword.value == "requires_grad"), None)
                return (Kind.FREE if rg is None or literal_bool(rg.value) is False else Kind.LEAF) | n
            if q in FRESH_TENSOR_CALLS:
                return Kind.FREE | n
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method == "requires_grad_":
                return Kind.LEAF | n
            if method == "detach" or method.startswith("new") or method in ("item", "tolist", "numpy"):
                return Kind.FREE | n
        return Kind.OP | n
    if isinstance(value, (cst.BinaryOperation, cst.UnaryOperation, cst.BooleanOperation, cst.IfExp)):
        return Kind.OP | n
    return Kind.UNKNOWN | n


def _plain(node: cst.CSTNode) -> bool:
    """A name, or a tuple of names: evaluating it operates on nothing."""
    if isinstance(node, cst.Name):
        return True
    return isinstance(node, (cst.Tuple, cst.List)) and all(isinstance(e.value, cst.Name) for e in node.elements)


class _Inner(cst.CSTVisitor):
    """Escapes, autograd inspections, `.volatile` reads and walrus bindings inside one evaluated
    expression of `Flow`."""

    def __init__(self, walk: Flow, st: State) -> None:
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
        if isinstance(func, cst.Attribute) and func.attr.value in _STORING_METHODS and \
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
