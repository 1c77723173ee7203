"""Machine formats: GitHub workflow commands, JSON (docs/output.md) and SARIF 2.1.0."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional

from .. import __version__
from ..ftypes import Finding, SourceError
from .text import JSON_SCHEMA_VERSION, RULE_DOC, chosen_edit, format_error, location

if TYPE_CHECKING:
    from ..edits import EditMap


def _relative_url(code: str) -> str:
    return RULE_DOC.format(code=code)


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
def _finding_json(f: Finding, unsafe_fixes: bool, edits: EditMap,
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
                edits: EditMap, files: int, rule_url: Callable[[str], str] = _relative_url,
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
    import json  # (lazily: a clean pre-commit run imports this module for its text summary)

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
    from ..docs import doc_sections, render_rule
    from ..registry import all_rules

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
                 edits: EditMap, rule_url: Callable[[str], str] = _relative_url,
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
    import json

    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, ensure_ascii=False)
