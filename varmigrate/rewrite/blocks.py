"""Edits of several statements below one node, as one replacement: statements deleted (their
comments kept), rewritten, or put under a `with` block, in any of the blocks below it.

A fix replaces one node (its finding's `fix_node`). When it has to change statements in several
places (a `no_grad` scope and the `x.volatile = False` further down that it makes a no-op), it
replaces their lowest common ancestor with a function of that node *as other fixes of the same
round left it*. `BlockEdit` finds each block again by the path of fields that led to it in the
original tree, and gives up (returns the node unchanged, so the fix is retried on the next round)
when a block's statement count or a node's type on the way differs: another fix changed the shape.
Several such edits of the same node that keep apart merge into one (`BlockReplacement.merged`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import libcst as cst

from .no_grad import with_block

Step = tuple[str, Optional[int], type]  # field name, index in it (a sequence field), the child's type
Rewrite = Callable[[cst.CSTNode], cst.CSTNode]


Index = Callable[[cst.CSTNode, cst.CSTNode], int]  # (block, statement) -> its index in block.body


def scan_index(block: cst.CSTNode, statement: cst.CSTNode) -> int:
    assert isinstance(block, (cst.IndentedBlock, cst.Module))
    return next(i for i, s in enumerate(block.body) if s is statement)


def path_between(chain: Sequence[cst.CSTNode], index: Index = scan_index) -> Optional[list[Step]]:
    """The fields from `chain[0]` down to `chain[-1]` (a parent chain, outermost first). `index`
    finds a statement in a block's body (the caller may know it without a scan)."""
    steps: list[Step] = []
    for parent, child in zip(chain, chain[1:]):
        step = _step(parent, child, index)
        if step is None:
            return None
        steps.append(step)
    return steps


def _step(parent: cst.CSTNode, child: cst.CSTNode, index: Index) -> Optional[Step]:
    if isinstance(parent, (cst.IndentedBlock, cst.Module)) and isinstance(child, cst.BaseStatement):
        return "body", index(parent, child), type(child)
    for f in dataclasses.fields(parent):
        value = getattr(parent, f.name)
        if value is child:
            return f.name, None, type(child)
        if isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if item is child:
                    return f.name, i, type(child)
    return None


def _child(node: cst.CSTNode, step: Step) -> Optional[cst.CSTNode]:
    name, index, kind = step
    value = getattr(node, name, None)
    if index is not None:
        if not isinstance(value, (list, tuple)) or index >= len(value):
            return None
        value = value[index]
    return value if type(value) is kind and isinstance(value, cst.CSTNode) else None


def _replace(node: cst.CSTNode, path: Sequence[Step], fn: Callable[[cst.CSTNode], Optional[cst.CSTNode]]) -> Optional[cst.CSTNode]:
    if not path:
        return fn(node)
    step = path[0]
    child = _child(node, step)
    if child is None:
        return None
    new = _replace(child, path[1:], fn)
    if new is None:
        return None
    name, index, _ = step
    if index is None:
        return node.with_changes(**{name: new})
    items = list(getattr(node, name))
    items[index] = new
    return node.with_changes(**{name: items})


@dataclass
class _BlockOps:
    path: list[Step]
    size: int
    delete: set[int] = field(default_factory=set)
    rewrite: dict[int, list[Rewrite]] = field(default_factory=dict)
    # (start, end, manager) runs put under a `with`: one per edit, several once edits are merged
    wraps: list[tuple[int, int, str]] = field(default_factory=list)

    def touched(self) -> set[int]:
        """The indices of the statements of this block that the edit changes."""
        out = self.delete | set(self.rewrite)
        for start, end, _ in self.wraps:
            out.update(range(start, end))
        return out


class BlockEdit:
    """Collects statement edits in the blocks below `top` (an ancestor of all of them, itself a
    block or any node); `replacement()` is the fix's replacement of `top`."""

    def __init__(self, top: cst.CSTNode, ancestors: Callable[[cst.CSTNode], list[cst.CSTNode]],
                 index: Index = scan_index) -> None:
        self.top = top
        self._ancestors = ancestors
        self._index = index
        self._blocks: dict[int, _BlockOps] = {}
        self.ok = True

    def _ops(self, statement: cst.CSTNode) -> Optional[tuple[_BlockOps, int]]:
        chain = self._ancestors(statement)
        at = next((i for i, n in enumerate(chain) if n is self.top), None)
        if at is None:
            self.ok = False
            return None
        chain = chain[at:]
        if len(chain) < 2 or not isinstance(chain[-2], (cst.IndentedBlock, cst.Module)):
            self.ok = False
            return None
        block = chain[-2]
        ops = self._blocks.get(id(block))
        if ops is None:
            path = path_between(chain[:-1], self._index)
            if path is None:
                self.ok = False
                return None
            ops = self._blocks[id(block)] = _BlockOps(path, len(block.body))
        return ops, self._index(block, statement)

    def delete(self, statement: cst.CSTNode) -> None:
        found = self._ops(statement)
        if found is not None:
            found[0].delete.add(found[1])

    def rewrite(self, statement: cst.CSTNode, fn: Rewrite) -> None:
        found = self._ops(statement)
        if found is not None:
            found[0].rewrite.setdefault(found[1], []).append(fn)

    def wrap(self, block: Union[cst.IndentedBlock, cst.Module], start: int, end: int, manager: str) -> None:
        found = self._ops(block.body[start])
        if found is not None:
            found[0].wraps = [(start, end, manager)]

    def replacement(self) -> BlockReplacement:
        return BlockReplacement(list(self._blocks.values()))


_Key = tuple[tuple[Step, ...], str, int]  # a place in the tree below `top`: the path to a sequence, field, index


class BlockReplacement:
    """The replacement of a `BlockEdit`'s `top`: a function of `top` as the other fixes of the
    round left it. Edits of the same `top` that keep apart (`merge`) apply together in one round,
    as they would one round after another."""

    def __init__(self, blocks: list[_BlockOps]) -> None:
        self._blocks = sorted(blocks, key=lambda b: -len(b.path))  # deepest first

    def __call__(self, updated: cst.CSTNode) -> cst.CSTNode:
        node: Optional[cst.CSTNode] = updated
        for ops in self._blocks:
            assert node is not None
            node = _replace(node, ops.path, lambda block, ops=ops: _apply(block, ops))  # type: ignore[misc]
            if node is None:
                return updated  # another fix changed the shape in this round: retried on the next
        assert node is not None
        return node

    def places(self) -> set[_Key]:
        """Where this edit reaches: each changed statement, and each statement and sequence item
        on the way to a changed block."""
        out: set[_Key] = set()
        for ops in self._blocks:
            path = tuple(ops.path)
            out.update((path, "body", i) for i in ops.touched())
            for depth, (name, index, _) in enumerate(path):
                if index is not None:
                    out.add((path[:depth], name, index))
        return out

    @staticmethod
    def apart(places: set[_Key], taken: set[_Key]) -> bool:
        """Whether an edit reaching `places` keeps apart from edits reaching `taken`: no place of
        either is, or is next to, a place of the other, in the same sequence. Apart edits commute,
        and neither changes what the other's analysis saw (a scope next to an earlier round's
        `no_grad` block would join it: those stay for the next round)."""
        return not any((prefix, name, i + d) in taken for prefix, name, i in places for d in (-1, 0, 1))

    @staticmethod
    def merged(edits: Sequence[BlockReplacement]) -> BlockReplacement:
        """One replacement doing all of `edits` (edits of the same `top`, apart from each other)."""
        merged: dict[tuple[Step, ...], _BlockOps] = {}
        for ops in (ops for edit in edits for ops in edit._blocks):
            key = tuple(ops.path)
            into = merged.get(key)
            if into is None:
                into = merged[key] = _BlockOps(ops.path, ops.size)
            into.delete |= ops.delete
            for i, fns in ops.rewrite.items():
                into.rewrite.setdefault(i, []).extend(fns)
            into.wraps.extend(ops.wraps)
        for ops in merged.values():
            ops.wraps.sort()
        return BlockReplacement(list(merged.values()))


def _apply(block: cst.CSTNode, ops: _BlockOps) -> Optional[cst.CSTNode]:
    if not isinstance(block, (cst.IndentedBlock, cst.Module)) or len(block.body) != ops.size:
        return None
    body: list[cst.CSTNode] = list(block.body)
    for i, fns in ops.rewrite.items():
        for fn in fns:
            body[i] = fn(body[i])
    # statement index -> (the run's last kept statement, its manager) for the statements of each run
    runs: dict[int, tuple[int, str]] = {}
    for start, end, manager in ops.wraps:
        kept = [j for j in range(start, end) if j not in ops.delete]
        last = kept[-1] if kept else -1
        for j in range(start, end):
            runs[j] = (last, manager)
    out: list[cst.CSTNode] = []
    inner: list[cst.CSTNode] = []
    carry: list[cst.EmptyLine] = []
    for i, statement in enumerate(body):
        if i in ops.delete:
            carry += kept_comments(statement)
            continue
        if carry:
            statement = statement.with_changes(leading_lines=[*carry, *getattr(statement, "leading_lines", ())])
            carry = []
        run = runs.get(i)
        if run is not None:
            inner.append(statement)
            if i == run[0]:
                out.append(with_block(inner, run[1]))  # type: ignore[arg-type]
                inner = []
            continue
        out.append(statement)
    if carry:
        if out:
            return block.with_changes(body=out, footer=[*carry, *block.footer])
        out.append(cst.SimpleStatementLine([cst.Pass()], leading_lines=carry))
    if not out and isinstance(block, cst.IndentedBlock):
        out.append(cst.SimpleStatementLine([cst.Pass()]))
    return block.with_changes(body=out)


def kept_comments(statement: cst.CSTNode) -> list[cst.EmptyLine]:
    """The comment lines a deleted statement leaves behind: those above it, and its trailing
    comment on a line of its own."""
    lines = [line for line in getattr(statement, "leading_lines", ()) if line.comment is not None]
    trailing = getattr(statement, "trailing_whitespace", None)
    if isinstance(trailing, cst.TrailingWhitespace) and trailing.comment is not None:
        lines.append(cst.EmptyLine(comment=trailing.comment))
    return lines
