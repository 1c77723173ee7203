"""The `async=` token pre-pass: renames only call keywords, keeps every other byte and position."""

from __future__ import annotations

import libcst as cst
import pytest

from varmigrate.config import Settings
from varmigrate.engine import fix_source, lint_source
from varmigrate.syntax.async_keyword import PLACEHOLDER, async_keyword_spots, rename_async_keywords


@pytest.mark.parametrize(
    "src,spots",
    [
        pytest.param("x.cuda(async=True)\n", [(1, 7)], id="cuda"),
        pytest.param("x.to(d, async=True)\n", [(1, 8)], id="to-second"),
        pytest.param("f(\n    0,\n    async = True,\n)\n", [(3, 4)], id="multiline-spaces"),
        pytest.param("f(g(async=1), async=2)\n", [(1, 4), (1, 14)], id="nested"),
        pytest.param("def f(x, async=False):\n    pass\n", [], id="def-parameter"),
        pytest.param("f(lambda a, async=1: a)\n", [], id="lambda-parameter"),
        pytest.param("d = {async: 1}\nx[async]\nasync == 1\n", [], id="not-keywords"),
        pytest.param("async def f():\n    await g(async_=1)\n", [], id="real-async"),
        pytest.param("s = 'f(async=True)'  # f(async=True)\n", [], id="string-and-comment"),
    ],
)
def test_spots(src: str, spots: list[tuple[int, int]]) -> None:
    assert async_keyword_spots(src) == spots


def test_rename_keeps_everything_else() -> None:
    src = "y = x.cuda(async=True) + z.cuda(async=True)  # é\r\nw = 1\n"
    new, spots = rename_async_keywords(src)
    assert spots == [(1, 11), (1, 32)]
    assert len(new) == len(src)
    assert new.replace(PLACEHOLDER, "async") == src
    cst.parse_module(new)


def test_keep_lines() -> None:
    new, spots = rename_async_keywords("a.cuda(async=True)\nb.cuda(async=True)\n", keep_lines={1})
    assert spots == [(2, 7)]
    assert new.startswith("a.cuda(async=True)\n")


def test_positions_of_other_findings_hold() -> None:
    src = "import torch\nfrom torch.autograd import Variable\ny = x.cuda(async=True) + Variable(x)\n"
    findings = lint_source(src, "t.py", Settings()).findings
    assert [(f.code, f.line, f.column) for f in findings] == [("VM304", 3, 12), ("VM101", 3, 26)]


def test_check_does_not_change_and_fix_spells_non_blocking() -> None:
    src = "import torch\ndef f(x):\n    return x.cuda(async=True)\n"
    assert lint_source(src, "t.py", Settings()).errors == []
    fixed = fix_source(src, "t.py", Settings()).source
    assert fixed == "import torch\ndef f(x):\n    return x.cuda(non_blocking=True)\n"
    assert PLACEHOLDER not in fixed


@pytest.mark.parametrize("settings", [Settings(ignore=["VM304"]), Settings(select=["VM101"])], ids=["ignored", "not-selected"])
def test_deselected_rule_leaves_file_unparsable(settings: Settings) -> None:
    src = "import torch\nfrom torch.autograd import Variable\nv = Variable(x.cuda(async=True))\n"
    result = lint_source(src, "t.py", settings)
    assert result.findings == []
    assert [(e.line, e.column) for e in result.errors] == [(3, 21)]
    assert "VM304" in result.errors[0].message
    assert fix_source(src, "t.py", settings).source == src


def test_composes_with_a_fix_of_the_enclosing_call() -> None:
    src = "import torch\nfrom torch.autograd import Variable\nv = Variable(torch.randn(3).cuda(async=True))\n"
    fixed = fix_source(src, "t.py", Settings()).source
    assert fixed == "import torch\nv = torch.randn(3).cuda(non_blocking=True)\n"


def test_rename_to_a_longer_name_keeps_every_other_byte() -> None:
    # The harness's shim spells the modern name: two spots on one line, renamed right to left.
    src = "a = f(g(async=1), async=2)  # async=3\nx.cuda(async=True)\n"
    renamed, spots = rename_async_keywords(src, new_name="non_blocking")
    assert renamed == "a = f(g(non_blocking=1), non_blocking=2)  # async=3\nx.cuda(non_blocking=True)\n"
    assert spots == [(1, 8), (1, 18), (2, 7)]
    assert compile(renamed, "<renamed>", "exec")
