"""`check --add-noqa`: baseline a codebase by adding `# noqa: CODE` where findings are.

Text-level on purpose: it must keep every byte except the comments it writes. Lines whose end lies
inside a multi-line string, or that continue with a backslash, cannot take a comment: the finding's
end line is tried next (the engine honours a noqa on either), else the finding is skipped.
"""

from __future__ import annotations

import io
import re
import tokenize
from typing import TYPE_CHECKING, Iterable, Optional

if TYPE_CHECKING:
    from .rule import Finding

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z0-9]+(?:\s*,\s*[A-Za-z0-9]+)*))?", re.IGNORECASE)
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _scan(text: str) -> Optional[tuple[set[int], dict[int, int]]]:
    """(lines whose end is inside a string, line -> column of its comment), or None if untokenizable."""
    inside: set[int] = set()
    comments: dict[int, int] = {}
    fstring_starts: list[int] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            name = tokenize.tok_name[tok.type]
            if name == "STRING" and tok.end[0] > tok.start[0]:
                inside.update(range(tok.start[0], tok.end[0]))
            elif name == "FSTRING_START":  # Python >= 3.12 splits f-strings into tokens
                fstring_starts.append(tok.start[0])
            elif name == "FSTRING_END" and fstring_starts:
                inside.update(range(fstring_starts.pop(), tok.end[0]))
            elif name == "COMMENT":
                comments[tok.start[0]] = tok.start[1]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    return inside, comments


def add_noqa(text: str, findings: Iterable["Finding"]) -> tuple[str, int, int]:
    """Return the text with noqa comments merged in, how many codes were added, how many skipped."""
    findings = [f for f in findings if f.cell is None]  # notebooks: cell lines are not file lines
    scanned = _scan(text)
    if scanned is None:
        return text, 0, len(findings)
    inside, comments = scanned
    lines = _LINES.findall(text)
    wanted: dict[int, list[str]] = {}
    skipped = 0
    for finding in findings:
        for line in dict.fromkeys((finding.line, finding.end_line)):
            if 1 <= line <= len(lines) and line not in inside and not lines[line - 1].rstrip("\r\n").endswith("\\"):
                codes = wanted.setdefault(line, [])
                if finding.code not in codes:
                    codes.append(finding.code)
                break
        else:
            skipped += 1
    added = 0
    for line, codes in wanted.items():
        raw = lines[line - 1]
        body = raw.rstrip("\r\n")
        ending = raw[len(body):]
        column = comments.get(line)
        comment = body[column:] if column is not None else ""
        match = _NOQA.search(comment)
        if match and match.group("codes") is None:
            continue  # a bare `# noqa` already silences the line
        if match:
            existing = [c.strip() for c in match.group("codes").split(",")]
            new_codes = [c for c in codes if not any(c.startswith(e.upper()) for e in existing)]
            if not new_codes:
                continue
            merged = f"# noqa: {', '.join([*existing, *new_codes])}"
            assert column is not None
            body = body[:column] + comment[: match.start()] + merged + comment[match.end():]
        else:
            new_codes = codes
            body = f"{body.rstrip()}  # noqa: {', '.join(codes)}"
        lines[line - 1] = body + ending
        added += len(new_codes)
    return "".join(lines), added, skipped
