"""The engine's own traversal and positions must agree with libcst's (they replace them for speed)."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from varmigrate.traverse import positions, visit_batched

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
