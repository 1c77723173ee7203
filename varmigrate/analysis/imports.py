"""A light import tracker: local names to qualified names.

libcst's QualifiedNameProvider needs full scope analysis (~120 ms a file); legacy scripts bind
`Variable` and friends at the top of the file, so a single pass over import statements, plus a list of
names the file rebinds itself, resolves what the rules need.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional, Union

import libcst as cst

from ..tree.memo import FileMemo
from ..tree.walk import statements
from .facts import TORCH, OutsideFacts
from .torch_api import canonical


def dotted_name(node: cst.BaseExpression) -> Optional[str]:
    """`a.b.c` for Name/Attribute chains, else None."""
    parts = []
    # `type(...) is`: both classes are final, and isinstance against libcst's ABCs is slow here
    while type(node) is cst.Attribute:
        parts.append(node.attr.value)
        node = node.value
    if type(node) is cst.Name:
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def _is_torch(qname: str) -> bool:
    return qname == "torch" or qname.startswith("torch.")


def _module_name(node: Union[cst.Attribute, cst.Name, None]) -> str:
    return dotted_name(node) or "" if node is not None else ""


class ImportTracker(cst.CSTVisitor):
    """Collects import bindings of a module (or of several notebook cells, in order). What a star
    import binds comes from `facts` (torch's API by default)."""

    def __init__(self, facts: OutsideFacts = TORCH) -> None:
        super().__init__()
        self.facts = facts
        self.bindings: dict[str, str] = {}
        self.star_modules: list[str] = []
        # Names the file binds itself (class/def/assignment): a user's own `Variable` is not torch's.
        self.local_defs: set[str] = set()
        self.definitions: set[str] = set()  # the names of the file's own `def`s and `class`es
        # Import statements by the local name they bind, for removal of imports a fix made unused.
        self.import_nodes: dict[str, cst.CSTNode] = {}

    def copy(self) -> ImportTracker:
        other = ImportTracker(self.facts)
        other.bindings = dict(self.bindings)
        other.star_modules = list(self.star_modules)
        other.local_defs = set(self.local_defs)
        other.definitions = set(self.definitions)
        other.import_nodes = dict(self.import_nodes)
        return other

    # -- collection ------------------------------------------------------------------------
    def scan(self, module: cst.Module, memo: Optional[FileMemo] = None) -> ImportTracker:
        # Imports, defs and assignments are statements: expressions are skipped.
        for node in statements(module, memo):
            method = getattr(self, f"visit_{type(node).__name__}", None)
            if method is not None:
                method(node)
        return self

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            full = _module_name(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
                self.bindings[local] = full
            else:
                # `import torch.autograd` binds `torch`
                local = full.split(".", 1)[0]
                self.bindings[local] = local
            self.import_nodes[local] = node
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        module = _module_name(node.module)
        if node.relative:
            # `from .common import *`: only the project index knows the file's package.
            resolved = self.facts.resolve_module(module, len(node.relative))
            if resolved is None:
                return False
            module = resolved
        if isinstance(node.names, cst.ImportStar):
            self.star_modules.append(module)
            return False
        for alias in node.names:
            name = _module_name(alias.name)
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            # `from model import Variable` where model imports it from torch is torch's Variable.
            self.bindings[local] = self.facts.origin(f"{module}.{name}")
            self.import_nodes[local] = node
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.local_defs.add(node.name.value)
        self.definitions.add(node.name.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.local_defs.add(node.name.value)
        self.definitions.add(node.name.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        # `V = torch.autograd.Variable` is an alias; `Variable = MyClass` shadows torch's name.
        alias = self.qualified(node.value)
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                if alias is not None:
                    self.bindings[target.target.value] = alias
                else:
                    self.local_defs.add(target.target.value)

    # -- queries ---------------------------------------------------------------------------
    @property
    def imports_torch(self) -> bool:
        """The file sees torch: it imports it, or a name of it, directly or through a project
        module (`from model import *` where model imports torch), or a project module that uses
        torch imports it."""
        if any(_is_torch(m) for m in (*self.bindings.values(), *self.star_modules)):
            return True
        if any(_is_torch(bound) for m in self.star_modules for bound in self.facts.star_names(m).values()):
            return True
        if any(self.facts.uses_torch(q) for q in (*self.bindings.values(), *self.star_modules)):
            return True
        return self.facts.imported_by_torch()  # (a helper module its torch-using importers call)

    def resolve_name(self, name: str) -> Optional[str]:
        if name in self.local_defs:
            return None
        if name in self.bindings:
            return self.bindings[name]
        for module in self.star_modules:
            bound = self.facts.star_binding(module, name)
            if bound is not None:
                return bound
        return None

    def qualified(self, node: cst.BaseExpression) -> Optional[str]:
        """The qualified name of a Name/Attribute chain, when its head is an import."""
        dotted = dotted_name(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        base = self.resolve_name(head)
        if base is None:
            return None
        return self.facts.origin(f"{base}.{rest}") if rest else canonical(base)

    def alias_of(self, qname: str) -> Optional[str]:
        """A local name bound to exactly `qname` (e.g. `th` for `import torch as th`)."""
        for local, bound in self.bindings.items():
            if bound == qname and local not in self.local_defs:
                return local
        return None

    def locals_bound_to(self, qnames: Iterable[str]) -> list[str]:
        wanted = set(qnames)
        return [local for local, bound in self.bindings.items() if bound in wanted]
