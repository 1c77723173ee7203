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

from collections.abc import Sequence
from typing import Union

import libcst as cst

from .flow_state import (
    CAP,
    MOVES,
    SOME,
    STORING_METHODS,
    UNBOUND,
    Cut,
    Facts,
    Kind,
    Loop,
    Source,
    State,
    VolatileRead,
    suite_statements,
)
from .flow_values import FlowValues
from .graph_reads import reads
from .nodes import is_no_grad_block, literal_bool
from .torch_nodes import iterates_parameters

__all__ = ["CAP", "SOME", "Cut", "Facts", "Flow", "Kind", "Source", "State", "VolatileRead", "suite_statements"]


class Flow(FlowValues):
    """The one pass over a body (a function's, or the module's) for all its sources: statements,
    blocks, branches and loops (expressions and bindings: `FlowValues`, flow_values.py)."""

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
                    self._bind(item.asname.name, graph, loose, st, UNBOUND)
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
            self._bind(node.name, frozenset(), frozenset(), st, UNBOUND)
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
            kind = (Kind.LEAF | Kind.NONVOL) if iterates_parameters(node.iter) else UNBOUND
            if iter_graph:
                kind = Kind.VOL | Kind.OP
        for _ in range(20):
            if isinstance(node, cst.While):
                self._expr(node.test, node, head)
            frame = Loop()
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
                prev = st.kinds.get(node.target.value, UNBOUND)
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
            self._bind(node.target, frozenset(), frozenset(), st, UNBOUND)
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
            while isinstance(item, cst.Call) and isinstance(item.func, cst.Attribute) and item.func.attr.value in MOVES \
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
        if not inplace and method not in STORING_METHODS:
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
            kind = st.kinds.get(name, UNBOUND) if name is not None else UNBOUND
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

