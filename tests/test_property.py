"""Property tests: generated programs (hypothesmith), alone and with legacy snippets spliced in."""

from __future__ import annotations

import warnings

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from varmigrate.config import Settings
from varmigrate.engine import fix_source, lint_source

HEADER = "import torch\nfrom torch.autograd import Variable\n"
SNIPPETS = [
    "x = Variable(torch.ones(3))\n",
    "h = Variable(h.data)\n",
    "v = Variable(torch.zeros(2), requires_grad=True)\n",
    "if isinstance(v, Variable):\n    pass\n",
    "loss.backward(retain_variables=True)\n",
    "total = loss.data[0]\n",
    "w.data.add_(-lr, w.grad.data)\n",
    "out = model(Variable(inp, volatile=True))\n",
    "def f(x):\n    return Variable(x).data.numpy()\n",
    "y = x.cuda(async=True)  # noqa: VM101\n",
]
SETTINGS = [Settings(), Settings(unsafe_fixes=True)]
PROFILE = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def _compiles(text: str) -> bool:
    try:
        with warnings.catch_warnings():  # generated code draws SyntaxWarnings ("'str' is not callable")
            warnings.simplefilter("ignore", SyntaxWarning)
            compile(text, "<fixed>", "exec", dont_inherit=True)
    except SyntaxError:
        return False
    except (ValueError, RecursionError, MemoryError):
        return True  # beyond what we promise about
    return True


def _check_properties(text: str, options: Settings) -> None:
    lint = lint_source(text, "gen.py", options)
    assert not [e for e in lint.errors if e.kind == "internal"], lint.errors
    result = fix_source(text, "gen.py", options)
    assert not [e for e in result.errors if e.kind == "internal"], result.errors
    if lint.errors:
        assert result.source == text  # a file that does not parse is never changed
        return
    if _compiles(text):
        assert _compiles(result.source), result.source
    if not any(f.edit_for(options.unsafe_fixes) for f in lint.findings):
        assert result.source == text
    again = fix_source(result.source, "gen.py", options)
    assert again.source == result.source  # idempotent


# hypothesmith compiles what it generates: its SyntaxWarnings say nothing about varmigrate.
@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@PROFILE
@given(program=hypothesmith.from_grammar(), options=st.sampled_from(SETTINGS))
def test_generated_programs(program: str, options: Settings) -> None:
    _check_properties(HEADER + program, options)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@PROFILE
@given(
    program=hypothesmith.from_grammar(),
    snippets=st.lists(st.sampled_from(SNIPPETS), min_size=1, max_size=4),
    at_end=st.booleans(),
    options=st.sampled_from(SETTINGS),
)
def test_generated_programs_with_legacy_snippets(program: str, snippets: list[str], at_end: bool, options: Settings) -> None:
    body = program if program.endswith("\n") or not program else program + "\n"
    legacy = "".join(snippets)
    _check_properties(HEADER + (body + legacy if at_end else legacy + body), options)


@pytest.mark.parametrize("snippet", SNIPPETS)
def test_each_snippet_is_stable(snippet: str) -> None:
    for options in SETTINGS:
        _check_properties(HEADER + snippet, options)
