from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence, Union

import libcst as cst

from ..context import FileContext
from ..helpers import call_replacement, is_no_grad_block, is_variable, literal_bool, variable_args
from ..rule import Edit, Invalid, Rule, Safety, Valid
from ..walk import per_file, visit as walk_visit

Block = Union[cst.IndentedBlock, cst.Module]
# Reading a value through these gives a plain number or a tensor outside the graph (0.3 `.data`):
# volatility does not flow through them.
_SANITIZING_METHODS = {"item", "tolist", "numpy", "size", "dim", "numel", "data_ptr", "type"}
_SANITIZING_BUILTINS = {"float", "int", "len", "bool", "str", "print", "isinstance", "type"}
_SEED = "<volatile>"
_STORING_METHODS = {"append", "extend", "insert", "add", "put", "update", "setdefault", "__setitem__"}


def drop_argument(call: cst.Call, arg: cst.Arg) -> cst.Call:
    """`call` without `arg`, keeping the commas and line layout of the others."""
    args = list(call.args)
    index = next(i for i, a in enumerate(args) if a is arg)
    del args[index]
    if args and index == len(args):
        # Removed the last argument: the new last one takes its comma (trailing or none).
        args[-1] = args[-1].with_changes(comma=arg.comma, whitespace_after_arg=arg.whitespace_after_arg)
    return call.with_changes(args=args)


class _Reads(cst.CSTVisitor):
    """Names an expression or statement reads; with `graph_only`, not those read through `.data`,
    `.item()`, `float(...)` and the like (no graph is built from them)."""

    def __init__(self, graph_only: bool, seed: Optional[cst.CSTNode] = None) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.graph_only = graph_only
        self.seed = seed

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if self.graph_only and node.attr.value == "data":
            return False
        walk_visit(node.value, self)
        return False  # the attribute name itself is not a read of a variable

    def visit_Call(self, node: cst.Call) -> bool:
        if node is self.seed:
            self.names.add(_SEED)
            return False
        if self.graph_only:
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in _SANITIZING_METHODS:
                return False
            if isinstance(func, cst.Name) and func.value in _SANITIZING_BUILTINS:
                return False
        return True

    def visit_Arg(self, node: cst.Arg) -> bool:
        walk_visit(node.value, self)
        return False  # skip the keyword name

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False


def grad_enabled_code(ctx: FileContext, flag: cst.BaseExpression) -> str:
    """The `set_grad_enabled` argument meaning "not volatile": a real `bool` (it rejects ints and None),
    with the precedence right: `not (a or b)`, never `not a or b`."""
    if isinstance(flag, cst.UnaryOperation) and isinstance(flag.operator, cst.Not):
        inner = flag.expression
        already_bool = isinstance(inner, cst.Comparison) or (
            isinstance(inner, cst.UnaryOperation) and isinstance(inner.operator, cst.Not))
        code = ctx.code(inner)
        if inner.lpar:  # `not (a or b)`: the parentheses belong to the operand
            code = ctx.code(inner.with_changes(lpar=(), rpar=()))
        return code if already_bool else f"bool({code})"
    code = ctx.code(flag)
    if isinstance(flag, (cst.BooleanOperation, cst.IfExp, cst.Lambda, cst.NamedExpr)) and not flag.lpar:
        code = f"({code})"
    return f"not {code}"


def _reads(node: Optional[cst.CSTNode], graph_only: bool = True, seed: Optional[cst.CSTNode] = None) -> frozenset[str]:
    if node is None:
        return frozenset()
    # The flow analysis asks about the same expressions on every fixed-point iteration and
    # again for the soundness check: computed once per file.
    return per_file("volatile-reads", _collect_reads, node, graph_only, seed)


def _collect_reads(node: cst.CSTNode, graph_only: bool, seed: Optional[cst.CSTNode]) -> frozenset[str]:
    visitor = _Reads(graph_only, seed)
    walk_visit(node, visitor)
    return frozenset(visitor.names)


_CONSTANTS = {"True", "False", "None"}
# Attributes of a tensor read without building a graph node.
_PLAIN_ATTRIBUTES = {"data", "shape", "dtype", "device", "is_cuda", "ndim"}
# Reading these on a volatile result inspects autograd state (SEMANTICS C, condition 3).
_AUTOGRAD_ATTRIBUTES = {"requires_grad", "grad_fn", "is_leaf", "grad", "backward", "register_hook", "retain_grad"}


class _OpReads(cst.CSTVisitor):
    """Names that are operands of an operation that builds a graph node on 2.x: not `x.data`,
    `x.size()`, `float(x)`, `print(x)`... but `F.nll_loss(x).data` reads `x` (the loss is a graph op)."""

    def __init__(self, seed: Optional[cst.CSTNode]) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.seed = seed

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if not (node.attr.value in _PLAIN_ATTRIBUTES and isinstance(node.value, cst.Name)):
            walk_visit(node.value, self)
        return False

    def visit_Call(self, node: cst.Call) -> bool:
        if node is self.seed:
            self.names.add(_SEED)
            return False
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _SANITIZING_METHODS and isinstance(func.value, cst.Name):
            for arg in node.args:
                walk_visit(arg.value, self)
            return False
        if isinstance(func, cst.Name) and func.value in _SANITIZING_BUILTINS:
            for arg in node.args:
                if not isinstance(arg.value, cst.Name):
                    walk_visit(arg.value, self)
            return False
        return True

    def visit_Arg(self, node: cst.Arg) -> bool:
        walk_visit(node.value, self)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value not in _CONSTANTS:
            self.names.add(node.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False


def _op_reads(node: Optional[cst.CSTNode], seed: Optional[cst.CSTNode]) -> frozenset[str]:
    if node is None:
        return frozenset()
    return per_file("volatile-op-reads", _collect_op_reads, node, seed)


def _collect_op_reads(node: cst.CSTNode, seed: Optional[cst.CSTNode]) -> frozenset[str]:
    visitor = _OpReads(seed)
    walk_visit(node, visitor)
    return frozenset(visitor.names)


# Results with an integer or bool dtype: no graph can pass through them.
_INTEGRAL_METHODS = {"eq", "ne", "lt", "le", "gt", "ge", "argmax", "argmin", "long", "int", "byte", "bool",
                     "nonzero", "__eq__", "equal"}
_INDEXED_METHODS = {"max", "min", "sort", "topk", "kthvalue", "mode", "median"}  # `[1]` = indices


def _integral(value: cst.CSTNode) -> bool:
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
            if any(_reads(a.value) - _CONSTANTS for a in node.args):
                return False
            node = node.func.value
        elif isinstance(node, cst.Attribute):
            node = node.value
        else:
            return False


def _target_names(target: cst.BaseExpression) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        names: set[str] = set()
        for el in target.elements:
            names |= _target_names(el.value)
        return names
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return set()


def _statements(suite: cst.BaseSuite) -> list[cst.CSTNode]:
    """The statements of a block; a one-line suite (`if x: y = 1`) is one statement."""
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    return [suite]


@dataclass
class _State:
    """Names holding the volatile value (`graph`: in 0.3 they were volatile) and names derived
    from it through `.data`/`.item()` (`loose`: no graph, but still the evaluation's results)."""

    graph: set[str] = field(default_factory=set)
    loose: set[str] = field(default_factory=set)

    def copy(self) -> "_State":
        return _State(set(self.graph), set(self.loose))

    def union(self, other: "_State") -> "_State":
        return _State(self.graph | other.graph, self.loose | other.loose)


@dataclass
class _Loop:
    exits: list[_State] = field(default_factory=list)  # states at `break`
    nexts: list[_State] = field(default_factory=list)  # states at `continue`


class _Walk:
    """Flow-sensitive propagation of volatility through a function (or module) body: a
    re-assignment ends a value's live range, branches join, loops iterate to a fixed point (so a
    value is carried to the next iteration only when it is read before being re-assigned).

    The sources are the volatile call `seed`, and (second use, condition 2 of SEMANTICS C) the
    names that statements listed in `generators` bind from values independent of the seed."""

    def __init__(self, seed: Optional[cst.CSTNode], generators: Optional[dict[int, set[str]]] = None) -> None:
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
    def _expr(self, node: Optional[cst.CSTNode], owner: cst.CSTNode, st: _State) -> tuple[bool, bool]:
        """Visit an evaluated expression of statement `owner`; (graph-tainted, loose-tainted) value."""
        if node is None:
            return False, False
        flow = _reads(node, graph_only=True, seed=self.seed)
        ops = _op_reads(node, self.seed)
        loose = _reads(node, graph_only=False, seed=self.seed)
        if ops & (st.graph | {_SEED}):
            self.uses.add(id(owner))
        if loose & (st.loose | {_SEED}):
            self.loose_uses.add(id(owner))
        walk_visit(node, _Inner(self, st))
        return bool(flow & (st.graph | {_SEED})), bool(loose & (st.loose | {_SEED}))

    def _bind(self, target: cst.BaseExpression, graph: bool, loose: bool, st: _State) -> None:
        if isinstance(target, (cst.Attribute, cst.Subscript)):
            if graph:
                self.escapes = True  # stored on an object or in a container
            return
        for name in _target_names(target):
            if graph:
                st.graph.add(name)
                self.ever.add(name)
            elif not self.nokill:
                st.graph.discard(name)
            if loose or graph:
                st.loose.add(name)
            elif not self.nokill:
                st.loose.discard(name)

    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression, line: cst.CSTNode, st: _State,
                before: _State) -> None:
        # `a, b = Variable(x, volatile=True), Variable(y)`: element by element.
        if (isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List))
                and len(target.elements) == len(value.elements)
                and not any(isinstance(e, cst.StarredElement) for e in (*target.elements, *value.elements))):
            for t, v in zip(target.elements, value.elements):
                self._assign(t.value, v.value, line, st, before)
            return
        g, l = self._taint_of(value, before)
        self._bind(target, g, l, st)
        if not g:
            self._independent(line, _target_names(target), value, before)

    def _taint_of(self, value: cst.CSTNode, st: _State) -> tuple[bool, bool]:
        g = bool(_reads(value, graph_only=True, seed=self.seed) & (st.graph | {_SEED}))
        l = bool(_reads(value, graph_only=False, seed=self.seed) & (st.loose | {_SEED}))
        return g, l

    def _independent(self, line: cst.CSTNode, names: set[str], value: cst.CSTNode, st: _State) -> None:
        # A value computed from other names may be a graph that something later differentiates.
        if names and _reads(value, graph_only=True) - _CONSTANTS and not _integral(value):
            self.independent.setdefault(id(line), set()).update(names)

    def _generate(self, line: cst.CSTNode, st: _State) -> None:
        for name in self.generators.get(id(line), ()):
            st.graph.add(name)
            st.loose.add(name)
            self.ever.add(name)

    # -- statements ----------------------------------------------------------------------------
    def block(self, statements: Sequence[cst.CSTNode], st: _State) -> _State:
        for statement in statements:
            st = self.statement(statement, st)
        return st

    def statement(self, node: cst.CSTNode, st: _State) -> _State:
        if isinstance(node, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            self.independent.pop(id(node), None)  # the last (largest-state) visit decides
            for small in node.body:
                st = self.small(small, node, st)
            self._generate(node, st)
            return st
        if isinstance(node, cst.If):
            self._expr(node.test, node, st)
            body = self.block(_statements(node.body), st.copy())
            other = self.statement(node.orelse, st.copy()) if node.orelse is not None else st
            return body.union(other)
        if isinstance(node, cst.Else):
            return self.block(_statements(node.body), st)
        if isinstance(node, (cst.For, cst.While)):
            return self._loop(node, st)
        if isinstance(node, cst.With):
            for item in node.items:
                g, l = self._expr(item.item, node, st)
                if item.asname is not None:
                    self._bind(item.asname.name, g, l, st)
            return self.block(_statements(node.body), st)
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            for decorator in node.decorators:
                self._expr(decorator.decorator, node, st)
            if isinstance(node, cst.FunctionDef):
                for param in (*node.params.params, *node.params.kwonly_params, *node.params.posonly_params):
                    self._expr(param.default, node, st)
            self._bind(node.name, False, False, st)
            return st
        if isinstance(node, cst.Try):
            out = self.block(_statements(node.body), st.copy())
            self.nokill += 1  # an exception may leave the body anywhere
            anywhere = self.block(_statements(node.body), st.copy()).union(st)
            self.nokill -= 1
            result = self.block(_statements(node.orelse.body), out) if node.orelse else out
            for handler in node.handlers:
                self._expr(handler.type, handler, anywhere)
                result = result.union(self.block(_statements(handler.body), anywhere.copy()))
            if node.finalbody is not None:
                result = self.block(_statements(node.finalbody.body), result.union(anywhere))
            return result
        # Anything else (match, try*): every path, nothing killed.
        self.nokill += 1
        result = st.copy()
        for _ in range(10):
            before = result.copy()
            for child in node.children:
                if isinstance(child, (cst.BaseSuite,)):
                    result = result.union(self.block(_statements(child), result.copy()))
                elif isinstance(child, cst.BaseExpression):
                    self._expr(child, node, result)
            if result == before:
                break
        self.nokill -= 1
        return result

    def _loop(self, node: Union[cst.For, cst.While], entry: _State) -> _State:
        head = entry.copy()
        exits: list[_State] = []
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
            out = self.block(_statements(node.body), st)
            self.loops.pop()
            exits = frame.exits
            new_head = entry.copy()
            for s in (head, out, *frame.nexts):
                new_head = new_head.union(s)
            if new_head == head:
                break
            head = new_head
        result = self.block(_statements(node.orelse.body), head.copy()) if node.orelse is not None else head
        for s in exits:
            result = result.union(s)
        return result

    def small(self, node: cst.BaseSmallStatement, line: cst.CSTNode, st: _State) -> _State:
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
            g, l = self._taint_of(node.value, before)
            g = g or bool(_reads(node.target) & before.graph)
            l = l or bool(_reads(node.target, graph_only=False) & before.loose)
            self._bind(node.target, g, l, st)
            if not g:
                self._independent(line, _target_names(node.target), node.value, before)
        elif isinstance(node, cst.Expr):
            self._expr(node.value, line, st)
            call = node.value
            # `acc.add_(v)`: an in-place op makes its receiver carry the value.
            if (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
                    and isinstance(call.func.value, cst.Name) and call.func.attr.value.endswith("_")):
                args = cst.Tuple([cst.Element(a.value) for a in call.args]) if call.args else None
                if args is not None:
                    receiver = call.func.value
                    g, l = self._taint_of(args, before)
                    if g:
                        self._bind(receiver, True, True, st)
                    else:
                        if l:
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
    """Escapes and autograd inspections inside one evaluated expression of `_Walk`."""

    def __init__(self, walk: "_Walk", st: _State) -> None:
        super().__init__()
        self.walk, self.st = walk, st

    def _taints(self, node: Optional[cst.CSTNode]) -> bool:
        # st.graph as of now: a walrus earlier in the expression may have added to it
        return bool(_reads(node, seed=self.walk.seed) & (self.st.graph | {_SEED}))

    def visit_Attribute(self, n: cst.Attribute) -> None:
        if n.attr.value in _AUTOGRAD_ATTRIBUTES and self._taints(n.value):
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

class _Bound(cst.CSTVisitor):
    """Names a function (or lambda) binds locally: parameters and assignment targets."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_Param(self, node: cst.Param) -> None:
        self.names.add(node.name.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.names |= _target_names(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.names |= _target_names(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.names |= _target_names(node.target)

    def visit_For(self, node: cst.For) -> None:
        self.names |= _target_names(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.names |= _target_names(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        if isinstance(node.name, cst.BaseExpression):
            self.names |= _target_names(node.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.names |= _target_names(node.target)


def _captures(root: cst.CSTNode, names: set[str]) -> bool:
    """Whether a function or lambda defined under `root` reads one of `names` from the outside
    (it may run after the `with` block has ended)."""
    defs = _Defs(names)
    for statement in (_statements(root) if isinstance(root, cst.BaseSuite) else list(root.body)):  # type: ignore[attr-defined]
        walk_visit(statement, defs)
    return defs.found


class _Defs(cst.CSTVisitor):
    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names
        self.found = False

    def _check(self, node: Union[cst.FunctionDef, cst.Lambda]) -> None:
        bound = _Bound()
        walk_visit(node.params, bound)
        walk_visit(node.body, bound)
        body_reads = _reads(node.body, graph_only=False) if not isinstance(node.body, cst.BaseSuite) else set()
        if isinstance(node.body, cst.BaseSuite):
            for statement in _statements(node.body):
                body_reads |= _reads(statement, graph_only=False)
        if (body_reads - bound.names) & self.names:
            self.found = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._check(node)

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._check(node)


def _subtree_ids(node: cst.CSTNode) -> frozenset[int]:
    return per_file("volatile-subtree-ids", _collect_subtree_ids, node)  # every volatile call asks again


def _collect_subtree_ids(node: cst.CSTNode) -> frozenset[int]:
    collector = _Collect()
    walk_visit(node, collector)
    return frozenset(collector.ids)


class _Collect(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[int] = set()

    def on_visit(self, n: cst.CSTNode) -> bool:
        if isinstance(n, (cst.BaseStatement, cst.SimpleStatementSuite, cst.ExceptHandler)):
            self.ids.add(id(n))
        return True


_GRAD_METHODS = {"backward", "requires_grad_", "retain_grad", "register_hook"}
_GRAD_FUNCTIONS = {"torch.autograd.grad", "torch.autograd.backward", "torch.enable_grad", "torch.set_grad_enabled",
                   "torch.autograd.enable_grad", "torch.autograd.set_grad_enabled"}


def _needs_grad(ctx: FileContext, statements: Sequence[cst.CSTNode]) -> bool:
    """A call that needs autograd on: `backward`, `autograd.grad`, an optimizer `step()`,
    re-enabling grad mode (no_grad would stop or contradict it)."""
    finder = _FindGrad(ctx)
    for statement in statements:
        walk_visit(statement, finder)
    return finder.found


class _FindGrad(cst.CSTVisitor):
    def __init__(self, ctx: FileContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            name = func.attr.value
            receiver = self.ctx.code(func.value).lower()
            if name in _GRAD_METHODS or (name == "step" and (not node.args or "optim" in receiver)):
                self.found = True
        if self.ctx.imports.qualified(func) in _GRAD_FUNCTIONS:
            self.found = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


@dataclass
class _Scope:
    block: Block
    start: int  # statements block.body[start:end] go into the `with`
    end: int
    where: str  # "the loop body", ...


class VariableVolatile(Rule):
    """
    ## What it does
    Checks for the `volatile=` argument of the legacy `Variable(...)` constructor
    (`Variable(x, volatile=True)`, `volatile=flag`, `volatile=False`).

    ## Why is this bad?
    `volatile` was removed in PyTorch 0.4 and has **no effect**: besides a `UserWarning`, the
    constructor ignores it, so code meant to run without autograd (evaluation, inference, sampling)
    builds a graph and keeps its buffers alive. `with torch.no_grad():` is the replacement. Under
    `python -W error` the keyword even makes the constructor raise.

    ## Fix safety
    Two fixes, the first applied with `--unsafe-fixes`, the second by `fix`:
    - **Scope** (unsafe): drop the keyword and put the statements that use the volatile value
      under `with torch.no_grad():` (`torch.set_grad_enabled(not flag)` for a non-literal flag):
      a contiguous run of statements of the innermost block that holds every use, from the
      statement that creates the value to the last one that reads anything derived from it. Uses
      are followed through the data flow: a re-assignment ends a value's live range (a training
      loop that re-uses the names `inputs`/`output` is not a use), and a value is carried to the
      next loop iteration only when it is read there before being re-assigned (an RNN hidden
      state: the scope then starts at that read). This restores the 0.3 intent, but it is
      equivalent only if (1) the scope covers every operation that uses the volatile value,
      directly or through values computed from it (0.3 volatility followed the data flow;
      `no_grad` is lexical), (2) nothing else in it needs gradients (`no_grad` stops those too),
      and (3) nothing inspects `requires_grad`/`grad_fn` of the results or calls `backward` on
      them. The fix checks what it can: it is not offered when the value escapes (returned,
      yielded, stored on an object, appended to a container, captured by a lambda or a nested
      function, bound to a `global`), when its autograd state is read, when the scope would hold a
      `backward`, an optimizer `step()` or an `autograd.grad`, or when a value computed in the scope
      from other inputs reaches a graph operation after it. Calls into other functions are not
      followed.
    - **Drop the keyword** (safe): the call without `volatile=` does exactly what it does now on
      PyTorch 2.x (minus the warning); the remaining `Variable(x)` is then handled by
      variable-wrapper. When `requires_grad=` is also given and one of the two flags is not a
      literal, dropping is unsafe (the legacy call raises `ValueError` when both are true). With both
      literally true the call always raises: reported without a fix.
    `volatile=False` is the default and is simply dropped (safe).

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
      ("The volatile flag is now deprecated and has no effect")
    - `torch/csrc/autograd/python_legacy_variable.cpp` (`THPVariable_pynew`)
    - SEMANTICS.md, table C
    """

    CODE = "VM103"
    MESSAGE = (
        "`volatile=True` has no effect on PyTorch >= 0.4 (a graph is built anyway); "
        "`with torch.no_grad():` restores the intent"
    )
    FIX_TITLE = "Remove `volatile=`"
    FIX = Safety.SAFE
    TRIGGERS = ("volatile",)

    VALID = [
        Valid("import torch\nfrom torch.autograd import Variable\nv = Variable(x)\n"),
        Valid("import torch\nclass Variable:\n    pass\nv = Variable(x, volatile=True)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom torch.autograd import Variable\n\n\ndef predict(model, x):\n"
            "    v = Variable(x, volatile=True)\n    return model(v)\n",
            expected_replacement="import torch\nfrom torch.autograd import Variable\n\n\ndef predict(model, x):\n"
            "    v = Variable(x)\n    return model(v)\n",
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\n\n\ndef test(model, loader):\n"
            "    correct = 0\n"
            "    for data, target in loader:\n"
            "        data = Variable(data, volatile=True)\n"
            "        output = model(data)\n"
            "        correct += output.data.max(1)[1].eq(target).sum()\n"
            "    return correct\n",
            expected_replacement="import torch\nfrom torch.autograd import Variable\n\n\ndef test(model, loader):\n"
            "    correct = 0\n"
            "    for data, target in loader:\n"
            "        with torch.no_grad():\n"
            "            data = Variable(data)\n"
            "            output = model(data)\n"
            "            correct += output.data.max(1)[1].eq(target).sum()\n"
            "    return correct\n",
            expected_safe_replacement="import torch\nfrom torch.autograd import Variable\n\n\ndef test(model, loader):\n"
            "    correct = 0\n"
            "    for data, target in loader:\n"
            "        data = Variable(data)\n"
            "        output = model(data)\n"
            "        correct += output.data.max(1)[1].eq(target).sum()\n"
            "    return correct\n",
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nv = Variable(x, volatile=False)\n",
            expected_replacement="import torch\nfrom torch.autograd import Variable\nv = Variable(x)\n",
        ),
        Invalid("import torch\nfrom torch.autograd import Variable\nv = Variable(x, requires_grad=True, volatile=True)\n"),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not is_variable(self.ctx, node.func):
            return
        args = variable_args(node)
        if args.volatile is None:
            return
        volatile = literal_bool(args.volatile.value)
        flag_code = self.ctx.code(args.volatile.value)
        rg = literal_bool(args.requires_grad.value) if args.requires_grad is not None else False
        if volatile is not False and rg is True and volatile is True:
            self.report(node, "`Variable(x, requires_grad=True, volatile=True)` raises `ValueError` on PyTorch >= 0.4 "
                              "(and did in 0.3): decide which of the two flags you meant")
            return
        dropped = drop_argument(node, args.volatile)
        if volatile is False:
            self.report(node, "`volatile=False` is a legacy argument with no effect", [self._drop(node, dropped, Safety.SAFE)])
            return
        message = self.MESSAGE if volatile else (
            f"`volatile={flag_code}` has no effect on PyTorch >= 0.4 (a graph is built anyway); "
            f"`with torch.set_grad_enabled({grad_enabled_code(self.ctx, args.volatile.value)}):` restores the intent")
        drop_safety = Safety.SAFE
        if args.requires_grad is not None and rg is not False:
            drop_safety = Safety.UNSAFE
            message += ("; removing `volatile=` is right only if it and `requires_grad=` are never both true "
                        "(the legacy call raises `ValueError` then)")
        if not args.simple:
            self.report(node, message)  # `name=`/`_grad_fn=`: variable-wrapper leaves those to a person too
            return
        scope = self._scope(node)
        if scope is None:
            self.report(node, message, [self._drop(node, dropped, drop_safety)])
            return
        manager = "no_grad()" if volatile else f"set_grad_enabled({grad_enabled_code(self.ctx, args.volatile.value)})"
        # The message says what the safe fix does; the unsafe alternative's condition is in its title.
        message += (f"; the safe fix drops the argument (results then record a graph, as they already do), the "
                    f"unsafe fix also puts {scope.where} under `torch.{manager}`")
        original_code = self.ctx.code(node)
        rewrite = _rewrite_call(self.ctx, original_code, dropped)
        # Reported at the call; both edits rewrite the enclosing block (one replacement node per finding).
        self.report(node, message, fix_node=scope.block, edits=[
            self.edit(_wrap(scope, rewrite, f"{self.ctx.torch}.{manager}"), Safety.UNSAFE,
                      f"Remove `volatile=` and put {scope.where} under `torch.{manager}` (unsafe: equivalent only if that "
                      "block holds every use of the volatile value, nothing else in it needs gradients, and nothing "
                      "inspects `requires_grad`/`grad_fn` of the results)", needs_torch=True),
            self.edit(functools.partial(_in_block, scope, rewrite=rewrite), drop_safety),
        ])

    def _drop(self, node: cst.Call, dropped: cst.Call, safety: Safety) -> Edit:
        new, safety, lost = call_replacement(node, dropped, safety)
        title = self.FIX_TITLE + (" (unsafe: drops a comment inside the call)" if lost else "")
        return self.edit(new, safety, title)

    # -- the scope --------------------------------------------------------------------------
    def _scope(self, call: cst.Call) -> Optional[_Scope]:
        chain = self.ctx.ancestors(call)
        if any(is_no_grad_block(n, self.ctx.imports) for n in chain):
            return None  # already under no_grad: dropping the keyword is all there is to do
        levels = [i for i, n in enumerate(chain) if isinstance(n, (cst.IndentedBlock, cst.Module))]
        # The function (or module) body that holds the call: volatility is followed through all of it.
        root_level = max(i for i in levels if i == 0 or isinstance(chain[i - 1], cst.FunctionDef))
        if any(isinstance(n, (cst.ClassDef, cst.Lambda, cst.GeneratorExp)) for n in chain[root_level:]):
            return None  # a class body, or code that runs later (lambda, generator): no lexical scope fits
        root = chain[root_level]
        walk = _Walk(call)
        walk.block(_root_body(root), _State())
        if walk.escapes or walk.inspects or walk.ever & walk.declared or _captures(root, walk.ever):
            return None
        # The innermost block in which a contiguous run of statements holds every use.
        for level in reversed([i for i in levels if i >= root_level]):
            block = chain[level]
            assert isinstance(block, (cst.IndentedBlock, cst.Module))
            body = list(block.body)
            ids = [_subtree_ids(s) for s in body]
            users = [i for i, s in enumerate(ids) if s & walk.uses]
            if not users or not walk.uses <= set().union(*(ids[i] for i in users)):
                continue  # used after (or, in a loop header, around) this block: climb
            start, end = min(users), max(users) + 1
            # Statements after the last use that read results derived through `.data`/`.item()`
            # (the accuracy count, the print) join the block when that costs nothing.
            # A `return` of such a result ends the function, not the evaluation: left outside.
            loose_end = max([i + 1 for i in range(end, len(body)) if ids[i] & walk.loose_uses
                             and not _is_return(body[i])] + [end])
            for stop in dict.fromkeys((loose_end, end)):
                if self._sound(root, walk, body, ids, start, stop):
                    owner = chain[level - 1] if level > 0 else None
                    where = (_describe(owner) if start == 0 and stop == len(body) and owner is not None
                             else "the statements that use it")
                    return _Scope(block, start, stop, where)
            return None
        return None

    def _sound(self, root: cst.CSTNode, walk: "_Walk", body: Sequence[cst.CSTNode], ids: list[set[int]],
               start: int, stop: int) -> bool:
        """SEMANTICS C condition (2): nothing in the region that is independent of the volatile
        value needs gradients, now or later."""
        region = body[start:stop]
        if _needs_grad(self.ctx, region):
            return False
        inside = set().union(*ids[start:stop])
        generators = {k: v for k, v in walk.independent.items() if k in inside}
        if not generators:
            return True
        # Values computed in the region from other inputs lose their graph under no_grad: they must
        # not reach a graph operation after the region (or before it, in the next iteration).
        second = _Walk(None, generators)
        second.block(_root_body(root), _State())
        return not (second.uses - inside) and not second.escapes and not second.ever & second.declared \
            and not _captures(root, second.ever)


def _root_body(root: cst.CSTNode) -> list[cst.CSTNode]:
    assert isinstance(root, (cst.IndentedBlock, cst.Module))
    return list(root.body)


def _is_return(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(isinstance(s, cst.Return) for s in statement.body)


def _describe(owner: Optional[cst.CSTNode]) -> str:
    if isinstance(owner, (cst.For, cst.While)):
        return "the loop body"
    if isinstance(owner, cst.FunctionDef):
        return "the function body"
    return "the enclosing block"


def _rewrite_call(ctx: FileContext, original_code: str, dropped: cst.Call) -> Callable[[cst.CSTNode], cst.CSTNode]:
    """A function that rewrites, inside an (updated) subtree, the volatile call we reported."""
    dropped_code = cst.Module([]).code_for_node(dropped)

    class _Drop(cst.CSTTransformer):
        done = False

        def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
            if not self.done and cst.Module([]).code_for_node(updated_node) == original_code:
                self.done = True
                return dropped.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)
            return updated_node

    def rewrite(node: cst.CSTNode) -> cst.CSTNode:
        return walk_visit(node, _Drop())  # type: ignore[return-value]

    del ctx, dropped_code
    return rewrite


def _in_block(scope: _Scope, block: cst.CSTNode, *, rewrite: Callable[[cst.CSTNode], cst.CSTNode]) -> cst.CSTNode:
    assert isinstance(block, (cst.IndentedBlock, cst.Module))
    body = list(block.body)
    if len(body) != len(scope.block.body):
        return block  # another fix changed the statement count this round: retried next round
    body[scope.start:scope.end] = [rewrite(s) for s in body[scope.start:scope.end]]  # type: ignore[misc]
    return block.with_changes(body=body)


def _wrap(scope: _Scope, rewrite: Callable[[cst.CSTNode], cst.CSTNode], manager: str) -> Callable[[cst.CSTNode], cst.CSTNode]:
    def apply(block: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(block, (cst.IndentedBlock, cst.Module))
        body = list(block.body)
        if len(body) != len(scope.block.body):
            return block
        inner = [rewrite(s) for s in body[scope.start:scope.end]]
        first = inner[0]
        leading = getattr(first, "leading_lines", ())
        inner[0] = first.with_changes(leading_lines=())
        with_node = cst.With(
            items=[cst.WithItem(item=cst.parse_expression(manager))],
            body=cst.IndentedBlock(body=inner),  # type: ignore[arg-type]
            leading_lines=leading,
        )
        body[scope.start:scope.end] = [with_node]
        return block.with_changes(body=body)

    return apply
