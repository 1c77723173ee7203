"""The libcst internals tree/ relies on are there, and pyproject.toml pins the range they were tested on."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import libcst as cst
import pytest

from varmigrate.tree import internals
from varmigrate.tree.positions import positions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_the_internals_tree_uses_are_there() -> None:
    problems = internals.missing()
    assert not problems, "\n".join(problems)


def test_pyproject_pins_the_tested_range() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    libcst = [d for d in deps if re.match(r"libcst\b", d)]
    assert libcst == [f"libcst{internals.TESTED_RANGE}"], (libcst, internals.TESTED_RANGE)
    assert "<" in internals.TESTED_RANGE, "an upper bound: a new libcst may drop an internal"


def test_installed_libcst_is_in_the_tested_range() -> None:
    version = tuple(int(p) for p in re.findall(r"\d+", internals.libcst_version())[:2])
    bounds = dict(re.findall(r"([<>]=?)(\d+\.\d+)", internals.TESTED_RANGE))
    low, high = (tuple(int(p) for p in bounds[k].split(".")) for k in (">=", "<"))
    assert low <= version < high, f"libcst {internals.libcst_version()} is outside {internals.TESTED_RANGE}"


def test_a_missing_internal_is_named_with_the_version_and_range(monkeypatch: pytest.MonkeyPatch) -> None:
    # What a user of a newer libcst would read: which internal, which libcst, which range to install.
    monkeypatch.delattr(cst.CSTVisitor.visit_Name, "_is_no_op")
    monkeypatch.setattr(cst.Module, "_codegen", None)  # inherited from CSTNode: shadow it
    problems = internals.missing()
    assert len(problems) == 2, problems
    assert "Module._codegen(state)" in problems[0] and "`_is_no_op` mark" in problems[1]
    for text in problems:
        assert f"libcst {internals.libcst_version()} lacks " in text
        assert f"install libcst{internals.TESTED_RANGE}" in text


def test_a_codegen_that_stops_calling_the_hooks_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # positions.py is silently wrong (not broken) if _codegen stops calling before/after_codegen.
    state_cls = internals.importlib.import_module("libcst._nodes.internal").CodegenState
    monkeypatch.setattr(state_cls, "before_codegen", lambda self, node: None, raising=True)

    code = "def f(a):\n    return a + 1\n"  # the tokens are right, the hooks are never called

    def quiet_codegen(module: cst.Module, state: object) -> None:
        state.tokens.append(code)  # type: ignore[attr-defined]

    monkeypatch.setattr(cst.Module, "_codegen", quiet_codegen)
    problems = internals.missing()
    assert any("before_codegen/after_codegen calls around every node" in p for p in problems), problems


def test_positions_still_agree_with_position_provider_on_a_sample() -> None:
    # The behaviour the internals serve (tests/test_traverse.py checks every fixture).
    from libcst.metadata import MetadataWrapper, PositionProvider

    code = "import torch\nclass A:\n    def f(self, x):\n        return (x +\n                1)\r\n"
    wrapper = MetadataWrapper(cst.parse_module(code), unsafe_skip_copy=True)
    expected = wrapper.resolve(PositionProvider)
    found = positions(wrapper.module)
    assert len(expected) > 10
    for node, rng in expected.items():
        assert found[id(node)] == ((rng.start.line, rng.start.column), (rng.end.line, rng.end.column)), node
