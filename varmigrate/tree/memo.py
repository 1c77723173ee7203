"""Per-file caches, held by the file's context (`FileContext.memo`) and passed to what walks it.

The rules' many small sub-walks of one file pass the same nodes again and again, and some analyses
ask the same question of the same node on every fixed-point iteration: both are remembered for the
duration of one file's lint (`FileMemo.active`), then dropped. Entries hold their nodes, so an id
cannot be handed to a new node while its entry lives.

`prefill(root)` reads the children of every node below `root` in one tight pass (and the parent
map with them): the walks then find every node of the file in `known`, a plain dict (id -> children)
that they read inline. The dict needs no node in its entries, since `root`, held by the memo while
it is active, keeps every node of the file alive. Nodes outside the file (those the rules build for
their fixes) are remembered with their node, as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable, Optional, TypeVar

import libcst as cst

from .walk import Children, prefill_tree, source_children

T = TypeVar("T")


class FileMemo:
    """`children` and `per_file` for one file; outside `active()` they compute afresh each time."""

    __slots__ = ("known", "_children", "_tables", "_depth", "_root", "_parents")

    def __init__(self) -> None:
        # id(node) -> children for the nodes below the prefilled root (empty when inactive).
        self.known: dict[int, Children] = {}
        self._children: dict[int, tuple[cst.CSTNode, Children]] = {}
        self._tables: dict[str, dict[tuple[int, ...], tuple[cst.CSTNode, tuple[Any, ...], Any]]] = {}
        self._depth = 0
        self._root: Optional[cst.CSTNode] = None
        self._parents: Optional[dict[int, cst.CSTNode]] = None

    @contextmanager
    def active(self) -> Iterator[FileMemo]:
        """Remember for the duration (nested uses share the outer one); forget at the end."""
        self._depth += 1
        try:
            yield self
        finally:
            self._depth -= 1
            if not self._depth:
                self.known.clear()  # in place: a walk that outlives the scope sees it empty
                self._children.clear()
                self._tables.clear()
                self._root = self._parents = None

    def prefill(self, root: cst.CSTNode) -> None:
        """Read the children (and parents) of every node below `root` now; only while active."""
        if self._depth and self._root is None:
            self._root = root
            self._parents = prefill_tree(root, self.known)

    def parents_of(self, root: cst.CSTNode) -> Optional[dict[int, cst.CSTNode]]:
        """The parent map of `root` when it is the prefilled root (None otherwise)."""
        return self._parents if root is self._root and self._depth else None

    def children(self, node: cst.CSTNode) -> Children:
        """`source_children(node)`, remembered while active."""
        known = self.known.get(id(node))
        if known is not None:
            return known
        hit = self._children.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        children = source_children(node)
        if self._depth:
            self._children[id(node)] = (node, children)
        return children

    def per_file(self, kind: str, compute: Callable[..., T], node: cst.CSTNode, *args: Any) -> T:
        """`compute(node, *args)`, remembered while active under (kind, node, args) by identity."""
        if not self._depth:
            return compute(node, *args)
        table = self._tables.get(kind)
        if table is None:
            table = self._tables[kind] = {}
        key = (id(node), *map(id, args))
        hit = table.get(key)
        if hit is not None and hit[0] is node and all(a is b for a, b in zip(hit[1], args)):
            return hit[2]  # type: ignore[no-any-return]
        value = compute(node, *args)
        table[key] = (node, args, value)
        return value
