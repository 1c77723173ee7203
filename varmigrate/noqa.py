"""The one `# noqa` grammar: parsing, the per-line map, suppression with usage, `--add-noqa` edits.

`# noqa` (bare: every code) and `# noqa: VM101, VM2` (codes or prefixes, any case) silence the
findings that start or end on their line. The engine filters findings through `Suppressions`,
then hands the usage (which codes on which lines silenced something) to the rules' `after_lint`
hooks (VM901 reports the directives that silenced nothing). `add_noqa` is text-level on purpose:
it keeps every byte except the comments it writes.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from .ftypes import Finding

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z0-9]+(?:\s*,\s*[A-Za-z0-9]+)*))?", re.IGNORECASE)
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")

# Line -> the codes suppressed there, upper-cased (None: a bare noqa suppresses everything).
NoqaMap = dict[int, Optional[frozenset[str]]]


@dataclass(frozen=True)
class Directive:
    """One `# noqa` found in a text: where it is, and the codes it lists as written (stripped)."""

    start: int
    end: int
    codes: Optional[tuple[str, ...]]  # None: a bare noqa (every code)


def find_directive(text: str) -> Optional[Directive]:
    """The first `# noqa` directive in `text` (a comment, or a whole line)."""
    match = NOQA.search(text)
    if match is None:
        return None
    codes = match.group("codes")
    listed = None if codes is None else tuple(c.strip() for c in codes.split(","))
    return Directive(match.start(), match.end(), listed)


def noqa_map(text: str) -> NoqaMap:
    """Line -> codes suppressed there (None: a bare `# noqa` suppresses all)."""
    result: NoqaMap = {}
    if "noqa" not in text.lower():
        return result
    for lineno, line in enumerate(text.splitlines(), start=1):
        if "#" not in line:
            continue
        directive = find_directive(line)
        if directive is not None:
            codes = directive.codes
            result[lineno] = None if codes is None else frozenset(c.upper() for c in codes)
    return result


@dataclass
class Suppressions:
    """The noqa filter of one file, recording which (line, code) pairs silenced a finding."""

    lines: NoqaMap
    used: set[tuple[int, str]] = field(default_factory=set)

    def suppresses(self, finding: Finding) -> bool:
        for line in {finding.line, finding.end_line}:
            if line in self.lines:
                codes = self.lines[line]
                matched = [c for c in codes if finding.code.startswith(c)] if codes is not None else []
                if codes is None or matched:
                    self.used.update((line, c) for c in matched)
                    return True
        return False

    def usage(self, known_codes: tuple[str, ...], selected: Callable[[str], bool]) -> NoqaUsage:
        return NoqaUsage(frozenset(self.used), known_codes, selected)


@dataclass(frozen=True)
class NoqaUsage:
    """What the rules' `after_lint` hooks learn once the other findings went through noqa."""

    used: frozenset[tuple[int, str]]  # (line, code) pairs of directives that silenced a finding
    known_codes: tuple[str, ...]  # every rule's code, selected or not
    selected: Callable[[str], bool]  # whether a code's rule ran in this lint


# ------------------------------------------------------------------------------------------
# check --add-noqa: baseline a codebase by adding noqa comments (with codes) where findings are
# ------------------------------------------------------------------------------------------
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
    except (tokenize.TokenError, SyntaxError):
        return None
    return inside, comments


def add_noqa(text: str, findings: Iterable[Finding]) -> tuple[str, int, int]:
    """The text with noqa comments merged in, how many codes were added, how many findings skipped.

    Lines whose end lies inside a multi-line string, or that continue with a backslash, cannot
    take a comment: the finding's end line is tried next (a noqa on either counts), else the
    finding is skipped. Notebook findings (cell lines are not file lines) are left out.
    """
    wanted_findings = [f for f in findings if f.cell is None]
    scanned = _scan(text)
    if scanned is None:
        return text, 0, len(wanted_findings)
    inside, comments = scanned
    lines = _LINES.findall(text)
    wanted: dict[int, list[str]] = {}
    skipped = 0
    for finding in wanted_findings:
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
        directive = find_directive(comment)
        if directive is not None and directive.codes is None:
            continue  # a bare noqa already silences the line
        if directive is not None:
            assert directive.codes is not None and column is not None
            existing = list(directive.codes)
            new_codes = [c for c in codes if not any(c.startswith(e.upper()) for e in existing)]
            if not new_codes:
                continue
            merged = f"# noqa: {', '.join([*existing, *new_codes])}"
            body = body[:column] + comment[: directive.start] + merged + comment[directive.end:]
        else:
            new_codes = codes
            body = f"{body.rstrip()}  # noqa: {', '.join(codes)}"
        lines[line - 1] = body + ending
        added += len(new_codes)
    return "".join(lines), added, skipped
