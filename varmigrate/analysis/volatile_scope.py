"""What each volatile source of a file asks of a migration (SEMANTICS.md "The reference is 0.3").

`volatility(ctx)` finds the file's sources once: `Variable(x, volatile=...)` calls, calls of
helpers that hand a flag parameter to one (`def to_var(x, volatile=False): return Variable(x,
volatile=volatile)` called with `volatile=True`), and `x.volatile = True` statements. Each
function body (and the module body) is analysed once for all its sources (`Flow`, volatility.py),
so the cost is linear in the file. Per source the plan says:

- the `x.volatile = False` statements its values reach (`cuts`): on 0.3 they made a constant of
  a value whose computation built no graph; on modern torch the graph is there and the gradient
  leaks through. Each cut has its own rewrite (`CutPlan`): `x = x.detach()` where the value may
  carry a graph, deletion where it provably cannot;
- the `no_grad` scope that restores the 0.3 intent (`Scope`): the innermost run of statements of
  one block that holds every operation on the value (up to the cuts, which then go), when such a
  lexical scope is sound: nothing else in it needs gradients, now or later.

`x.volatile` reads get the value 0.3 gave them where the flow knows it (`ReadPlan`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

import libcst as cst

from ..tree.walk import visit
from .context import FileContext
from .graph_reads import MARK
from .graph_reads import target_names as target_names
from .nodes import literal_bool, variable_args
from .volatile_body import RootPlan
from .volatile_plans import DELETE, DETACH, CutPlan, Helper, ReadPlan, Scope, SourcePlan, cut_condition, cut_message, read_plan, under_no_grad
from .volatile_sources import FindSources, argument, flag_reads, returns_variable
from .volatility import Source

__all__ = ["DELETE", "DETACH", "CutPlan", "Helper", "ReadPlan", "Scope", "SourcePlan", "VolatileFile", "cut_condition",
           "cut_message", "under_no_grad", "volatility"]


class VolatileFile:
    """The volatile sources of one file and, per body, their plans (computed on first use)."""

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        self.sources: list[Source] = []
        self.marks: dict[int, str] = {}
        self.writes: dict[int, int] = {}
        self.by_node: dict[int, Source] = {}
        self.helpers: dict[str, Helper] = {}  # "name" (module function) or "Class.name" (method)
        self.helper_of: dict[int, Helper] = {}  # id(call site) -> its helper
        self._roots: dict[int, RootPlan] = {}
        self._indexes: dict[int, dict[int, int]] = {}
        finder = FindSources(ctx)
        visit(ctx.module, finder, ctx.memo)
        self._helpers(finder.flag_params)
        for call in finder.variable_calls:
            self._add(call, "variable", variable_args(call).volatile.value)  # type: ignore[union-attr]
        for call, flag in self._helper_calls(finder.calls):
            self._add(call, "helper", flag)
        for assign in finder.writes:
            index = len(self.sources)
            self.sources.append(Source(index, assign, "write", None))
            self.writes[id(assign)] = index
            self.by_node[id(assign)] = self.sources[-1]

    def _add(self, call: cst.Call, kind: str, flag: cst.BaseExpression) -> None:
        index = len(self.sources)
        source = Source(index, call, kind, flag)
        self.sources.append(source)
        self.marks[id(call)] = f"{MARK}{index}"
        self.by_node[id(call)] = source

    # -- helpers -------------------------------------------------------------------------------
    def _helpers(self, flag_params: list[tuple[cst.FunctionDef, str, Optional[cst.ClassDef]]]) -> None:
        for func, param, owner in flag_params:
            params = [p.name.value for p in (*func.params.posonly_params, *func.params.params)]
            if param not in params:
                continue
            reads_, flags = flag_reads(self.ctx, func, param)
            if not (reads_ == flags and (flags == 0 and param == "volatile" or flags and returns_variable(self.ctx, func))):
                continue
            position = params.index(param) - (1 if owner is not None else 0)
            key = f"{owner.name.value}.{func.name.value}" if owner is not None else func.name.value
            self.helpers[key] = Helper(func.name.value, param, position, owner is not None)

    def _helper_calls(self, calls: list[tuple[cst.Call, Optional[str]]]) -> Iterable[tuple[cst.Call, cst.BaseExpression]]:
        for call, owner in calls:
            func = call.func
            helper: Optional[Helper] = None
            if isinstance(func, cst.Name):
                helper = self.helpers.get(func.value)
                if helper is not None and helper.method:
                    helper = None
            elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self" \
                    and owner is not None:
                helper = self.helpers.get(f"{owner}.{func.attr.value}")
            if helper is None:
                continue
            flag = argument(call, helper.param, helper.position)
            if flag is None or literal_bool(flag) is False:
                continue
            self.helper_of[id(call)] = helper
            yield call, flag

    # -- plans ---------------------------------------------------------------------------------
    def index(self, block: cst.CSTNode, statement: cst.CSTNode) -> int:
        """The index of `statement` in `block.body` (remembered per block)."""
        table = self._indexes.get(id(block))
        if table is None:
            assert isinstance(block, (cst.IndentedBlock, cst.Module))
            table = self._indexes[id(block)] = {id(s): i for i, s in enumerate(block.body)}
        return table[id(statement)]

    def call_sites(self, helper: Helper) -> list[cst.Call]:
        """The calls of `helper` in this file that pass a flag that is not literally False."""
        return [s.node for s in self.sources if s.kind == "helper" and self.helper_of.get(id(s.node)) is helper]  # type: ignore[misc]

    def source(self, node: cst.CSTNode) -> Optional[Source]:
        return self.by_node.get(id(node))

    def plan(self, node: cst.CSTNode) -> Optional[SourcePlan]:
        """The plan of the source `node` (None: not a source, or in code no body analysis covers:
        a class body, a lambda, a generator expression)."""
        source = self.source(node)
        if source is None:
            return None
        root = self._root_plan(node)
        return root.plans.get(source.index) if root is not None else None

    def scoped(self, node: cst.CSTNode) -> Optional[SourcePlan]:
        """The source whose `no_grad` scope (the unsafe fix) would hold `node`, if any."""
        if not self.sources:
            return None
        root = self._root_plan(node)
        if root is None:
            return None
        chain = self.ctx.ancestors(node)
        for i, n in enumerate(chain[:-1]):
            for plan in root.scopes_in(n):
                scope = plan.scope
                assert scope is not None
                if scope.start <= self.index(n, chain[i + 1]) < scope.end:
                    return plan
        return None

    def cut(self, assign: cst.Assign) -> Optional[CutPlan]:
        root = self._root_plan(assign)
        return root.cut_plans.get(id(assign)) if root is not None else None

    def read(self, attribute: cst.Attribute) -> Optional[ReadPlan]:
        root = self._root_plan(attribute)
        if root is None:
            return None
        read = root.flow.volatile_reads.get(id(attribute))
        return read_plan(read) if read is not None else None

    def _root_plan(self, node: cst.CSTNode) -> Optional[RootPlan]:
        chain = self.ctx.ancestors(node)
        root: Optional[cst.CSTNode] = None
        for i in range(len(chain) - 1, -1, -1):
            n = chain[i]
            if isinstance(n, (cst.Lambda, cst.GeneratorExp, cst.ClassDef, cst.ListComp, cst.SetComp, cst.DictComp)) \
                    and i < len(chain) - 1:
                return None
            if isinstance(n, cst.FunctionDef) and i < len(chain) - 1:
                root = n.body
                break
        if root is None:
            root = chain[0]
        plan = self._roots.get(id(root))
        if plan is None:
            plan = self._roots[id(root)] = RootPlan(self, root, chain[chain.index(root) - 1] if root is not chain[0] else None)
        return plan




def volatility(ctx: FileContext) -> VolatileFile:
    """The file's volatile sources and plans (one object per file lint)."""
    return ctx.memo.per_file("volatile-file", _make, ctx.module, ctx)


def _make(module: cst.Module, ctx: FileContext) -> VolatileFile:
    return VolatileFile(ctx)
