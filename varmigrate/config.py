"""Settings: which rules run and which fixes apply. Loaded from `[tool.varmigrate]` and CLI flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence


def _matches(code: str, patterns: Sequence[str]) -> int:
    """Length of the longest pattern that is a prefix of code (0: none); `ALL` matches everything."""
    best = 0
    for pattern in patterns:
        pattern = pattern.strip().upper()
        if pattern == "ALL":
            best = max(best, 1)
        elif pattern and code.startswith(pattern):
            best = max(best, len(pattern) + 1)
    return best


@dataclass
class Settings:
    select: list[str] = field(default_factory=lambda: ["VM"])
    ignore: list[str] = field(default_factory=list)
    unsafe_fixes: bool = False

    def is_selected(self, code: str) -> bool:
        # ruff's rule: the more specific of select/ignore wins.
        chosen = _matches(code, self.select)
        return chosen > 0 and chosen > _matches(code, self.ignore)
