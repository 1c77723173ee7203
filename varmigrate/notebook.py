"""Jupyter notebooks: lint and fix each code cell as its own module, write back only changed cells.

- IPython syntax (`%magic`, `%%cell_magic`, `!shell`, `obj?`, `x = !cmd`) is masked with a
  placeholder statement of the same indentation before parsing and restored byte for byte after.
- Imports of earlier cells bind names in later ones (the engine takes an ImportTracker), and an
  import that a fix makes unused in its own cell is kept while a later cell still uses the name.
- The JSON is written back in the file's own layout (indent, key order, `ensure_ascii`, final
  newline), so unchanged cells, outputs and metadata are byte-identical.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from .analysis.facts import OutsideFacts
from .analysis.imports import ImportTracker
from .analysis.tensors import TensorInference
from .config import Settings
from .ftypes import Finding, SourceError
from .policy import AppliedFix, FixPolicy
from .syntax import async_keyword

if TYPE_CHECKING:
    from .edits import EditMap

_MAGIC_NAME = "__varmigrate_magic_{}__"
_MAGIC_LINE = re.compile(r"^[ \t]*__varmigrate_magic_(\d+)__[ \t]*$")
_GUARD = "# __varmigrate_notebook_guard__"
# `x = !ls`, `files = %sx ls`: an assignment from IPython syntax.
_ASSIGN_MAGIC = re.compile(r"^[ \t]*[\w.\[\], \t]+=[ \t]*[!%]")
# Cell magics whose body is Python (the first line is masked, the body is linted).
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug", "pypy"}
_WORD = re.compile(r"[A-Za-z_]\w*")


class NotebookError(Exception):
    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@dataclass
class NotebookResult:
    source: str
    findings: list[Finding] = field(default_factory=list)  # remaining after fix, or all for check
    fixed: list[Finding] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    exposed: int = 0  # fixes beyond those `check` counted (FixResult.exposed)
    applied: list[AppliedFix] = field(default_factory=list)  # fix with a policy
    notes: list[SourceError] = field(default_factory=list)  # `--convert-py2`: converted cells
    skipped: bool = False  # no cell mentions torch and a trigger word: nothing was parsed


# ------------------------------------------------------------------------------------------
# Masking IPython syntax
# ------------------------------------------------------------------------------------------
@dataclass
class Masked:
    text: str
    originals: list[str]  # placeholder index -> the original line (without its newline)
    skip: bool = False  # a cell in another language (`%%bash`, `%%html`)


def _lines(text: str) -> list[str]:
    """Lines with their `\\n` (no other line breaks: notebooks store `\\n`)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def mask(source: str) -> Masked:
    originals: list[str] = []
    out: list[str] = []
    depth = 0  # naive bracket depth: a continuation line that starts with `%` is not a magic
    continued = False
    lines = _lines(source)
    for index, line in enumerate(lines):
        body = line[:-1] if line.endswith("\n") else line
        stripped = body.strip()
        is_magic = False
        if depth == 0 and not continued and stripped:
            if index == 0 and stripped.startswith("%%"):
                name = stripped[2:].split(None, 1)[0] if len(stripped) > 2 else ""
                if name not in _PYTHON_CELL_MAGICS:
                    return Masked(source, [], skip=True)
                is_magic = True
            elif stripped[0] in "%!?" or (stripped.endswith("?") and not stripped.startswith("#")) or _ASSIGN_MAGIC.match(body):
                is_magic = True
        if is_magic:
            indent = body[: len(body) - len(body.lstrip())]
            out.append(indent + _MAGIC_NAME.format(len(originals)) + line[len(body):])
            originals.append(body)
            continue
        out.append(line)
        code = re.sub(r"#.*", "", re.sub(r"'[^']*'|\"[^\"]*\"", "", body))
        depth = max(depth + sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}"), 0)
        continued = body.rstrip().endswith("\\")
    return Masked("".join(out), originals)


def unmask(text: str, masked: Masked) -> str:
    def restore(line: str) -> str:
        body = line[:-1] if line.endswith("\n") else line
        match = _MAGIC_LINE.match(body)
        if match is None:
            return line
        return masked.originals[int(match.group(1))] + line[len(body):]

    return "".join(restore(line) for line in _lines(text))


# ------------------------------------------------------------------------------------------
# JSON layout
# ------------------------------------------------------------------------------------------
@dataclass
class Layout:
    indent: Optional[int]
    ensure_ascii: bool
    final_newline: bool
    separators: Optional[tuple[str, str]] = None

    def dump(self, data: Any) -> str:
        text = json.dumps(data, indent=self.indent, ensure_ascii=self.ensure_ascii, separators=self.separators)
        return text + "\n" if self.final_newline else text


def sniff_layout(text: str, data: Any) -> Layout:
    match = re.search(r"^\{\r?\n( +)\"", text)
    indent = len(match.group(1)) if match else None
    ensure_ascii = text.isascii() and "\\u" in text
    final_newline = text.endswith("\n")
    layout = Layout(indent, ensure_ascii, final_newline)
    if indent is None and layout.dump(data) != text:
        layout.separators = (",", ":")
    return layout


# ------------------------------------------------------------------------------------------
# Cells
# ------------------------------------------------------------------------------------------
def _cell_source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _set_cell_source(cell: dict[str, Any], text: str) -> None:
    cell["source"] = _lines(text) if isinstance(cell.get("source"), list) else text


def load(text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"not a valid notebook: invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError("not a valid notebook: no `cells` list (only nbformat 4 notebooks are supported)")
    cells = [c for c in data["cells"] if isinstance(c, dict) and c.get("cell_type") == "code"]
    return data, cells


def process_notebook(text: str, path: str, settings: Settings, fix: bool,
                     policy: Optional[FixPolicy] = None, facts: Optional[OutsideFacts] = None) -> NotebookResult:
    """Lint (or fix) the code cells of a notebook as one namespace: imports and what the tensor
    inference learned flow from each cell to the next. A cell that does not parse (a Python 2
    cell) is reported and left as it is; the other cells are fixed."""
    from .engine import lint_source, passes_prefilter, selected_rules

    result = NotebookResult(source=text)
    try:
        data, cells = load(text)
    except NotebookError as exc:
        result.errors.append(SourceError(path, exc.line, exc.column, exc.message))
        return result
    sources = [_cell_source(c) for c in cells]
    masks = [mask(s) for s in sources]
    if settings.convert_py2:
        _convert_cells(sources, masks, path, fix, result)
        if any(e.kind == "error" for e in result.errors):
            return result
    # The prefilter sees the notebook as a whole: without torch and a trigger word in any cell,
    # no cell is parsed.
    if not passes_prefilter("\n".join(m.text for m in masks if not m.skip), selected_rules(settings), facts):
        # Nothing to migrate; converted Python 2 cells are still written (as a .py file's conversion is).
        result.skipped = not result.notes
        if fix and result.notes:
            for index, masked in enumerate(masks):
                converted = unmask(masked.text, masked)
                if not masked.skip and converted != sources[index]:
                    _set_cell_source(cells[index], converted)
            result.source = sniff_layout(text, json.loads(text)).dump(data)
        return result
    # The names each cell sees: imports and inference of the earlier cells, as written (check) or
    # as read (fix).
    trackers: list[ImportTracker] = []
    inferences: list[Optional[TensorInference]] = []
    tracker = ImportTracker(facts) if facts is not None else ImportTracker()
    previous: Optional[TensorInference] = None
    for number, masked in enumerate(masks, start=1):
        trackers.append(tracker)
        inferences.append(previous)
        if masked.skip:
            continue
        lint = lint_source(masked.text, path, settings if not fix else Settings(select=[]), imports=tracker,
                           facts=facts, previous=previous, namespace=True)
        if not fix:
            _number(lint.findings, lint.errors, number)
            result.findings += lint.findings
            result.errors += lint.errors
        tracker = lint.imports or tracker
        previous = lint.tensors or previous
    if fix:
        _fix_cells(cells, sources, masks, (trackers, inferences), path, settings, result, policy, facts)
        if result.fixed or result.notes:
            _drop_unused_imports(cells, sources, masks)
            result.source = sniff_layout(text, json.loads(text)).dump(data)
    return result


def _convert_cells(sources: list[str], masks: list[Masked], path: str, fix: bool, result: NotebookResult) -> None:
    """Each Python 2 cell (magics masked) becomes its conversion. All cells share one namespace:
    a name another cell mentions is not known to be an int in this one's divisions."""
    from .syntax.py2.outcome import prepare

    words = [set(_WORD.findall(s)) for s in sources]
    for index, masked in enumerate(masks):
        if masked.skip:
            continue
        foreign = set().union(*(w for j, w in enumerate(words) if j != index))
        prepared = prepare(masked.text, path, fix, cell=index + 1, foreign_names=foreign)
        result.errors += prepared.errors
        if prepared.conversion is not None:
            masks[index] = Masked(prepared.text, masked.originals)
            result.notes += prepared.notes


def _fix_cells(
    cells: list[dict[str, Any]],
    sources: list[str],
    masks: list[Masked],
    namespaces: tuple[list[ImportTracker], list[Optional[TensorInference]]],
    path: str,
    settings: Settings,
    result: NotebookResult,
    policy: Optional[FixPolicy] = None,
    facts: Optional[OutsideFacts] = None,
) -> None:
    """Fix the last cell first, so an import stays exactly while a later (fixed) cell still uses it.
    Each cell starts from the imports and inference of the cells before it (`namespaces`); a cell
    that does not parse keeps its text (its error is reported), the others are fixed."""
    from .engine import fix_source

    trackers, inferences = namespaces
    later_words: set[str] = set()
    for index in reversed(range(len(cells))):
        masked, number = masks[index], index + 1
        if masked.skip:
            later_words |= set(_WORD.findall(sources[index]))
            continue
        guarded = _guard(masked.text, later_words)
        fixed = fix_source(guarded, path, settings, imports=trackers[index], policy=policy, cell=number,
                           facts=facts, previous=inferences[index])
        result.applied[:0] = fixed.applied
        new_text = unmask(_unguard(fixed.source, masked.text), masked)
        last_line = masked.text.count("\n") + 1
        remaining = [f for f in fixed.remaining if f.line <= last_line]
        _number(fixed.fixed + remaining, fixed.errors, number)
        result.fixed[:0] = fixed.fixed
        result.exposed += fixed.exposed
        result.findings[:0] = remaining
        result.errors[:0] = fixed.errors
        if new_text != sources[index]:
            _set_cell_source(cells[index], new_text)
        later_words |= set(_WORD.findall(new_text))


def _drop_unused_imports(cells: list[dict[str, Any]], sources: list[str], masks: list[Masked]) -> None:
    """A legacy import (`Variable`) that the fixes of other cells made unused goes, as in a .py file."""
    import libcst as cst

    from .engine import REMOVABLE_IMPORTS
    from .rewrite.imports import ImportRemover

    fixed = [_cell_source(c) for c in cells]
    before = [w for src in sources for w in _WORD.findall(src)]
    after = [w for src in fixed for w in _WORD.findall(src)]
    for index, cell in enumerate(cells):
        if masks[index].skip:
            continue
        masked = mask(fixed[index])
        try:
            module = cst.parse_module(masked.text)
        except cst.ParserSyntaxError:
            continue
        own = ImportTracker().scan(module)
        # Used before (beyond its import), only the import itself mentions it now.
        gone = {n for n in own.locals_bound_to(REMOVABLE_IMPORTS) if before.count(n) > 1 and after.count(n) == 1}
        if gone:
            new_text = unmask(module.visit(ImportRemover(gone)).code, masked)
            _set_cell_source(cell, new_text)


def _guard(text: str, later_words: set[str]) -> str:
    """Append uses of this cell's imports that later cells need, so the fix keeps those imports."""
    own = ImportTracker()
    try:
        import libcst as cst

        own.scan(cst.parse_module(text))
    except Exception:
        return text
    needed = sorted(n for n in own.bindings if n in later_words)
    if not needed:
        return text
    sep = "" if text.endswith("\n") or not text else "\n"
    return text + sep + _GUARD + "\n" + "".join(f"{n}\n" for n in needed)


def _unguard(text: str, original: str) -> str:
    index = text.find(_GUARD)
    if index < 0:
        return text
    head = text[:index]
    if not original.endswith("\n") and head.endswith("\n"):
        head = head[:-1]
    return head


def _number(findings: list[Finding], errors: list[SourceError], number: int) -> None:
    for finding in findings:
        finding.cell = number
    for error in errors:
        error.cell = number


# ------------------------------------------------------------------------------------------
# One finding's fix as text edits of its cell (the editor server's quick fixes)
# ------------------------------------------------------------------------------------------
def cell_fix_edits(text: str, path: str, settings: Settings, findings: Sequence[Finding]) -> EditMap:
    """id(finding) -> the text edits, in its cell's coordinates, of its fix applied alone: what
    `edits.relinted_edits` is for a .py file. The cell is fixed with the imports of the earlier
    cells in scope, and keeps the imports that later cells use."""
    from .edits import text_edits
    from .engine import UnfixedModule, fix_alone, lint_source

    wanted: dict[int, list[Finding]] = {}
    for finding in findings:
        if finding.cell is not None and finding.chosen_edit(settings.unsafe_fixes) is not None:
            wanted.setdefault(finding.cell, []).append(finding)
    if not wanted:
        return {}
    try:
        _, cells = load(text)
    except NotebookError:
        return {}
    sources = [_cell_source(c) for c in cells]
    masks = [mask(s) for s in sources]
    result: EditMap = {}
    tracker = ImportTracker()
    for number, masked in enumerate(masks, start=1):
        if masked.skip:
            continue
        before = tracker
        lint = lint_source(masked.text, path, settings, imports=before)
        if lint.imports is not None:
            tracker = lint.imports
        if number not in wanted or lint.module is None:
            continue
        later_words = {w for src in sources[number:] for w in _WORD.findall(src)}
        guarded = _guard(masked.text, later_words)
        if guarded != masked.text:
            lint = lint_source(guarded, path, settings, imports=before)
            if lint.module is None:
                continue
        base = UnfixedModule(lint)
        fresh = {(f.code, f.line, f.column, f.end_line, f.end_column): f for f in lint.findings}
        for finding in wanted[number]:
            twin = fresh.get((finding.code, finding.line, finding.column, finding.end_line, finding.end_column))
            edit = twin.chosen_edit(settings.unsafe_fixes) if twin is not None else None
            if twin is None or edit is None:
                continue
            code = fix_alone(base, twin, edit)
            if code is not None:
                new = async_keyword.restore(unmask(_unguard(code, masked.text), masked), sources[number - 1])
                result[id(finding)] = text_edits(sources[number - 1], new, finding.span)
    return result
