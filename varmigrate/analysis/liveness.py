"""Which names are live (read before being re-bound, on some path) at given points of a body.

One backward pass over a function (or module) body: the names a statement uses are the operands
of its graph operations (`op_reads`), a nested function or lambda uses every name it reads (it may
run anywhere later), and a name is killed where a statement binds it without reading it. Loops
iterate to a fixed point; `try` kills nothing (an exception may leave the body anywhere). The
points asked for are "before statement `index` of block `block`" (`index == len(body)`: the end
of the block); at each, the pass keeps the union of what it saw there over the iterations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Optional

import libcst as cst

from ..tree.memo import FileMemo
from ..tree.walk import visit
from .graph_reads import op_reads, reads, target_names

Point = tuple[int, int]  # (id(block), index)


def _suite(node: Optional[cst.CSTNode]) -> list[cst.CSTNode]:
    if node is None:
        return []
    if isinstance(node, (cst.IndentedBlock, cst.Module)):
        return list(node.body)
    return [node]


class Liveness:
    def __init__(self, memo: FileMemo, points: Iterable[Point]) -> None:
        self.memo = memo
        self.wanted = set(points)
        self.at: dict[Point, set[str]] = {}
        self._loops: list[tuple[set[str], set[str]]] = []  # (live after the loop, live at its head)

    def run(self, body: cst.CSTNode) -> dict[Point, set[str]]:
        self._block(body, set())
        return self.at

    def _note(self, key: Point, live: set[str]) -> None:
        if key in self.wanted:
            seen = self.at.get(key)
            if seen is None:
                self.at[key] = set(live)
            else:
                seen |= live

    def _block(self, block: Optional[cst.CSTNode], live_out: set[str]) -> set[str]:
        statements = _suite(block)
        live = set(live_out)
        key = id(block)
        self._note((key, len(statements)), live)
        for i in range(len(statements) - 1, -1, -1):
            live = self._statement(statements[i], live)
            self._note((key, i), live)
        return live

    def _ops(self, node: Optional[cst.CSTNode]) -> frozenset[str]:
        return op_reads(self.memo, node) if node is not None else frozenset()

    def _statement(self, node: cst.CSTNode, live: set[str]) -> set[str]:
        if isinstance(node, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            for small in reversed(node.body):
                live = self._small(small, live)
            return live
        if isinstance(node, cst.If):
            body = self._block(node.body, live)
            other = self._statement(node.orelse, live) if node.orelse is not None else live
            return body | other | self._ops(node.test)
        if isinstance(node, cst.Else):
            return self._block(node.body, live)
        if isinstance(node, (cst.For, cst.While)):
            return self._loop(node, live)
        if isinstance(node, cst.With):
            inner = self._block(node.body, live)
            for item in node.items:
                if item.asname is not None:
                    inner -= target_names(item.asname.name)
                inner |= self._ops(item.item)
            return inner
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            out = set(live)
            out.discard(node.name.value)
            out |= _closure_reads(self.memo, node)
            return out
        if isinstance(node, cst.Try):
            everything = set(live) | _all_ops(self.memo, node)
            out = set(everything)
            for part in (node.body, node.orelse, node.finalbody):
                if part is not None:
                    out |= self._block(part.body if isinstance(part, (cst.Else, cst.Finally)) else part, everything)
            for handler in node.handlers:
                out |= self._block(handler.body, everything) | self._ops(handler.type)
            return out
        # match, try*: every name any part reads, nothing killed
        return set(live) | _all_ops(self.memo, node)

    def _loop(self, node: cst.CSTNode, live_after: set[str]) -> set[str]:
        assert isinstance(node, (cst.For, cst.While))
        after = self._block(node.orelse.body, live_after) | live_after if node.orelse is not None else set(live_after)
        head = set(after)
        test = self._ops(node.test) if isinstance(node, cst.While) else frozenset()
        head |= test
        for _ in range(20):
            self._loops.append((set(live_after), head))
            body = self._block(node.body, head)
            self._loops.pop()
            if isinstance(node, cst.For):
                body = body - target_names(node.target)
            new_head = after | body | test
            if new_head == head:
                break
            head = new_head
        return head | self._ops(node.iter) if isinstance(node, cst.For) else head

    def _small(self, node: cst.BaseSmallStatement, live: set[str]) -> set[str]:
        if isinstance(node, cst.Assign):
            out = set(live)
            for target in node.targets:
                t = target.target
                if isinstance(t, (cst.Attribute, cst.Subscript)):
                    out |= self._ops(t)
                else:
                    out -= target_names(t)
            return out | self._ops(node.value) | _lambda_reads(self.memo, node.value)
        if isinstance(node, cst.AnnAssign):
            if node.value is None:
                return live
            out = set(live) - target_names(node.target)
            return out | self._ops(node.value)
        if isinstance(node, cst.AugAssign):
            return set(live) | self._ops(node.target) | self._ops(node.value)
        if isinstance(node, cst.Del):
            return set(live) - target_names(node.target)
        if isinstance(node, cst.Return):
            return set(self._ops(node.value)) | _lambda_reads(self.memo, node.value)
        if isinstance(node, cst.Break):
            return set(self._loops[-1][0]) if self._loops else set(live)
        if isinstance(node, cst.Continue):
            return set(self._loops[-1][1]) if self._loops else set(live)
        out = set(live)
        for child in node.children:
            if isinstance(child, cst.BaseExpression):
                out |= self._ops(child) | _lambda_reads(self.memo, child)
        return out


def _closure_reads(memo: FileMemo, node: cst.CSTNode) -> frozenset[str]:
    """Every name a nested definition reads (its decorators and defaults run now, its body may run
    at any later time)."""
    return memo.per_file("live-closure", _collect_all, node, memo)


def _lambda_reads(memo: FileMemo, node: Optional[cst.CSTNode]) -> frozenset[str]:
    if node is None:
        return frozenset()
    return memo.per_file("live-lambdas", _collect_lambdas, node, memo)


def _all_ops(memo: FileMemo, node: cst.CSTNode) -> frozenset[str]:
    return memo.per_file("live-all", _collect_all, node, memo)


class _AllNames(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def _collect_all(node: cst.CSTNode, memo: FileMemo) -> frozenset[str]:
    finder = _AllNames()
    visit(node, finder, memo)
    return frozenset(finder.names)


class _Lambdas(cst.CSTVisitor):
    def __init__(self, memo: FileMemo) -> None:
        super().__init__()
        self.memo = memo
        self.names: set[str] = set()

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self.names |= reads(self.memo, node.body, False)
        return False


def _collect_lambdas(node: cst.CSTNode, memo: FileMemo) -> frozenset[str]:
    finder = _Lambdas(memo)
    visit(node, finder, memo)
    return frozenset(finder.names)


def live_at(memo: FileMemo, body: cst.CSTNode, points: Sequence[Point]) -> dict[Point, set[str]]:
    return Liveness(memo, points).run(body)
