"""The rewrites of a volatile source and the `x.volatile = False` statements its values reach:
the source's flag dropped (or its `x.volatile = True` statement deleted), optionally a `no_grad`
scope over the statements that use it, and each cut either detached (`x = x.detach()`) or
deleted. Shared by variable-volatile and volatile-attribute; the analysis that decides what goes
where is analysis/volatile_scope.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Callable, Optional, Union

import libcst as cst

from .blocks import BlockEdit, BlockReplacement, Index, Rewrite, scan_index
from .expressions import method_call

Block = Union[cst.IndentedBlock, cst.Module]


def lowest_block(chains: Sequence[Sequence[cst.CSTNode]]) -> Optional[cst.CSTNode]:
    """The deepest block (IndentedBlock/Module) that holds every statement of `chains` (each the
    parent chain of a statement, outermost first) as a statement of itself or of a block below."""
    found: Optional[cst.CSTNode] = None
    shortest = min(len(c) for c in chains)
    for i in range(shortest - 1):  # the statement itself cannot be the block
        node = chains[0][i]
        if any(c[i] is not node for c in chains[1:]):
            break
        if isinstance(node, (cst.IndentedBlock, cst.Module)):
            found = node
    return found


def _is_cut(small: cst.CSTNode) -> bool:
    if not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return False
    target = small.targets[0].target
    return (isinstance(target, cst.Attribute) and target.attr.value == "volatile"
            and isinstance(small.value, cst.Name) and small.value.value in ("False", "0"))


def detached(assign: cst.Assign) -> cst.Assign:
    """`x.volatile = False` -> `x = x.detach()` (the same target expression on both sides)."""
    target = assign.targets[0].target
    assert isinstance(target, cst.Attribute)
    base = target.value
    return assign.with_changes(targets=[assign.targets[0].with_changes(target=base)], value=method_call(base, "detach"))


def detach_cut(line: cst.CSTNode) -> cst.CSTNode:
    """The statement line with its `x.volatile = False` made `x = x.detach()` (unchanged when
    another fix of the round did that already)."""
    if not isinstance(line, cst.SimpleStatementLine):
        return line
    if not any(_is_cut(s) for s in line.body):
        return line
    return line.with_changes(body=[detached(s) if _is_cut(s) else s for s in line.body])  # type: ignore[arg-type]


def volatile_edit(
    ancestors: Callable[[cst.CSTNode], list[cst.CSTNode]],
    top: cst.CSTNode,
    source: cst.CSTNode,
    source_rewrite: Optional[Rewrite],
    detach: Sequence[cst.CSTNode],
    delete: Sequence[cst.CSTNode] = (),
    scope: Optional[tuple[Block, int, int, str]] = None,
    index: Index = scan_index,
) -> Optional[BlockReplacement]:
    """The replacement of `top`: the source's statement rewritten by `source_rewrite` (deleted
    when None), the cut lines of `detach` detached and those of `delete` deleted, and the
    statements of `scope` (block, start, end, manager) put under the manager. None when a
    statement is not where a block edit can reach it."""
    edit = BlockEdit(top, ancestors, index)
    if source_rewrite is None:
        edit.delete(source)
    else:
        edit.rewrite(source, source_rewrite)
    for line in detach:
        if line not in delete:
            edit.rewrite(line, detach_cut)
    for line in delete:
        edit.delete(line)
    if scope is not None:
        block, start, end, manager = scope
        edit.wrap(block, start, end, manager)
    return edit.replacement() if edit.ok else None
