"""What the language server computes for a document, as LSP types, with no protocol state: the
check of a document or notebook (its settings from the nearest pyproject.toml, as `check` would),
its diagnostics, its code actions (each fix, labelled with its safety; a noqa suppression; fix
all). `server.py` holds the protocol side (pygls): documents, debouncing, publishing.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.uris import to_fs_path

from .config import ConfigError, Settings, resolve_settings

if TYPE_CHECKING:
    from .edits import EditMap
    from .ftypes import Finding, SourceError, TextEdit

SOURCE = "varmigrate"
FIX_ALL_KIND = "source.fixAll.varmigrate"

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# ------------------------------------------------------------------------------------------
# Documents and what a check of one found (no LSP state: the functions below are pure)
# ------------------------------------------------------------------------------------------
@dataclass
class Target:
    """What is checked as one unit: a text document, or a notebook's code cells in order."""

    uri: str  # the text document's or the notebook's URI
    path: str  # file-system path (or a stand-in) for configuration and messages
    cell_uris: list[str]  # [uri] for a text document; the code cells' URIs for a notebook
    texts: list[str]
    version: Optional[int]
    notebook: bool = False


@dataclass
class Analysis:
    target: Target
    settings: Optional[Settings]  # None: the file is excluded, or the configuration is broken
    findings: list[Finding] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    config_error: Optional[str] = None


def uri_to_path(uri: str) -> str:
    path = to_fs_path(uri) if uri.startswith("file:") else None
    if path:
        return path
    parsed = urlparse(uri)
    return unquote(parsed.path) or uri


def notebook_json(texts: Sequence[str]) -> str:
    """The code cells as an nbformat 4 notebook, for the .ipynb pipeline."""
    cells: list[dict[str, Any]] = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": t} for t in texts]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def _path_for(target: Target) -> str:
    if target.notebook and not target.path.endswith(".ipynb"):
        return target.path + ".ipynb"
    return target.path


def resolve(target: Target, root: Optional[str] = None) -> tuple[Optional[Settings], Optional[str]]:
    """The document's settings (nearest pyproject.toml of its file), or why there are none."""
    anchor = [target.path] if Path(target.path).is_absolute() else ([root] if root else [])
    try:
        settings = resolve_settings(anchor)
    except ConfigError as exc:
        return None, str(exc)
    if Path(target.path).is_absolute() and settings.is_excluded(target.path):
        return None, None
    return settings.for_path(target.path), None


def analyze(target: Target, root: Optional[str] = None) -> Analysis:
    from .api import process_text

    settings, problem = resolve(target, root)
    analysis = Analysis(target, settings, config_error=problem)
    if settings is None:
        return analysis
    if not target.notebook and target.path.endswith(".ipynb"):
        return analysis  # a notebook opened as JSON text: its cells' positions are not the text's
    text = notebook_json(target.texts) if target.notebook else target.texts[0]
    try:
        outcome = process_text(text, _path_for(target), settings, fix=False)
    except Exception as exc:  # noqa: BLE001 - an editor keeps working whatever one file does
        from .api import internal_error

        analysis.errors.append(internal_error(target.path, exc))
        return analysis
    analysis.findings, analysis.errors = outcome.findings, outcome.errors
    return analysis


def fixed_texts(analysis: Analysis, unsafe: bool = False) -> Optional[list[str]]:
    """Every cell's text with the fixes applied (safe only unless `unsafe`); None on error."""
    from .api import process_text

    if analysis.settings is None:
        return None
    target = analysis.target
    settings = dataclasses.replace(analysis.settings, unsafe_fixes=unsafe)
    text = notebook_json(target.texts) if target.notebook else target.texts[0]
    outcome = process_text(text, _path_for(target), settings, fix=True)
    if outcome.new_text is None or any(e.kind == "error" for e in outcome.errors):
        return None
    if not target.notebook:
        return [outcome.new_text]
    cells = json.loads(outcome.new_text)["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]


def finding_edits(analysis: Analysis, findings: Sequence[Finding], unsafe: bool) -> EditMap:
    """id(finding) -> the edits of its fix applied alone: the safe one (`unsafe=False`, else the
    unsafe one) or the most idiomatic one allowed with --unsafe-fixes (`unsafe=True`)."""
    from .edits import relinted_edit_map
    from .notebook import cell_fix_edits

    if analysis.settings is None or not findings:
        return {}
    target = analysis.target
    settings = dataclasses.replace(analysis.settings, unsafe_fixes=unsafe)
    if target.notebook:
        return cell_fix_edits(notebook_json(target.texts), _path_for(target), settings, findings)
    return relinted_edit_map(target.texts[0], target.path, settings, findings)


# ------------------------------------------------------------------------------------------
# Positions: varmigrate counts 1-based code points; LSP counts 0-based code units
# ------------------------------------------------------------------------------------------
def _lines(text: str) -> list[str]:
    return _LINE_BREAK.split(text)


def _units(line: str, column: int, encoding: str) -> int:
    prefix = line[:column]
    if encoding == types.PositionEncodingKind.Utf8:
        return len(prefix.encode("utf-8"))
    if encoding == types.PositionEncodingKind.Utf32:
        return len(prefix)
    return len(prefix.encode("utf-16-le", "surrogatepass")) // 2


def position(lines: Sequence[str], row: int, column: int, encoding: str) -> types.Position:
    """1-based row and code-point column -> an LSP position (clamped to the document)."""
    index = min(max(row, 1), len(lines)) - 1
    line = lines[index]
    return types.Position(line=index, character=_units(line, max(column, 1) - 1, encoding))


def lsp_range(lines: Sequence[str], row: int, column: int, end_row: int, end_column: int, encoding: str) -> types.Range:
    return types.Range(start=position(lines, row, column, encoding), end=position(lines, end_row, end_column, encoding))


def _text_edit(lines: Sequence[str], edit: TextEdit, encoding: str) -> types.TextEdit:
    return types.TextEdit(
        range=lsp_range(lines, edit.row, edit.column, edit.end_row, edit.end_column, encoding),
        new_text=edit.content,
    )


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return p.line, p.character

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


# ------------------------------------------------------------------------------------------
# Diagnostics and code actions
# ------------------------------------------------------------------------------------------
def _cell_index(analysis: Analysis, cell: Optional[int]) -> int:
    return (cell - 1) if analysis.target.notebook and cell is not None else 0


def diagnostics(analysis: Analysis, encoding: str) -> dict[str, list[types.Diagnostic]]:
    """cell URI (or the document's) -> its diagnostics; every cell gets an entry (maybe empty)."""
    target = analysis.target
    result: dict[str, list[types.Diagnostic]] = {uri: [] for uri in target.cell_uris}
    lines = [_lines(t) for t in target.texts]
    settings = analysis.settings
    for f in analysis.findings:
        index = _cell_index(analysis, f.cell)
        if index >= len(target.cell_uris):
            continue
        fix = f.edit_for(settings.unsafe_fixes if settings else False) or f.edit_for(True)
        data = {"code": f.code, "fixable": f.edit_for(False) is not None,
                "safety": fix.safety.value if fix is not None else "none"}
        result[target.cell_uris[index]].append(types.Diagnostic(
            range=lsp_range(lines[index], f.line, f.column, f.end_line, f.end_column, encoding),
            message=f.message,
            severity=types.DiagnosticSeverity.Warning,
            code=f.code,
            code_description=types.CodeDescription(href=settings.rule_url(f.code)) if settings else None,
            source=SOURCE,
            data=data,
        ))
    for e in analysis.errors:
        index = _cell_index(analysis, e.cell)
        if index >= len(target.cell_uris):
            continue
        start = position(lines[index], e.line or 1, e.column or 1, encoding)
        result[target.cell_uris[index]].append(types.Diagnostic(
            range=types.Range(start=start, end=types.Position(line=start.line, character=start.character + 1)),
            message=e.message,
            severity=types.DiagnosticSeverity.Error,
            source=SOURCE,
        ))
    return result


def _title(finding: Finding, unsafe: bool) -> Optional[tuple[str, bool]]:
    """(label, safe) of the fix `finding_edits(..., unsafe)` computes."""
    edit = finding.chosen_edit(unsafe)
    if edit is None:
        return None
    safe = edit.safety.value == "safe"
    return f"{finding.code}: {edit.title} ({'safe' if safe else 'unsafe'} fix)", safe


def _workspace_edit(analysis: Analysis, per_cell: dict[int, list[types.TextEdit]]) -> types.WorkspaceEdit:
    target = analysis.target
    if not target.notebook:
        return types.WorkspaceEdit(changes={target.uri: per_cell.get(0, [])})
    return types.WorkspaceEdit(document_changes=[
        types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=target.cell_uris[i], version=None),
            edits=list(edits),
        )
        for i, edits in sorted(per_cell.items()) if edits
    ])


def fix_all_edit(analysis: Analysis, encoding: str) -> Optional[types.WorkspaceEdit]:
    """Every safe fix of the document (or notebook), as `varmigrate fix` applies them; None when
    nothing changes."""
    from .edits import text_edits

    new = fixed_texts(analysis, unsafe=False)
    if new is None or new == analysis.target.texts:
        return None
    per_cell: dict[int, list[types.TextEdit]] = {}
    for index, (old, text) in enumerate(zip(analysis.target.texts, new)):
        if old != text:
            lines = _lines(old)
            per_cell[index] = [_text_edit(lines, e, encoding) for e in text_edits(old, text)]
    return _workspace_edit(analysis, per_cell)


def code_actions(analysis: Analysis, uri: str, wanted: types.Range, encoding: str,
                 only: Optional[Sequence[str]] = None) -> list[types.CodeAction]:
    """Quick fixes for the findings of `uri` that touch `wanted`, then the fix-all action."""
    target = analysis.target
    if uri not in target.cell_uris or analysis.settings is None:
        return []
    index = target.cell_uris.index(uri)
    lines = _lines(target.texts[index])
    actions: list[types.CodeAction] = []

    def allowed(kind: str) -> bool:
        return not only or any(kind == k or kind.startswith(k + ".") for k in only)

    here = [f for f in analysis.findings if _cell_index(analysis, f.cell) == index
            and _overlaps(lsp_range(lines, f.line, f.column, f.end_line, f.end_column, encoding), wanted)]
    if here and allowed(types.CodeActionKind.QuickFix):
        diagnostic_of = diagnostics(dataclasses.replace(analysis, findings=here, errors=[]), encoding)[uri]
        by_safety = {flag: finding_edits(analysis, here, flag) for flag in (False, True)}
        for finding, diagnostic in zip(here, diagnostic_of):
            seen: set[tuple[tuple[int, int, int, int, str], ...]] = set()
            for flag in (False, True):
                edits = by_safety[flag].get(id(finding))
                label = _title(finding, flag)
                if not edits or label is None:
                    continue
                key = tuple((e.row, e.column, e.end_row, e.end_column, e.content) for e in edits)
                if key in seen:
                    continue  # the unsafe setting chose the same (safe) fix
                seen.add(key)
                actions.append(types.CodeAction(
                    title=label[0],
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    is_preferred=label[1],
                    edit=_workspace_edit(analysis, {index: [_text_edit(lines, e, encoding) for e in edits]}),
                ))
            noqa = _noqa_edit(target.texts[index], finding, lines, encoding)
            if noqa is not None:
                actions.append(types.CodeAction(
                    title=f"{finding.code}: suppress with `# noqa: {finding.code}`",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    edit=_workspace_edit(analysis, {index: noqa}),
                ))
    if allowed(FIX_ALL_KIND) and any(f.edit_for(False) is not None for f in analysis.findings):
        edit = fix_all_edit(analysis, encoding)
        if edit is not None:
            actions.append(types.CodeAction(
                title="varmigrate: fix all safe fixes",
                kind=FIX_ALL_KIND,
                edit=edit,
            ))
    return actions


def _noqa_edit(text: str, finding: Finding, lines: Sequence[str], encoding: str) -> Optional[list[types.TextEdit]]:
    from .edits import text_edits
    from .noqa import add_noqa

    new, added, _ = add_noqa(text, [finding])
    if not added:
        return None
    return [_text_edit(lines, e, encoding) for e in text_edits(text, new)]
