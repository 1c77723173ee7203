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

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Optional, Union

import libcst as cst

from ..tree.memo import FileMemo
from ..tree.walk import visit
from .context import FileContext
from .graph_reads import MARK, reads
from .graph_reads import target_names as _target_names
from .liveness import Point, live_at
from .nodes import is_no_grad_block, is_variable, literal_bool, variable_args
from .volatility import SOME, Cut, Facts, Flow, Kind, Source, State, VolatileRead

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
        self._roots: dict[int, _RootPlan] = {}
        self._indexes: dict[int, dict[int, int]] = {}
        finder = _FindSources(ctx)
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
            reads_, flags = _flag_reads(self.ctx, func, param)
            if not (reads_ == flags and (flags == 0 and param == "volatile" or flags and _returns_variable(self.ctx, func))):
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
            flag = _argument(call, helper.param, helper.position)
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
        return _read_plan(read) if read is not None else None

    def _root_plan(self, node: cst.CSTNode) -> Optional[_RootPlan]:
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
            plan = self._roots[id(root)] = _RootPlan(self, root, chain[chain.index(root) - 1] if root is not chain[0] else None)
        return plan


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


def volatility(ctx: FileContext) -> VolatileFile:
    """The file's volatile sources and plans (one object per file lint)."""
    return ctx.memo.per_file("volatile-file", _make, ctx.module, ctx)


def _make(module: cst.Module, ctx: FileContext) -> VolatileFile:
    return VolatileFile(ctx)


class _FindSources(cst.CSTVisitor):
    def __init__(self, ctx: FileContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.variable_calls: list[cst.Call] = []
        self.calls: list[tuple[cst.Call, Optional[str]]] = []  # (call, enclosing class name) maybe of a helper
        self.writes: list[cst.Assign] = []
        self.flag_params: list[tuple[cst.FunctionDef, str, Optional[cst.ClassDef]]] = []
        self._functions: list[tuple[cst.FunctionDef, Optional[cst.ClassDef]]] = []
        self._classes: list[Optional[cst.ClassDef]] = [None]

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._classes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append((node, self._classes[-1]))
        if any(p.name.value == "volatile" for p in node.params.params):
            # a helper whose `Variable(..., volatile=volatile)` a fix already removed: it ignores the flag
            self.flag_params.append((node, "volatile", self._classes[-1]))
        self._classes.append(None)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._functions.pop()
        self._classes.pop()

    def visit_Call(self, node: cst.Call) -> None:
        if is_variable(self.ctx, node.func):
            args = variable_args(node)
            if args.volatile is not None and literal_bool(args.volatile.value) is not False and args.simple:
                self.variable_calls.append(node)
                flag = args.volatile.value
                if isinstance(flag, cst.Name) and self._functions:
                    func, cls = self._functions[-1]
                    self.flag_params.append((func, flag.value, cls))
            return
        if node.args and (isinstance(node.func, cst.Name) or (
                isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name)
                and node.func.value.value == "self")):
            owner: Optional[str] = None
            if self._functions:
                enclosing = self._functions[-1][1]
                owner = enclosing.name.value if enclosing is not None else None
            self.calls.append((node, owner))

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1:
            target = node.targets[0].target
            if isinstance(target, cst.Attribute) and target.attr.value == "volatile" \
                    and isinstance(target.value, cst.Name) and literal_bool(node.value) is True:
                self.writes.append(node)


def _argument(call: cst.Call, keyword: str, position: int) -> Optional[cst.BaseExpression]:
    positional = 0
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is not None:
            if arg.keyword.value == keyword:
                return arg.value
            continue
        if positional == position:
            return arg.value
        positional += 1
    return None


class _NameCount(cst.CSTVisitor):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.count = 0
        self.flags = 0

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.name:
            self.count += 1

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None and node.keyword.value == self.name:
            self.count -= 1  # the keyword itself is not a read
        if node.keyword is not None and node.keyword.value == "volatile" and isinstance(node.value, cst.Name) \
                and node.value.value == self.name:
            self.flags += 1

    def visit_Param(self, node: cst.Param) -> bool:
        return False


def _flag_reads(ctx: FileContext, func: cst.FunctionDef, param: str) -> tuple[int, int]:
    """How often `func` reads `param`, and how often as the `volatile=` argument of a call."""
    counter = _NameCount(param)
    visit(func.body, counter, ctx.memo)
    return counter.count, counter.flags


def _returns_variable(ctx: FileContext, func: cst.FunctionDef) -> bool:
    """`func` returns what its `Variable(...)` call makes (directly, or through a name it binds)."""
    finder = _Returns(ctx)
    visit(func.body, finder, ctx.memo)
    return finder.found


class _Returns(cst.CSTVisitor):
    def __init__(self, ctx: FileContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.bound: set[str] = set()
        self.found = False

    def _has_variable(self, node: cst.CSTNode) -> bool:
        finder = _HasVariable(self.ctx)
        visit(node, finder, self.ctx.memo)
        return finder.found

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._has_variable(node.value):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self.bound.add(target.target.value)

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None and (self._has_variable(node.value)
                                       or reads(self.ctx.memo, node.value, True) & self.bound):
            self.found = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False


class _HasVariable(cst.CSTVisitor):
    def __init__(self, ctx: FileContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        if is_variable(self.ctx, node.func):
            self.found = True


# ------------------------------------------------------------------------------------------
# One body
# ------------------------------------------------------------------------------------------
class _RootPlan:
    def __init__(self, file: VolatileFile, root: cst.CSTNode, function: Optional[cst.CSTNode]) -> None:
        ctx = file.ctx
        self.ctx = ctx
        self.root = root
        memo = ctx.memo
        pre = _Prepass(ctx, root)
        params: list[str] = []
        if isinstance(function, cst.FunctionDef):
            p = function.params
            params = [x.name.value for x in (*p.posonly_params, *p.params, *p.kwonly_params)]
            for star in (p.star_arg, p.star_kwarg):
                if isinstance(star, cst.Param):
                    params.append(star.name.value)
        here = [file.sources[int(m[1:])] for m in pre.marks_seen] + [file.sources[file.writes[w]] for w in pre.writes_seen]
        self.flow = Flow(memo, ctx.imports, file.marks, here, file.writes, pre.tracked, params)
        self.flow.expiry = pre.expiry
        self.flow.block(list(root.body) if isinstance(root, (cst.IndentedBlock, cst.Module)) else [root], State())
        self.pre = pre
        self.cut_plans = {key: _cut_plan(cut) for key, cut in self.flow.cuts.items()}
        self.plans: dict[int, SourcePlan] = {}
        self._scopes: Optional[dict[int, list[SourcePlan]]] = None
        # A helper's own `Variable(x, volatile=flag)`: its callers decide (a scope would end at `return`).
        helper_flags = {h.param for h in file.helpers.values()
                        if isinstance(function, cst.FunctionDef) and h.name == function.name.value}
        candidates: list[tuple[Source, SourcePlan, list[tuple[Block, int, int, str]]]] = []
        for source in here:
            facts = self.flow.facts[source.index]
            statement = _statement_of(ctx, source.node)
            plan = SourcePlan(source, statement, root, overflow=facts.overflow, escapes=facts.escapes)
            plan.cuts = [self.cut_plans[c] for c in facts.cuts if c in self.cut_plans]
            if self.flow.some.cuts and facts.overflow:
                plan.cuts += [self.cut_plans[c] for c in self.flow.some.cuts if c in self.cut_plans]
            self.plans[source.index] = plan
            helper = isinstance(source.flag, cst.Name) and source.flag.value in helper_flags
            candidates.append((source, plan, [] if helper else self._candidates(source, facts, statement)))
        points: list[Point] = [(id(b), stop) for _, _, cands in candidates for b, _, stop, _ in cands]
        self.live = live_at(memo, root, points) if points else {}
        for source, plan, cands in candidates:
            facts = self.flow.facts[source.index]
            flag = frozenset() if source.flag is None or literal_bool(source.flag) is not None \
                else reads(memo, source.flag, False)
            for block, start, stop, where in cands:
                if self._sound(block, start, stop, flag):
                    plan.scope = Scope(block, start, stop, where)
                    plan.deleted_cuts = self._deleted_cuts(plan, block, start, stop)
                    break

    def scopes_in(self, block: cst.CSTNode) -> list[SourcePlan]:
        """The plans whose scope is a run of `block`'s statements."""
        if self._scopes is None:
            self._scopes = {}
            for plan in self.plans.values():
                if plan.scope is not None:
                    self._scopes.setdefault(id(plan.scope.block), []).append(plan)
        return self._scopes.get(id(block), [])

    # -- the candidate runs ---------------------------------------------------------------------
    def _candidates(self, source: Source, facts: Facts, statement: cst.CSTNode) -> list[tuple[Block, int, int, str]]:
        flow = self.flow
        if facts.overflow or facts.escapes or facts.inspects or facts.ever & (flow.declared | self.pre.closure_reads):
            return []
        if under_no_grad(self.ctx, statement):
            return []  # already under no_grad: dropping the keyword is all there is to do
        nodes = self.pre.nodes
        uses = [nodes[u] for u in facts.uses if u in nodes and u not in flow.binding_statements]
        if not uses:
            return []
        chains = [self.ctx.ancestors(u) for u in uses]
        block, level = _common_block(chains, self.root)
        if block is None:
            return []
        index = self.pre.index_in(block)
        positions = sorted({index[id(c[level + 1])] for c in chains})
        start, end = positions[0], positions[-1] + 1
        # The statement that only creates the value joins when it comes right before the first use.
        runs = [(block, start, end)]
        if start > 0 and id(block.body[start - 1]) == id(statement) and id(statement) in flow.binding_statements:
            runs.insert(0, (block, start - 1, end))
        out: list[tuple[Block, int, int, str]] = []
        for block, start, end in runs:
            # Statements after the last use that read results derived through `.data`/`.item()` (the
            # accuracy count, the print) join the block when that costs nothing. A `return` of such
            # a result ends the function, not the evaluation: left outside.
            loose_end = end
            for u in facts.loose_uses:
                node = nodes.get(u)
                if node is None or _is_return(node):
                    continue
                i = self._index_under(block, node)
                if i is not None and i >= end:
                    loose_end = max(loose_end, i + 1)
            for stop in dict.fromkeys((loose_end, end)):
                b, first, last = self._lift(block, start, stop)
                # An adjacent `with torch.no_grad():` (an earlier round's, or the author's) joins.
                for wide in dict.fromkeys((self._widen(b, first, last), (first, last))):
                    owner = self.ctx.parent(b)
                    where = (_describe(owner) if wide[0] == 0 and wide[1] == len(b.body) and owner is not None
                             else "the statements that use it")
                    out.append((b, wide[0], wide[1], where))
        return out

    def _widen(self, block: Block, start: int, end: int) -> tuple[int, int]:
        """An adjacent `with torch.no_grad():` block (no blank line or comment between) joins."""
        body = block.body
        while start > 0 and _plain_no_grad(body[start - 1], self.ctx) and not _leading(body[start]):
            start -= 1
        while end < len(body) and _plain_no_grad(body[end], self.ctx) and not _leading(body[end]):
            end += 1
        return start, end

    def _lift(self, block: Block, start: int, end: int) -> tuple[Block, int, int]:
        """A run that is a whole loop body is the loop: `with no_grad():` goes around the loop."""
        while start == 0 and end == len(block.body) and block is not self.root:
            loop = self.ctx.parent(block)
            outer = self.ctx.parent(loop) if loop is not None else None
            if not isinstance(loop, (cst.For, cst.While)) or loop.orelse is not None \
                    or not isinstance(outer, (cst.IndentedBlock, cst.Module)):
                break
            block = outer
            start = self.pre.index_in(block)[id(loop)]
            end = start + 1
        return block, start, end

    def _index_under(self, block: Block, node: cst.CSTNode) -> Optional[int]:
        """The index of the statement of `block` that holds `node` (None: not under `block`)."""
        parents = self.ctx.tree
        child, parent = node, parents.parent(node)
        while parent is not None and parent is not block:
            child, parent = parent, parents.parent(parent)
        if parent is None:
            return None
        return self.pre.index_in(block).get(id(child))

    # -- soundness ------------------------------------------------------------------------------
    def _sound(self, block: Block, start: int, stop: int, flag: frozenset[str]) -> bool:
        """SEMANTICS C condition (2): nothing in the run that is independent of the volatile
        values needs gradients, now or later. A non-literal flag is read where the `with` starts:
        the run must not re-bind what it reads."""
        pre, flow = self.pre, self.flow
        region = block.body[start:stop]
        names: set[str] = set()
        for statement in region:
            key = id(statement)
            if key in pre.needs_grad or pre.has(key, flow.independent_escapes):
                return False
            if flag and flag & pre.names_under(key, pre.bound):
                return False
            names |= pre.names_under(key, flow.independent)
        if not names:
            return True
        if names & (flow.declared | pre.closure_reads):
            return False
        return not names & self.live.get((id(block), stop), set())

    def _deleted_cuts(self, plan: SourcePlan, block: Block, start: int, stop: int) -> list[CutPlan]:
        """The cuts a `no_grad` scope over block.body[start:stop] makes no-ops: in `block` (or
        below it), of values whose every source is used in the scope only."""
        out = []
        for cut in plan.cuts:
            if cut.cut.name is None or SOME in cut.cut.sources or self._index_under(block, cut.line) is None:
                continue
            if all(self._inside(block, start, stop, self.flow.facts[s].uses) for s in cut.cut.sources):
                out.append(cut)
        return out

    def _inside(self, block: Block, start: int, stop: int, uses: set[int]) -> bool:
        nodes, binding = self.pre.nodes, self.flow.binding_statements
        for u in uses:
            if u in binding:
                continue
            node = nodes.get(u)
            i = self._index_under(block, node) if node is not None else None
            if i is None or not start <= i < stop:
                return False
        return True


def _statement_of(ctx: FileContext, node: cst.CSTNode) -> cst.CSTNode:
    current: Optional[cst.CSTNode] = node
    while current is not None and not isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        current = ctx.parent(current)
    return current if current is not None else node


def _common_block(chains: list[list[cst.CSTNode]], root: cst.CSTNode) -> tuple[Optional[Block], int]:
    """The deepest block (at or below `root`) on every chain, and its level."""
    shortest = min(len(c) for c in chains)
    found: Optional[Block] = None
    level = -1
    seen_root = False
    for i in range(shortest):
        node = chains[0][i]
        if any(c[i] is not node for c in chains):
            break
        if node is root:
            seen_root = True
        if seen_root and isinstance(node, (cst.IndentedBlock, cst.Module)) and i + 1 < shortest:
            found, level = node, i
    return found, level


def _leading(statement: cst.CSTNode) -> Sequence[cst.EmptyLine]:
    return getattr(statement, "leading_lines", ())


def _plain_no_grad(statement: cst.CSTNode, ctx: FileContext) -> bool:
    """`with torch.no_grad():` alone (one manager, no `as`, no comment on the line): a scope next
    to it can take its statements in."""
    if not (isinstance(statement, cst.With) and len(statement.items) == 1 and statement.items[0].asname is None
            and is_no_grad_block(statement, ctx.imports) and isinstance(statement.body, cst.IndentedBlock)):
        return False
    call = statement.items[0].item
    func = call.func if isinstance(call, cst.Call) else None
    name = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else ""
    return isinstance(call, cst.Call) and not call.args and name == "no_grad" and statement.body.header.comment is None


def _is_return(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(isinstance(s, cst.Return) for s in statement.body)


def _describe(owner: Optional[cst.CSTNode]) -> str:
    if isinstance(owner, (cst.For, cst.While)):
        return "the loop body"
    if isinstance(owner, cst.FunctionDef):
        return "the function body"
    return "the enclosing block"


# ------------------------------------------------------------------------------------------
# Cuts and reads
# ------------------------------------------------------------------------------------------
def _cut_plan(cut: Cut) -> CutPlan:
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


def _read_plan(read: VolatileRead) -> ReadPlan:
    k, sources = read.kind, read.sources
    if sources:
        return ReadPlan(True, True) if not k & Kind.NONVOL else ReadPlan(None, False)
    if read.name is None or k & (Kind.UNKNOWN | Kind.OUTSIDE):
        return ReadPlan(False, False)
    return ReadPlan(False, True)


# ------------------------------------------------------------------------------------------
# The pre-pass: statement positions, when names die, what needs grad, closures
# ------------------------------------------------------------------------------------------
_GRAD_METHODS = {"backward", "requires_grad_", "retain_grad", "register_hook"}
_GRAD_FUNCTIONS = {"torch.autograd.grad", "torch.autograd.backward", "torch.enable_grad", "torch.set_grad_enabled",
                   "torch.autograd.enable_grad", "torch.autograd.set_grad_enabled"}


class _Prepass:
    """One walk over a body, before the flow: per block the index of each statement, when each
    name is mentioned for the last time (`expiry`: the flow forgets a name after it), the
    statements that need autograd, the names nested functions and lambdas read, the names the
    flow keeps kinds of, and the sources in the body."""

    def __init__(self, ctx: FileContext, root: cst.CSTNode) -> None:
        self.ctx = ctx
        self.memo: FileMemo = ctx.memo
        file = volatility(ctx)
        self.marks, self.writes = file.marks, file.writes
        self.nodes: dict[int, cst.CSTNode] = {}
        self.parent: dict[int, int] = {}  # id(statement) -> id(enclosing statement), within the body
        self.needs_grad: set[int] = set()  # statements (and their enclosing ones) that need autograd
        self.closure_reads: set[str] = set()
        self.marks_seen: list[str] = []
        self.writes_seen: list[int] = []
        self.expiry: dict[int, list[str]] = {}
        self._indexes: dict[int, dict[int, int]] = {}
        self._last: dict[str, int] = {}  # name -> position after which no statement mentions it
        self._position = 0
        self._assigns: list[tuple[set[str], frozenset[str]]] = []
        self._volatile_bases: set[str] = set()
        self.bound: dict[int, set[str]] = {}  # id(statement) -> the names it binds itself
        self._aggregated: dict[tuple[int, int], object] = {}
        top = list(root.body) if isinstance(root, (cst.IndentedBlock, cst.Module)) else [root]
        ends: list[int] = []
        for statement in top:
            self._statement(statement, None, None)
            ends.append(self._position)
        by_last: dict[int, list[str]] = {}
        for name, last in self._last.items():
            by_last.setdefault(last, []).append(name)
        for last, names in by_last.items():
            k = bisect.bisect_left(ends, last)
            if k < len(top):
                self.expiry.setdefault(id(top[k]), []).extend(names)
        self.tracked = self._tracked()

    def _statement(self, node: cst.CSTNode, parent: Optional[int], loop: Optional[set[str]]) -> None:
        key = id(node)
        self.nodes[key] = node
        if parent is not None:
            self.parent[key] = parent
        self._position += 1
        outermost = loop is None and isinstance(node, (cst.For, cst.While))
        mentions: Optional[set[str]] = set() if outermost else loop
        header = _Header(self, node)
        visit(node, header, self.memo)
        if header.bound:
            self.bound[key] = header.bound
        if mentions is not None:
            mentions |= header.names
        else:
            for name in header.names:
                self._last[name] = self._position
        for child in header.statements:
            self._statement(child, key, mentions)
        if header.grad:
            s: Optional[int] = key
            while s is not None and s not in self.needs_grad:
                self.needs_grad.add(s)
                s = self.parent.get(s)
        if outermost and mentions is not None:
            # read again on the next iteration: alive to the end of the outermost loop
            for name in mentions:
                self._last[name] = max(self._last.get(name, 0), self._position)

    def _tracked(self) -> set[str]:
        tracked = set(self._volatile_bases)
        changed = bool(tracked)
        while changed:
            changed = False
            for targets, sources in self._assigns:
                if targets & tracked and not sources <= tracked:
                    tracked |= sources
                    changed = True
        return tracked

    def index_in(self, block: Block) -> dict[int, int]:
        found = self._indexes.get(id(block))
        if found is None:
            found = self._indexes[id(block)] = {id(s): i for i, s in enumerate(block.body)}
        return found

    def has(self, key: int, flagged: set[int]) -> bool:
        """`key` or a statement under it is in `flagged`."""
        cache = self._aggregated.get((id(flagged), 0))
        if cache is None:
            up: set[int] = set()
            for k in flagged:
                s: Optional[int] = k
                while s is not None and s not in up:
                    up.add(s)
                    s = self.parent.get(s)
            self._aggregated[(id(flagged), 0)] = cache = up
        return key in cache  # type: ignore[operator]

    def names_under(self, key: int, table: dict[int, set[str]]) -> set[str]:
        """The names the statements at and under `key` have in `table`."""
        cache = self._aggregated.get((id(table), 1))
        if cache is None:
            out: dict[int, set[str]] = {}
            for k, names in table.items():
                s: Optional[int] = k
                while s is not None:
                    out.setdefault(s, set()).update(names)
                    s = self.parent.get(s)
            self._aggregated[(id(table), 1)] = cache = out
        return cache.get(key, set())  # type: ignore[attr-defined,no-any-return]


class _Header(cst.CSTVisitor):
    """The parts of a statement that belong to it (not to the statements nested in it): names,
    sources, autograd calls, assignments; the nested statements are collected for the walk."""

    def __init__(self, pre: _Prepass, statement: cst.CSTNode) -> None:
        super().__init__()
        self.pre = pre
        self.top = statement
        self.statements: list[cst.CSTNode] = []
        self.names: set[str] = set()
        self.bound: set[str] = set()
        self.grad = False
        if isinstance(statement, cst.For):
            self.bound |= _target_names(statement.target)

    def _nested(self, node: cst.CSTNode) -> bool:
        """A statement below the one this header belongs to: walked on its own."""
        if node is self.top:
            return True
        self.statements.append(node)
        return False

    def _closure(self, node: cst.CSTNode, body: cst.CSTNode) -> None:
        # a closure (or a class body) may read these at any later time
        names = _all_names(self.pre.memo, body)
        self.pre.closure_reads |= names
        for name in names:
            self.pre._last[name] = 1 << 60

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        return self._nested(node)

    def visit_If(self, node: cst.If) -> bool:
        return self._nested(node)

    def visit_For(self, node: cst.For) -> bool:
        return self._nested(node)

    def visit_While(self, node: cst.While) -> bool:
        return self._nested(node)

    def visit_With(self, node: cst.With) -> bool:
        return self._nested(node)

    def visit_Try(self, node: cst.Try) -> bool:
        return self._nested(node)

    def visit_TryStar(self, node: cst.TryStar) -> bool:
        return self._nested(node)

    def visit_Match(self, node: cst.Match) -> bool:
        return self._nested(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        if node is not self.top:
            self.statements.append(node)
            return False
        self._closure(node, node)
        self.names.add(node.name.value)
        self.bound.add(node.name.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return self.visit_FunctionDef(node)  # type: ignore[arg-type]

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self._closure(node, node)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_Call(self, node: cst.Call) -> None:
        mark = self.pre.marks.get(id(node))
        if mark is not None:
            self.pre.marks_seen.append(mark)
        func = node.func
        if isinstance(func, cst.Attribute):
            name = func.attr.value
            if name in _GRAD_METHODS:
                self.grad = True
            elif name == "step" and (not node.args or "optim" in self.pre.ctx.code(func.value).lower()):
                self.grad = True
        if self.pre.ctx.imports.qualified(func) in _GRAD_FUNCTIONS:
            self.grad = True

    def visit_Assign(self, node: cst.Assign) -> None:
        if id(node) in self.pre.writes:
            self.pre.writes_seen.append(id(node))
        targets: set[str] = set()
        for t in node.targets:
            targets |= {n for n in _target_names(t.target)}
        self.bound |= targets
        if targets:
            self.pre._assigns.append((targets, reads(self.pre.memo, node.value, True)))

    def visit_AsName(self, node: cst.AsName) -> None:
        if isinstance(node.name, cst.BaseExpression):
            self.bound |= _target_names(node.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.bound |= _target_names(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.bound |= _target_names(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.bound |= _target_names(node.target)
        if isinstance(node.target, cst.Name):
            self.pre._assigns.append(({node.target.value}, reads(self.pre.memo, node.value, True)))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "volatile" and isinstance(node.value, cst.Name):
            self.pre._volatile_bases.add(node.value.value)


def _all_names(memo: FileMemo, node: cst.CSTNode) -> frozenset[str]:
    return reads(memo, node, False)
