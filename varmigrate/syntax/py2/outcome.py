"""What `check`/`fix --convert-py2` report about a conversion: notes and the text to lint.

`prepare(text, path, fix)` converts a Python 2 file (or returns the text unchanged) and says so
in notes: one for the conversion (what the fixers did) and one per division whose Python 2 meaning
was not established. `fix` reports them at the converted file's positions (what it writes);
`check` maps lines back to the original file (`line_map`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Callable, Optional

from ...sources import SourceError
from . import Conversion, ConversionError, NotPython2, Py2Unavailable, convert

DIVISION = "python2 division"  # the notes' labels (docs/python2.md)
CONVERTED = "python2"


@dataclass
class Prepared:
    text: str  # what the linter sees
    conversion: Optional[Conversion] = None
    notes: list[SourceError] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    to_original: Callable[[int], int] = field(default=lambda line: line, repr=False)


def line_map(original: str, converted: str) -> Callable[[int], int]:
    """A converted line number -> the original line it came from (nearest for added lines)."""
    a, b = original.splitlines(), converted.splitlines()
    table: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        for j in range(j1, j2):
            table[j + 1] = (i1 + min(j - j1, max(i2 - i1 - 1, 0))) + 1 if tag != "insert" else max(i1, 1)
    return lambda line: table.get(line, line)


def division_notes(conversion: Conversion, path: str, to_line: Callable[[int], int] = lambda line: line,
                   cell: Optional[int] = None) -> list[SourceError]:
    return [SourceError(path, to_line(d.line), d.column, f"{DIVISION}: {d.describe()}", kind="note", cell=cell)
            for d in conversion.reported]


def conversion_note(conversion: Conversion, path: str, fix: bool, cell: Optional[int] = None) -> SourceError:
    verb = "converted from Python 2" if fix else "would be converted from Python 2 by `fix --convert-py2`"
    why = f" (it uses {conversion.marker}, which only Python 2 has)" if conversion.marker else ""
    warnings = "".join(f"; fixer warning: {w}" for w in conversion.warnings)
    return SourceError(path, 1, 1, f"{CONVERTED}: {verb}{why}: {conversion.summary()}{warnings}", kind="note", cell=cell)


def prepare(text: str, path: str, fix: bool, cell: Optional[int] = None, foreign_names: Iterable[str] = ()) -> Prepared:
    try:
        conversion = convert(text, path, foreign_names=foreign_names)
    except NotPython2:
        return Prepared(text)  # the linter reports the syntax error as usual
    except ConversionError as exc:
        return Prepared(text, errors=[SourceError(path, exc.line, exc.column, f"Python 2 conversion: {exc.message}", cell=cell)])
    except Py2Unavailable as exc:
        return Prepared(text, errors=[SourceError(path, 1, 1, str(exc), cell=cell)])
    if conversion is None:
        return Prepared(text)
    to_original = (lambda line: line) if fix else line_map(text, conversion.text)
    notes = [conversion_note(conversion, path, fix, cell), *division_notes(conversion, path, to_original, cell)]
    return Prepared(conversion.text, conversion, notes, [], to_original)
