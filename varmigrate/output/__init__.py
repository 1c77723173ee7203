"""Formatting of findings and summaries: text, json, sarif, github. Nothing here decides anything.

`text.py`: the human formats (concise, full, errors, notes, summaries, statistics); `machine.py`:
GitHub workflow commands, JSON and SARIF (their schemas are documented in docs/output.md).
Formatting never imports libcst (only SARIF's rule descriptions import the rules, lazily).
"""

from .machine import SARIF_SCHEMA, github, json_report, sarif_report
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

__all__ = [
    "JSON_SCHEMA_VERSION", "OUTPUT_FORMATS", "RULE_DOC", "SARIF_SCHEMA", "TEXT_FORMATS", "check_summary", "chosen_edit",
    "converted_summary", "files_summary", "fix_summary", "fixed_summary", "format_error", "format_finding", "format_full",
    "format_note", "github", "json_report", "location", "marker", "noqa_summary", "paint", "sarif_report", "statistics",
    "statistics_legend", "statistics_rows",
]
