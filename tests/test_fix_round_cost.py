"""What keeps a fix round cheap: the self-assignment remover rebuilds blocks only, and the old
tree does not outlive its round (no two trees alive during the next lint)."""

from __future__ import annotations

import gc

import libcst as cst

from varmigrate.analysis.imports import ImportTracker
from varmigrate.config import Settings
from varmigrate.engine import fix_source
from varmigrate.engine.transforms import _SelfAssignmentRemover
from varmigrate.policy import PinnedPolicy

LEGACY = (
    "import torch\n"
    "from torch.autograd import Variable\n"
    "def f(x, y):\n"
    "    x = Variable(x)\n"
    "    z = y * 2 + torch.ones(3)\n"
    "    return Variable(Variable(z))\n"
)


def test_self_assignment_remover_keeps_other_statements_as_they_are() -> None:
    module = cst.parse_module("def f(x, y):\n    x = x\n    z = y * 2 + g(y)\n    return z\n")
    kept = module.body[0].body.body[1]  # type: ignore[attr-defined]
    new = module.visit(_SelfAssignmentRemover(module, {}, ImportTracker().scan(module)))
    assert new.code == "def f(x, y):\n    z = y * 2 + g(y)\n    return z\n"
    assert new.body[0].body.body[0] is kept  # type: ignore[attr-defined]  # not rebuilt


def test_applied_findings_hold_no_old_tree() -> None:
    result = fix_source(LEGACY, "m.py", Settings(unsafe_fixes=True))
    assert result.source == "import torch\ndef f(x, y):\n    z = y * 2 + torch.ones(3)\n    return z\n"
    assert result.fixed and all(f.node is None and f.fix_node is None for f in result.fixed)
    assert all(e.replacement is None for f in result.fixed for e in f.edits)


def test_old_trees_are_freed_before_the_next_lint(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import varmigrate.engine.fix as fix

    counts: list[int] = []
    real = fix.lint_source

    def lint(*args, **kwargs):  # type: ignore[no-untyped-def]
        gc.collect()
        trees = sum(isinstance(o, cst.Module) for o in gc.get_objects())
        counts.append(trees - (kwargs.get("tree") is not None))  # beside the tree about to be linted
        return real(*args, **kwargs)

    monkeypatch.setattr(fix, "lint_source", lint)
    for policy in (None, PinnedPolicy()):
        counts.clear()
        fix_source(LEGACY, "m.py", Settings(unsafe_fixes=True), policy=policy)
        assert len(counts) >= 3 and counts == [0] * len(counts), (policy, counts)
