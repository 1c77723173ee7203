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

OUTPUT_FORMATS = ("text", "json", "sarif", "github")
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
def format_finding(finding: Finding, unsafe_fixes: bool = False, show_fix: bool = False,
                   edits: Optional[Sequence[TextEdit]] = None) -> str:
    text = f"{location(finding.path, finding.line, finding.column, finding.cell)}: {finding.code} {marker(finding, unsafe_fixes)}{finding.message}"
    if show_fix and finding.edits:
        edit = chosen_edit(finding, unsafe_fixes) or finding.edits[0]
        flag = "" if finding.edit_for(unsafe_fixes) is not None else ", needs --unsafe-fixes"
        text += f"\n  = help: {edit.title} ({edit.safety.value} fix{flag})"
        for e in edits or ():
            text += f"\n    {e.row}:{e.column}-{e.end_row}:{e.end_column} -> {json.dumps(e.content)}"
    return text


def format_error(error: SourceError) -> str:
    where = location(error.path, error.line, error.column, error.cell) if error.line else error.path
    return f"{where}: error: {error.message}"


def check_summary(findings: Sequence[Finding], errors: Sequence[SourceError], unsafe_fixes: bool) -> str:
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


def fixed_summary(fixed: Sequence[Finding]) -> str:
    """ruff's `--show-fixes` enumeration: per file, count x code (name)."""
    if not fixed:
        return "No findings fixed."
    by_file: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for f in fixed:
        by_file[f.path][(f.code, f.name)] += 1
    lines = [f"Fixed {len(fixed)} finding{'s' if len(fixed) != 1 else ''}:"]
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


def github(findings: Sequence[Finding], errors: Sequence[SourceError]) -> str:
    lines = []
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
                edits: dict[int, list[TextEdit]], files: int, rule_url: Callable[[str], str] = _relative_url) -> str:
    payload = {
        "version": JSON_SCHEMA_VERSION,
        "tool": {"name": "varmigrate", "version": __version__},
        "findings": [_finding_json(f, unsafe_fixes, edits, rule_url) for f in findings],
        "errors": [_error_json(e) for e in errors],
        "summary": {
            "files": files,
            "findings": len(findings),
            "fixable": sum(1 for f in findings if f.edit_for(unsafe_fixes) is not None),
            "errors": len(errors),
        },
    }
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
                 edits: dict[int, list[TextEdit]], rule_url: Callable[[str], str] = _relative_url) -> str:
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
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, ensure_ascii=False)
