"""The volatile fixes of one block apply in one round when they keep apart (issue 15: a
module-level script full of `volatile` took one fix round per source, so `fix` stopped at
MAX_ITERATIONS with most of the script unfixed). Counted in rounds, never timed."""

from __future__ import annotations

import pytest
import targets  # bench/targets.py (tests/conftest.py puts bench/ on the path)

import varmigrate.engine.fix as engine_fix
from varmigrate.config import Settings
from varmigrate.engine import fix_source

# bench/targets.py's dense module-level script: two volatile sources in every nine lines
HEADER, BLOCK = targets.VOLATILE_HEADER, targets.VOLATILE_BLOCK
FIXED_BLOCK = (
    "x{i} = torch.randn(4, 10)\n"
    "with torch.no_grad():\n"
    "    v{i} = x{i}\n"
    "    y{i} = model(v{i})\n"
    "    w{i} = y{i}.detach()\n"
    "    s{i} = w{i}.sum()\n"
    "    print(s{i}.item())\n"
    "z{i} = x{i}\n"
    "out{i} = model(z{i}).sum()\n"
    "out{i}.backward()\n"
)


def _script(blocks: int, block: str = BLOCK) -> str:
    return "".join(block.format(i=i) for i in range(blocks))


def _rounds(monkeypatch: pytest.MonkeyPatch, text: str) -> tuple[str, int]:
    """The fixed text, and how many times the fix loop linted."""
    calls = [0]
    real = engine_fix.lint_source

    def counting(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_fix, "lint_source", counting)
    result = fix_source(text, "script.py", Settings(unsafe_fixes=True))
    assert not [f for f in result.remaining if f.edit_for(True) is not None]
    return result.source, calls[0]


@pytest.mark.parametrize("blocks", [1, 3, 30])
def test_a_module_level_script_is_fixed_in_rounds_independent_of_its_length(monkeypatch: pytest.MonkeyPatch,
                                                                            blocks: int) -> None:
    fixed, rounds = _rounds(monkeypatch, HEADER + _script(blocks))
    # `Variable` goes with its last use: the import is removed
    assert fixed == "import torch\n\nmodel = torch.nn.Linear(10, 2)\n" + _script(blocks, FIXED_BLOCK)
    # the w-sources, then the v-sources (each scope next to the w-scope it joins), then the wrappers, then nothing
    assert rounds == 4
    assert fix_source(fixed, "script.py", Settings(unsafe_fixes=True)).source == fixed  # twice is once


def test_adjacent_scopes_still_join_as_one_round_after_another(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two scopes with nothing between them are not applied in the same round: the earlier one,
    planned again next to the later one's `no_grad` block, takes it in (one block, as before)."""
    text = (HEADER + "a = Variable(x, volatile=True)\nprint(model(a).data)\n"
            "b = Variable(y, volatile=True)\nprint(model(b).data)\n")
    fixed, _ = _rounds(monkeypatch, text)
    assert fixed.endswith("with torch.no_grad():\n    a = x\n    print(model(a).detach())\n"
                          "    b = y\n    print(model(b).detach())\n")
    apart = text.replace("b = Variable", "n = 1\nb = Variable")
    fixed, _ = _rounds(monkeypatch, apart)
    assert fixed.endswith("with torch.no_grad():\n    a = x\n    print(model(a).detach())\nn = 1\n"
                          "with torch.no_grad():\n    b = y\n    print(model(b).detach())\n")
