"""Node positions as libcst's `PositionProvider` computes them, from one codegen pass.

`PositionProvider` creates two `CodePosition`s and a `CodeRange` per node: on a ~370-line legacy
file that is ~70 ms, against ~10 ms for a bare codegen pass that records character offsets. The
hook is libcst's codegen state (`CodegenState`, not exported by libcst's public API: the tested
libcst range in pyproject.toml bounds it, `internals.py` lists what is used and
tests/test_libcst_internals.py checks it is there, and tests/test_traverse.py compares every
node's range with `PositionProvider` on the fixtures).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Optional

import libcst as cst

from .internals import unsupported

try:
    from libcst._nodes.internal import CodegenState
except ImportError as exc:  # pragma: no cover - a libcst outside the tested range
    raise ImportError(unsupported("libcst._nodes.internal.CodegenState")) from exc

_NEWLINE = re.compile(r"\r\n?|\n")


class _Syntactic:
    """`record_syntactic_position` as a plain context manager (a generator-based one costs
    ~3 us per node, a fifth of the pass)."""

    __slots__ = ("state", "node", "start_node", "end_node", "start")

    def __init__(self, state: _OffsetState, node: cst.CSTNode, start_node: Optional[cst.CSTNode],
                 end_node: Optional[cst.CSTNode]) -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node

    def __enter__(self) -> None:
        self.start = self.state.offset

    def __exit__(self, *exc: object) -> None:
        state = self.state
        start, end = self.start, state.offset
        if self.start_node is not None:
            start = state.starts[id(self.start_node)]
        if self.end_node is not None:
            end = state.ends[id(self.end_node)]
        key = id(self.node)
        state.starts[key] = start
        state.ends[key] = end


@dataclass
class _OffsetState(CodegenState):
    """PositionProvider's bookkeeping reduced to character offsets in two int dicts (no tuple per
    node for the collector to scan); lines and columns are derived only for what is asked."""

    offset: int = 0
    starts: dict[int, int] = field(default_factory=dict)
    ends: dict[int, int] = field(default_factory=dict)
    popped: str = ""
    _stack: list[int] = field(default_factory=list)

    def add_indent_tokens(self) -> None:
        self.tokens.extend(self.indent_tokens)
        for token in self.indent_tokens:
            self.offset += len(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self.offset += len(value)

    def pop_trailing_newline(self) -> None:
        # PositionProvider keeps counting the popped newline (the module ends on the next line)
        if self.tokens:
            self.popped = self.tokens.pop()

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._stack.append(self.offset)

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._stack.pop()
        key = id(node)
        if key not in self.ends:  # a syntactic position was recorded already
            self.starts[key] = start
            self.ends[key] = self.offset

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: Optional[cst.CSTNode] = None,
        end_node: Optional[cst.CSTNode] = None,
    ) -> _Syntactic:
        return _Syntactic(self, node, start_node, end_node)


class Positions:
    """id(node) -> ((line, column), (end_line, end_column)), as libcst's PositionProvider
    computes them (syntactic ranges, lines 1-based, columns 0-based)."""

    def __init__(self, state: _OffsetState) -> None:
        self._starts, self._ends = state.starts, state.ends
        # Newlines are counted per token, as PositionProvider does (a "\r" token followed by a
        # "\n" token is two line breaks there, one in the joined text).
        line_starts = [0]
        offset = 0
        for token in (*state.tokens, state.popped):
            if "\n" in token or "\r" in token:
                for m in _NEWLINE.finditer(token):
                    line_starts.append(offset + m.end())
            offset += len(token)
        self._line_starts = line_starts

    def _point(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1]

    def __getitem__(self, key: int) -> tuple[tuple[int, int], tuple[int, int]]:
        return self._point(self._starts[key]), self._point(self._ends[key])

    def __len__(self) -> int:
        return len(self._ends)


def positions(module: cst.Module) -> Positions:
    """Syntactic ranges of every node, as libcst's PositionProvider computes them (column 0-based)."""
    state = _OffsetState(default_indent=module.default_indent, default_newline=module.default_newline)
    module._codegen(state)
    return Positions(state)
