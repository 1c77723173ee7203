"""Say why a file does not parse when the reason is old-Python syntax (Python 2, `async` as a name).

Runs only after the parser failed. It reads tokens (Python 3's tokenizer accepts nearly all Python 2
source) and names the earliest construct that Python 3 rejects, so the user learns that the file
must be converted first rather than reading a parser message about an unexpected token.
"""

from __future__ import annotations

import tokenize
from dataclasses import dataclass
from typing import Optional

from .async_keyword import async_keyword_spots, tokens

ADVICE = ("convert the file to Python 3 first: `varmigrate fix --convert-py2` converts and migrates it in one step "
          "(pip install 'varmigrate[py2]'; see docs/python2.md)")
_STRING_PREFIX_PY2 = {"ur", "uR", "Ur", "UR"}
# After `print`, these start an operand of a Python 2 print statement (not a Python 3 expression).
_OPERAND_TYPES = (tokenize.NAME, tokenize.NUMBER, tokenize.STRING)
_NOT_OPERANDS = {"if", "else", "and", "or", "in", "is", "for", "not"}
# Statements whose Python 2 form has a top-level comma.
_COMMA_STATEMENTS = {"except": "`except E, e:` (use `except E as e:`)", "raise": "`raise E, value` (use `raise E(value)`)"}


@dataclass(frozen=True)
class LegacySyntax:
    line: int
    column: int  # 1-based
    construct: str
    python2: bool = True

    @property
    def message(self) -> str:
        if self.python2:
            return f"Python 2 syntax ({self.construct}): {ADVICE}"
        return self.construct


def _adjacent(a: tokenize.TokenInfo, b: tokenize.TokenInfo) -> bool:
    return a.end == b.start


def diagnose(text: str) -> Optional[LegacySyntax]:
    """The earliest Python 2 (or pre-3.7) construct in `text`, if any."""
    toks = [t for t in tokens(text) if t.type not in (tokenize.NL, tokenize.COMMENT)]
    line_start = True  # the token starts a logical line
    depth = 0
    opener: Optional[tokenize.TokenInfo] = None  # first token of the current logical line
    call_keywords = set(async_keyword_spots(text))
    for i, tok in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        found: Optional[str] = None
        if tok.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            line_start, depth, opener = True, 0, None
            continue
        if line_start:
            opener = tok
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth = max(depth - 1, 0)
        if tok.type == tokenize.ERRORTOKEN and tok.string == "`":
            found = "backtick repr"
        elif line_start and tok.string == "print" and nxt is not None:
            if (nxt.type in _OPERAND_TYPES and nxt.string not in _NOT_OPERANDS) or nxt.string == ">>":
                found = "print statement"
        elif line_start and tok.string == "exec" and nxt is not None and nxt.type in (tokenize.STRING, tokenize.NAME):
            found = "exec statement"
        elif tok.type == tokenize.OP and tok.string == "," and depth == 0 and opener is not None and opener.string in _COMMA_STATEMENTS:
            return LegacySyntax(opener.start[0], opener.start[1] + 1, _COMMA_STATEMENTS[opener.string])
        elif tok.type == tokenize.NUMBER and nxt is not None and _adjacent(tok, nxt):
            if tok.string == "0" and nxt.type == tokenize.NUMBER and nxt.string[:1].isdigit():
                found = "octal literal `0777` (use `0o777`)"
            elif nxt.type == tokenize.NAME and nxt.string in ("L", "l") and tok.string[-1:].isdigit():
                found = "long integer literal `10L`"
        elif tok.type == tokenize.NAME and tok.string in _STRING_PREFIX_PY2 and nxt is not None:
            if nxt.type == tokenize.STRING and _adjacent(tok, nxt):
                found = "`ur''` string prefix"
        elif tok.type == tokenize.OP and tok.string == "<" and nxt is not None and nxt.string == ">" and _adjacent(tok, nxt):
            found = "`<>` operator (use `!=`)"
        elif tok.type == tokenize.NAME and tok.string in ("async", "await") and nxt is not None:
            if tok.string == "async" and nxt.string not in ("def", "for", "with"):
                return _async_name(tok, tok.start in call_keywords)
        if found is not None:
            return LegacySyntax(tok.start[0], tok.start[1] + 1, found)
        line_start = False
    return None


def _async_name(tok: tokenize.TokenInfo, call_keyword: bool) -> LegacySyntax:
    if call_keyword:
        # Only reached when the pre-pass was off here (VM304 not selected, or a noqa comment on the line).
        text = ("`async=` keyword argument: `async` is a reserved keyword since Python 3.7, so the file does "
                "not parse; rule VM304 (async-keyword) renames it to `non_blocking=`")
    else:
        text = ("`async` is a reserved keyword since Python 3.7 and cannot be used as a name or parameter "
                "(Python <= 3.6 code): rename it")
    return LegacySyntax(tok.start[0], tok.start[1] + 1, text, python2=False)
