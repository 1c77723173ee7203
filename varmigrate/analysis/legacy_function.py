"""Old-style `torch.autograd.Function` subclasses: can a class be converted, and where is it called?

`analyze_function_class` reads the class (instance `forward`/`backward`, state stored by `__init__`)
into a `FunctionPlan`; `find_call_sites` finds every use of the class name in the module and sorts
it into call sites that can become `F.apply(...)` and uses that cannot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import libcst as cst

from ..tree.memo import FileMemo
from ..tree.nodes import is_docstring
from ..tree.walk import visit

FUNCTION_BASES = ("torch.autograd.Function", "torch.autograd.InplaceFunction", "torch.autograd.function.Function")


@dataclass
class FunctionPlan:
    """How to rewrite one Function subclass; `problem` says why it cannot be done automatically."""

    cls: cst.ClassDef
    old_style: bool
    problem: Optional[str] = None
    init_params: list[cst.Param] = field(default_factory=list)  # state, becomes extra forward inputs
    state: list[tuple[str, cst.BaseExpression]] = field(default_factory=list)  # `self.attr = expr`
    n_inputs: int = 0  # forward inputs of the legacy class


def is_staticmethod(fn: cst.FunctionDef) -> bool:
    return any(isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod" for d in fn.decorators)


def _methods(cls: cst.ClassDef) -> dict[str, cst.FunctionDef]:
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    return {s.name.value: s for s in body if isinstance(s, cst.FunctionDef)}


class _VariableNames(cst.CSTVisitor):
    """Variable names only: not `.attr` names nor `keyword=` names."""

    def __init__(self, memo: Optional[FileMemo]) -> None:
        super().__init__()
        self.memo = memo
        self.found: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.found.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        visit(node.value, self, self.memo)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        visit(node.value, self, self.memo)
        return False


def names_in(node: cst.CSTNode, memo: Optional[FileMemo] = None) -> set[str]:
    collector = _VariableNames(memo)
    visit(node, collector, memo)
    return collector.found


def _is_super_init(expr: cst.BaseExpression) -> bool:
    """`super(...).__init__(...)` or `Base.__init__(self, ...)`."""
    return (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value == "__init__"
    )


def _simple_params(fn: cst.FunctionDef, allow_defaults: bool) -> Optional[list[cst.Param]]:
    """The parameters after `self`, or None when they are not plain positional ones."""
    p = fn.params
    if p.star_arg is not cst.MaybeSentinel.DEFAULT or p.kwonly_params or p.star_kwarg or p.posonly_params:
        return None
    params = list(p.params)
    if not params:
        return None
    rest = params[1:]
    if not allow_defaults and any(q.default is not None for q in rest):
        return None
    return rest


def analyze_function_class(cls: cst.ClassDef, memo: Optional[FileMemo] = None) -> FunctionPlan:
    methods = _methods(cls)
    forward = methods.get("forward")
    old = forward is not None and not is_staticmethod(forward)
    plan = FunctionPlan(cls, old)
    if forward is None or not old:
        return plan
    backward = methods.get("backward")
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    others = [s for s in body if not is_docstring(s) and not (isinstance(s, cst.FunctionDef) and s.name.value in ("__init__", "forward", "backward"))]
    if others:
        plan.problem = "the class has other members that `ctx` would not have"
        return plan
    if backward is None or is_staticmethod(backward):
        plan.problem = "`backward` is missing or already static"
        return plan
    inputs = _simple_params(forward, allow_defaults=False)
    if inputs is None or _simple_params(backward, allow_defaults=False) is None:
        plan.problem = "`forward`/`backward` take `*args`, defaults or keyword-only parameters"
        return plan
    plan.n_inputs = len(inputs)
    used = names_in(forward.body, memo) | names_in(backward.body, memo) | {p.name.value for p in inputs}
    if "ctx" in used:
        plan.problem = "the methods already use the name `ctx`"
        return plan
    init = methods.get("__init__")
    if init is not None:
        problem = _read_init(plan, init, used, memo)
        if problem is not None:
            plan.problem = problem
    return plan


def _read_init(plan: FunctionPlan, init: cst.FunctionDef, used: set[str], memo: Optional[FileMemo]) -> Optional[str]:
    """Record `__init__`'s parameters and the `self.attr = expr` state it stores; else why not."""
    params = _simple_params(init, allow_defaults=True)
    if params is None:
        return "`__init__` takes `*args` or keyword-only parameters"
    self_name = init.params.params[0].name.value
    names = {p.name.value for p in params}
    if names & used:
        return "an `__init__` parameter has the same name as a name in `forward`/`backward`"
    for stmt in init.body.body:  # (a one-line suite's small statements: never a plain store)
        if is_docstring(stmt):
            continue
        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
        if isinstance(small, cst.Expr) and _is_super_init(small.value):
            continue
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
            if (
                isinstance(target, cst.Attribute)
                and isinstance(target.value, cst.Name)
                and target.value.value == self_name
                and self_name not in names_in(small.value, memo)
            ):
                plan.state.append((target.attr.value, small.value))
                continue
        return "`__init__` does more than store its arguments on `self`"
    plan.init_params = params
    return None


# ------------------------------------------------------------------------------------------
# Call sites
# ------------------------------------------------------------------------------------------
_LITERALS = (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString)


def _is_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, _LITERALS):
        return True
    if isinstance(node, cst.Name):
        return node.value in ("True", "False", "None")
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        return _is_literal(node.expression)
    return False


@dataclass
class CallSites:
    direct: list[cst.Call] = field(default_factory=list)  # F(...)(...)
    bound: list[tuple[cst.SimpleStatementLine, cst.Call, list[cst.Call]]] = field(default_factory=list)  # f = F(..); f(..)
    blocked: list[str] = field(default_factory=list)  # why a use cannot be rewritten
    blocked_lines: list[tuple[cst.SimpleStatementLine, str]] = field(default_factory=list)  # `f = F(..)` kept, why

    @property
    def count(self) -> int:
        return len(self.direct) + sum(len(calls) for _, _, calls in self.bound)


def _target_key(node: cst.BaseExpression) -> Optional[str]:
    """`f` for a name, `self.f` for an attribute of a name (a Function instance kept on a module)."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
        return f"{node.value.value}.{node.attr.value}"
    return None


class _UseFinder(cst.CSTVisitor):
    """Every reference to the class name, and the bindings `f = F(...)` / `self.f = F(...)`."""

    def __init__(self, name: str, cls: Optional[cst.ClassDef]) -> None:
        super().__init__()
        self.name = name
        self.cls = cls
        self.calls: dict[int, cst.Call] = {}  # id(Name F) -> the call F(...)(...)
        self.bindings: dict[int, tuple[str, cst.SimpleStatementLine, cst.Call, cst.CSTNode]] = {}  # id(Name F)
        self.attribute_bases: set[int] = set()  # Name F in `F.apply`
        self.member_names: set[int] = set()  # attribute and keyword names: never the class
        self.refs: list[cst.Name] = []
        self._line: Optional[cst.SimpleStatementLine] = None
        self._scopes: list[cst.CSTNode] = []

    def visit_Module(self, node: cst.Module) -> None:
        self._scopes.append(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._scopes.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._scopes.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        if node is self.cls:
            return False  # `super(F, self)` inside the class itself is no call site
        self._scopes.append(node)
        return True

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        if original_node is not self.cls:
            self._scopes.pop()

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._line = node

    def visit_Import(self, node: cst.Import) -> bool:
        return False  # binding the name is no use of it

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Call) and isinstance(node.func.func, cst.Name) and node.func.func.value == self.name:
            self.calls[id(node.func.func)] = node

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Name) and node.value.value == self.name:
            self.attribute_bases.add(id(node.value))
        self.member_names.add(id(node.attr))  # `torch.nn.ReLU` is no reference to a local `ReLU`

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        key = _target_key(node.targets[0].target) if len(node.targets) == 1 else None
        if (
            key is not None
            and isinstance(value, cst.Call)
            and isinstance(value.func, cst.Name)
            and value.func.value == self.name
            and self._line is not None
            and len(self._line.body) == 1
        ):
            # `self.f = F(...)` is used across the methods of its class; `f = F(...)` in its function.
            scope = self._scopes[-1]
            if "." in key:
                scope = next((s for s in reversed(self._scopes) if isinstance(s, cst.ClassDef)), scope)
            self.bindings[id(value.func)] = (key, self._line, value, scope)

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.member_names.add(id(node.keyword))

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.name and id(node) not in self.member_names:
            self.refs.append(node)


def find_call_sites(module: cst.Module, plan: FunctionPlan, memo: Optional[FileMemo] = None) -> CallSites:
    return find_name_call_sites(module, plan.cls.name.value, plan.cls, memo)


def find_name_call_sites(
    module: cst.Module, name: str, cls: Optional[cst.ClassDef] = None, memo: Optional[FileMemo] = None
) -> CallSites:
    """The call sites of the Function class `name` in `module`: the class defined there (`cls`), or
    one imported from another module of the project (`cls` None)."""
    finder = _UseFinder(name, cls)
    visit(module, finder, memo)
    uses = CallSites()
    for ref in finder.refs:
        if id(ref) in finder.calls:
            uses.direct.append(finder.calls[id(ref)])
        elif id(ref) in finder.attribute_bases:
            continue  # `F.apply(...)`: already the modern call
        elif id(ref) in finder.bindings:
            key, line, ctor, scope = finder.bindings[id(ref)]
            calls = _calls_of(scope, key, memo)
            movable = all(_is_literal(a.value) or ("." not in key and _single_binding(scope, a.value, memo)) for a in ctor.args)
            once = _single_binding(scope, cst.Name(key), memo) if "." not in key else _attribute_bound_once(scope, key, memo)
            if calls is None or not once:
                uses.blocked.append(f"`{key} = {name}(...)` is used other than by calling it")
                if _called(scope, key, memo):  # `f.forward(x)` alone runs on modern torch: no site
                    uses.blocked_lines.append((line, uses.blocked[-1]))
            elif not movable:
                uses.blocked.append(f"the arguments of `{key} = {name}(...)` may change before the calls")
                uses.blocked_lines.append((line, uses.blocked[-1]))
            else:
                uses.bound.append((line, ctor, calls))
        else:
            uses.blocked.append(f"`{name}` is used other than as `{name}(...)(...)`")
    return uses


class _Bindings(cst.CSTVisitor):
    """How often a scope binds `name` (a loop target or an augmented assignment counts twice)."""

    def __init__(self, name: str, memo: Optional[FileMemo]) -> None:
        super().__init__()
        self.name, self.memo = name, memo
        self.count = 0

    def visit_AssignTarget(self, n: cst.AssignTarget) -> None:
        self.count += self.name in names_in(n.target, self.memo)

    def visit_AugAssign(self, n: cst.AugAssign) -> None:
        self.count += 2 if isinstance(n.target, cst.Name) and n.target.value == self.name else 0

    def visit_Param(self, n: cst.Param) -> None:
        self.count += n.name.value == self.name

    def visit_For(self, n: cst.For) -> None:
        self.count += 2 * (self.name in names_in(n.target, self.memo))


def _single_binding(scope: cst.CSTNode, node: cst.BaseExpression, memo: Optional[FileMemo]) -> bool:
    """A name bound once in the scope (an assignment or a parameter): moving its read is safe."""
    if not isinstance(node, cst.Name):
        return False
    counter = _Bindings(node.value, memo)
    visit(scope, counter, memo)
    return counter.count == 1


class _AttributeStores(cst.CSTVisitor):
    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.count = 0

    def visit_AssignTarget(self, n: cst.AssignTarget) -> None:
        self.count += _target_key(n.target) == self.key

    def visit_AugAssign(self, n: cst.AugAssign) -> None:
        self.count += 2 * (_target_key(n.target) == self.key)


def _attribute_bound_once(scope: cst.CSTNode, key: str, memo: Optional[FileMemo]) -> bool:
    """`self.f` is assigned once in its class (`if ...: self.f = A() else: self.f = B()` is not one
    Function whose calls can be rewritten)."""
    counter = _AttributeStores(key)
    visit(scope, counter, memo)
    return counter.count == 1


class _CallsOf(cst.CSTVisitor):
    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.calls: list[cst.Call] = []
        self.refs = 0
        self.members: set[int] = set()  # attribute names: `torch.relu` is no reference to a local `relu`

    def visit_Call(self, n: cst.Call) -> None:
        if _target_key(n.func) == self.key:
            self.calls.append(n)

    def visit_AssignTarget(self, n: cst.AssignTarget) -> bool:
        return False

    def visit_Name(self, n: cst.Name) -> None:
        self.refs += "." not in self.key and n.value == self.key and id(n) not in self.members

    def visit_Attribute(self, n: cst.Attribute) -> None:
        self.members.add(id(n.attr))
        self.refs += "." in self.key and _target_key(n) == self.key


def _calls_of(scope: cst.CSTNode, key: str, memo: Optional[FileMemo]) -> Optional[list[cst.Call]]:
    """Every use of `key` (`f` or `self.f`) in scope as `key(...)`, or None when used any other way."""
    finder = _CallsOf(key)
    visit(scope, finder, memo)
    return finder.calls if finder.calls and finder.refs == len(finder.calls) else None


def _called(scope: cst.CSTNode, key: str, memo: Optional[FileMemo]) -> bool:
    """`key(...)` occurs in scope (the instance is called, which raises on modern torch)."""
    finder = _CallsOf(key)
    visit(scope, finder, memo)
    return bool(finder.calls)
