"""Every rule's inline VALID/INVALID examples run as tests; registry hygiene (Fixit, ruff)."""

from __future__ import annotations

import inspect
import re

import pytest

from varmigrate.config import Settings
from varmigrate.engine import fix_source, lint_source
from varmigrate.registry import all_rules
from varmigrate.rule import Invalid, Safety
from varmigrate.testing import invalid_mismatch

RULES = all_rules()


def _cases(attr):
    for rule in RULES:
        for index, case in enumerate(getattr(rule, attr)):
            yield pytest.param(rule, case, id=f"{rule.CODE}-{attr.lower()}-{index}")


def _only(rule) -> Settings:
    return Settings(select=[rule.CODE])


@pytest.mark.parametrize("rule,case", list(_cases("VALID")))
def test_valid_has_no_finding(rule, case):
    result = lint_source(case.code, "valid.py", _only(rule))
    assert result.errors == []
    assert [f.code for f in result.findings] == []


@pytest.mark.parametrize("rule,case", list(_cases("INVALID")))
def test_invalid_is_reported_and_fixed(rule, case):
    result = lint_source(case.code, "invalid.py", _only(rule))
    assert result.errors == []
    mismatch = invalid_mismatch(case, rule.CODE, result.findings)
    assert mismatch is None, mismatch
    unsafe = fix_source(case.code, "invalid.py", Settings(select=[rule.CODE], unsafe_fixes=True))
    expected = case.expected_replacement if case.expected_replacement is not None else case.code
    assert unsafe.source == expected
    safe_expected = case.expected_safe_replacement
    if safe_expected is None:
        has_safe = any(f.edit_for(False) for f in result.findings)
        safe_expected = expected if has_safe or case.expected_replacement is None else case.code
    safe = fix_source(case.code, "invalid.py", _only(rule))
    assert safe.source == safe_expected
    # Stability: fixing the output again changes nothing.
    assert fix_source(unsafe.source, "again.py", Settings(select=[rule.CODE], unsafe_fixes=True)).source == unsafe.source


def test_invalid_message_and_range_are_checked_when_given():
    code = "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(3))\n"
    findings = lint_source(code, "invalid.py", Settings(select=["VM101"])).findings
    assert findings and findings[0].span == (3, 5, 3, 28)
    assert invalid_mismatch(Invalid(code), "VM101", findings) is None
    assert invalid_mismatch(Invalid(code, range=(3, 5, 3, 28), message="Variable"), "VM101", findings) is None
    wrong_range = invalid_mismatch(Invalid(code, range=(3, 1, 3, 28)), "VM101", findings)
    assert wrong_range is not None and "range=(3, 1, 3, 28)" in wrong_range and "found: range=(3, 5, 3, 28)" in wrong_range
    assert invalid_mismatch(Invalid(code, message="no such words"), "VM101", findings) is not None
    assert invalid_mismatch(Invalid(code), "VM102", findings) is not None


def test_codes_unique_and_well_formed():
    codes = [r.CODE for r in RULES]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"VM[1-9]\d\d", c) for c in codes)
    slugs = [r.slug() for r in RULES]
    assert len(slugs) == len(set(slugs))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.CODE)
def test_rule_docs_sections(rule):
    doc = inspect.cleandoc(rule.__doc__ or "")
    assert "## What it does" in doc
    assert "## Why is this bad?" in doc
    assert "## Example" not in doc, "examples are generated from INVALID"
    if rule.FIX is not Safety.NONE:
        assert "## Fix safety" in doc
        assert any(c.expected_replacement is not None for c in rule.INVALID), "a fixable rule needs a fixed example"
    assert rule.INVALID, "every rule needs at least one invalid example"
    assert rule.TRIGGERS, "every rule needs prefilter trigger words"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.CODE)
def test_class_name_matches_module(rule):
    module = rule.__module__.rsplit(".", 1)[-1]
    assert rule.__name__ == "".join(p.capitalize() for p in module.split("_")) or rule.__name__.lower() == module.replace("_", "")


@pytest.mark.parametrize("rule,case", list(_cases("INVALID")))
def test_invalid_example_says_what_and_where(rule, case):
    # A rule's examples are its documentation: each says what is reported and where, so a change
    # in either is seen in review (issue 10). A new rule's examples need both too.
    assert case.message, f"{rule.CODE}: an INVALID example without the expected message"
    assert case.range is not None, f"{rule.CODE}: an INVALID example without the expected range"
