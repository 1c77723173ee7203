"""`--convert-py2`'s text conversion (varmigrate/syntax/py2): fixture pairs and the guarantees.

tests/fixtures/python2/<case>.before.py is Python 2; <case>.after.py is its conversion (and what
`fix --convert-py2` writes: tests/test_fixtures.py runs the same pairs through the whole fix, and
<case>.check.txt holds `check --convert-py2`'s notes, the divisions left for a person among them).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

pytest.importorskip("fissix")

from varmigrate.syntax.async_keyword import rename_async_keywords  # noqa: E402
from varmigrate.syntax.py2 import ConversionError, NotPython2, convert, parses_as_python3  # noqa: E402
from varmigrate.syntax.py2.division import analyze, rewrite  # noqa: E402
from varmigrate.syntax.py2.fixers import EXCLUDED, FIXERS  # noqa: E402
from varmigrate.syntax.py2.markers import python2_markers  # noqa: E402
from varmigrate.syntax.py2.tabs import expand  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "python2"
CASES = sorted(p.name[: -len(".before.py")] for p in FIXTURES.glob("*.before.py"))


def _read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _parses(text: str) -> bool:
    try:
        ast.parse(rename_async_keywords(text)[0])
    except SyntaxError:
        return False
    return True


@pytest.mark.parametrize("case", CASES)
def test_fixture_pair(case: str, update_fixtures: bool) -> None:
    before = _read(FIXTURES / f"{case}.before.py")
    conversion = convert(before, case)
    assert conversion is not None, f"{case}.before.py is not taken for Python 2"
    after_path = FIXTURES / f"{case}.after.py"
    if update_fixtures:
        _write(after_path, conversion.text)
    assert conversion.text == _read(after_path)
    assert _parses(conversion.text)
    assert convert(conversion.text) is None  # converting twice is converting once
    assert conversion.fixers or conversion.tab_lines or conversion.rewritten


def test_every_fixer_is_exercised_by_a_fixture() -> None:
    used: set[str] = set()
    for case in CASES:
        conversion = convert(_read(FIXTURES / f"{case}.before.py"))
        assert conversion is not None
        used |= set(conversion.fixers)
    rare = {"throw", "execfile", "imports2", "renames", "getcwdu", "reload", "sys_exc", "exitfunc", "operator",
            "asserts", "xreadlines", "paren", "isinstance", "methodattrs"}
    assert {f.name for f in FIXERS} - rare <= used


@pytest.mark.parametrize(
    "src,expected",
    [
        pytest.param("g.throw(ValueError, 'x')\nprint 1\n", "g.throw(ValueError('x'))\nprint(1)\n", id="throw"),
        pytest.param("execfile('a.py')\nprint 1\n", "exec(compile(open('a.py', \"rb\").read(), 'a.py', 'exec'))\nprint(1)\n", id="execfile"),
        pytest.param("import sys\nn = sys.maxint\nprint n\n", "import sys\nn = sys.maxsize\nprint(n)\n", id="renames"),
        pytest.param("import os\nd = os.getcwdu()\nprint d\n", "import os\nd = os.getcwd()\nprint(d)\n", id="getcwdu"),
        pytest.param("reload(m)\nprint 1\n", "import importlib\nimportlib.reload(m)\nprint(1)\n", id="reload"),
        pytest.param("import sys\nt = sys.exc_type\nprint t\n", "import sys\nt = sys.exc_info()[0]\nprint(t)\n", id="sys_exc"),
        pytest.param("import operator\nok = operator.isCallable(f)\nprint ok\n", "import operator\nok = callable(f)\nprint(ok)\n", id="operator"),
        pytest.param("self.assertEquals(a, b)\nprint 1\n", "self.assertEqual(a, b)\nprint(1)\n", id="asserts"),
        pytest.param("for line in f.xreadlines():\n    print line\n", "for line in f:\n    print(line)\n", id="xreadlines"),
        pytest.param("xs = [x for x in 1, 2]\nprint xs\n", "xs = [x for x in (1, 2)]\nprint(xs)\n", id="paren"),
        pytest.param("ok = isinstance(n, (int, long))\nprint ok\n", "ok = isinstance(n, int)\nprint(ok)\n", id="isinstance"),
        pytest.param("f = m.im_self\nprint f\n", "f = m.__self__\nprint(f)\n", id="methodattrs"),
    ],
)
def test_rare_fixers(src: str, expected: str) -> None:
    conversion = convert(src)
    assert conversion is not None
    assert conversion.text == expected


def test_fixer_set_is_documented() -> None:
    page = (Path(__file__).parent.parent / "docs" / "python2.md").read_text()
    for fixer in FIXERS:
        assert f"`{fixer.name}`" in page, fixer.name
    for name in EXCLUDED:
        assert f"`{name}`" in page, name


# ------------------------------------------------------------------------------------------
# What is Python 2
# ------------------------------------------------------------------------------------------
def test_python3_is_left_alone() -> None:
    assert convert("print('x')\nx = 7 / 2\n") is None
    assert convert("import torch\nx = torch.ones(1).cuda(async=True)\nprint(x, 1)\n") is None


def test_async_prepass_comes_first() -> None:
    # Python 3 with `async=`: not Python 2, even though Python 2's grammar would parse it.
    assert parses_as_python3("x.cuda(async=True)\nprint(a, b)\n")
    # Python 2 with `async=`: converted, the keyword left for VM304.
    conversion = convert("x.cuda(async=True)\nprint a, b\n")
    assert conversion is not None and conversion.text == "x.cuda(async=True)\nprint(a, b)\n"


def test_neither_python_3_nor_2() -> None:
    with pytest.raises(NotPython2) as info:
        convert("x = 1\ndef f(:\n    pass\n")
    assert info.value.line == 2
    with pytest.raises(NotPython2):
        convert("print f'{x}' if x else 1\nmatch = 1\nx := 2\n")


def test_markers_make_a_python3_parseable_file_python2() -> None:
    assert [m.what for m in python2_markers("for i in xrange(3):\n    pass\n")] == ["`xrange`"]
    assert python2_markers("xrange = range\nfor i in xrange(3):\n    pass\n") == []
    assert python2_markers("try:\n    import cPickle as pickle\nexcept ImportError:\n    import pickle\n") == []
    assert python2_markers("import sys\nif sys.version_info[0] == 2:\n    s = unicode(x)\n") == []
    assert python2_markers("import six\ns = unicode(x)\n") == []
    # A marked file that Python 2 cannot parse stays Python 3.
    assert convert("s = unicode(x)\nprint(s, end='')\n") is None
    # ... and so does one that the conversion would leave as it is.
    assert convert("x = f'{unicode}'\n") is None


# ------------------------------------------------------------------------------------------
# Bytes kept
# ------------------------------------------------------------------------------------------
def test_crlf_is_kept() -> None:
    conversion = convert("import os\r\nprint 'a'\r\nx = [k for k in d.keys()]\r\nreduce(f, xs)\r\n")
    assert conversion is not None
    assert conversion.text == "import os\r\nfrom functools import reduce\r\nprint('a')\r\nx = [k for k in d.keys()]\r\nreduce(f, xs)\r\n"


def test_missing_final_newline_and_comments_are_kept() -> None:
    conversion = convert("# top\nprint 'a'  # trailing\n\n\n# end")
    assert conversion is not None and conversion.text == "# top\nprint('a')  # trailing\n\n\n# end"


def test_non_ascii_and_encoding_cookie() -> None:
    src = "# -*- coding: latin-1 -*-\nname = u'café'\nn = len(name)\nprint name, n / 2\n"
    conversion = convert(src)
    assert conversion is not None
    assert conversion.text == "# -*- coding: latin-1 -*-\nname = 'café'\nn = len(name)\nprint(name, n // 2)\n"


# ------------------------------------------------------------------------------------------
# Mixed tabs
# ------------------------------------------------------------------------------------------
def test_tabs_expanded_only_when_python3_would_refuse() -> None:
    consistent = "def f():\n\tif x:\n\t\treturn 1\n"
    assert expand(consistent) == (consistent, 0)
    mixed = "def f():\n\tif x:\n\t\treturn 1\n        s = 'a\\tb'\n"
    out, changed = expand(mixed)
    assert out == "def f():\n        if x:\n                return 1\n        s = 'a\\tb'\n"
    assert changed == 2
    with pytest.raises(TabError):
        compile(mixed, "m", "exec")
    compile(out, "m", "exec")


def test_tabs_in_strings_and_continuations_stay() -> None:
    src = 'def f():\n\tx = 1\n        y = """\n\tkeep\n\t"""\n\treturn (x,\n\t\ty)\n'
    out, _ = expand(src)
    assert out == 'def f():\n        x = 1\n        y = """\n\tkeep\n\t"""\n        return (x,\n\t\ty)\n'


# ------------------------------------------------------------------------------------------
# Division
# ------------------------------------------------------------------------------------------
def _rewritten(src: str) -> str:
    analysis = analyze(src)
    return rewrite(src, analysis.divisions)


@pytest.mark.parametrize(
    "src,expected",
    [
        pytest.param("a = 7 / 2\n", "a = 7 // 2\n", id="literals"),
        pytest.param("n = len(x)\nh = n / 2\n", "n = len(x)\nh = n // 2\n", id="len-name"),
        pytest.param("h = len(x) / (2 + 1)\n", "h = len(x) // (2 + 1)\n", id="len-parens"),
        pytest.param("for i in range(9):\n    h = i / 2\n", "for i in range(9):\n    h = i // 2\n", id="range-var"),
        pytest.param("n = 0\nfor x in y:\n    n += 1\nh = n / 2\n", "n = 0\nfor x in y:\n    n += 1\nh = n // 2\n", id="counter"),
        pytest.param("n = 1\nn = n * 2.0\nh = n / 2\n", "n = 1\nn = n * 2.0\nh = n / 2\n", id="float-rebinding"),
        pytest.param("def f(n):\n    return n / 2\n", "def f(n):\n    return n / 2\n", id="parameter"),
        pytest.param("n = 4\ndef f():\n    return n / 2\n", "n = 4\ndef f():\n    return n // 2\n", id="global-read"),
        pytest.param("n = 4\ndef f():\n    global n\n    n = 0.5\nh = n / 2\n",
                     "n = 4\ndef f():\n    global n\n    n = 0.5\nh = n / 2\n", id="global-write"),
        pytest.param("n = 4\ndef f():\n    n = 0.5\n    return n / 2\nh = n / 2\n",
                     "n = 4\ndef f():\n    n = 0.5\n    return n / 2\nh = n // 2\n", id="local-shadow"),
        pytest.param("from m import *\nn = 4\nh = n / 2\n", "from m import *\nn = 4\nh = n / 2\n", id="star-import"),
        pytest.param("len = lambda x: 0.5\nh = len(x) / 2\n", "len = lambda x: 0.5\nh = len(x) / 2\n", id="shadowed-builtin"),
        pytest.param("h = 2 ** -1 / 2\n", "h = 2 ** -1 / 2\n", id="negative-power"),
        pytest.param("h = [i / 2 for i in range(4)]\n", "h = [i // 2 for i in range(4)]\n", id="comprehension"),
        pytest.param("x = (a  # a / b\n     / b)\n", "x = (a  # a / b\n     / b)\n", id="comment"),
        pytest.param("n = 3\nx = (n  # n / 2\n     / 2)\n", "n = 3\nx = (n  # n / 2\n     // 2)\n", id="comment-rewritten"),
        pytest.param("s = 'é'; n = 5; h = n / 2\n", "s = 'é'; n = 5; h = n // 2\n", id="non-ascii-offsets"),
    ],
)
def test_division_rewrites(src: str, expected: str) -> None:
    assert _rewritten(src) == expected


def test_division_reports() -> None:
    analysis = analyze("import torch\ndef f(a, b):\n    return a / b\nx = 1.0 / f(1, 2)\nt = torch.LongTensor([3]) / 2\n")
    reported = [(d.line, d.column, d.int_tensor) for d in analysis.reported]
    assert reported == [(3, 14, False), (5, 27, True)]
    assert analyze("from __future__ import division\nx = 1 / 2\n").future_division


def test_conversion_that_does_not_parse_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from varmigrate.syntax.py2 import fixers

    broken = fixers.FixerRun("def f(:\n")
    monkeypatch.setattr(fixers, "run_fixers", lambda text, name="": broken)
    with pytest.raises(ConversionError):
        convert("print 1\n")


@pytest.mark.torch
def test_integer_tensor_division_on_modern_torch() -> None:
    """Evidence for docs/python2.md: torch 2.x divides integer tensors truly; `//` floors (toward
    -inf), while PyTorch 0.3's `/` on a LongTensor truncated toward zero (TH's C division)."""
    torch = pytest.importorskip("torch")
    x = torch.tensor([7, -7])
    assert (x / 2).dtype == torch.float32 and (x / 2).tolist() == [3.5, -3.5]
    assert (x // 2).tolist() == [3, -4]
    assert torch.div(x, 2, rounding_mode="trunc").tolist() == [3, -3]  # 0.3's LongTensor / 2
    assert sys.version_info >= (3,) and 7 // 2 == 3 and -7 // 2 == -4  # Python 2's int / int floored too
