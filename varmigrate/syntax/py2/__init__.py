"""Python 2 -> Python 3, text to text, for `varmigrate fix --convert-py2` (docs/python2.md).

`convert(text)` returns None for a file that parses as Python 3 (after the `async=` pre-pass,
so that a Python 3 file calling `.cuda(async=True)` is not taken for Python 2), raises
`NotPython2` for a file that parses as neither, and otherwise returns a `Conversion`:

1. indentation that mixes tabs and spaces ambiguously is spelled in spaces at Python 2's
   8-column tab stops (`tabs.py`);
2. the fixers of `fixers.FIXERS` run through fissix (lib2to3's grammar and round-tripping
   tree: comments, whitespace and line endings outside the changed nodes are kept);
3. unless `from __future__ import division` is present, each `/` whose operands are both known
   ints becomes `//`, and the others where both may be ints are listed (`division.py`);
4. the result must parse as Python 3, or `ConversionError` is raised (nothing is written).

Importing this package does not import fissix: `convert` does, and raises `Py2Unavailable`
when the optional dependency is missing (`pip install 'varmigrate[py2]'`).
"""

from __future__ import annotations

import ast
import re
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Optional

from ..async_keyword import rename_async_keywords
from .division import Analysis, Division

__all__ = ["Conversion", "ConversionError", "Division", "NotPython2", "Py2Unavailable", "convert", "parses_as_python3"]

INSTALL_HINT = "`--convert-py2` needs fissix: pip install 'varmigrate[py2]'"


class Py2Unavailable(RuntimeError):
    """fissix is not installed."""


class NotPython2(ValueError):
    """The text parses neither as Python 3 nor as Python 2."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


class ConversionError(RuntimeError):
    """The converted text does not parse as Python 3 (a fixer's fault): nothing is written."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@dataclass
class Conversion:
    text: str  # the converted source
    fixers: dict[str, int] = field(default_factory=dict)  # fixer -> number of changes
    tab_lines: int = 0  # lines whose mixed tab/space indentation was spelled in spaces
    future_division: bool = False  # `from __future__ import division`: `/` already meant true division
    divisions: list[Division] = field(default_factory=list)  # in the converted text
    warnings: list[str] = field(default_factory=list)  # what a fixer could not convert
    # Why a file that parses as Python 3 was taken for Python 2 (e.g. "`xrange`"); None: it did not parse
    marker: Optional[str] = None

    @property
    def rewritten(self) -> list[Division]:
        return [d for d in self.divisions if d.rewritten]

    @property
    def reported(self) -> list[Division]:
        return Analysis(self.future_division, self.divisions).reported

    def summary(self) -> str:
        """One line: what the conversion did."""
        parts = [", ".join(f"{name}×{n}" for name, n in sorted(self.fixers.items())) or "no fixer changes"]
        if self.tab_lines:
            parts.append(f"{self.tab_lines} mixed-indentation line(s) expanded")
        if self.future_division:
            parts.append("`from __future__ import division`: `/` unchanged")
        else:
            parts.append(f"{len(self.rewritten)} division(s) rewritten to `//`, {len(self.reported)} left to check")
        return "; ".join(parts)


def _compile_error(text: str) -> Optional[SyntaxError]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<convert-py2>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        return exc
    except (ValueError, MemoryError, RecursionError) as exc:
        return SyntaxError(str(exc))
    return None


_EXCEPT_COMMA = re.compile(r"^[ \t]*except\b[^:\n]*,", re.MULTILINE)


def parses_as_python3(text: str) -> bool:
    """`text` (after the `async=` pre-pass) parses as Python 3 and means the same as in Python 2's
    grammar where both accept it. Python 3.14 reads `except A, B:` as `except (A, B):` (PEP 758),
    where Python 2 read `except A as B:`: such a file counts as Python 2 there."""
    prepared = rename_async_keywords(text)[0]
    if _compile_error(prepared) is not None:
        return False
    if sys.version_info >= (3, 14) and _EXCEPT_COMMA.search(prepared):
        from ..python2 import diagnose

        found = diagnose(prepared)
        return found is None or "except" not in found.construct
    return True


def _import_fissix() -> None:
    try:
        import fissix  # noqa: F401
    except ImportError:
        raise Py2Unavailable(INSTALL_HINT) from None


def convert(text: str, name: str = "<string>", foreign_names: Iterable[str] = ()) -> Optional[Conversion]:
    """The Python 3 version of Python 2 `text`; None when `text` is Python 3 already.

    A file that parses as Python 3 is Python 2 all the same when it uses a name or module only
    Python 2 has (`markers.py`); if Python 2's grammar then refuses it, it is left as Python 3.
    `foreign_names`: module-level names other code (a notebook's other cells) may bind too."""
    from .markers import first_marker

    marker = None
    if parses_as_python3(text):
        marker = first_marker(rename_async_keywords(text)[0])
        if marker is None:
            return None
    _import_fissix()
    from fissix.pgen2.parse import ParseError
    from fissix.pgen2.tokenize import TokenError

    from .division import after_rewrite, analyze, rewrite
    from .fixers import run_fixers
    from .tabs import expand

    # fissix reads `\n` line ends; a file written with `\r\n` throughout gets them back.
    crlf = "\r\n" in text and "\n" not in text.replace("\r\n", "")
    work = text.replace("\r\n", "\n") if crlf else text
    final_newline = work.endswith("\n")
    if not final_newline:
        work += "\n"
    try:
        work, tab_lines = expand(work)
        run = run_fixers(work, name)
    except ParseError as exc:
        if marker is not None:
            return None  # Python 3 code after all (Python 2's grammar refuses it)
        line, column = exc.context[1] if exc.context and len(exc.context) > 1 else (1, 0)
        raise NotPython2(f"does not parse as Python 2 either ({exc.msg}: {exc.value!r})", line, column + 1) from None
    except (TokenError, IndentationError, SyntaxError) as exc:
        if marker is not None:
            return None
        args = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], tuple) else (1, 0)
        raise NotPython2(f"does not parse as Python 2 either ({exc.args[0]})", args[0], args[1] + 1) from None
    converted = run.text
    prepared, _ = rename_async_keywords(converted)
    error = _compile_error(prepared)
    if error is not None:
        raise ConversionError(f"the converted file does not parse as Python 3 ({error.msg}); left unchanged",
                              error.lineno or 1, error.offset or 1)
    analysis = analyze(prepared, foreign_names)
    divisions = after_rewrite(converted, analysis.divisions)
    converted = rewrite(converted, analysis.divisions)
    if marker is not None and converted == work and not tab_lines:
        return None  # nothing to convert after all (the marker sits where no fixer reaches)
    if not final_newline and converted.endswith("\n"):
        converted = converted[:-1]
    if crlf:
        converted = converted.replace("\n", "\r\n")
    return Conversion(converted, run.counts, tab_lines, analysis.future_division, divisions, run.warnings,
                      marker.what if marker is not None else None)
