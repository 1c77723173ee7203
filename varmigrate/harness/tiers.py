"""Verdict and tier names: the one place they are spelled (torch-free, imports nothing).

A *tier* grades one tensor, event or trace (IDENTICAL < EQUAL < CLOSE < DIVERGED); a pair's
*verdict* is a tier or one of the four outcomes that are not a comparison.  The decision
(``verdict``), the comparison (``compare``), the JSON Schema, the reports and the terminal
line all take the names from here.
"""

from __future__ import annotations

from enum import IntEnum


class Tier(IntEnum):
    IDENTICAL = 0
    EQUAL = 1
    CLOSE = 2
    DIVERGED = 3


IDENTICAL = Tier.IDENTICAL.name
EQUAL = Tier.EQUAL.name
CLOSE = Tier.CLOSE.name
DIVERGED = Tier.DIVERGED.name
BEFORE_FAILED = "BEFORE-FAILED"
AFTER_FAILED = "AFTER-FAILED"
INCONCLUSIVE = "INCONCLUSIVE"
NOT_VERIFIABLE = "NOT VERIFIABLE"

TIERS = tuple(t.name for t in Tier)
ALL = (IDENTICAL, EQUAL, CLOSE, DIVERGED, BEFORE_FAILED, AFTER_FAILED, INCONCLUSIVE, NOT_VERIFIABLE)
PASSING = (IDENTICAL, EQUAL)

# How a verdict reads at a glance: the terminal colour and the report badge follow this.
KIND = {IDENTICAL: "pass", EQUAL: "pass", CLOSE: "warn", INCONCLUSIVE: "warn", DIVERGED: "fail",
        AFTER_FAILED: "fail", BEFORE_FAILED: "none", NOT_VERIFIABLE: "none"}
