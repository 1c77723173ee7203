"""The plans of one body (a function's, or the module's): the flow over it, then per source the
`no_grad` scope that restores the 0.3 intent, where a lexical scope is sound."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

import libcst as cst

from .context import FileContext
from .graph_reads import reads
from .graph_reads import target_names as target_names
from .liveness import Point, live_at
from .nodes import is_no_grad_block, literal_bool
from .volatile_plans import Block, CutPlan, Scope, SourcePlan, cut_plan, under_no_grad
from .volatile_prepass import Prepass
from .volatility import SOME, Facts, Flow, Source, State

if TYPE_CHECKING:
    from .volatile_scope import VolatileFile


class RootPlan:
    def __init__(self, file: VolatileFile, root: cst.CSTNode, function: Optional[cst.CSTNode]) -> None:
        ctx = file.ctx
        self.ctx = ctx
        self.root = root
        memo = ctx.memo
        pre = Prepass(ctx, root, file.marks, file.writes)
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
        self.cut_plans = {key: cut_plan(cut) for key, cut in self.flow.cuts.items()}
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
