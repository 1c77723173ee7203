"""What a fix applied alone to an unfixed module costs, cut to the statements it changed.

JSON, SARIF and `--show-fixes` apply every finding's fix alone to the same module (`fix_alone`):
recomputing the whole file's code, name uses and `x = x` codes per finding, then parsing it with
libcst, is quadratic in findings x file size. `UnfixedModule.apply` rebuilds only the targets'
ancestors, so the other top-level statements of its result are the base module's own objects:
their share of each whole-module figure is cached here by identity. The figures add up over
top-level statements (code: the module's codegen is header + statements + footer).
"""

from __future__ import annotations

import ast
import warnings
from functools import cached_property
from typing import Callable

import libcst as cst

from ..tree.walk import visit

Counts = dict[str, int]


class Statements:
    """Whole-module figures of `base` or a module `apply` made from it, computed per top-level
    statement; those of the base's own statement objects are computed once."""

    def __init__(self, base: cst.Module) -> None:
        self.base = base
        # The base's statements stay alive with it: their ids name no other object.
        self._own = {id(s) for s in base.body}
        self._codes: dict[int, str] = {}
        self._counts: dict[tuple[str, int], Counts] = {}

    def code(self, module: cst.Module) -> tuple[str, str]:
        """`module.code`, byte for byte, and the code of its statements that are not the base's
        (all of it at the codegen's special ends: no final newline, an empty module)."""
        if not (module.has_trailing_newline and module.body) or module.default_indent != self.base.default_indent \
                or module.default_newline != self.base.default_newline:
            return module.code, module.code
        parts = [module.code_for_node(line) for line in module.header]
        changed = []
        for stmt in module.body:
            code = self._codes.get(id(stmt))
            if code is None:
                code = module.code_for_node(stmt)
                if id(stmt) in self._own:
                    self._codes[id(stmt)] = code
                else:
                    changed.append(code)
            parts.append(code)
        parts.extend(module.code_for_node(line) for line in module.footer)
        return "".join(parts), "".join(changed)

    def total(self, module: cst.Module, kind: str, measure: Callable[[cst.CSTNode], Counts], start: Counts) -> Counts:
        """The sum over `module`'s statements of `measure(statement)` (which must add up to
        `measure(module)`, header and footer counting nothing), from `start`; `kind` names the
        measure in the cache."""
        out = dict(start)
        for stmt in module.body:
            key = (kind, id(stmt))
            counts = self._counts.get(key) if id(stmt) in self._own else None
            if counts is None:
                counts = measure(stmt)
                if id(stmt) in self._own:
                    self._counts[key] = counts
            for name, n in counts.items():
                out[name] = out.get(name, 0) + n
        return out

    @cached_property
    def base_compiles(self) -> bool:
        """Whether CPython parses the base (not so: Python 2's `except E, e:`, which libcst
        accepts; then only libcst decides whether an output parses)."""
        return compiles(self.code(self.base)[0])


def compiles(text: str) -> bool:
    """Whether CPython's parser accepts `text` (~10x faster than libcst's): its SyntaxWarnings
    (invalid escapes) silenced, any failure (nesting too deep, null bytes) a no."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<fix>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, MemoryError, RecursionError, OverflowError):
        return False
    return True


def count_name_uses(node: cst.CSTNode, names: set[str]) -> Counts:
    """How often each of `names` is used (not bound or imported) in `node`."""
    counter = _NameUses(names)
    visit(node, counter)
    return counter.counts


class _NameUses(cst.CSTVisitor):
    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.counts = {n: 0 for n in names}

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
        return not isinstance(node.target, cst.Name)  # `V = torch.autograd.Variable` binds, not uses

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        visit(node.value, self)  # the `Variable` of `torch.autograd.Variable` is no local name
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.counts:
            self.counts[node.value] += 1
