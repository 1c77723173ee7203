"""File fixture pairs: tests/fixtures/<rule-slug>/<case>.before.py (+ .after.py, .check.txt).

For every pair: check(before) matches .check.txt; fix(before) == after byte for byte;
fix(after) == after; check(after) has no finding that `fix` would still apply.
A case without .after.py must stay unchanged. `pytest --update-fixtures` rewrites the expectations.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from varmigrate.engine import lint_source
from varmigrate.testing import check_lines, fix_text, parse_header

FIXTURES = Path(__file__).parent / "fixtures"


def _read(path: Path) -> str:
    # newline="" keeps CRLF fixtures as they are.
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _pairs():
    for before in sorted(FIXTURES.glob("*/*.before.py")):
        if before.parent.name == "programs":
            continue
        yield pytest.param(before, id=f"{before.parent.name}/{before.name[: -len('.before.py')]}")


@pytest.mark.parametrize("before_path", list(_pairs()))
def test_fixture_pair(before_path: Path, update_fixtures: bool) -> None:
    stem = before_path.name[: -len(".before.py")]
    after_path = before_path.with_name(f"{stem}.after.py")
    check_path = before_path.with_name(f"{stem}.check.txt")
    before = _read(before_path)
    settings = parse_header(before).settings()

    lines = check_lines(before, settings)
    fixed = fix_text(before, settings)
    if update_fixtures:
        _write(check_path, "".join(line + "\n" for line in lines))
        if fixed != before:
            _write(after_path, fixed)
        elif after_path.exists():
            after_path.unlink()

    assert check_path.exists(), f"missing {check_path.name}; run pytest --update-fixtures"
    assert lines == _read(check_path).splitlines()
    expected = _read(after_path) if after_path.exists() else before
    assert fixed == expected
    # Stability (black's assert_stable): the output is a fixed point.
    assert fix_text(expected, settings) == expected
    leftover = lint_source(expected, "after.py", settings).findings
    assert [f.code for f in leftover if f.edit_for(settings.unsafe_fixes) is not None] == []
