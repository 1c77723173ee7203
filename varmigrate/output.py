"""Formatting of findings and summaries. Nothing here decides anything; the CLI prints what it returns."""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

from .engine import SourceError
from .rule import Finding, Safety


def location(path: str, line: int, column: int, cell: int | None = None) -> str:
    return f"{path}:cell {cell}:{line}:{column}" if cell is not None else f"{path}:{line}:{column}"


def marker(finding: Finding, unsafe_fixes: bool = False) -> str:
    """ruff's `[*]`: a fix that `fix` would apply with the current settings."""
    return "[*] " if finding.edit_for(unsafe_fixes) is not None else ""


def format_finding(finding: Finding, unsafe_fixes: bool = False, show_fix: bool = False) -> str:
    text = f"{location(finding.path, finding.line, finding.column, finding.cell)}: {finding.code} {marker(finding, unsafe_fixes)}{finding.message}"
    if show_fix and finding.edits:
        edit = finding.edit_for(unsafe_fixes) or finding.edits[0]
        text += f"\n  = help: {edit.title} ({edit.safety.value} fix)"
    return text


def format_error(error: SourceError) -> str:
    where = location(error.path, error.line, error.column, error.cell) if error.line else error.path
    return f"{where}: error: {error.message}"


def check_summary(findings: Sequence[Finding], errors: Sequence[SourceError], unsafe_fixes: bool) -> str:
    lines = []
    if findings:
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
                lines.append(f"{unsafe} more fixable with `varmigrate fix --unsafe-fixes` (review the conditions in the messages).")
    elif not errors:
        lines.append("All checks passed!")
    if errors:
        noun = "file" if len({e.path for e in errors}) == 1 else "files"
        lines.append(f"{len({e.path for e in errors})} {noun} could not be checked (errors above).")
    return "\n".join(lines)


def statistics(findings: Iterable[Finding], unsafe_fixes: bool = False) -> str:
    counts: Counter[tuple[str, str]] = Counter()
    fixable: Counter[str] = Counter()
    for f in findings:
        counts[(f.code, f.name)] += 1
        if f.edit_for(unsafe_fixes) is not None:
            fixable[f.code] += 1
    rows = []
    for (code, name), count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        mark = "[*]" if fixable[code] == count else ("[-]" if fixable[code] else "   ")
        rows.append(f"{count:5d}\t{code}\t{mark} {name}")
    return "\n".join(rows)
