"""What a migration does with each volatile source (the plans `VolatileFile`, volatile_scope.py,
hands the rules): its `no_grad` scope, its `x.volatile = False` cuts, what `x.volatile` read as."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional, Union

import libcst as cst

from .context import FileContext
from .graph_reads import target_names as target_names
from .nodes import is_no_grad_block
from .volatility import Cut, Kind, Source, VolatileRead

Block = Union[cst.IndentedBlock, cst.Module]

DETACH = "detach"
DELETE = "delete"


@dataclass
class Scope:
    """A run of statements of one block that a `no_grad` scope may cover."""

    block: Block
    start: int  # statements block.body[start:end] go into the `with`
    end: int
    where: str  # "the loop body", ...


@dataclass
class CutPlan:
    """How `x.volatile = False` is rewritten: `x = x.detach()` (`DETACH`) or deleted (`DELETE`)."""

    cut: Cut
    action: str
    safe: bool
    reason: str = ""  # the condition of an unsafe rewrite

    @property
    def line(self) -> cst.SimpleStatementLine:
        return self.cut.line


@dataclass
class ReadPlan:
    """What `x.volatile` read as on 0.3: True, False, or None (it depends on the path)."""

    value: Optional[bool]
    safe: bool


@dataclass
class SourcePlan:
    source: Source
    statement: cst.CSTNode  # the statement that holds the source
    root: cst.CSTNode
    scope: Optional[Scope] = None
    cuts: list[CutPlan] = field(default_factory=list)  # the cuts its values reach
    deleted_cuts: list[CutPlan] = field(default_factory=list)  # cuts the scope fix deletes
    overflow: bool = False  # followed together with many others: no scope, cuts rewritten on their own
    escapes: bool = False

    @property
    def unsafe_cuts(self) -> list[CutPlan]:
        return [c for c in self.cuts if not c.safe]


@dataclass
class Helper:
    """A function that hands its parameter `param` to `Variable(..., volatile=param)` and returns
    the result."""

    name: str
    param: str
    position: int  # of the parameter among the call's positional arguments
    method: bool



def cut_plan(cut: Cut) -> CutPlan:
    """`x.volatile = False`. On 0.3 it raised unless `x` had no `grad_fn`, so `x` was either
    volatile (computed without a graph: a constant from here on, which `x.detach()` restores) or
    a leaf (where it did nothing, and deleting it is exact)."""
    k, sources = cut.kind, cut.sources
    if cut.name is None:
        return CutPlan(cut, DETACH, False, "only if nothing else holds that tensor and it is not a leaf that "
                                          "requires grad, such as a parameter")
    if k & Kind.ALIAS and (sources or k & Kind.OP):
        return CutPlan(cut, DETACH, False, f"only if no other name or container holds the tensor in `{cut.name}`: "
                                           "on 0.3 the flag belonged to the tensor")
    if not k & (Kind.OP | Kind.LEAF | Kind.UNKNOWN):
        return CutPlan(cut, DELETE, True)  # no graph to cut
    if not k & (Kind.LEAF | Kind.UNKNOWN):
        return CutPlan(cut, DETACH, True)  # an operation's result: volatile on 0.3 (or without a graph)
    if not k & (Kind.OP | Kind.UNKNOWN):
        return CutPlan(cut, DELETE, True)  # a leaf: the flag did nothing
    return CutPlan(cut, DETACH, False, f"only if `{cut.name}` is not a leaf that requires grad, such as a parameter: "
                                       "detaching one would stop its gradient")


def cut_message(ctx: FileContext, cuts: Sequence[CutPlan]) -> str:
    """Where a volatile value's gradient stopped on 0.3 and no longer does."""
    detach = [c for c in cuts if c.action == DETACH]
    if not detach:
        return ""
    where = ", ".join(f"`{ctx.code(c.cut.assign).strip()}` (line {ctx.position(c.line).start.line})" for c in detach)
    verb = "makes" if len(detach) == 1 else "make"
    return f"; {where} no longer {verb} a constant of what was computed from it: the gradient leaks through"


def cut_condition(cuts: Sequence[CutPlan]) -> str:
    """The conditions of the unsafe detaches among `cuts`."""
    return "; and ".join(dict.fromkeys(c.reason for c in cuts if not c.safe))


def read_plan(read: VolatileRead) -> ReadPlan:
    k, sources = read.kind, read.sources
    if sources:
        return ReadPlan(True, True) if not k & Kind.NONVOL else ReadPlan(None, False)
    if read.name is None or k & (Kind.UNKNOWN | Kind.OUTSIDE):
        return ReadPlan(False, False)
    return ReadPlan(False, True)


def under_no_grad(ctx: FileContext, node: cst.CSTNode) -> bool:
    """`node` runs inside a `with torch.no_grad():` block of its own function (not in the block's
    manager, not in a function or lambda defined there, which may run later)."""
    child: cst.CSTNode = node
    parent = ctx.parent(node)
    while parent is not None:
        if isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        if isinstance(parent, cst.With) and child is parent.body and is_no_grad_block(parent, ctx.imports):
            return True
        child, parent = parent, ctx.parent(parent)
    return False
