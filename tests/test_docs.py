"""Generated rule docs are up to date, and every page has the generated parts."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from varmigrate.docs import (
    GENERATED,
    README_END,
    README_START,
    TRIGGERS_FILE,
    TRIGGERS_STAMP,
    generate,
    readme_catalogue,
    render_rule,
    render_triggers,
)
from varmigrate.registry import all_rules
from varmigrate.rule import Rule

ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = ROOT / "docs" / "rules"
STALE = "generated docs are stale: run `python -m varmigrate.docs` and commit docs/rules/"


def test_generated_docs_are_up_to_date(tmp_path: Path) -> None:
    written = generate(tmp_path)
    expected = {p.name: p.read_text(encoding="utf-8") for p in written}
    actual = {p.name: p.read_text(encoding="utf-8") for p in RULES_DIR.glob("*.md")}
    assert sorted(actual) == sorted(expected), STALE
    for name, text in expected.items():
        assert actual[name] == text, f"{name}: {STALE}"


TRIGGERS_STALE = "varmigrate/triggers.py is stale: run `python -m varmigrate.docs` (or `make docs`) and commit it"


def _triggers_drift() -> list[str]:
    """What the rules say and the generated file does not (or the other way round), by rule."""
    from varmigrate import triggers

    rules = all_rules()
    drift = [f"{r.CODE} ({r.slug()}): code missing" for r in rules if r.CODE not in triggers.RULE_CODES]
    drift += [f"{code}: no such rule any more" for code in triggers.RULE_CODES if code not in {r.CODE for r in rules}]
    drift += [f"{r.CODE}: trigger {word!r} missing" for r in rules for word in r.TRIGGERS if word not in triggers.TRIGGERS]
    words = {word for r in rules for word in r.TRIGGERS}
    drift += [f"trigger {word!r}: no rule has it any more" for word in sorted(triggers.TRIGGERS - words)]
    return drift


def test_generated_triggers_are_up_to_date() -> None:
    # The libcst-free prefilter and the code validation read triggers.py: a rule's trigger word
    # or code missing there would make `check` skip the files the rule should see.
    drift = _triggers_drift()
    assert not drift, f"{TRIGGERS_STALE}:\n" + "\n".join(drift)
    assert TRIGGERS_FILE.read_text(encoding="utf-8") == render_triggers(), TRIGGERS_STALE


def test_generated_triggers_are_every_rules_words_and_codes() -> None:
    from varmigrate.config import RULE_CODES
    from varmigrate.triggers import TRIGGERS

    assert TRIGGERS == {word for rule in all_rules() for word in rule.TRIGGERS}
    assert RULE_CODES == tuple(r.CODE for r in all_rules())
    assert render_triggers().startswith(TRIGGERS_STAMP + "\n")


class _BrandNewRule(Rule):
    """A rule added by someone else: the generator needs nothing but its class attributes."""

    CODE = "VM998"
    TRIGGERS = ("brand_new_word", "Variable")


def test_generated_triggers_pick_up_a_new_rule() -> None:
    text = render_triggers([*all_rules(), _BrandNewRule])
    assert '    "VM998",  # test-docs\n' in text and '    "brand_new_word",  # VM998\n' in text
    namespace: dict[str, object] = {}
    exec(compile(text, "triggers.py", "exec"), namespace)
    assert namespace["RULE_CODES"] == (*(r.CODE for r in all_rules()), "VM998")
    triggers = namespace["TRIGGERS"]
    assert isinstance(triggers, frozenset) and {"brand_new_word", "Variable"} <= triggers
    variable = next(line for line in text.splitlines() if line.startswith('    "Variable",'))
    assert variable.endswith(", VM998"), variable  # a shared word lists every rule that has it


def test_generated_triggers_import_nothing() -> None:
    # Read on the pre-commit fast path (config, prefilter): literals only, no import to pay for.
    tree = ast.parse(render_triggers())
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [(n.module if isinstance(n, ast.ImportFrom) else None) for n in imports] == ["__future__"]
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Call, ast.FunctionDef, ast.ClassDef))
                and not (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "frozenset")]


def test_readme_catalogue_is_up_to_date() -> None:
    readme = ROOT / "README.md"
    if not readme.exists() or README_START not in readme.read_text(encoding="utf-8"):
        pytest.skip("README.md has no rules catalogue markers")
    text = readme.read_text(encoding="utf-8")
    assert readme_catalogue(text) == text, STALE


def test_readme_catalogue_replaces_only_between_markers() -> None:
    text = f"intro\n{README_START}\nold\n{README_END}\noutro\n"
    new = readme_catalogue(text)
    assert new.startswith("intro\n" + README_START + "\n| Code |") and new.endswith(README_END + "\noutro\n")
    assert "](docs/rules/VM101.md)" in new
    assert readme_catalogue("no markers") == "no markers"


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.CODE)
def test_page_structure(rule, tmp_path: Path) -> None:
    page = render_rule(rule)
    assert page.startswith(f"# {rule.slug()} ({rule.CODE})\n")
    assert "## What it does" in page and "## Why is this bad?" in page
    assert "## Example\n\n```python\n" + rule.INVALID[0].code.rstrip("\n") in page
    if rule.INVALID[0].expected_replacement not in (None, rule.INVALID[0].code):
        assert rule.INVALID[0].expected_replacement.rstrip("\n") in page
    assert "## Verified by" in page
    for case in (ROOT / "tests" / "fixtures" / rule.slug()).glob("*.before.py"):
        assert case.relative_to(ROOT).as_posix() in page
    generate(tmp_path)
    assert (tmp_path / f"{rule.CODE}.md").read_text(encoding="utf-8").startswith(GENERATED)
    assert f"[{rule.CODE}]({rule.CODE}.md)" in (tmp_path / "index.md").read_text(encoding="utf-8")
