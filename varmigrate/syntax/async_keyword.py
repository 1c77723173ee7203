"""Token pass for source that no Python 3.7+ parser accepts: `x.cuda(async=True)`.

`async` became a keyword in Python 3.7, so neither `ast` nor libcst parses a call with an `async=`
keyword argument (SEMANTICS.md G). `tokenize` still reads it as a NAME, so we rename those keyword
arguments before parsing. The placeholder has the same length as `async` (a Latin alpha, U+0251,
that no real source spells), so every other token keeps its line and column, and the async-keyword
rule recognises the renamed arguments by name and reports them at their original position.
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Container, Iterator
from dataclasses import dataclass
from typing import Optional

PLACEHOLDER = "\u0251sync"  # "ɑsync": same length as "async"
assert len(PLACEHOLDER) == len("async")

_SKIP = (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)


def tokens(text: str) -> Iterator[tokenize.TokenInfo]:
    """The tokens of `text`, stopping quietly where tokenize gives up (broken input is our input)."""
    try:
        yield from tokenize.generate_tokens(io.StringIO(text).readline)
    except (tokenize.TokenError, SyntaxError):
        return


@dataclass
class _Bracket:
    char: str
    params: bool  # the parameter list of a `def` (an `async=` there is a name, not a call keyword)
    lambdas: int = 0  # open `lambda` parameter lists inside this bracket


def async_keyword_spots(text: str) -> list[tuple[int, int]]:
    """(line, column 0-based) of every `async` used as a keyword argument of a call."""
    if "async" not in text:
        return []
    spots: list[tuple[int, int]] = []
    stack: list[_Bracket] = []
    prev: list[tokenize.TokenInfo] = []  # the last significant tokens, newest last
    toks = [t for t in tokens(text) if t.type not in _SKIP]
    for i, tok in enumerate(toks):
        if tok.type == tokenize.OP and tok.string in "([{":
            is_params = tok.string == "(" and len(prev) >= 2 and prev[-2].string == "def" and prev[-1].type == tokenize.NAME
            stack.append(_Bracket(tok.string, is_params))
        elif tok.type == tokenize.OP and tok.string in ")]}":
            if stack:
                stack.pop()
        elif tok.type == tokenize.NAME and tok.string == "lambda" and stack:
            stack[-1].lambdas += 1
        elif tok.type == tokenize.OP and tok.string == ":" and stack and stack[-1].lambdas:
            stack[-1].lambdas -= 1
        elif (
            tok.type == tokenize.NAME
            and tok.string == "async"
            and stack
            and stack[-1].char == "("
            and not stack[-1].params
            and not stack[-1].lambdas
            and prev
            and prev[-1].string in ("(", ",")
            and i + 1 < len(toks)
            and toks[i + 1].string == "="
        ):
            spots.append(tok.start)
        prev = (prev + [tok])[-2:]
    return spots


def rename_async_keywords(
    text: str, keep_lines: Container[int] = (), new_name: str = PLACEHOLDER
) -> tuple[str, list[tuple[int, int]]]:
    """Replace each `async=` keyword argument (except on `keep_lines`) by `new_name`: by default
    the placeholder, which keeps every other token where it was (the harness's shim spells
    `non_blocking`, the name PyTorch gives the argument now).

    Returns the new text and the renamed spots (1-based line, 0-based column in `text`).
    """
    spots = [s for s in async_keyword_spots(text) if s[0] not in keep_lines]
    if not spots:
        return text, []
    lines = io.StringIO(text).readlines()  # the same line splitting as tokenize's readline
    for line, column in reversed(spots):  # right to left: a longer name moves only what follows
        current = lines[line - 1]
        assert current[column : column + 5] == "async"
        lines[line - 1] = current[:column] + new_name + current[column + 5 :]
    return "".join(lines), spots


ASYNC_CODE = "VM304"  # the rule that reports (and fixes) the renamed arguments


def prepare(text: str, selected_codes: Container[str], noqa: dict[int, Optional[frozenset[str]]]) -> str:
    """The text to parse: `async=` keyword arguments renamed when their rule runs and is not suppressed.

    A suppressed or deselected `async=` stays, so the file is reported as unparsable, as it is.
    """
    if ASYNC_CODE not in selected_codes or "async" not in text:
        return text
    keep = {line for line, codes in noqa.items() if codes is None or any(ASYNC_CODE.startswith(c) for c in codes)}
    return rename_async_keywords(text, keep)[0]


def restore(code: str, original: str) -> str:
    """`code` (made from the prepared text) with each placeholder spelled `async` again, as in
    `original`: a fix applied alone leaves the other renamed arguments to their own finding, so
    its edit must not carry the placeholder into the user's file."""
    return code if PLACEHOLDER in original else code.replace(PLACEHOLDER, "async")
