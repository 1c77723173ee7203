"""Formatting of findings and summaries: text, json, sarif, github. Nothing here decides anything.

`text.py`: the human formats (concise, full, errors, notes, summaries, statistics); `machine.py`:
GitHub workflow commands, JSON and SARIF (their schemas are documented in docs/output.md).
Formatting never imports libcst (only SARIF's rule descriptions import the rules, lazily).
"""

from typing import TYPE_CHECKING, Any

from .text import (
    JSON_SCHEMA_VERSION,
    OUTPUT_FORMATS,
    RULE_DOC,
    TEXT_FORMATS,
    check_summary,
    chosen_edit,
    converted_summary,
    files_summary,
    fix_summary,
    fixed_summary,
    format_error,
    format_finding,
    format_full,
    format_note,
    location,
    marker,
    noqa_summary,
    paint,
    statistics,
    statistics_legend,
    statistics_rows,
)

if TYPE_CHECKING:
    from .machine import SARIF_SCHEMA, github, json_report, sarif_report

_MACHINE = ("SARIF_SCHEMA", "github", "json_report", "sarif_report")


def __getattr__(name: str) -> Any:
    """The machine formats load on first use: a clean pre-commit run prints only a summary."""
    if name in _MACHINE:
        from . import machine

        return getattr(machine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "JSON_SCHEMA_VERSION", "OUTPUT_FORMATS", "RULE_DOC", "SARIF_SCHEMA", "TEXT_FORMATS", "check_summary", "chosen_edit",
    "converted_summary", "files_summary", "fix_summary", "fixed_summary", "format_error", "format_finding", "format_full",
    "format_note", "github", "json_report", "location", "marker", "noqa_summary", "paint", "sarif_report", "statistics",
    "statistics_legend", "statistics_rows",
]
