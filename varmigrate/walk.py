"""Fast read-only traversal of a libcst tree.

`CSTNode.visit` rebuilds every node it passes (it is shared with transformers), which makes a
read-only pass over a 300-line file cost ~35 ms; reading the dataclass fields directly costs ~7 ms.
`source_children` gives a node's children in libcst's own visit order; `visit` runs a read-only
CSTVisitor with libcst's protocol on top of it; `parent_map` and `statements` are whole-file scans.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, TypeVar

import libcst as cst

_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _visit_order(cls: type) -> tuple[str, ...]:
    """The fields in the order libcst's own visit takes them (read once from its source)."""
    try:
        source = inspect.getsource(cls._visit_and_replace_children)
    except (OSError, TypeError):
        return _fields(cls)
    fields = _fields(cls)
    order = tuple(f for f in dict.fromkeys(_VISITED_FIELD.findall(source)) if f in fields)
    return order + tuple(f for f in fields if f not in order)  # never drop a field


_VISITED_FIELD = re.compile(r"visit_\w+\(\s*self,\s*\"(\w+)\"")


_IS_NODE: dict[type, bool] = {}


def _node_type(cls: type) -> bool:
    # `isinstance(x, cst.CSTNode)` goes through ABC machinery: ~10x slower than this cache.
    known = _IS_NODE.get(cls)
    if known is None:
        known = _IS_NODE[cls] = issubclass(cls, cst.CSTNode)
    return known


# id(node) -> (node, children) while a file is being linted (see `children_memo`). The rules'
# many small sub-walks pass the same nodes again and again; the entry holds the node itself, so
# its id cannot be handed to a new node while the entry lives.
_MEMO: Optional[dict[int, tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]]] = None


_FILE_MEMOS: dict[str, dict[Any, Any]] = {}
T = TypeVar("T")


@contextmanager
def children_memo() -> Iterator[None]:
    """Caches `source_children`, and the `per_file` tables, for the duration (one file's lint;
    nested uses share the outer cache)."""
    global _MEMO
    if _MEMO is not None:
        yield
        return
    _MEMO = {}
    try:
        yield
    finally:
        _MEMO = None
        _FILE_MEMOS.clear()


def per_file(kind: str, compute: Callable[..., T], node: cst.CSTNode, *args: Any) -> T:
    """`compute(node, *args)`, remembered for the current file's lint (computed afresh outside
    one). The entry holds `node` and `args`, so their ids cannot be reused while it lives."""
    if _MEMO is None:
        return compute(node, *args)
    table = _FILE_MEMOS.get(kind)
    if table is None:
        table = _FILE_MEMOS[kind] = {}
    key = (id(node), *map(id, args))
    hit = table.get(key)
    if hit is not None and hit[0] is node and all(a is b for a, b in zip(hit[1], args)):
        return hit[2]  # type: ignore[no-any-return]
    value = compute(node, *args)
    table[key] = (node, args, value)
    return value


def source_children(node: cst.CSTNode) -> tuple[cst.CSTNode, ...]:
    memo = _MEMO
    if memo is not None:
        hit = memo.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
    cls = type(node)
    children_of = _CHILDREN_OF.get(cls)
    if children_of is None:
        children_of = _CHILDREN_OF[cls] = _compile_children(cls)
    children = children_of(node)
    if memo is not None:
        memo[id(node)] = (node, children)
    return children


_CHILDREN_OF: dict[type, Callable[[cst.CSTNode], tuple[cst.CSTNode, ...]]] = {}


def _compile_children(cls: type) -> Callable[[cst.CSTNode], tuple[cst.CSTNode, ...]]:
    """A function reading `cls`'s fields in visit order, generated once per node class: a loop
    over field names with `getattr` costs about twice as much on every node of every file."""
    lines = ["def children(node):", "    out = []"]
    for name in _visit_order(cls):
        if not name.isidentifier():
            raise ValueError(name)
        lines += [
            f"    v = node.{name}",
            "    k = type(v)",
            "    if k is list or k is tuple:",
            "        out += [x for x in v if _is_node(type(x))]",
            "    elif _is_node(k):",
            "        out.append(v)",
        ]
    lines.append("    return tuple(out)")
    namespace: dict[str, Any] = {"_is_node": _node_type}
    exec("\n".join(lines), namespace)  # noqa: S102 - field names are identifiers of libcst classes
    return namespace["children"]  # type: ignore[no-any-return]


# What can hold statements: descending only through these skips every expression.
_STATEMENT_CONTAINERS = (
    cst.Module, cst.BaseSuite, cst.BaseCompoundStatement, cst.SimpleStatementLine, cst.Else,
    cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally, cst.MatchCase,
)


def statements(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Compound statements and small statements (`import`, `x = ...`), in source order."""
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        kind = _statement_kind(type(node))
        if kind == _SMALL:
            yield node
            continue
        if kind == _COMPOUND:
            yield node
        stack.extend(reversed([c for c in source_children(node) if _statement_kind(type(c)) != _OTHER]))


_OTHER, _SMALL, _COMPOUND, _CONTAINER = range(4)
_KINDS: dict[type, int] = {}


def _statement_kind(cls: type) -> int:
    # Cached per class: `isinstance` against libcst's ABCs costs ~1 us a check.
    kind = _KINDS.get(cls)
    if kind is None:
        if issubclass(cls, cst.BaseSmallStatement):
            kind = _SMALL
        elif issubclass(cls, cst.BaseCompoundStatement):
            kind = _COMPOUND
        elif issubclass(cls, _STATEMENT_CONTAINERS):
            kind = _CONTAINER
        else:
            kind = _OTHER
        _KINDS[cls] = kind
    return kind


def parent_map(root: cst.CSTNode) -> dict[int, cst.CSTNode]:
    """id(node) -> parent, for every node below `root`."""
    parents: dict[int, cst.CSTNode] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        for child in source_children(node):
            parents[id(child)] = node
            stack.append(child)
    return parents


def visit(node: cst.CSTNode, visitor: cst.CSTVisitor) -> cst.CSTNode:
    """`node.visit(visitor)` for read-only visitors, without rebuilding every node on the way.

    Same protocol as libcst: `on_visit` (a False return skips the children, `on_leave` still runs),
    children in libcst's own order. Transformers are handed to libcst unchanged.
    """
    vcls = type(visitor)
    # (An MRO test, not isinstance: ABC checks are slow.)
    if cst.CSTTransformer in vcls.__mro__:
        return node.visit(visitor)
    if vcls.on_visit is not cst.CSTVisitor.on_visit or vcls.on_leave is not cst.CSTVisitor.on_leave:
        _visit_generic(node, visitor.on_visit, visitor.on_leave)
        return node
    dispatch = _Dispatch.of(vcls)
    visits, leaves = dispatch.visit_methods, dispatch.leave_methods
    # Nodes to visit, and 1-tuples for the leave calls that are due once the children are
    # done; a leave entry is pushed only for node classes that have a leave method.
    stack: list[Any] = [node]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        current = pop()
        ncls = type(current)
        if ncls is tuple:
            done = current[0]
            leaves[type(done)](visitor, done)  # type: ignore[misc]
            continue
        if dispatch.has_leave:
            leave = leaves[ncls] if ncls in leaves else dispatch.lookup_leave(ncls)
            if leave is not None:
                push((current,))
        func = visits[ncls] if ncls in visits else dispatch.lookup_visit(ncls)
        if func is None or func(visitor, current) is not False:
            extend(reversed(source_children(current)))
    return node


def _visit_generic(node: cst.CSTNode, on_visit: Callable[[cst.CSTNode], Any],
                   on_leave: Callable[[cst.CSTNode], Any]) -> None:
    stack: list[tuple[bool, cst.CSTNode]] = [(False, node)]
    while stack:
        leaving, current = stack.pop()
        if leaving:
            on_leave(current)
            continue
        stack.append((True, current))
        if on_visit(current):
            for child in reversed(source_children(current)):
                stack.append((False, child))


class _Dispatch:
    """A visitor class's `visit_<Type>`/`leave_<Type>` methods by node class, libcst's no-op
    stubs left out. Stored on the visitor class itself, so it lives and dies with the class."""

    __slots__ = ("vcls", "visit_methods", "leave_methods", "has_leave")

    def __init__(self, vcls: type) -> None:
        self.vcls = vcls
        self.visit_methods: dict[type, Optional[Callable[..., Any]]] = {}
        self.leave_methods: dict[type, Optional[Callable[..., Any]]] = {}
        self.has_leave = any(name.startswith("leave_") and self._method(name) is not None for name in dir(vcls))

    @classmethod
    def of(cls, vcls: type) -> "_Dispatch":
        found = vcls.__dict__.get("_varmigrate_dispatch")
        if found is None:
            found = cls(vcls)
            setattr(vcls, "_varmigrate_dispatch", found)
        return found

    def _method(self, name: str) -> Optional[Callable[..., Any]]:
        return handler(self.vcls, name)

    def lookup_visit(self, ncls: type) -> Optional[Callable[..., Any]]:
        func = self.visit_methods[ncls] = self._method("visit_" + ncls.__name__)
        return func

    def lookup_leave(self, ncls: type) -> Optional[Callable[..., Any]]:
        func = self.leave_methods[ncls] = self._method("leave_" + ncls.__name__)
        return func


def handler(owner: Any, name: str) -> Optional[Callable[..., Any]]:
    """`owner.name` (a visitor or its class), or None when it is missing or one of the no-op
    `visit_<Type>`/`leave_<Type>` stubs libcst's typed visitor bases define for every type."""
    func = getattr(owner, name, None)
    return None if func is None or getattr(func, "_is_no_op", False) else func
