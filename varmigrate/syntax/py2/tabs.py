"""Indentation that mixes tabs and spaces, read as Python 2 read it.

Python 2 expanded a tab in indentation to the next multiple of 8 columns and accepted any mix;
Python 3 refuses a file whose indentation means different things at tab size 8 and tab size 1
(`TabError`). `expand` rewrites the indentation of such a file with spaces, at the columns
Python 2 computed, and leaves every other byte alone: continuation lines, comment-only lines,
string literals (tabs inside a triple-quoted string are never indentation) and files that
Python 3 already reads the same way.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

TAB_SIZE = 8


def _columns(indent: str) -> tuple[int, int]:
    """(column at tab size 8, column at tab size 1), as CPython's tokenizer counts them."""
    col = alt = 0
    for char in indent:
        if char == " ":
            col, alt = col + 1, alt + 1
        elif char == "\t":
            col, alt = (col // TAB_SIZE + 1) * TAB_SIZE, alt + 1
        elif char == "\f":
            col = alt = 0
    return col, alt


def logical_line_starts(text: str) -> Iterator[int]:
    """1-based numbers of the physical lines that start a logical line (Python 2 tokens)."""
    from fissix.pgen2 import token, tokenize

    skip = {tokenize.NL, tokenize.COMMENT, token.INDENT, token.DEDENT, token.NEWLINE, token.ENDMARKER}
    at_start = True
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        kind = tok[0]
        if kind == token.NEWLINE:
            at_start = True
        elif kind not in skip and at_start:
            at_start = False
            yield tok[2][0]


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t\f"))]


def inconsistent(lines: list[str], starts: list[int]) -> bool:
    """Would Python 3 raise TabError (indentation ambiguous between tab sizes 8 and 1)?"""
    stack = [(0, 0)]
    for number in starts:
        col, alt = _columns(_indent(lines[number - 1]))
        top_col, top_alt = stack[-1]
        if col == top_col:
            if alt != top_alt:
                return True
        elif col > top_col:
            if alt <= top_alt:
                return True
            stack.append((col, alt))
        else:
            while len(stack) > 1 and col < stack[-1][0]:
                stack.pop()
            if col == stack[-1][0] and alt != stack[-1][1]:
                return True
    return False


def expand(text: str) -> tuple[str, int]:
    """`text` with Python 2's reading of mixed indentation spelled in spaces, and the number of
    lines changed (0 and `text` itself when Python 3 reads the indentation as Python 2 did).
    Raises fissix's TokenError / IndentationError on input Python 2 could not tokenize."""
    if "\t" not in text:
        return text, 0
    lines = io.StringIO(text).readlines()
    starts = list(logical_line_starts(text))
    if not inconsistent(lines, starts):
        return text, 0
    changed = 0
    for number in starts:
        line = lines[number - 1]
        indent = _indent(line)
        if "\t" not in indent:
            continue
        keep = indent[: indent.rfind("\f") + 1]
        lines[number - 1] = keep + " " * _columns(indent)[0] + line[len(indent):]
        changed += 1
    return "".join(lines), changed
