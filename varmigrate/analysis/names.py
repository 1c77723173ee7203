"""Names and their scopes, for the alias analyses: which scope holds a node, where a name is
used in it, and whether an occurrence binds the name. Scopes are functions, lambdas and the module
(class bodies and comprehensions are not scopes of their own here)."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from ..tree.memo import FileMemo
from ..tree.parents import Parents
from ..tree.walk import visit


class Scopes:
    def __init__(self, module: cst.Module, parents: Parents, memo: Optional[FileMemo] = None) -> None:
        self.module = module
        self.parent = parents.parent
        self.memo = memo
        self._names_by_scope: dict[int, dict[str, list[cst.Name]]] = {}

    def uses(self, name: cst.Name) -> list[cst.Name]:
        """The other occurrences of `name` in its scope that do not bind it."""
        names = self.names_in(self.scope_of(name))
        return [n for n in names.get(name.value, []) if n is not name and not self.is_binding(n)]

    def bindings(self, name: cst.Name) -> list[cst.Name]:
        """The occurrences of `name` in its scope that bind it: not those of a function defined in
        it (a method's parameter `action` is not the module's `action`), unless a `global` or
        `nonlocal` statement names it somewhere."""
        scope = self.scope_of(name)
        found = [n for n in self.names_in(scope).get(name.value, []) if self.is_binding(n)]
        if len(found) < 2 or any(isinstance(self.parent(n), cst.NameItem) for n in self.names_in(scope)[name.value]):
            return found
        return [n for n in found if self._binding_scope(n) is scope]

    def assignment_of(self, binding: cst.Name) -> Optional[tuple[cst.BaseExpression, bool]]:
        """The value of the single-target assignment that binds `binding`, and whether it binds it
        unpacked (`a, b = value`); None for any other binding (a parameter, a loop, `a = b = v`)."""
        holder, unpacked = self.parent(binding), False
        while isinstance(holder, (cst.Element, cst.Tuple, cst.List)):
            holder, unpacked = self.parent(holder), True
        assign = self.parent(holder) if isinstance(holder, cst.AssignTarget) else None
        if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
            return None
        return assign.value, unpacked

    def _binding_scope(self, name: cst.Name) -> cst.CSTNode:
        """The scope a binding occurrence binds in (a `def`'s or `class`'s own name: the outer one)."""
        parent = self.parent(name)
        if isinstance(parent, (cst.FunctionDef, cst.ClassDef)) and parent.name is name:
            return self.scope_of(parent)
        return self.scope_of(name)

    def names_in(self, scope: cst.CSTNode) -> dict[str, list[cst.Name]]:
        names = self._names_by_scope.get(id(scope))
        if names is None:
            collector = _Names()
            visit(scope, collector, self.memo)
            names = self._names_by_scope[id(scope)] = collector.names
        return names

    def is_binding(self, name: cst.Name) -> bool:
        parent = self.parent(name)
        if isinstance(parent, (cst.AssignTarget, cst.Param, cst.FunctionDef, cst.ClassDef, cst.ImportAlias, cst.AsName)):
            return True
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.target is name:
            return True
        if isinstance(parent, cst.Element):
            holder = self.parent(parent)
            while isinstance(holder, (cst.Tuple, cst.List, cst.Element)):
                parent, holder = holder, self.parent(holder)
            return isinstance(holder, cst.AssignTarget) or (isinstance(holder, (cst.For, cst.CompFor)) and holder.target is parent)
        return False

    def scope_of(self, node: cst.CSTNode) -> cst.CSTNode:
        current = self.parent(node)
        while current is not None and not isinstance(current, (cst.FunctionDef, cst.Lambda, cst.Module)):
            current = self.parent(current)
        return current if current is not None else self.module


class _Names(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, list[cst.Name]] = {}

    def visit_Name(self, node: cst.Name) -> None:
        self.names.setdefault(node.value, []).append(node)
