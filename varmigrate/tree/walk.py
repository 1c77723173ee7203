"""Fast read-only traversal of a libcst tree.

`CSTNode.visit` rebuilds every node it passes (it is shared with transformers), which makes a
read-only pass over a 300-line file cost ~35 ms; reading the dataclass fields directly costs ~7 ms.

- `source_children(node)`: a node's children in libcst's own visit order (`node.children`).
- `visit(node, visitor)`: a read-only `CSTVisitor` run with libcst's protocol on top of it.
- `visit_batched(root, visitors)`: the engine's one pass of every rule (`visit_batched`'s protocol).
- `parent_map(root)`, `statements(root)`: whole-file scans.

Every function takes an optional `FileMemo` (tree/memo.py): the file context's cache of children,
which the rules' many sub-walks of one file share.

How the children are read: libcst's public `node.children` collects them through the visit
machinery, which costs as much as the rebuild. The fields that hold them, and their order, are a
property of the node class: `_ChildFields` learns them from `node.children` of the class's first
instances (every field whose type hint admits a node is a candidate) and from then on reads them
with one `operator.attrgetter` call. An instance with a node in a field whose place in the order is
not known yet is answered by `node.children` itself, and teaches that place.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Sequence
from operator import attrgetter
from types import MethodType
from typing import TYPE_CHECKING, Any, Callable, Optional

import libcst as cst

if TYPE_CHECKING:
    from .memo import FileMemo

Children = tuple[cst.CSTNode, ...]

class _IsNode(dict[type, bool]):
    """`is_node[cls]`: whether `cls` is a CSTNode class (`isinstance(x, cst.CSTNode)` goes through
    ABC machinery: ~10x slower than this lookup)."""

    def __missing__(self, cls: type) -> bool:
        known = self[cls] = issubclass(cls, cst.CSTNode)
        return known


_IS_NODE = _IsNode()


def _node_type(cls: type) -> bool:
    return _IS_NODE[cls]


def _holds_nodes(hint: object) -> bool:
    """A type hint that admits a CSTNode (directly, in a Union, Optional or Sequence)."""
    if isinstance(hint, type):
        return issubclass(hint, cst.CSTNode)
    return any(_holds_nodes(arg) for arg in typing.get_args(hint))


def _candidate_fields(cls: type) -> tuple[str, ...]:
    names = tuple(f.name for f in dataclasses.fields(cls))
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an unresolvable annotation: every field may hold a child
        return names
    return tuple(n for n in names if n not in hints or _holds_nodes(hints[n]))


def _field_nodes(value: object) -> list[cst.CSTNode]:
    kind = type(value)
    if kind is list or kind is tuple:
        return [x for x in value if _node_type(type(x))]  # type: ignore[attr-defined]
    return [value] if _node_type(kind) else []  # type: ignore[list-item]


class _ChildFields:
    """The child fields of one node class and an order of them that libcst's visit agrees with.

    Which fields of an instance hold nodes (its "shape") decides the order of its children, since
    the visit order of the fields is fixed. So `read` takes the fields in the current order and,
    for a shape it has not met, checks the result once against `node.children`. When they differ,
    the observed order joins the constraints and the fields are sorted again; every order seen so
    far still holds after that, so each shape is checked (and at most once corrected) only once.
    """

    __slots__ = ("cls", "candidates", "order", "shapes", "_before", "_getter", "_bits")

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.candidates = _candidate_fields(cls)
        self.order: list[str] = list(self.candidates)
        # Shapes checked to come out right: bit sets, bit i for candidates[i] holding a node.
        self.shapes: set[int] = set()
        self._before: set[tuple[str, str]] = set()  # (a, b): a's nodes come before b's
        self._getter: Callable[[Any], Any] = _nothing
        self._bits: tuple[int, ...] = ()
        self._update_getter()

    def _update_getter(self) -> None:
        order = self.order
        self._bits = tuple(1 << self.candidates.index(name) for name in order)
        if len(order) == 1:
            single = attrgetter(order[0])
            self._getter = lambda node: (single(node),)
        elif order:
            self._getter = attrgetter(*order)

    def read(self, node: cst.CSTNode) -> Children:
        out: list[cst.CSTNode] = []
        shape = 0
        is_node = _IS_NODE
        for value, bit in zip(self._getter(node), self._bits):
            kind = type(value)
            if kind is tuple or kind is list:
                if value:
                    for item in value:
                        if is_node[type(item)]:
                            out.append(item)
                    shape |= bit
            elif is_node[kind]:
                out.append(value)
                shape |= bit
        if shape in self.shapes:
            return tuple(out)
        return self._check(node, tuple(out), shape)

    def _check(self, node: cst.CSTNode, found: Children, shape: int) -> Children:
        """`node.children` (always right), and the order of the fields it shows."""
        children = tuple(node.children)
        observed = self._field_order(node, children)
        if observed is None:
            return children  # nothing to learn from this instance: its shape is checked again
        self._before.update(zip(observed, observed[1:]))
        if not (len(children) == len(found) and all(a is b for a, b in zip(children, found))):
            self.order = _sorted(self.order, self._before)
            self._update_getter()
        # The order now agrees with every observed order: with those of all checked shapes.
        self.shapes.add(shape)
        if all(pair in self._before for pair in zip(self.order, self.order[1:])):
            # Each field is known to come right after the one before it: the order is libcst's own
            # for every shape, and instances are read without computing theirs.
            _READERS[self.cls] = self.read_in_order
        return children

    def read_in_order(self, node: cst.CSTNode) -> Children:
        out: list[cst.CSTNode] = []
        is_node = _IS_NODE
        for value in self._getter(node):
            kind = type(value)
            if kind is tuple or kind is list:
                for item in value:
                    if is_node[type(item)]:
                        out.append(item)
            elif is_node[kind]:
                out.append(value)
        return tuple(out)

    def _field_order(self, node: cst.CSTNode, children: Children) -> Optional[list[str]]:
        """The fields `children` come from, in their order; None when they are not exactly the
        candidate fields' nodes, each field's in one run."""
        owner: dict[int, str] = {}
        for name in self.candidates:
            for child in _field_nodes(getattr(node, name)):
                if id(child) in owner:
                    return None  # one node in two places (a built tree)
                owner[id(child)] = name
        if len(owner) != len(children) or any(id(c) not in owner for c in children):
            return None
        sequence = [owner[id(c)] for c in children]
        observed = list(dict.fromkeys(sequence))
        if observed and len(observed) != 1 + sum(a != b for a, b in zip(sequence, sequence[1:])):
            return None
        return observed


def _sorted(order: Sequence[str], before: set[tuple[str, str]]) -> list[str]:
    """`order` sorted so that every (a, b) in `before` has a first; otherwise as it was. The
    constraints come from one fixed visit order, so they have no cycle."""
    rank = {name: i for i, name in enumerate(order)}
    incoming = {name: 0 for name in order}
    for _, b in before:
        incoming[b] += 1
    ready = [name for name in order if not incoming[name]]
    out: list[str] = []
    while ready:
        name = min(ready, key=rank.__getitem__)
        ready.remove(name)
        out.append(name)
        for a, b in before:
            if a == name:
                incoming[b] -= 1
                if not incoming[b]:
                    ready.append(b)
    if len(out) != len(order):
        raise AssertionError(f"libcst's visit order has a cycle: {sorted(before)}")
    return out


def _nothing(node: object) -> tuple[()]:
    return ()


_CHILD_FIELDS: dict[type, _ChildFields] = {}
# The reader of each node class: its `_ChildFields.read`, or `read_in_order` once the order is known.
_READERS: dict[type, Callable[[cst.CSTNode], Children]] = {}


def source_children(node: cst.CSTNode) -> Children:
    """`node.children`, read from the node's fields."""
    reader = _READERS.get(type(node))
    if reader is None:
        fields = _CHILD_FIELDS[type(node)] = _ChildFields(type(node))
        reader = _READERS[type(node)] = fields.read
    return reader(node)


def _children_function(memo: Optional[FileMemo]) -> Callable[[cst.CSTNode], Children]:
    return memo.children if memo is not None else source_children


_NOTHING_KNOWN: dict[int, Children] = {}


def _known(memo: Optional[FileMemo]) -> dict[int, Children]:
    """The memo's prefilled children (id -> children), read inline by the walks before they call
    `children` (a method call per node costs more than the lookup)."""
    return memo.known if memo is not None else _NOTHING_KNOWN


def prefill_tree(root: cst.CSTNode, known: dict[int, Children]) -> dict[int, cst.CSTNode]:
    """Fill `known` with the children of every node below `root` (id -> children) and return the
    parent map, in one pass (the parents as `parent_map` finds them: same order, so the same map)."""
    parents: dict[int, cst.CSTNode] = {}
    readers = _READERS
    stack = [root]
    pop, extend = stack.pop, stack.extend
    while stack:
        node = pop()
        reader = readers.get(type(node))
        kids = reader(node) if reader is not None else source_children(node)
        known[id(node)] = kids
        for child in kids:
            parents[id(child)] = node
        extend(kids)
    return parents


# What can hold statements: descending only through these skips every expression.
_STATEMENT_CONTAINERS = (
    cst.Module, cst.BaseSuite, cst.BaseCompoundStatement, cst.SimpleStatementLine, cst.Else,
    cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally, cst.MatchCase,
)


def statements(root: cst.CSTNode, memo: Optional[FileMemo] = None) -> Iterator[cst.CSTNode]:
    """Compound statements and small statements (`import`, `x = ...`), in source order."""
    children = _children_function(memo)
    known = _known(memo)
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        kind = _statement_kind(type(node))
        if kind == _SMALL:
            yield node
            continue
        if kind == _COMPOUND:
            yield node
        kids = known.get(id(node))
        if kids is None:
            kids = children(node)
        stack.extend(reversed([c for c in kids if _statement_kind(type(c)) != _OTHER]))


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


def parent_map(root: cst.CSTNode, memo: Optional[FileMemo] = None) -> dict[int, cst.CSTNode]:
    """id(node) -> parent, for every node below `root`."""
    children = _children_function(memo)
    known = _known(memo)
    parents: dict[int, cst.CSTNode] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        kids = known.get(id(node))
        for child in kids if kids is not None else children(node):
            parents[id(child)] = node
            stack.append(child)
    return parents


_V = typing.TypeVar("_V", bound=cst.CSTNode)


def visit(node: _V, visitor: cst.CSTVisitor, memo: Optional[FileMemo] = None) -> _V:
    """`node.visit(visitor)` for read-only visitors, without rebuilding every node on the way.

    Same protocol as libcst: `on_visit` (a False return skips the children, `on_leave` still runs),
    children in libcst's own order. (Transformers go through libcst's own `node.visit`.)
    """
    vcls = type(visitor)
    children = _children_function(memo)
    known = _known(memo)
    if vcls.on_visit is not cst.CSTVisitor.on_visit or vcls.on_leave is not cst.CSTVisitor.on_leave:
        _visit_generic(node, visitor.on_visit, visitor.on_leave, children)
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
            kids = known.get(id(current))
            extend(reversed(kids if kids is not None else children(current)))
    return node


def _visit_generic(node: cst.CSTNode, on_visit: Callable[[cst.CSTNode], Any],
                   on_leave: Callable[[cst.CSTNode], Any], children: Callable[[cst.CSTNode], Children]) -> None:
    stack: list[tuple[bool, cst.CSTNode]] = [(False, node)]
    while stack:
        leaving, current = stack.pop()
        if leaving:
            on_leave(current)
            continue
        stack.append((True, current))
        if on_visit(current):
            for child in reversed(children(current)):
                stack.append((False, child))


def visit_batched(root: cst.CSTNode, visitors: Sequence[cst.BatchableCSTVisitor],
                  memo: Optional[FileMemo] = None) -> None:
    """Call each visitor's `visit_<Type>(node)` before and `leave_<Type>(node)` after the children
    (libcst's `MetadataWrapper.visit_batched` protocol: batched visitors cannot skip children)."""
    children = _children_function(memo)
    known = _known(memo)
    visit_table: dict[type, list[Callable[[Any], Any]]] = {}
    leave_table: dict[type, list[Callable[[Any], Any]]] = {}
    # Each visitor class's methods by node class are looked up once per class (`_Dispatch`), not
    # once per file: a notebook lints every cell with the same rule classes.
    dispatches = [(v, _Dispatch.of(type(v))) for v in visitors]

    def handlers(cls: type, prefix: str, table: dict[type, list[Callable[[Any], Any]]]) -> list[Callable[[Any], Any]]:
        found = table.get(cls)
        if found is None:
            found = table[cls] = []
            for visitor, dispatch in dispatches:
                if prefix == "visit":
                    func = dispatch.visit_methods[cls] if cls in dispatch.visit_methods else dispatch.lookup_visit(cls)
                else:
                    func = dispatch.leave_methods[cls] if cls in dispatch.leave_methods else dispatch.lookup_leave(cls)
                if func is not None:
                    found.append(MethodType(func, visitor))
        return found

    # An explicit stack: deeply nested legacy expressions must not hit Python's recursion limit.
    # Entries are nodes to visit, or 1-tuples for leave calls due after the children (pushed
    # only for node classes some visitor leaves).
    stack: list[Any] = [root]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        node = pop()
        cls = type(node)
        if cls is tuple:
            done = node[0]
            for method in leave_table[type(done)]:
                method(done)
            continue
        leave = leave_table[cls] if cls in leave_table else handlers(cls, "leave", leave_table)
        if leave:
            push((node,))
        for method in visit_table[cls] if cls in visit_table else handlers(cls, "visit", visit_table):
            method(node)
        kids = known.get(id(node))
        extend(reversed(kids if kids is not None else children(node)))


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
    def of(cls, vcls: type) -> _Dispatch:
        found = vcls.__dict__.get("_varmigrate_dispatch")
        if found is None:
            found = cls(vcls)
            vcls._varmigrate_dispatch = found  # type: ignore[attr-defined]  # memo on the visitor class
        return found

    def _method(self, name: str) -> Optional[Callable[..., Any]]:
        return handler(self.vcls, name)

    def lookup_visit(self, ncls: type) -> Optional[Callable[..., Any]]:
        func = self.visit_methods[ncls] = self._method("visit_" + ncls.__name__)
        return func

    def lookup_leave(self, ncls: type) -> Optional[Callable[..., Any]]:
        func = self.leave_methods[ncls] = self._method("leave_" + ncls.__name__)
        return func


def handler(owner: object, name: str) -> Optional[Callable[..., Any]]:
    """`owner.name` (a visitor or its class), or None when it is missing or one of the no-op
    `visit_<Type>`/`leave_<Type>` stubs libcst's typed visitor bases define for every type."""
    func = getattr(owner, name, None)
    return None if func is None or getattr(func, "_is_no_op", False) else func
