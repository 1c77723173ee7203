"""Per-file state shared by the rules of one traversal."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Callable, Optional

import libcst as cst
from libcst.metadata import CodePosition, CodeRange

from .imports import ImportTracker
from .tensors import TensorInference
from .traverse import Positions, positions

if TYPE_CHECKING:
    from .rule import Edit, Finding, Rule


class FileContext:
    def __init__(
        self,
        path: str,
        module: cst.Module,
        imports: Optional[ImportTracker] = None,
    ) -> None:
        self.path = path
        self.module = module
        # Notebooks pass a tracker that already holds the earlier cells' imports.
        self.imports = (imports.copy() if imports is not None else ImportTracker()).scan(module)
        self.findings: list["Finding"] = []

    @cached_property
    def tensors(self) -> TensorInference:
        # A bound method of a separate object, not `lambda: self.parents`: that would make a
        # cycle (context -> inference -> lambda -> context) holding the whole tree until the
        # collector's next full pass.
        return TensorInference(self.module, self.imports, self.parents_getter)

    @cached_property
    def _parent_map(self) -> "_LazyParents":
        return _LazyParents(self.module)

    @property
    def parents_getter(self) -> Callable[[], dict[int, cst.CSTNode]]:
        """`parents` as a function, for holders that must not keep this context alive."""
        return self._parent_map.get

    @property
    def parents(self) -> dict[int, cst.CSTNode]:
        """id(node) -> parent for the whole file (built once, on first use)."""
        return self._parent_map.get()

    def ancestors(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        """The chain from the module down to `node` (inclusive)."""
        chain = [node]
        parents = self.parents
        while id(chain[-1]) in parents:
            chain.append(parents[id(chain[-1])])
        chain.reverse()
        return chain

    @cached_property
    def _positions(self) -> Positions:
        # One codegen pass, only once something is reported (clean files never pay for it).
        return positions(self.module)

    def position(self, node: cst.CSTNode) -> CodeRange:
        (line, column), (end_line, end_column) = self._positions[id(node)]
        return CodeRange(CodePosition(line, column), CodePosition(end_line, end_column))

    @property
    def torch(self) -> str:
        """The local name to spell `torch` with (`th` after `import torch as th`)."""
        return self.imports.alias_of("torch") or "torch"

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def add_finding(
        self,
        rule: "Rule",
        node: cst.CSTNode,
        message: str,
        edits: list["Edit"],
        fix_node: Optional[cst.CSTNode] = None,
    ) -> None:
        from .rule import Finding

        rng = self.position(node)
        self.findings.append(
            Finding(
                code=rule.CODE,
                name=rule.slug(),
                message=message,
                path=self.path,
                line=rng.start.line,
                column=rng.start.column + 1,
                end_line=rng.end.line,
                end_column=rng.end.column + 1,
                node=node,
                fix_node=fix_node,
                edits=edits,
            )
        )


class _LazyParents:
    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self._parents: Optional[dict[int, cst.CSTNode]] = None

    def get(self) -> dict[int, cst.CSTNode]:
        if self._parents is None:
            from .walk import parent_map

            self._parents = parent_map(self.module)
        return self._parents
