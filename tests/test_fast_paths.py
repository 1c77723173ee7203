"""Issue 15's cheap wins, as behaviour (never timed): what is parsed, and what is imported."""

from __future__ import annotations

from collections import Counter

import libcst
import pytest

from varmigrate.config import Settings
from varmigrate.engine import fix_source

LEGACY = (
    "import torch\nfrom torch.autograd import Variable\n\n\ndef step(model, x, y, opt):\n"
    "    x = Variable(x, volatile=True)\n    loss = model(x).sub(y).pow(2).mean()\n"
    "    return loss.data[0]\n"
)


def test_fix_parses_each_text_once(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: Counter[str] = Counter()
    real = libcst.parse_module

    def counting(source: str, *args: object, **kwargs: object) -> libcst.Module:
        parsed[source] += 1
        return real(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(libcst, "parse_module", counting)
    result = fix_source(LEGACY, "step.py", Settings(unsafe_fixes=True))
    assert result.fixed and result.source != LEGACY
    assert LEGACY in parsed and result.source in parsed
    assert max(parsed.values()) == 1, parsed  # the validation parse's tree is the one linted
