"""The engine's own traversal and positions must agree with libcst's (they replace them for speed)."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from varmigrate.tree.memo import FileMemo
from varmigrate.tree.positions import positions
from varmigrate.tree.walk import visit, visit_batched

ROOT = Path(__file__).resolve().parent.parent


def _parses(path: Path) -> bool:
    try:
        cst.parse_module(path.read_text(encoding="utf-8"))
    except cst.ParserSyntaxError:
        return False  # `async=` fixtures parse only after the pre-pass
    return True


SAMPLES = [p for p in sorted(ROOT.glob("tests/fixtures/*/*.before.py"))[:60] + sorted(ROOT.glob("examples/legacy/*.py")) if _parses(p)]


class _Recorder(cst.BatchableCSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, int]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.events.append(("visit", id(node)))
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.events.append(("leave", id(original_node)))


def _parse(path: Path) -> cst.Module:
    with open(path, encoding="utf-8", newline="") as handle:
        return cst.parse_module(handle.read())


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_positions_match_position_provider(path: Path) -> None:
    module = _parse(path)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    ours = positions(module)
    assert len(expected) == len(ours)
    for node, rng in expected.items():
        assert ours[id(node)] == ((rng.start.line, rng.start.column), (rng.end.line, rng.end.column)), type(node).__name__


class _Names(cst.BatchableCSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.seen.append("v:" + node.value)

    def leave_Call(self, original_node: cst.Call) -> None:
        self.seen.append("l:call")

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.seen.append("v:def")

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.seen.append("l:def")


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_visit_order_matches_libcst(path: Path) -> None:
    module = _parse(path)
    theirs = _Names()
    MetadataWrapper(module, unsafe_skip_copy=True).visit_batched([theirs])
    ours = _Names()
    visit_batched(module, [ours])
    assert ours.seen == theirs.seen


def test_deep_nesting_does_not_recurse() -> None:
    module = cst.parse_module("x = " + "(" * 200 + "1" + ")" * 200 + "\n")
    names = _Names()
    visit_batched(module, [names])
    assert names.seen == ["v:x"]


class _Pruning(cst.CSTVisitor):
    """visit_ methods only, one of which prunes: the walker's leave-free fast path."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.seen.append("v:" + node.value)

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self.seen.append("v:lambda")
        return False  # children skipped

    def visit_Call(self, node: cst.Call) -> None:
        self.seen.append("v:call")


class _Leaving(_Pruning):
    """With leave methods: leave calls come after the children, also for pruned nodes."""

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.seen.append("l:lambda")

    def leave_Call(self, original_node: cst.Call) -> None:
        self.seen.append("l:call")


@pytest.mark.parametrize("visitor_cls", [_Pruning, _Leaving])
@pytest.mark.parametrize("path", SAMPLES[:25], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_walk_visit_matches_libcst_visit(path: Path, visitor_cls: type) -> None:
    module = _parse(path)
    theirs = visitor_cls()
    module.visit(theirs)
    ours = visitor_cls()
    visit(module, ours)
    assert ours.seen == theirs.seen
    memo = FileMemo()
    with memo.active():  # the per-file children cache gives the same walk, twice
        for _ in range(2):
            cached = visitor_cls()
            visit(module, cached, memo)
            assert cached.seen == theirs.seen


def test_walk_visit_prunes_and_leaves_in_order() -> None:
    module = cst.parse_module("f(lambda a: g(a), h(b))\n")
    ours = _Leaving()
    visit(module, ours)
    assert ours.seen == ["v:call", "v:f", "v:lambda", "l:lambda", "v:call", "v:h", "v:b", "l:call", "l:call"]


def test_a_linted_tree_is_freed_without_the_cycle_collector() -> None:
    # A reference cycle through the file context kept every tree alive until a full
    # collection: memory grew with the corpus and the collector's passes got slower.
    import gc

    from varmigrate.config import Settings
    from varmigrate.engine import lint_source

    source = (ROOT / "examples" / "legacy" / "mnist_classifier.py").read_text(encoding="utf-8")
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds unreachable stays in gc.garbage
    try:
        result = lint_source(source, "mnist_classifier.py", Settings())
        assert result.findings, "the sample must exercise the rules"
        del result
        gc.collect()
        # (A few nodes a fix built for its replacement may sit in a closure cycle: not the tree.)
        stranded = [o for o in gc.garbage if isinstance(o, (cst.Module, cst.FunctionDef))]
        assert not stranded, "the tree was freed only by the cycle collector"
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


@pytest.mark.parametrize("path", SAMPLES[:25], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_source_children_are_libcst_children(path: Path) -> None:
    from varmigrate.tree.walk import source_children

    stack: list[cst.CSTNode] = [_parse(path)]
    while stack:
        node = stack.pop()
        expected = tuple(node.children)
        ours = source_children(node)
        assert len(ours) == len(expected) and all(a is b for a, b in zip(ours, expected)), type(node).__name__
        stack.extend(expected)


def test_source_children_of_built_trees() -> None:
    # Fixes build nodes that share children, and fields that parsed code leaves empty.
    from varmigrate.tree.walk import source_children

    ws = cst.SimpleWhitespace(" ")
    comma = cst.Comma(whitespace_before=ws, whitespace_after=ws)
    call = cst.Call(
        func=cst.Name("f"),
        args=[cst.Arg(cst.Name("a"), comma=comma), cst.Arg(cst.Name("b"), keyword=cst.Name("k"), comma=comma)],
    )
    fn = cst.FunctionDef(
        name=cst.Name("g"), params=cst.Parameters(), body=cst.IndentedBlock([cst.SimpleStatementLine([cst.Expr(call)])]),
        decorators=[cst.Decorator(cst.Name("staticmethod"))], asynchronous=cst.Asynchronous(),
        returns=cst.Annotation(cst.Name("int")),
    )
    for node in (comma, call, *call.args, fn):
        assert source_children(node) == tuple(node.children), type(node).__name__
