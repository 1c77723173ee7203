"""The values `Flow` (volatility.py) keeps per name and per source: sources, cuts, `.volatile`
reads, per-source facts, the joinable state, and the kind of value a definition gives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import libcst as cst

from .imports import ImportTracker
from .nodes import literal_bool
from .torch_api import FRESH_TENSOR_CALLS, REQUIRES_GRAD_FACTORIES

MOVES = {"cuda", "cpu", "to", "float", "double", "half", "long", "int", "type", "contiguous"}
STORING_METHODS = {"append", "extend", "insert", "add", "put", "update", "setdefault", "__setitem__"}
# A set of sources this large stops being followed one by one (an accumulator that every source
# of a long script flows into): its sources are `Facts.overflow`, and it stands for "some".
CAP = 24
SOME = -1


class Kind:
    """What a definition gives a name (bit flags, joined by `|` where paths meet)."""

    VOL = 1  # computed from a volatile source
    FREE = 2  # cannot carry a graph: a fresh tensor, `.data`/`.detach()`, a constant, under no_grad
    OP = 4  # the result of an operation (a call, arithmetic, indexing)
    LEAF = 8  # may be a leaf that requires grad (Parameter, requires_grad=True, .parameters())
    UNKNOWN = 16  # from outside the body (a parameter, an attribute, a global, a bare copy of one)
    ALIAS = 32  # another name or a container may hold the same tensor
    NONVOL = 64  # not computed from a volatile source of this body
    OUTSIDE = 128  # computed from a value from outside (that may have been volatile there)


UNBOUND = Kind.UNKNOWN | Kind.NONVOL | Kind.OUTSIDE


def suite_statements(suite: cst.CSTNode) -> list[cst.CSTNode]:
    """The statements of a block; a one-line suite (`if x: y = 1`) is one statement."""
    if isinstance(suite, (cst.IndentedBlock, cst.Module)):
        return list(suite.body)
    return [suite]


@dataclass
class Source:
    index: int
    node: cst.CSTNode  # the call, or the `x.volatile = True` Assign
    kind: str  # "variable" | "helper" | "write"
    flag: Optional[cst.BaseExpression]  # the flag expression (None for a write)


@dataclass
class Cut:
    """An `x.volatile = False` statement a volatile value may reach."""

    line: cst.SimpleStatementLine
    assign: cst.Assign
    name: Optional[str]  # `x` for a plain name
    sources: frozenset[int] = frozenset()
    kind: int = 0


@dataclass
class VolatileRead:
    node: cst.Attribute
    name: Optional[str]
    sources: frozenset[int] = frozenset()
    kind: int = 0


@dataclass
class Facts:
    uses: set[int] = field(default_factory=set)  # ids of statements that operate on the value
    loose_uses: set[int] = field(default_factory=set)  # ids of statements that read anything derived
    ever: set[str] = field(default_factory=set)  # names that ever held it
    cuts: set[int] = field(default_factory=set)  # ids of the Cut assigns it reaches
    escapes: bool = False
    inspects: bool = False
    overflow: bool = False


@dataclass
class State:
    graph: dict[str, frozenset[int]] = field(default_factory=dict)
    loose: dict[str, frozenset[int]] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)

    def copy(self) -> State:
        return State(dict(self.graph), dict(self.loose), dict(self.kinds))

    def join(self, other: State) -> State:
        return State(join(self.graph, other.graph), join(self.loose, other.loose),
                     join_kinds(self.kinds, other.kinds))


def join(a: dict[str, frozenset[int]], b: dict[str, frozenset[int]]) -> dict[str, frozenset[int]]:
    if not b:
        return dict(a)
    out = dict(a)
    for k, v in b.items():
        old = out.get(k)
        out[k] = v if old is None or old is v else capped(old | v)
    return out


def join_kinds(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, UNBOUND) | v
    for k in a:
        if k not in b:
            out[k] = a[k] | UNBOUND
    return out


SOME_SET = frozenset({SOME})


def capped(s: frozenset[int]) -> frozenset[int]:
    return s if len(s) <= CAP else SOME_SET


@dataclass
class Loop:
    exits: list[State] = field(default_factory=list)  # states at `break`
    nexts: list[State] = field(default_factory=list)  # states at `continue`


def shape_kind(imports: ImportTracker, value: cst.BaseExpression) -> int:
    """The kind of value an expression gives, from its form alone (NONVOL included)."""
    n = Kind.NONVOL
    if isinstance(value, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString,
                          cst.FormattedString, cst.List, cst.Tuple, cst.Dict, cst.Set, cst.ListComp,
                          cst.DictComp, cst.SetComp, cst.Comparison)):
        return Kind.FREE | n
    if isinstance(value, cst.Name):
        if value.value in ("True", "False", "None"):
            return Kind.FREE | n
        return Kind.UNKNOWN | n
    if isinstance(value, cst.Attribute):
        if value.attr.value in ("data", "grad", "shape"):
            return Kind.FREE | n
        return Kind.UNKNOWN | n
    if isinstance(value, cst.Subscript):
        inner = shape_kind(imports, value.value)
        if inner & Kind.FREE:
            return Kind.FREE | n
        return (Kind.OP if inner & Kind.OP else Kind.UNKNOWN) | n
    if isinstance(value, cst.Call):
        func = value.func
        q = imports.qualified(func)
        if q is not None:
            if q == "torch.autograd.Variable":
                rg = next((a for a in value.args if a.keyword is not None and a.keyword.value == "requires_grad"),
                          value.args[1] if len(value.args) > 1 and value.args[1].keyword is None else None)
                return (Kind.FREE if rg is None or literal_bool(rg.value) is False else Kind.LEAF) | n
            if q == "torch.nn.Parameter":
                return Kind.LEAF | n
            if q in REQUIRES_GRAD_FACTORIES:
                rg = next((a for a in value.args if a.keyword is not None and a.keyword.value == "requires_grad"), None)
                return (Kind.FREE if rg is None or literal_bool(rg.value) is False else Kind.LEAF) | n
            if q in FRESH_TENSOR_CALLS:
                return Kind.FREE | n
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method == "requires_grad_":
                return Kind.LEAF | n
            if method == "detach" or method.startswith("new") or method in ("item", "tolist", "numpy"):
                return Kind.FREE | n
        return Kind.OP | n
    if isinstance(value, (cst.BinaryOperation, cst.UnaryOperation, cst.BooleanOperation, cst.IfExp)):
        return Kind.OP | n
    return Kind.UNKNOWN | n


def plain(node: cst.CSTNode) -> bool:
    """A name, or a tuple of names: evaluating it operates on nothing."""
    if isinstance(node, cst.Name):
        return True
    return isinstance(node, (cst.Tuple, cst.List)) and all(isinstance(e.value, cst.Name) for e in node.elements)

