"""Rule pages generated from the rules themselves (docstring sections + tested examples)."""

from __future__ import annotations

import inspect

from .registry import all_rules
from .rule import Rule, Safety

_FIX_LINE = {
    Safety.SAFE: "Fix is always available (safe).",
    Safety.UNSAFE: "Fix is sometimes available (unsafe: applied with `--unsafe-fixes`).",
    Safety.NONE: "Fix is not available.",
}


def render_rule(rule: type[Rule]) -> str:
    doc = inspect.cleandoc(rule.__doc__ or "")
    parts = [f"# {rule.slug()} ({rule.CODE})", "", _FIX_LINE[rule.FIX], "", f"Message: {rule.MESSAGE}", "", doc]
    if rule.INVALID:
        example = rule.INVALID[0]
        parts += ["", "## Example", "```python", example.code.rstrip("\n"), "```"]
        if example.expected_replacement is not None:
            parts += ["", "Use instead:", "```python", example.expected_replacement.rstrip("\n"), "```"]
    return "\n".join(parts) + "\n"


def rule_table() -> str:
    rows = ["| code | name | fix | message |", "|---|---|---|---|"]
    for rule in all_rules():
        rows.append(f"| {rule.CODE} | {rule.slug()} | {rule.FIX.value} | {rule.MESSAGE} |")
    return "\n".join(rows)
