"""Navigation upwards: each node's parent, built once per file (on first use) from the fast walk."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from .memo import FileMemo
from .walk import parent_map

# Nodes that only wrap an expression where it is used: `expr_parent` looks through them.
_WRAPPERS = (cst.Arg, cst.Index, cst.SubscriptElement, cst.Element, cst.ComparisonTarget,
             cst.FormattedStringExpression, cst.AssignTarget)


class Parents:
    """The parents of the nodes below `root`. It holds no reference to its users (a file
    context's analyses share one), so nothing here keeps a tree alive in a cycle."""

    __slots__ = ("_root", "_memo", "_map")

    def __init__(self, root: cst.CSTNode, memo: Optional[FileMemo] = None) -> None:
        self._root = root
        self._memo = memo
        self._map: Optional[dict[int, cst.CSTNode]] = None

    def map(self) -> dict[int, cst.CSTNode]:
        """id(node) -> parent (5x cheaper than a CSTVisitor pass: no node is rebuilt)."""
        if self._map is None:
            # The memo's prefill pass read the parents with the children (when it was this root's).
            found = self._memo.parents_of(self._root) if self._memo is not None else None
            self._map = found if found is not None else parent_map(self._root, self._memo)
        return self._map

    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        found = self._map
        if found is None:
            found = self.map()
        return found.get(id(node))

    def ancestors(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        """The chain from the root down to `node` (inclusive)."""
        chain = [node]
        parents = self.map()
        while id(chain[-1]) in parents:
            chain.append(parents[id(chain[-1])])
        chain.reverse()
        return chain

    def expr_parent(self, node: cst.CSTNode) -> tuple[Optional[cst.CSTNode], cst.CSTNode]:
        """The nearest ancestor that is not a wrapper node (Arg, Index, SubscriptElement, Element ...),
        and the child of it on the way (an f-string expression and an assignment target count)."""
        child = node
        parent = self.parent(node)
        while isinstance(parent, _WRAPPERS):
            if isinstance(parent, (cst.FormattedStringExpression, cst.AssignTarget)):
                return parent, child
            child = parent
            parent = self.parent(parent)
        return parent, child

    def method_called(self, node: cst.CSTNode) -> Optional[str]:
        """`m` when `node` is the receiver of a call `node.m(...)`."""
        parent = self.parent(node)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            call = self.parent(parent)
            if isinstance(call, cst.Call) and call.func is parent:
                return parent.attr.value
        return None

    def call_of(self, node: cst.CSTNode) -> Optional[cst.Call]:
        """The grandparent of `node` when it is a call: `node.m(...)` for a receiver `node`."""
        parent = self.parent(node)
        call = self.parent(parent) if parent is not None else None
        return call if isinstance(call, cst.Call) else None
