"""Per-file caches, held by the file's context (`FileContext.memo`) and passed to what walks it.

The rules' many small sub-walks of one file pass the same nodes again and again, and some analyses
ask the same question of the same node on every fixed-point iteration: both are remembered for the
duration of one file's lint (`FileMemo.active`), then dropped. Entries hold their nodes, so an id
cannot be handed to a new node while its entry lives.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable, TypeVar

import libcst as cst

from .walk import Children, source_children

T = TypeVar("T")


class FileMemo:
    """`children` and `per_file` for one file; outside `active()` they compute afresh each time."""

    __slots__ = ("_children", "_tables", "_depth")

    def __init__(self) -> None:
        self._children: dict[int, tuple[cst.CSTNode, Children]] = {}
        self._tables: dict[str, dict[tuple[int, ...], tuple[cst.CSTNode, tuple[Any, ...], Any]]] = {}
        self._depth = 0

    @contextmanager
    def active(self) -> Iterator[FileMemo]:
        """Remember for the duration (nested uses share the outer one); forget at the end."""
        self._depth += 1
        try:
            yield self
        finally:
            self._depth -= 1
            if not self._depth:
                self._children.clear()
                self._tables.clear()

    def children(self, node: cst.CSTNode) -> Children:
        """`source_children(node)`, remembered while active."""
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
