"""Formatting of findings and summaries: text, json, sarif, github. Nothing here decides anything.

The JSON and SARIF schemas are documented in docs/output.md. The clean-file fast path must not
import libcst: rule/engine imports stay inside the functions that need them.
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Sequence

from . import __version__

if TYPE_CHECKING:  # the clean-file fast path must not import libcst (rule.py does)
    from .config import Settings
    from .rule import Edit, Finding
    from .sources import SourceError

# `text` is the old name of `concise`; `full` adds the source line with a caret under the finding.
OUTPUT_FORMATS = ("concise", "full", "text", "json", "sarif", "github")
TEXT_FORMATS = ("concise", "full", "text")
JSON_SCHEMA_VERSION = 1
# Rule pages, relative to the repository root: the links when the caller gives no `rule_url`
# (the CLI passes `Settings.rule_url`, absolute URLs from `docs-url`).
RULE_DOC = "docs/rules/{code}.md"


def _relative_url(code: str) -> str:
    return RULE_DOC.format(code=code)


def location(path: str, line: int, column: int, cell: int | None = None) -> str:
    return f"{path}:cell {cell}:{line}:{column}" if cell is not None else f"{path}:{line}:{column}"


def marker(finding: Finding, unsafe_fixes: bool = False) -> str:
    """ruff's `[*]`: a fix that `fix` would apply with the current settings."""
    return "[*] " if finding.edit_for(unsafe_fixes) is not None else ""


def chosen_edit(finding: Finding, unsafe_fixes: bool) -> Optional[Edit]:
    """The edit `fix` applies with these settings, else the best one `--unsafe-fixes` would apply."""
    return finding.edit_for(unsafe_fixes) or finding.edit_for(True)


# ------------------------------------------------------------------------------------------
# Edits as text: what an editor needs to apply one finding's fix on its own
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextEdit:
    """Replace [start, end) (1-based row/column, end exclusive, columns in code points) by content."""

    row: int
    column: int
    end_row: int
    end_column: int
    content: str

    def to_json(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "location": {"row": self.row, "column": self.column},
            "end_location": {"row": self.end_row, "column": self.end_column},
        }


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for match in _LINE.finditer(text):
        if match.end() < len(text) or match.group().endswith(("\n", "\r")):
            starts.append(match.end())
    return starts


def _position(starts: list[int], offset: int) -> tuple[int, int]:
    index = bisect.bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index] + 1


def text_edits(old: str, new: str, span: Optional[tuple[int, int, int, int]] = None) -> list[TextEdit]:
    """The line-diff hunks (trimmed to characters) that turn `old` into `new`.

    `span` (the finding's row, column, end row, end column): a hunk inside it is widened to the
    whole span, so that an editor replaces `Variable(torch.ones(3))` by `torch.ones(3)` rather than
    a minimal but unreadable slice of it.
    """
    a, b = _LINE.findall(old), _LINE.findall(new)
    starts = _line_starts(old)
    offsets = [0]
    for line in a:
        offsets.append(offsets[-1] + len(line))
    hunks: list[tuple[int, int, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        before, after = "".join(a[i1:i2]), "".join(b[j1:j2])
        prefix = len(_common_prefix(before, after))
        suffix = len(_common_prefix(before[prefix:][::-1], after[prefix:][::-1]))
        hunks.append((offsets[i1] + prefix, offsets[i2] - suffix, after[prefix: len(after) - suffix]))
    if span is not None:
        lo = _offset(starts, span[0], span[1])
        hi = _offset(starts, span[2], span[3])
        for k, (start, end, content) in enumerate(hunks):
            others = [h for i, h in enumerate(hunks) if i != k]
            if lo <= start <= end <= hi and not any(o[0] < hi and o[1] > lo for o in others):
                hunks[k] = (lo, hi, old[lo:start] + content + old[end:hi])
    edits = []
    for start, end, content in hunks:
        row, column = _position(starts, start)
        end_row, end_column = _position(starts, end)
        edits.append(TextEdit(row, column, end_row, end_column, content))
    return edits


def _offset(starts: list[int], row: int, column: int) -> int:
    return starts[min(row, len(starts)) - 1] + column - 1


def _common_prefix(x: str, y: str) -> str:
    n = 0
    for c1, c2 in zip(x, y):
        if c1 != c2:
            break
        n += 1
    return x[:n]


def _key(f: Finding) -> tuple[str, int, int, int, int, str]:
    return (f.code, f.line, f.column, f.end_line, f.end_column, f.message)


def fix_edits(text: str, path: str, settings: Settings, findings: Sequence[Finding]) -> dict[int, list[TextEdit]]:
    """id(finding) -> the text edits of its fix applied alone (with its import changes).

    The engine applies the one fix to a fresh parse and the result is diffed against the source,
    so the edit is exactly what `varmigrate fix` would write for that finding alone.
    """
    from .engine import Unfixed, _apply_round, _parses, lint_source

    wanted = [f for f in findings if f.cell is None and chosen_edit(f, settings.unsafe_fixes) is not None]
    if not wanted:
        return {}
    lint = lint_source(text, path, settings.for_path(path))
    if lint.module is None or lint.imports is None:
        return {}
    fresh = {_key(f): f for f in lint.findings}
    base = Unfixed(lint)  # one module, each finding applied to it alone
    result: dict[int, list[TextEdit]] = {}
    for finding in wanted:
        twin = fresh.get(_key(finding))
        if twin is None:
            continue
        edit = chosen_edit(twin, settings.unsafe_fixes)
        assert edit is not None
        module, applied = _apply_round(base, [(twin, edit)])
        if applied and _parses(module.code):
            result[id(finding)] = text_edits(text, module.code, (twin.line, twin.column, twin.end_line, twin.end_column))
    return result


# ------------------------------------------------------------------------------------------
# text
# ------------------------------------------------------------------------------------------
# ruff's colours: location bold, code red, `[*]` cyan; only where the CLI says so (a terminal,
# NO_COLOR unset, or FORCE_COLOR set).
_STYLES = {"path": {"bold": True}, "code": {"fg": "red", "bold": True}, "fix": {"fg": "cyan"},
           "caret": {"fg": "red", "bold": True}, "help": {"fg": "cyan"}, "error": {"fg": "red", "bold": True}}


def paint(text: str, kind: str, colour: bool) -> str:
    if not colour or not text:
        return text
    import click

    return click.style(text, **_STYLES[kind])  # type: ignore[arg-type]


def format_finding(finding: Finding, unsafe_fixes: bool = False, show_fix: bool = False,
                   edits: Optional[Sequence[TextEdit]] = None, colour: bool = False) -> str:
    where = location(finding.path, finding.line, finding.column, finding.cell)
    mark = marker(finding, unsafe_fixes)
    text = f"{paint(where, 'path', colour)}: {paint(finding.code, 'code', colour)} {paint(mark.strip(), 'fix', colour)}{' ' if mark else ''}{finding.message}"
    if show_fix and finding.edits:
        text += "\n" + "\n".join(_fix_lines(finding, unsafe_fixes, edits, colour))
    return text


def _fix_lines(finding: Finding, unsafe_fixes: bool, edits: Optional[Sequence[TextEdit]], colour: bool) -> list[str]:
    """`= help:` the fix `fix` applies (or would with --unsafe-fixes) and its edits, then
    `= alternative:` each other candidate with its safety (an unsafe one states its condition)."""
    edit = chosen_edit(finding, unsafe_fixes) or finding.edits[0]
    flag = "" if finding.edit_for(unsafe_fixes) is not None else ", needs --unsafe-fixes"
    lines = [f"  {paint('= help:', 'help', colour)} {edit.title} ({edit.safety.value} fix{flag})"]
    lines += [f"    {e.row}:{e.column}-{e.end_row}:{e.end_column} -> {json.dumps(e.content)}" for e in edits or ()]
    for other in finding.edits:
        if other is not edit:
            note = ", needs --unsafe-fixes" if other.safety.value == "unsafe" and not unsafe_fixes else ""
            lines.append(f"  {paint('= alternative:', 'help', colour)} {other.title} ({other.safety.value} fix{note})")
    return lines


def _display_width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def format_full(finding: Finding, lines: Optional[Sequence[str]], unsafe_fixes: bool = False,
                show_fix: bool = False, edits: Optional[Sequence[TextEdit]] = None, colour: bool = False) -> str:
    """ruff's `full` format: the concise line, the flagged source lines with a caret run under the
    finding, and the fix title (`= help:`). `lines`: the file's (or the cell's) lines."""
    head = format_finding(finding, unsafe_fixes, False, None, colour)
    if not lines or not (1 <= finding.line <= len(lines)):
        return head
    last = min(finding.end_line, len(lines), finding.line + 2)
    width = len(str(last))
    gutter = " " * width + " |"
    out = [head, paint(gutter, "help", colour)]
    for row in range(finding.line, last + 1):
        source = lines[row - 1].rstrip("\r\n").expandtabs(1)
        out.append(f"{paint(f'{row:>{width}} |', 'help', colour)} {source}")
        start = finding.column - 1 if row == finding.line else len(source) - len(source.lstrip())
        end = finding.end_column - 1 if row == finding.end_line else len(source)
        start, end = max(0, min(start, len(source))), max(0, min(end, len(source)))
        carets = "^" * max(1, _display_width(source[start:end]))
        label = f" {finding.code}" if row == last else ""
        out.append(f"{paint(gutter, 'help', colour)} {' ' * _display_width(source[:start])}{paint(carets + label, 'caret', colour)}")
    if finding.end_line > last:
        out.append(f"{paint(gutter, 'help', colour)} ...")
    out.append(paint(gutter, "help", colour))
    if finding.edits:
        if show_fix:
            out += _fix_lines(finding, unsafe_fixes, edits, colour)
        else:
            edit = chosen_edit(finding, unsafe_fixes) or finding.edits[0]
            out.append(f"  {paint('= help:', 'help', colour)} {edit.title}")
    return "\n".join(out) + "\n"


def format_error(error: SourceError, colour: bool = False) -> str:
    where = location(error.path, error.line, error.column, error.cell) if error.line else error.path
    return f"{paint(where, 'path', colour)}: {paint('error', 'error', colour)}: {error.message}"


def format_note(note: SourceError, colour: bool = False) -> str:
    where = location(note.path, note.line, note.column, note.cell) if note.line else note.path
    return f"{paint(where, 'path', colour)}: note: {note.message}"


def files_summary(checked: int, skipped: int) -> str:
    """How many files were read, and how many of them were not parsed (nothing to migrate)."""
    def files(n: int) -> str:
        return f"{n} file{'s' if n != 1 else ''}"

    if not skipped:
        return f"{files(checked)} checked."
    if skipped == checked:
        return f"{files(checked)} checked, none parsed: no PyTorch autograd usage (nothing to migrate)."
    return f"{files(checked)} checked, {skipped} of them not parsed: no PyTorch autograd usage (nothing to migrate; `--show-files` lists them)."


def check_summary(findings: Sequence[Finding], errors: Sequence[SourceError], unsafe_fixes: bool,
                  checked: Optional[int] = None, skipped: int = 0) -> str:
    """`checked`/`skipped`: files read, and not parsed (None: no file count line)."""
    lines = []
    if findings:
        from .rule import Safety

        safe = sum(1 for f in findings if f.edit_for(False) is not None)
        unsafe = sum(1 for f in findings if f.edit_for(False) is None and f.fix_safety is Safety.UNSAFE)
        noun = "finding" if len(findings) == 1 else "findings"
        lines.append(f"Found {len(findings)} {noun}.")
        if unsafe_fixes:
            if safe + unsafe:
                lines.append(f"[*] {safe + unsafe} fixable with `varmigrate fix --unsafe-fixes`.")
        else:
            if safe:
                lines.append(f"[*] {safe} fixable with `varmigrate fix`.")
            if unsafe:
                lines.append(f"{unsafe} hidden fix{'es' if unsafe != 1 else ''} can be enabled with `--unsafe-fixes` (review the conditions in the messages).")
    elif not errors:
        lines.append("All checks passed!")
    if errors:
        files = len({e.path for e in errors})
        lines.append(f"{files} file{'s' if files != 1 else ''} could not be checked (errors above).")
    if checked is not None:
        lines.append(files_summary(checked, skipped))
    return "\n".join(lines)


def statistics_rows(findings: Iterable[Finding], unsafe_fixes: bool = False) -> list[dict[str, Any]]:
    counts: Counter[tuple[str, str]] = Counter()
    fixable: Counter[str] = Counter()
    for f in findings:
        counts[(f.code, f.name)] += 1
        if f.edit_for(unsafe_fixes) is not None:
            fixable[f.code] += 1
    return [
        {"code": code, "name": name, "count": count, "fixable": fixable[code]}
        for (code, name), count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def statistics(findings: Iterable[Finding], unsafe_fixes: bool = False) -> str:
    """ruff's `--statistics`: count, code, `[*]` (all fixable) / `[-]` (some) / blank, name."""
    rows = statistics_rows(findings, unsafe_fixes)
    width = max((len(str(r["count"])) for r in rows), default=1)
    out = []
    for r in rows:
        mark = "[*]" if r["fixable"] == r["count"] else ("[-]" if r["fixable"] else "[ ]")
        out.append(f"{r['count']:>{width}}\t{r['code']}\t{mark} {r['name']}")
    return "\n".join(out)


def fixed_summary(fixed: Sequence[Finding], would: bool = False) -> str:
    """ruff's `--show-fixes` enumeration: per file, count x code (name)."""
    if not fixed:
        return "No findings would be fixed." if would else "No findings fixed."
    by_file: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for f in fixed:
        by_file[f.path][(f.code, f.name)] += 1
    lines = [f"{'Would fix' if would else 'Fixed'} {len(fixed)} finding{'s' if len(fixed) != 1 else ''}:"]
    for path in sorted(by_file):
        lines.append(f"- {path}:")
        for (code, name), count in sorted(by_file[path].items()):
            lines.append(f"    {count} × {code} ({name})")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# github: workflow commands
# ------------------------------------------------------------------------------------------
def _gh_escape(value: str, property_value: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def github(findings: Sequence[Finding], errors: Sequence[SourceError], fixed: Sequence[Finding] = ()) -> str:
    """`::error` per finding and error; `fixed` (the fix command): a `::notice` per applied fix."""
    lines = []
    for f in fixed:
        props = f"file={_gh_escape(f.path, True)},line={f.line},col={f.column},title={_gh_escape(f'varmigrate fixed ({f.code})', True)}"
        lines.append(f"::notice {props}::{_gh_escape(f'{location(f.path, f.line, f.column, f.cell)}: fixed {f.code} {f.message}')}")
    for e in errors:
        props = f"file={_gh_escape(e.path, True)}"
        if e.line:
            props += f",line={e.line},col={e.column}"
        lines.append(f"::error {props},title=varmigrate error::{_gh_escape(format_error(e))}")
    for f in findings:
        where = location(f.path, f.line, f.column, f.cell)
        props = (f"file={_gh_escape(f.path, True)},line={f.line},col={f.column},"
                 f"endLine={f.end_line},endColumn={f.end_column},title={_gh_escape(f'varmigrate ({f.code})', True)}")
        lines.append(f"::error {props}::{_gh_escape(f'{where}: {f.code} {f.message}')}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# json
# ------------------------------------------------------------------------------------------
def _finding_json(f: Finding, unsafe_fixes: bool, edits: dict[int, list[TextEdit]],
                  rule_url: Callable[[str], str] = _relative_url) -> dict[str, Any]:
    edit = chosen_edit(f, unsafe_fixes)
    fix = None
    if edit is not None:
        text = edits.get(id(f))
        fix = {
            "applicability": edit.safety.value,
            "available": f.edit_for(unsafe_fixes) is not None,
            "message": edit.title,
            "edits": [e.to_json() for e in text] if text is not None else None,
        }
    return {
        "filename": f.path,
        "cell": f.cell,
        "code": f.code,
        "name": f.name,
        "message": f.message,
        "location": {"row": f.line, "column": f.column},
        "end_location": {"row": f.end_line, "column": f.end_column},
        "noqa_row": f.line,
        "url": rule_url(f.code),
        "fix": fix,
    }


def _error_json(e: SourceError) -> dict[str, Any]:
    return {
        "filename": e.path,
        "cell": e.cell,
        "location": {"row": e.line, "column": e.column} if e.line else None,
        "message": e.message,
        "kind": e.kind,
    }


def json_report(findings: Sequence[Finding], errors: Sequence[SourceError], unsafe_fixes: bool,
                edits: dict[int, list[TextEdit]], files: int, rule_url: Callable[[str], str] = _relative_url,
                skipped: Optional[int] = None, fixed: Optional[Sequence[Finding]] = None) -> str:
    """`fixed` (from `fix` and `check --fix`): the findings the run fixed, in the same shape (their
    rows are those of the file before the fix); `findings` are then those left."""
    summary: dict[str, Any] = {
        "files": files,
        "findings": len(findings),
        "fixable": sum(1 for f in findings if f.edit_for(unsafe_fixes) is not None),
        "errors": len(errors),
    }
    if skipped is not None:
        summary["skipped_files"] = skipped
    payload: dict[str, Any] = {
        "version": JSON_SCHEMA_VERSION,
        "tool": {"name": "varmigrate", "version": __version__},
        "findings": [_finding_json(f, unsafe_fixes, edits, rule_url) for f in findings],
        "errors": [_error_json(e) for e in errors],
        "summary": summary,
    }
    if fixed is not None:
        payload["fixed"] = [_finding_json(f, unsafe_fixes, {}, rule_url) for f in fixed]
        summary["fixed"] = len(fixed)
    return json.dumps(payload, indent=2, ensure_ascii=False)


# ------------------------------------------------------------------------------------------
# sarif 2.1.0
# ------------------------------------------------------------------------------------------
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def _artifact(path: str) -> dict[str, str]:
    """Relative paths are relative to the checkout (%SRCROOT%); absolute ones become file URIs."""
    from pathlib import Path, PurePath
    from urllib.parse import quote

    if PurePath(path).is_absolute():
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(PurePath(path).as_posix()), "uriBaseId": "%SRCROOT%"}


def _sarif_rules(rule_url: Callable[[str], str] = _relative_url) -> list[dict[str, Any]]:
    from .docs import doc_sections, render_rule
    from .registry import all_rules

    rules = []
    for rule in all_rules():
        sections = doc_sections(rule)
        what = sections.get("What it does", "").strip()
        rules.append({
            "id": rule.CODE,
            "name": rule.slug(),
            "shortDescription": {"text": rule.MESSAGE},
            "fullDescription": {"text": what or rule.MESSAGE},
            "help": {"text": what or rule.MESSAGE, "markdown": render_rule(rule)},
            "helpUri": rule_url(rule.CODE),
            "defaultConfiguration": {"level": "error"},
            "properties": {"fix": rule.FIX.value, "tags": [rule.CODE[:3]]},
        })
    return rules


def _region(row: int, column: int, end_row: int, end_column: int) -> dict[str, int]:
    return {"startLine": row, "startColumn": column, "endLine": end_row, "endColumn": end_column}


def sarif_report(findings: Sequence[Finding], errors: Sequence[SourceError], unsafe_fixes: bool,
                 edits: dict[int, list[TextEdit]], rule_url: Callable[[str], str] = _relative_url,
                 fixed: Optional[Sequence[Finding]] = None) -> str:
    """`fixed` (from `fix`): the applied fixes go in `runs[0].properties.fixed` (rule, location);
    the results are the findings left."""
    rules = _sarif_rules(rule_url)
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for f in findings:
        artifact = _artifact(f.path)
        result: dict[str, Any] = {
            "ruleId": f.code,
            "level": "error",
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": artifact,
                "region": _region(f.line, f.column, f.end_line, f.end_column),
            }}],
        }
        if f.code in index:
            result["ruleIndex"] = index[f.code]
        if f.cell is not None:
            result["properties"] = {"cell": f.cell}
        edit = chosen_edit(f, unsafe_fixes)
        text = edits.get(id(f))
        if edit is not None and text:
            result["fixes"] = [{
                "description": {"text": edit.title},
                "artifactChanges": [{
                    "artifactLocation": artifact,
                    "replacements": [{
                        "deletedRegion": _region(e.row, e.column, e.end_row, e.end_column),
                        "insertedContent": {"text": e.content},
                    } for e in text],
                }],
                "properties": {"applicability": edit.safety.value, "available": f.edit_for(unsafe_fixes) is not None},
            }]
        results.append(result)
    notifications = [{
        "level": "error",
        "message": {"text": e.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": _artifact(e.path),
            **({"region": {"startLine": e.line, "startColumn": max(e.column, 1)}} if e.line else {}),
        }}],
    } for e in errors]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "varmigrate",
            "version": __version__,
            "semanticVersion": __version__,
            "rules": rules,
        }},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "invocations": [{"executionSuccessful": not errors, "toolExecutionNotifications": notifications}],
    }
    if fixed is not None:
        run["properties"] = {"fixed": [{
            "ruleId": f.code,
            "message": f.message,
            "location": {"physicalLocation": {"artifactLocation": _artifact(f.path),
                                              "region": _region(f.line, f.column, f.end_line, f.end_column)}},
            **({"cell": f.cell} if f.cell is not None else {}),
        } for f in fixed]}
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, ensure_ascii=False)
