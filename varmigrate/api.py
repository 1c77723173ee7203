"""The library behind the CLI: check and fix files, one file's failure never stopping the others."""

from __future__ import annotations

import difflib
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

from .config import Settings
from .engine import SourceError, fix_source, lint_source
from .rule import Finding
from .sources import SourceReadError, atomic_write, discover, read_source


@dataclass
class FileOutcome:
    path: str
    findings: list[Finding] = field(default_factory=list)  # remaining after fix, or all for check
    fixed: list[Finding] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    old_text: Optional[str] = None
    new_text: Optional[str] = None

    @property
    def changed(self) -> bool:
        return self.new_text is not None and self.new_text != self.old_text

    def diff(self) -> str:
        if not self.changed:
            return ""
        assert self.old_text is not None and self.new_text is not None
        return "".join(
            difflib.unified_diff(
                self.old_text.splitlines(keepends=True),
                self.new_text.splitlines(keepends=True),
                fromfile=f"a/{self.path}",
                tofile=f"b/{self.path}",
            )
        )


@dataclass
class RunReport:
    files: list[FileOutcome] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for outcome in self.files for f in outcome.findings]

    @property
    def fixed(self) -> list[Finding]:
        return [f for outcome in self.files for f in outcome.fixed]

    @property
    def errors(self) -> list[SourceError]:
        return [e for outcome in self.files for e in outcome.errors]

    @property
    def changed_files(self) -> list[FileOutcome]:
        return [o for o in self.files if o.changed]


def _internal_error(path: str, exc: BaseException) -> SourceError:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" ({Path(frame.filename).name}:{frame.lineno})" if frame else ""
    return SourceError(path, 1, 1, f"internal error: {type(exc).__name__}: {exc}{where}; file left unchanged", kind="internal")


def process_text(text: str, path: str, settings: Settings, fix: bool) -> FileOutcome:
    outcome = FileOutcome(path=path, old_text=text)
    if fix:
        result = fix_source(text, path, settings)
        outcome.errors.extend(result.errors)
        outcome.fixed = result.fixed
        outcome.findings = result.remaining
        outcome.new_text = result.source
    else:
        lint = lint_source(text, path, settings)
        outcome.errors.extend(lint.errors)
        outcome.findings = lint.findings
    return outcome


def process_file(path: Path, settings: Settings, fix: bool, write: bool) -> FileOutcome:
    display = str(path)
    try:
        source = read_source(path)
    except SourceReadError as exc:
        return FileOutcome(display, errors=[SourceError(display, exc.line, exc.column, exc.message)])
    try:
        outcome = process_text(source.text, display, settings, fix)
        if write and outcome.changed and not any(e.kind == "error" for e in outcome.errors):
            assert outcome.new_text is not None
            atomic_write(path, source.encode(outcome.new_text))
    except Exception as exc:  # a crash in one file never stops the others
        return FileOutcome(display, errors=[_internal_error(display, exc)])
    return outcome


def run(
    paths: Sequence[str],
    settings: Settings,
    fix: bool = False,
    write: bool = True,
    exclude: Iterable[str] = (),
) -> RunReport:
    report = RunReport()
    for path, error in discover(paths, exclude=list(exclude)):
        if error is not None:
            report.files.append(FileOutcome(str(path), errors=[SourceError(str(path), 0, 0, error)]))
            continue
        report.files.append(process_file(path, settings, fix, write))
    return report
