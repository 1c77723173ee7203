"""Rule discovery: every module in `varmigrate.rules` holds one Rule subclass."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from . import rules as rules_pkg
from .rule import Rule


@cache
def all_rules() -> tuple[type[Rule], ...]:
    found = []
    for info in sorted(pkgutil.iter_modules(rules_pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{rules_pkg.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value is not Rule and value.__module__ == module.__name__:
                found.append(value)
    return tuple(sorted(found, key=lambda r: r.CODE))


def rule_by_code(code: str) -> type[Rule] | None:
    for rule in all_rules():
        if rule.CODE == code.upper() or rule.slug() == code:
            return rule
    return None
