"""`check --add-noqa`: a baseline of `# noqa` comments on the lines of a run's findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .ftypes import SourceError
from .sources import SourceReadError, atomic_write, read_source

if TYPE_CHECKING:
    from .api import RunReport


@dataclass
class NoqaBaseline:
    """What `add_noqa` did: codes added, files changed, findings that could take no comment."""

    added: int = 0
    files: int = 0
    skipped: int = 0
    errors: list[SourceError] = field(default_factory=list)  # files that could not be read or written
    write_failed: bool = False


def add_noqa(report: RunReport) -> NoqaBaseline:
    """Write `# noqa: CODE` comments on the lines of the report's findings (`check --add-noqa`)."""
    from .noqa import add_noqa as add_to_text

    result = NoqaBaseline()
    for outcome in report.files:
        # unused-noqa findings are what a baseline must not freeze.
        findings = [f for f in outcome.findings if f.code != "VM901"]
        if not findings or outcome.path.endswith(".ipynb"):
            continue
        path = Path(outcome.path)
        try:
            source = read_source(path)
        except SourceReadError as exc:
            result.errors.append(SourceError(str(path), 0, 0, exc.message, kind="io"))
            continue
        new, added, missed = add_to_text(source.text, findings)
        result.skipped += missed
        if added:
            try:
                atomic_write(path, source.encode(new))
            except OSError as exc:
                result.errors.append(SourceError(str(path), 0, 0, f"cannot write file: {exc.strerror or exc}; left unchanged", kind="io"))
                result.write_failed = True
                continue
            result.added, result.files = result.added + added, result.files + 1
    return result
