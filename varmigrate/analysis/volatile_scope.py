"""The `no_grad` scope for a volatile value: the innermost run of statements of one block that holds
every use of the value (as VolatileFlow follows it), when such a lexical scope can be sound
(SEMANTICS.md C: nothing else in it needs gradients, the value does not escape, no closure reads it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional, Union

import libcst as cst

from ..tree.memo import FileMemo
from ..tree.walk import visit
from .context import FileContext
from .graph_reads import reads, target_names
from .nodes import is_no_grad_block
from .volatility import FlowState, VolatileFlow, suite_statements

Block = Union[cst.IndentedBlock, cst.Module]


def volatile_scope(ctx: FileContext, call: cst.Call) -> Optional[Scope]:
    """The innermost run of statements that holds every use of the volatile value `call`
    creates, when a lexical `no_grad` scope over it can be sound; None otherwise."""
    chain = ctx.ancestors(call)
    if any(is_no_grad_block(n, ctx.imports) for n in chain):
        return None  # already under no_grad: dropping the keyword is all there is to do
    levels = [i for i, n in enumerate(chain) if isinstance(n, (cst.IndentedBlock, cst.Module))]
    # The function (or module) body that holds the call: volatility is followed through all of it.
    root_level = max(i for i in levels if i == 0 or isinstance(chain[i - 1], cst.FunctionDef))
    if any(isinstance(n, (cst.ClassDef, cst.Lambda, cst.GeneratorExp)) for n in chain[root_level:]):
        return None  # a class body, or code that runs later (lambda, generator): no lexical scope fits
    root = chain[root_level]
    assert isinstance(root, (cst.IndentedBlock, cst.Module))
    walk = VolatileFlow(ctx.memo, call)
    walk.block(list(root.body), FlowState())
    if walk.escapes or walk.inspects or walk.ever & walk.declared or _captures(ctx.memo, root, walk.ever):
        return None
    # The innermost block in which a contiguous run of statements holds every use.
    for level in reversed([i for i in levels if i >= root_level]):
        block = chain[level]
        assert isinstance(block, (cst.IndentedBlock, cst.Module))
        body = list(block.body)
        ids = [_subtree_ids(ctx.memo, s) for s in body]
        users = [i for i, s in enumerate(ids) if s & walk.uses]
        if not users or not walk.uses <= set().union(*(ids[i] for i in users)):
            continue  # used after (or, in a loop header, around) this block: climb
        start, end = min(users), max(users) + 1
        # Statements after the last use that read results derived through `.data`/`.item()`
        # (the accuracy count, the print) join the block when that costs nothing.
        # A `return` of such a result ends the function, not the evaluation: left outside.
        loose_end = max([i + 1 for i in range(end, len(body)) if ids[i] & walk.loose_uses
                         and not _is_return(body[i])] + [end])
        for stop in dict.fromkeys((loose_end, end)):
            if _sound(ctx, root, walk, body, ids, start, stop):
                owner = chain[level - 1] if level > 0 else None
                where = (_describe(owner) if start == 0 and stop == len(body) and owner is not None
                         else "the statements that use it")
                return Scope(block, start, stop, where)
        return None
    return None


def _sound(ctx: FileContext, root: Block, walk: VolatileFlow, body: Sequence[cst.CSTNode],
           ids: Sequence[frozenset[int]], start: int, stop: int) -> bool:
    """SEMANTICS C condition (2): nothing in the region that is independent of the volatile
    value needs gradients, now or later."""
    region = body[start:stop]
    if _needs_grad(ctx, region):
        return False
    inside = set().union(*ids[start:stop])
    generators = {k: v for k, v in walk.independent.items() if k in inside}
    if not generators:
        return True
    # Values computed in the region from other inputs lose their graph under no_grad: they must
    # not reach a graph operation after the region (or before it, in the next iteration).
    second = VolatileFlow(ctx.memo, None, generators)
    second.block(list(root.body), FlowState())
    return not (second.uses - inside) and not second.escapes and not second.ever & second.declared \
        and not _captures(ctx.memo, root, second.ever)


def _is_return(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(isinstance(s, cst.Return) for s in statement.body)


def _describe(owner: Optional[cst.CSTNode]) -> str:
    if isinstance(owner, (cst.For, cst.While)):
        return "the loop body"
    if isinstance(owner, cst.FunctionDef):
        return "the function body"
    return "the enclosing block"


class _Bound(cst.CSTVisitor):
    """Names a function (or lambda) binds locally: parameters and assignment targets."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_Param(self, node: cst.Param) -> None:
        self.names.add(node.name.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.names |= target_names(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.names |= target_names(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.names |= target_names(node.target)

    def visit_For(self, node: cst.For) -> None:
        self.names |= target_names(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.names |= target_names(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        if isinstance(node.name, cst.BaseExpression):
            self.names |= target_names(node.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.names |= target_names(node.target)


def _captures(memo: FileMemo, root: Block, names: set[str]) -> bool:
    """Whether a function or lambda defined under `root` reads one of `names` from the outside
    (it may run after the `with` block has ended)."""
    defs = _Defs(memo, names)
    for statement in (suite_statements(root) if isinstance(root, cst.BaseSuite) else list(root.body)):
        visit(statement, defs, memo)
    return defs.found


class _Defs(cst.CSTVisitor):
    def __init__(self, memo: FileMemo, names: set[str]) -> None:
        super().__init__()
        self.memo = memo
        self.names = names
        self.found = False

    def _check(self, node: Union[cst.FunctionDef, cst.Lambda]) -> None:
        bound = _Bound()
        visit(node.params, bound, self.memo)
        visit(node.body, bound, self.memo)
        body_reads = set(reads(self.memo, node.body, graph_only=False)) if not isinstance(node.body, cst.BaseSuite) else set()
        if isinstance(node.body, cst.BaseSuite):
            for statement in suite_statements(node.body):
                body_reads |= reads(self.memo, statement, graph_only=False)
        if (body_reads - bound.names) & self.names:
            self.found = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._check(node)

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._check(node)


def _subtree_ids(memo: FileMemo, node: cst.CSTNode) -> frozenset[int]:
    return memo.per_file("volatile-subtree-ids", _collect_subtree_ids, node, memo)  # every volatile call asks again


def _collect_subtree_ids(node: cst.CSTNode, memo: FileMemo) -> frozenset[int]:
    collector = _Collect()
    visit(node, collector, memo)
    return frozenset(collector.ids)


class _Collect(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[int] = set()

    def on_visit(self, n: cst.CSTNode) -> bool:
        if isinstance(n, (cst.BaseStatement, cst.SimpleStatementSuite, cst.ExceptHandler)):
            self.ids.add(id(n))
        return True


_GRAD_METHODS = {"backward", "requires_grad_", "retain_grad", "register_hook"}
_GRAD_FUNCTIONS = {"torch.autograd.grad", "torch.autograd.backward", "torch.enable_grad", "torch.set_grad_enabled",
                   "torch.autograd.enable_grad", "torch.autograd.set_grad_enabled"}


def _needs_grad(ctx: FileContext, statements: Sequence[cst.CSTNode]) -> bool:
    """A call that needs autograd on: `backward`, `autograd.grad`, an optimizer `step()`,
    re-enabling grad mode (no_grad would stop or contradict it)."""
    finder = _FindGrad(ctx)
    for statement in statements:
        visit(statement, finder, ctx.memo)
    return finder.found


class _FindGrad(cst.CSTVisitor):
    def __init__(self, ctx: FileContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            name = func.attr.value
            receiver = self.ctx.code(func.value).lower()
            if name in _GRAD_METHODS or (name == "step" and (not node.args or "optim" in receiver)):
                self.found = True
        if self.ctx.imports.qualified(func) in _GRAD_FUNCTIONS:
            self.found = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


@dataclass
class Scope:
    """A run of statements of one block that a `no_grad` scope may cover."""

    block: Block
    start: int  # statements block.body[start:end] go into the `with`
    end: int
    where: str  # "the loop body", ...
