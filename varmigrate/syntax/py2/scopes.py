"""Names and what binds them, for the division analysis (`division.py`): Python 3's scopes.

`Collector` walks a module once and records, per scope, every binding of every name (the value
expression and the scope it is evaluated in, or a kind known outright: a `range` loop variable
is an int, a parameter is unknown) and every `/` and `/=` with its scope. `finish_scopes` moves
the bindings of `global`/`nonlocal` names to the scope that owns them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Optional, Union

INT, FLOAT, STR, INT_TENSOR, FLOAT_TENSOR, UNKNOWN = "int", "float", "str", "int tensor", "float tensor", "unknown"
Kind = Optional[str]  # None: no information yet (the bottom of the fixed point)


@dataclass(eq=False)
class Scope:
    node: ast.AST
    kind: str  # module | function | class | comprehension
    parent: Optional[Scope]
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    declared_global: set[str] = field(default_factory=set)
    declared_nonlocal: set[str] = field(default_factory=set)


@dataclass(frozen=True, eq=False)
class Binding:
    value: Optional[ast.expr] = None  # the bound value (evaluated in `scope`), None: unknown
    scope: Optional[Scope] = None
    constant: Optional[str] = None  # a known kind regardless of any expression
    augment: Optional[tuple[str, ast.operator]] = None  # `name op= value`
    module: Optional[str] = None  # `import math` binds `math` to the module math


class Collector(ast.NodeVisitor):
    def __init__(self, tree: ast.Module) -> None:
        self.module = Scope(tree, "module", None)
        self.scope = self.module
        self.scopes = [self.module]
        self.divisions: list[tuple[ast.AST, Scope]] = []
        self.opaque = False  # exec / globals() / star import: module names can be bound unseen
        self.star_import = False

    # -- binding helpers ------------------------------------------------------------------
    def bind(self, name: str, binding: Binding, scope: Optional[Scope] = None) -> None:
        target = scope or self.scope
        target.bindings.setdefault(name, []).append(binding)

    def bind_target(self, target: ast.expr, value: Optional[ast.expr]) -> None:
        if isinstance(target, ast.Name):
            self.bind(target.id, Binding(value, self.scope) if value is not None else Binding(constant=UNKNOWN))
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.bind_target(element, None)
        elif isinstance(target, ast.Starred):
            self.bind_target(target.value, None)
        else:
            self.visit(target)

    def bind_loop_target(self, target: ast.expr, iterable: ast.expr) -> None:
        call = iterable if isinstance(iterable, ast.Call) else None
        name = call.func.id if call is not None and isinstance(call.func, ast.Name) else None
        if name == "list" and call is not None and len(call.args) == 1 and isinstance(call.args[0], ast.Call):
            # `for i in list(range(n))` (2to3 writes that where range's list was needed)
            return self.bind_loop_target(target, call.args[0])
        if isinstance(target, ast.Name) and name in ("range", "xrange", "reversed") and call is not None:
            inner = call.args[0] if name == "reversed" and call.args else None
            if name != "reversed" or (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id in ("range", "xrange")):
                self.bind(target.id, Binding(constant=INT, scope=self.scope, value=call.func))
                return
        if (isinstance(target, (ast.Tuple, ast.List)) and len(target.elts) == 2 and name == "enumerate"
                and call is not None and isinstance(target.elts[0], ast.Name)):
            self.bind(target.elts[0].id, Binding(constant=INT, scope=self.scope, value=call.func))
            self.bind_target(target.elts[1], None)
            return
        if isinstance(target, ast.Name) and isinstance(iterable, (ast.Tuple, ast.List)) and iterable.elts:
            for element in iterable.elts:
                self.bind(target.id, Binding(element, self.scope))
            return
        self.bind_target(target, None)

    # -- scopes ---------------------------------------------------------------------------
    def _enter(self, node: ast.AST, kind: str) -> Scope:
        scope = Scope(node, kind, self.scope)
        self.scope = scope
        self.scopes.append(scope)
        return scope

    def _leave(self, scope: Scope) -> None:
        assert scope.parent is not None
        self.scope = scope.parent

    def _arguments(self, args: ast.arguments) -> None:
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None:
                self.bind(arg.arg, Binding(constant=UNKNOWN))

    def _function(self, node: Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda]) -> None:
        for default in [*node.args.defaults, *[d for d in node.args.kw_defaults if d is not None]]:
            self.visit(default)
        if not isinstance(node, ast.Lambda):
            for decorator in node.decorator_list:
                self.visit(decorator)
            self.bind(node.name, Binding(constant=UNKNOWN))
        scope = self._enter(node, "function")
        self._arguments(node.args)
        for stmt in node.body if not isinstance(node, ast.Lambda) else [node.body]:
            self.visit(stmt)
        self._leave(scope)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expr)
        self.bind(node.name, Binding(constant=UNKNOWN))
        scope = self._enter(node, "class")
        for stmt in node.body:
            self.visit(stmt)
        self._leave(scope)

    def _comprehension(self, node: Union[ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp]) -> None:
        scope = self._enter(node, "comprehension")
        for generator in node.generators:
            self.visit(generator.iter)
            self.bind_loop_target(generator.target, generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
        if isinstance(node, ast.DictComp):
            self.visit(node.key)
            self.visit(node.value)
        else:
            self.visit(node.elt)
        self._leave(scope)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    # -- statements that bind -------------------------------------------------------------
    def visit_Global(self, node: ast.Global) -> None:
        self.scope.declared_global.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.scope.declared_nonlocal.update(node.names)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.bind_target(target, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            self.bind_target(node.target, node.value)
        self.visit(node.annotation)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.op, ast.Div):
            self.divisions.append((node, self.scope))
        if isinstance(node.target, ast.Name):
            self.bind(node.target.id, Binding(node.value, self.scope, augment=(node.target.id, node.op)))
        else:
            self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        scope = self.scope
        while scope.kind == "comprehension" and scope.parent is not None:
            scope = scope.parent
        self.bind(node.target.id, Binding(node.value, self.scope), scope)

    def visit_For(self, node: Union[ast.For, ast.AsyncFor]) -> None:
        self.visit(node.iter)
        self.bind_loop_target(node.target, node.iter)
        for stmt in [*node.body, *node.orelse]:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_withitem(self, node: ast.withitem) -> None:
        self.visit(node.context_expr)
        if node.optional_vars is not None:
            self.bind_target(node.optional_vars, None)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.bind(node.name, Binding(constant=UNKNOWN))
        for stmt in node.body:
            self.visit(stmt)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            name = alias.asname or alias.name.split(".")[0]
            self.bind(name, Binding(constant=UNKNOWN, module=alias.name if alias.asname or "." not in alias.name else None))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == "*":
                self.star_import = True
                continue
            self.bind(alias.asname or alias.name, Binding(constant=UNKNOWN))

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            self.bind(node.id, Binding(constant=UNKNOWN))  # a binding form not handled above (match, del)

    def visit_MatchAs(self, node: ast.AST) -> None:
        name = getattr(node, "name", None)
        if name:
            self.bind(name, Binding(constant=UNKNOWN))
        self.generic_visit(node)

    visit_MatchStar = visit_MatchAs

    def visit_MatchMapping(self, node: ast.AST) -> None:
        rest = getattr(node, "rest", None)
        if rest:
            self.bind(rest, Binding(constant=UNKNOWN))
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Div):
            self.divisions.append((node, self.scope))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in ("exec", "globals", "locals", "vars", "execfile"):
            self.opaque = True
        self.generic_visit(node)


def finish_scopes(collector: Collector) -> list[Scope]:
    """Move the bindings of `global`/`nonlocal` names to the scope that owns them."""
    for scope in reversed(collector.scopes):  # inner scopes first: nonlocal chains move outwards
        for name in scope.declared_global:
            if scope is not collector.module and name in scope.bindings:
                collector.module.bindings.setdefault(name, []).extend(scope.bindings.pop(name))
        for name in scope.declared_nonlocal:
            target = scope.parent
            while target is not None and not (target.kind == "function" and (name in target.bindings or name in target.declared_nonlocal)):
                target = target.parent
            if target is not None and name in scope.bindings:
                target.bindings.setdefault(name, []).extend(scope.bindings.pop(name))
    return collector.scopes
