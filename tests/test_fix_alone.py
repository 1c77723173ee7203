"""Each finding's fix alone (JSON, SARIF, `--show-fixes` edits): the per-statement caches and the
CPython-first validation of `engine/alone.py` give what the whole-module path gave."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Optional

import libcst as cst
import pytest

from varmigrate.config import Settings
from varmigrate.edits import lint_edits, text_edits
from varmigrate.engine import LintResult, UnfixedModule, fix_alone, lint_source
from varmigrate.engine.alone import compiles, count_name_uses
from varmigrate.engine.transforms import _self_assignment_codes
from varmigrate.ftypes import Finding, TextEdit
from varmigrate.syntax.async_keyword import PLACEHOLDER, restore

LEGACY = (
    '"""Doc."""\n'
    "import torch\n"
    "from torch.autograd import Variable\n"
    "\n"
    "def f(x, y):\n"
    "    x = Variable(x)\n"
    "    z = y * 2 + torch.ones(3)\n"
    "    return Variable(Variable(z))\n"
    "\n"
    "class M(torch.nn.Module):\n"
    "    def forward(self, x):\n"
    "        h = Variable(x, volatile=True)\n"
    "        return self.net(h).data[0]\n"
    "# footer comment\n"
)
VOLATILE_SCRIPT = (
    "import torch\n"
    "from torch.autograd import Variable\n"
    "net = torch.nn.Linear(3, 3)\n"
    "x = Variable(torch.ones(3), volatile=True)\n"
    "y = net(x)\n"
    "print(y.data[0])\n"
)
# `except E, e:` is Python 2 that libcst parses and CPython does not.
PY2_EXCEPT = (
    "import torch\n"
    "from torch.autograd import Variable\n"
    "try:\n"
    "    y = Variable(torch.ones(3))\n"
    "except ValueError, e:\n"
    "    pass\n"
)
ASYNC = "import torch\nx = torch.ones(3)\ny = x.cuda(async=True)\nz = torch.autograd.Variable(x)\n"
NO_NEWLINE = "from torch.autograd import Variable\nx = Variable(y)"
SOURCES = [LEGACY, VOLATILE_SCRIPT, PY2_EXCEPT, ASYNC, NO_NEWLINE]


def _lint(text: str) -> LintResult:
    lint = lint_source(text, "m.py", Settings(unsafe_fixes=True))
    assert lint.module is not None and lint.findings
    return lint


def _whole_module_edits(lint: LintResult, text: str) -> list[Optional[list[TextEdit]]]:
    """The old path: a fresh base per finding, the whole module's code, libcst's parse."""
    out: list[Optional[list[TextEdit]]] = []
    for finding in lint.findings:
        edit = finding.chosen_edit(True)
        module, applied = UnfixedModule(lint).apply([(finding, edit)]) if edit else (None, [])
        code = module.code if module is not None and applied else None
        try:
            ok = code is not None and cst.parse_module(code) is not None
        except cst.ParserSyntaxError:
            ok = False
        out.append(text_edits(text, restore(code, text), finding.span) if ok and code is not None else None)
    return out


@pytest.mark.parametrize("text", SOURCES, ids=["legacy", "volatile-script", "py2-except", "async", "no-newline"])
def test_edits_equal_the_whole_module_path(text: str) -> None:
    lint = _lint(text)
    assert lint_edits(lint, text, True) == _whole_module_edits(lint, text)


def test_edits_have_the_expected_content() -> None:
    # What main (71339b4, whole-module path) gives for LEGACY.
    lint = _lint(LEGACY)
    found = [(f.code, f.line, e) for f, e in zip(lint.findings, lint_edits(lint, LEGACY, True))]
    assert found == [
        ("VM101", 6, [TextEdit(6, 1, 7, 1, "")]),  # `x = Variable(x)` leaves `x = x`: dropped
        ("VM101", 8, [TextEdit(8, 12, 8, 33, "Variable(z)")]),
        ("VM101", 8, [TextEdit(8, 21, 8, 32, "z")]),
        ("VM103", 12, [TextEdit(12, 9, 13, 1, "with torch.no_grad():\n            h = Variable(x)\n    ")]),
        ("VM201", 13, [TextEdit(13, 16, 13, 35, "self.net(h).item()")]),
    ]


def test_python2_base_still_gets_its_edits() -> None:
    lint = _lint(PY2_EXCEPT)
    assert not UnfixedModule(lint).statements.base_compiles
    (edits,) = lint_edits(lint, PY2_EXCEPT, True)
    assert edits == [TextEdit(2, 1, 3, 1, ""), TextEdit(4, 9, 4, 32, "torch.ones(3)")]


def test_async_keyword_base_gets_its_edits() -> None:
    lint = _lint(ASYNC)
    rename = lint_edits(lint, ASYNC, True)[0]
    assert rename == [TextEdit(3, 12, 3, 22, "non_blocking=True")]


def test_edits_never_carry_the_async_placeholder() -> None:
    # The other findings' edits leave `async=` as the user wrote it (VM304's own edit renames it):
    # before, VM101's edit here spanned the line above and wrote the parser's placeholder into it.
    text = ASYNC.replace("y = x.cuda(async=True)\n", "y = torch.autograd.Variable(x.cuda(async=True))\n")
    lint = _lint(text)
    found = {(f.code, f.line): e for f, e in zip(lint.findings, lint_edits(lint, text, True))}
    assert not any(PLACEHOLDER in edit.content for edits in found.values() if edits for edit in edits)
    assert found[("VM304", 3)] == [TextEdit(3, 36, 3, 46, "non_blocking=True")]
    assert found[("VM101", 3)] == [TextEdit(3, 5, 3, 48, "x.cuda(async=True)")]  # (before: `x.cuda(\u0251sync=True)`)
    assert found[("VM101", 4)] == [TextEdit(4, 5, 4, 31, "x")]  # (before: it began on line 3, in `\u0251sync`)


def _broken(finding: Finding) -> Finding:
    """`finding` with an edit whose output is no Python at all (`y = (`)."""
    edit = finding.chosen_edit(True)
    assert edit is not None
    bad = cst.Name("x")
    object.__setattr__(bad, "value", "(")  # past libcst's validation, as a buggy rule's node would be
    return dataclasses.replace(finding, edits=[dataclasses.replace(edit, replacement=bad)])


@pytest.mark.parametrize("text", [LEGACY, PY2_EXCEPT], ids=["python3", "py2-except"])
def test_an_edit_whose_output_does_not_parse_is_dropped(text: str) -> None:
    lint = _lint(text)
    finding = next(f for f in lint.findings if f.code == "VM101")
    broken = _broken(finding)
    edit = broken.chosen_edit(True)
    assert edit is not None
    assert fix_alone(UnfixedModule(lint), broken, edit) is None
    good = finding.chosen_edit(True)
    assert good is not None and fix_alone(UnfixedModule(lint), finding, good) is not None


def test_per_statement_figures_equal_the_whole_module_ones() -> None:
    lint = _lint(LEGACY)
    base = UnfixedModule(lint)
    names = {"Variable"}
    for finding in lint.findings:
        edit = finding.chosen_edit(True)
        assert edit is not None
        module, applied = base.apply([(finding, edit)])
        assert applied
        code, changed = base.statements.code(module)
        assert code == module.code
        assert changed and changed in code and len(changed) < len(code)
        assert base.statements.total(module, "uses", lambda n: count_name_uses(n, names), {"Variable": 0}) \
            == count_name_uses(module, names)
        assert base.statements.total(module, "x = x", lambda n, m=module: _self_assignment_codes(m, n), {}) \
            == _self_assignment_codes(module)


def test_compiles_is_quiet_and_total() -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert compiles('x = "\\d"\n')  # an invalid escape: a SyntaxWarning, silenced
    assert not seen
    assert not compiles("try:\n    pass\nexcept ValueError, e:\n    pass\n")
    assert not compiles("x = " + "(" * 300 + ")" * 300 + "\n")  # too deep for CPython: libcst decides
    assert not compiles("x = 1\0\n")
