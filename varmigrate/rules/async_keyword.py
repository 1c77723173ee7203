from __future__ import annotations

import libcst as cst

from ..rule import Invalid, Rule, Safety, Valid
from ..syntax.async_keyword import PLACEHOLDER

# Torch methods that took `async=` in 0.3 and take `non_blocking=` now.
_TORCH_METHODS = {"cuda", "cpu", "to", "type", "copy_", "pin_memory", "_type", "_cuda"}


def _rename(updated: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(updated, cst.Arg) and updated.keyword is not None
    return updated.with_changes(keyword=updated.keyword.with_changes(value="non_blocking"))


class AsyncKeyword(Rule):
    """
    ## What it does
    Checks for the PyTorch 0.3 keyword argument `async=` (`x.cuda(async=True)`,
    `x.to(device, async=True)`, `target.cuda(async=True)` in a DataLoader loop with `pin_memory=True`).

    ## Why is this bad?
    `async` is a reserved keyword since Python 3.7, so the file does not even parse: every Python 3.7+
    interpreter rejects it with `SyntaxError: invalid syntax`, and no tool that parses Python can read
    it. PyTorch renamed the argument to `non_blocking` in 0.4. varmigrate reads such files through a
    token pre-pass, so this is reported instead of an unparsable file.

    ## Fix safety
    The keyword is renamed to `non_blocking=`, the same parameter of the same method under its current
    name, so the fix is safe. When the callee is your own function, rename its `async` parameter to
    `non_blocking` too: that definition does not parse on Python 3.7+ either (varmigrate reports it).
    A `# noqa: VM304` on the line keeps the keyword, and the file is then reported as unparsable.

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
    - [What's new in Python 3.7: `async` and `await` are reserved keywords](https://docs.python.org/3/whatsnew/3.7.html)
    """

    CODE = "VM304"
    MESSAGE = "`async=` is the PyTorch 0.3 name of `non_blocking=`, and a syntax error since Python 3.7"
    FIX_TITLE = "Rename `async=` to `non_blocking=`"
    FIX = Safety.SAFE
    TRIGGERS = ("async", PLACEHOLDER)

    VALID = [
        Valid("import torch\ndef load(x):\n    return x.cuda(non_blocking=True)\n"),
        Valid("import torch\nasync def load(x):\n    return await x.to('cuda', non_blocking=True)\n"),
        Valid("import torch\ndef load(x):\n    return x.cuda(0, True)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ndef load(x, y):\n    return x.cuda(async=True), y.cuda(async=True)\n",
            expected_replacement="import torch\ndef load(x, y):\n    return x.cuda(non_blocking=True), y.cuda(non_blocking=True)\n",
            message="`async=` is the PyTorch 0.3 name of `non_blocking=`, and a syntax error since Python 3.7", range=(3, 19, 3, 29),
        ),
        Invalid(
            "import torch\ndef load(x, device):\n    return x.to(device, async=True)\n",
            expected_replacement="import torch\ndef load(x, device):\n    return x.to(device, non_blocking=True)\n",
            message="`async=` is the PyTorch 0.3 name of `non_blocking=`, and a syntax error since Python 3.7", range=(3, 25, 3, 35),
        ),
        Invalid(
            "import torch\ndef load(batch, prefetch):\n    return prefetch(batch, async=True)\n",
            expected_replacement="import torch\ndef load(batch, prefetch):\n    return prefetch(batch, non_blocking=True)\n",
            message="if `prefetch` is your own function, rename its `async` parameter too", range=(3, 28, 3, 38),
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        for arg in node.args:
            if arg.keyword is None or arg.keyword.value != PLACEHOLDER:
                continue
            func = node.func
            method = func.attr.value if isinstance(func, cst.Attribute) else None
            message = self.MESSAGE
            if method not in _TORCH_METHODS:
                callee = self.ctx.code(func).replace(PLACEHOLDER, "async")
                message += f"; if `{callee}` is your own function, rename its `async` parameter too"
            self.report(arg, message, [self.edit(_rename)])
