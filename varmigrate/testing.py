"""Pure text-to-text entry points for tests, and the fixture header parser (black's `# flags:`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from .config import Settings
from .engine import fix_source, lint_source
from .output import marker

_HEADER = re.compile(r"^#\s*fixture:(?P<opts>.*)$")


@dataclass
class FixtureOptions:
    select: list[str] = field(default_factory=lambda: ["VM"])
    ignore: list[str] = field(default_factory=list)
    unsafe_fixes: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def settings(self) -> Settings:
        return Settings(select=list(self.select), ignore=list(self.ignore), unsafe_fixes=self.unsafe_fixes)


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
        else:
            options.extra[key] = value
    return options


def check_lines(text: str, settings: Optional[Settings] = None, path: str = "fixture.py") -> list[str]:
    """`line:col CODE [*] message` for each finding (the `.check.txt` format)."""
    settings = settings or parse_header(text).settings()
    result = lint_source(text, path, settings)
    lines = [f"{e.line}:{e.column} error: {e.message}" for e in result.errors]
    lines += [f"{f.line}:{f.column} {f.code} {marker(f, settings.unsafe_fixes)}{f.message}" for f in result.findings]
    return lines


def fix_text(text: str, settings: Optional[Settings] = None, path: str = "fixture.py") -> str:
    settings = settings or parse_header(text).settings()
    return fix_source(text, path, settings).source
