"""Per-file state shared by the rules of one traversal: the tree, its imports, the analyses (built
on first use), the per-file memo, and the findings."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Callable, Optional

import libcst as cst
from libcst.metadata import CodePosition, CodeRange

from ..ftypes import Finding
from ..syntax.async_keyword import PLACEHOLDER as ASYNC_PLACEHOLDER
from ..tree.memo import FileMemo
from ..tree.parents import Parents
from ..tree.positions import Positions, positions
from .data_uses import DataUses
from .facts import TORCH, OutsideFacts
from .imports import ImportTracker
from .plain_tensors import PlainTensors
from .scalar_values import ScalarValues
from .tensors import TensorInference

if TYPE_CHECKING:
    from ..ftypes import Edit


class FileContext:
    def __init__(
        self,
        path: str,
        module: cst.Module,
        imports: Optional[ImportTracker] = None,
        memo: Optional[FileMemo] = None,
        facts: OutsideFacts = TORCH,
        previous: Optional[TensorInference] = None,
    ) -> None:
        self.path = path
        self.module = module
        # A notebook cell: the inference of the cells before it (one namespace, like the imports).
        self.previous = previous
        # The caches of this file's walks (the engine keeps them active while it lints the file).
        self.memo = memo if memo is not None else FileMemo()
        self.facts = facts
        # Notebooks pass a tracker that already holds the earlier cells' imports.
        self.imports = (imports.copy() if imports is not None else ImportTracker(facts)).scan(module, self.memo)
        self.findings: list[Finding] = []
        # The parent map, built on first use. Its holders keep no reference to this context (a
        # cycle would hold the whole tree until the collector's next full pass).
        self.tree = Parents(module, self.memo)

    @cached_property
    def tensors(self) -> TensorInference:
        return TensorInference(self.module, self.imports, self.memo, self.facts, self.previous)

    @cached_property
    def data_uses(self) -> DataUses:
        """What each `.data` of the file is used for (classified on first use)."""
        return DataUses(self.tensors, self.tree, self.memo)

    @cached_property
    def scalar_values(self) -> ScalarValues:
        """Where a number can stand in for a tensor value, totals that are 0-dim (VM201's fix)."""
        return ScalarValues(self.tensors, self.tree, self.data_uses.scopes)

    @cached_property
    def plain_tensors(self) -> PlainTensors:
        """Which expressions were 0.3 `Tensor`s (what `.data` gave, and what was computed from it)."""
        return PlainTensors(self.data_uses, self.tree, self.imports)

    @property
    def parents_getter(self) -> Callable[[], dict[int, cst.CSTNode]]:
        """The parent map as a function, for holders that must not keep this context alive."""
        return self.tree.map

    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self.tree.parent(node)

    def ancestors(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        """The chain from the module down to `node` (inclusive)."""
        return self.tree.ancestors(node)

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
        code: str,
        name: str,
        node: cst.CSTNode,
        message: str,
        edits: list[Edit],
        fix_node: Optional[cst.CSTNode] = None,
    ) -> None:
        rng = self.position(node)
        # The `async=` pre-pass renamed the keyword to parse the file: messages quote the code as written.
        message = message.replace(ASYNC_PLACEHOLDER, "async")
        for edit in edits:
            edit.title = edit.title.replace(ASYNC_PLACEHOLDER, "async")
        self.findings.append(
            Finding(
                code=code,
                name=name,
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
