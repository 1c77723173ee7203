"""Human formats: the concise and full finding lines, errors and notes, summaries, statistics."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Optional

from ..ftypes import Edit, Finding, Safety, SourceError, TextEdit

OUTPUT_FORMATS = ("concise", "full", "text", "json", "sarif", "github")
TEXT_FORMATS = ("concise", "full", "text")
JSON_SCHEMA_VERSION = 1
# Rule pages, relative to the repository root: the links when the caller gives no `rule_url`
# (the CLI passes `Settings.rule_url`, absolute URLs from `docs-url`).
RULE_DOC = "docs/rules/{code}.md"


def location(path: str, line: int, column: int, cell: int | None = None) -> str:
    return f"{path}:cell {cell}:{line}:{column}" if cell is not None else f"{path}:{line}:{column}"


def marker(finding: Finding, unsafe_fixes: bool = False) -> str:
    """ruff's `[*]`: a fix that `fix` would apply with the current settings."""
    return "[*] " if finding.edit_for(unsafe_fixes) is not None else ""


def chosen_edit(finding: Finding, unsafe_fixes: bool) -> Optional[Edit]:
    """The edit `fix` applies with these settings, else the best one `--unsafe-fixes` would apply."""
    return finding.chosen_edit(unsafe_fixes)


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
    fix = paint(mark.strip(), "fix", colour) + (" " if mark else "")
    text = f"{paint(where, 'path', colour)}: {paint(finding.code, 'code', colour)} {fix}{finding.message}"
    if show_fix and finding.edits:
        text += "\n" + "\n".join(_fix_lines(finding, unsafe_fixes, edits, colour))
    return text


def _fix_lines(finding: Finding, unsafe_fixes: bool, edits: Optional[Sequence[TextEdit]], colour: bool) -> list[str]:
    """`= help:` the fix `fix` applies (or would with --unsafe-fixes) and its edits, then
    `= alternative:` each other candidate with its safety (an unsafe one states its condition)."""
    edit = chosen_edit(finding, unsafe_fixes) or finding.edits[0]
    flag = "" if finding.edit_for(unsafe_fixes) is not None else ", needs --unsafe-fixes"
    lines = [f"  {paint('= help:', 'help', colour)} {edit.title} ({edit.safety.value} fix{flag})"]
    import json  # (here: a clean run's summary does not need it)

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


def noqa_summary(added: int, files: int, skipped: int) -> str:
    """What `check --add-noqa` did."""
    lines = [f"Added {added} noqa directive{'s' if added != 1 else ''} in {files} file{'s' if files != 1 else ''}."]
    if skipped:
        lines.append(f"{skipped} finding{'s' if skipped != 1 else ''} could not take a noqa comment (the line ends inside a "
                     "multi-line string or continues with a backslash): review them by hand.")
    return "\n".join(lines)


def check_summary(findings: Sequence[Finding], errors: Sequence[SourceError], unsafe_fixes: bool,
                  checked: Optional[int] = None, skipped: int = 0) -> str:
    """`checked`/`skipped`: files read, and not parsed (None: no file count line)."""
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
                lines.append(f"{unsafe} hidden fix{'es' if unsafe != 1 else ''} can be enabled with `--unsafe-fixes` "
                             "(review the conditions in the messages).")
    elif not errors:
        lines.append("All checks passed!")
    if errors:
        files = len({e.path for e in errors})
        lines.append(f"{files} file{'s' if files != 1 else ''} could not be checked (errors above).")
    if checked is not None:
        lines.append(files_summary(checked, skipped))
    return "\n".join(lines)


def statistics_legend(findings: Sequence[Finding], unsafe: bool) -> str:
    legend = "[*] `varmigrate fix` fixes all of them, [-] some of them, [ ] none"
    if not unsafe and any(f.edit_for(True) is not None and f.edit_for(False) is None for f in findings):
        legend += " (`--unsafe-fixes` fixes more: review the conditions in each rule's Fix safety first)"
    return legend + "."


def fix_summary(fixed: int, changed: int, exposed: int, remaining: Sequence[Finding], unsafe_fixes: bool,
                would: bool = False, say_done: bool = False, converted: int = 0) -> str:
    """`Fixed 3 findings in 2 files. 1 remaining (...).`; `exposed`: fixes beyond those `check`
    counted; `say_done`: `Nothing left to migrate.` when nothing remains (check --fix);
    `converted`: files converted from Python 2."""
    verb = "Would fix" if would else "Fixed"
    summary = [f"{verb} {fixed} finding{'s' if fixed != 1 else ''} in {changed} file{'s' if changed != 1 else ''}"]
    if exposed:
        summary[0] += (f" ({exposed} more than `check` counted as fixable: a fix can expose another finding, e.g. "
                       "`Variable(x, volatile=True)` loses `volatile=`, then its wrapper)")
    summary[0] += "."
    if remaining:
        unsafe = sum(1 for f in remaining if f.edit_for(True) is not None and f.edit_for(unsafe_fixes) is None)
        summary.append(f"{len(remaining)} remaining" + (f" ({unsafe} fixable with --unsafe-fixes)" if unsafe else "") + ".")
    elif say_done:
        summary.append("Nothing left to migrate.")
    if converted:
        summary.append(converted_summary(converted, would))
    return " ".join(summary)


def converted_summary(converted: int, would: bool) -> str:
    """`--convert-py2`: how many files were (check: would be) converted."""
    if not converted:
        return ""
    files = f"{converted} file{'s' if converted != 1 else ''}"
    if would:
        return f"{files} would be converted from Python 2 (`varmigrate fix --convert-py2`)."
    return f"Converted {files} from Python 2."


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


