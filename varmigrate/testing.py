"""Pure text-to-text entry points for tests, and the fixture header parser (black's `# flags:`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

from .config import Settings
from .engine import fix_source, lint_source
from .ftypes import Finding, Invalid
from .output import marker

_HEADER = re.compile(r"^#\s*fixture:(?P<opts>.*)$")


@dataclass
class FixtureOptions:
    select: list[str] = field(default_factory=lambda: ["VM"])
    ignore: list[str] = field(default_factory=list)
    unsafe_fixes: bool = False
    convert_py2: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def settings(self) -> Settings:
        return Settings(select=list(self.select), ignore=list(self.ignore), unsafe_fixes=self.unsafe_fixes,
                        convert_py2=self.convert_py2)


def parse_header(text: str) -> FixtureOptions:
    """Options from a first line like `# fixture: select=VM101 unsafe-fixes`."""
    options = FixtureOptions()
    first = text.splitlines()[0] if text else ""
    match = _HEADER.match(first.lstrip("\ufeff"))
    if not match:
        return options
    for token in match.group("opts").split():
        key, _, value = token.partition("=")
        if key == "select":
            options.select = value.split(",")
        elif key == "ignore":
            options.ignore = value.split(",")
        elif key == "unsafe-fixes":
            options.unsafe_fixes = True
        elif key == "convert-py2":
            options.convert_py2 = True
        else:
            options.extra[key] = value
    return options


def check_lines(text: str, settings: Optional[Settings] = None, path: str = "fixture.py") -> list[str]:
    """`line:col CODE [*] message` for each finding (the `.check.txt` format)."""
    settings = settings or parse_header(text).settings()
    if settings.convert_py2:
        from .api import process_text

        outcome = process_text(text, path, settings, fix=False)
        errors, findings, notes = outcome.errors, outcome.findings, outcome.notes
    else:
        result = lint_source(text, path, settings)
        errors, findings, notes = result.errors, result.findings, []
    lines = [f"{e.line}:{e.column} error: {e.message}" for e in errors]
    lines += [f"{n.line}:{n.column} note: {n.message}" for n in notes]
    lines += [f"{f.line}:{f.column} {f.code} {marker(f, settings.unsafe_fixes)}{f.message}" for f in findings]
    return lines


def fix_text(text: str, settings: Optional[Settings] = None, path: str = "fixture.py") -> str:
    """What `varmigrate fix` writes (with `--convert-py2` when the settings ask for it)."""
    settings = settings or parse_header(text).settings()
    if settings.convert_py2:
        from .api import process_text

        outcome = process_text(text, path, settings, fix=True)
        return outcome.new_text if outcome.new_text is not None and not outcome.errors else text
    return fix_source(text, path, settings).source


def invalid_mismatch(case: Invalid, code: str, findings: Sequence[Finding]) -> Optional[str]:
    """Why `findings` do not hold the finding an INVALID example expects (None: they do).

    There must be a `code` finding; when the example gives `message` (a substring) or `range`
    (line, column, end line, end column, as `check` prints them), one finding must match both.
    """
    own = [f for f in findings if f.code == code]
    if not own:
        return f"no {code} finding (found: {sorted({f.code for f in findings})})"
    if case.message is None and case.range is None:
        return None
    if any((case.message is None or case.message in f.message) and (case.range is None or f.span == case.range)
           for f in own):
        return None
    wanted = " and ".join(part for part in (
        f"range={case.range}" if case.range is not None else "",
        f"message containing {case.message!r}" if case.message is not None else "") if part)
    found = "; ".join(f"range={f.span} message={f.message!r}" for f in own)
    return f"no {code} finding with {wanted}; found: {found}"
