"""The fix policy hook: findings of later rounds keep the identity of the original finding they
continue, so pinning any subset of original findings is legal (issue 13's probes)."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from varmigrate.config import Settings
from varmigrate.engine import fix_source
from varmigrate.policy import FindingId, OffsetMap, Pin, PinnedPolicy

FIXTURES = Path(__file__).parent / "fixtures"
BEFORE = sorted(p for p in FIXTURES.glob("*/*.before.py"))
UNSAFE = Settings(unsafe_fixes=True)


def _fix(text: str, pins: dict[FindingId, Pin] | None = None, path: str = "t.py"):  # type: ignore[no-untyped-def]
    return fix_source(text, path, UNSAFE, policy=PinnedPolicy(pins or {}))


def test_offset_map_exact_outside_edits_and_regions_inside() -> None:
    old = "a = Variable(x)\nb = 1\nc = y.data[0]\n"
    new = "a = x\nb = 1\nc = y.item()\n"
    m = OffsetMap(old, new)
    assert m.exact(new.index("b = 1")) == old.index("b = 1")
    assert m.exact(0) == 0  # `a` did not move
    inside = new.index("item")
    assert m.exact(inside) is None
    lo = m.back(inside)
    assert old.index("y.data[0]") <= lo <= old.index("[0]") + 3
    assert all(a0 <= a1 for a0, a1 in m.changed_regions())


def test_offset_map_of_identical_texts_is_the_identity() -> None:
    text = "x = 1\ny = 2\n"
    m = OffsetMap(text, text)
    assert [m.exact(i) for i in range(len(text))] == list(range(len(text)))


@pytest.mark.parametrize("path", BEFORE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_an_empty_policy_is_plain_fix(path: Path) -> None:
    text = path.read_text()
    assert _fix(text).source == fix_source(text, "t.py", UNSAFE).source


def _origins(text: str) -> set[FindingId]:
    return {a.origin for a in _fix(text).applied}


@pytest.mark.parametrize("path", BEFORE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_any_single_pin_is_obeyed_through_every_round(path: Path) -> None:
    text = path.read_text()
    plain = _fix(text)
    for origin in sorted({a.origin for a in plain.applied}):
        for pin in Pin:
            res = _fix(text, {origin: pin})
            ast.parse(res.source)
            mine = [a for a in res.applied if a.origin == origin]
            if pin is Pin.UNFIXED:
                assert not mine, (origin, mine)
            else:
                assert all(a.safety == "safe" for a in mine), (origin, mine)
            # every other original finding is still fixed (its edit may differ: its input did)
            others = {a.origin for a in plain.applied if a.origin != origin}
            missing = others - {a.origin for a in res.applied}
            assert not missing or pin is Pin.UNFIXED, (origin, pin, missing)


def test_pins_of_every_pair_of_findings_are_legal() -> None:
    text = (FIXTURES / "variable-wrapper" / "nesting.before.py").read_text()
    ids = sorted(_origins(text))
    assert len(ids) >= 2
    for a, b in itertools.combinations(ids, 2):
        for pa, pb in itertools.product(Pin, Pin):
            res = _fix(text, {a: pa, b: pb})
            ast.parse(res.source)
            for fid, pin in ((a, pa), (b, pb)):
                mine = [x for x in res.applied if x.origin == fid]
                assert not mine if pin is Pin.UNFIXED else all(x.safety == "safe" for x in mine)


NESTED = """\
import torch
from torch.autograd import Variable

def f(h):
    return Variable(Variable(h))
"""


def test_a_waiting_outer_finding_keeps_its_identity() -> None:
    res = _fix(NESTED)
    assert res.source.endswith("return h\n")
    rounds = {(a.origin.column, a.round) for a in res.applied}
    assert rounds == {(21, 0), (12, 1)}  # the inner first; the outer waited a round, same identity


def test_moved_text_keeps_the_pin_of_its_finding() -> None:
    inner = FindingId("t.py", 5, 21, "VM101")
    res = _fix(NESTED, {inner: Pin.UNFIXED})
    # the outer wrapper went; the inner one, left unfixed, moved to its place and stays
    assert res.source.endswith("return Variable(h)\n")
    assert all(a.origin != inner for a in res.applied)
    safe = _fix(NESTED, {inner: Pin.SAFE})
    assert safe.source.endswith("return h.detach()\n")


def test_import_removal_follows_the_findings_that_used_it() -> None:
    text = "import torch\nfrom torch.autograd import Variable\n\ndef f(x):\n    return Variable(x)\n"
    only = FindingId("t.py", 5, 12, "VM101")
    assert "import Variable" not in _fix(text).source
    kept = _fix(text, {only: Pin.UNFIXED}).source
    assert kept == text  # unfixed: the import is still used, so it stays
    assert _fix(text, {only: Pin.SAFE}).source.endswith("return x.detach()\n")


def test_notebook_cells_number_their_origins() -> None:
    import json

    from varmigrate.api import process_text

    nb = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": ["import torch\n", "from torch.autograd import Variable\n"]},
                    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": ["def f(x):\n", "    return Variable(x)\n"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    out = process_text(json.dumps(nb), "n.ipynb", UNSAFE, True, PinnedPolicy())
    assert [(a.origin.cell, a.origin.line) for a in out.applied] == [(2, 2)]
    pinned = process_text(json.dumps(nb), "n.ipynb", UNSAFE, True,
                          PinnedPolicy({out.applied[0].origin: Pin.SAFE}))
    assert "x.detach()" in (pinned.new_text or "")


PROGRAMS = sorted((FIXTURES / "programs").glob("*/before.py"))


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.parent.name)
def test_random_subsets_of_pins_on_whole_programs(path: Path) -> None:
    import importlib.util
    import random

    text = importlib.util.decode_source(path.read_bytes())  # as Python reads it (PEP 263, CRLF)
    if "convert-py2" in text.splitlines()[0]:  # a Python 2 program: pins apply to its conversion
        from varmigrate.syntax.py2 import convert

        conversion = convert(text)
        assert conversion is not None
        text = conversion.text
    plain = _fix(text)
    ids = sorted({a.origin for a in plain.applied})
    if not ids:
        pytest.skip("nothing to fix in this program (it needs no migration)")
    rnd = random.Random(path.parent.name)
    for _ in range(4):
        pins = {i: rnd.choice(list(Pin)) for i in rnd.sample(ids, rnd.randint(1, len(ids)))}
        res = _fix(text, pins)
        ast.parse(res.source)
        for a in res.applied:
            pin = pins.get(a.origin)
            assert pin is not Pin.UNFIXED, (a.origin, pin)
            assert pin is None or a.safety == "safe", (a.origin, pin)
        unpinned = {a.origin for a in plain.applied} - set(pins)
        missing = unpinned - {a.origin for a in res.applied}
        assert not missing, (missing, pins)
