from __future__ import annotations

from typing import Optional

import libcst as cst

from ..analysis.nodes import literal_bool, short_code
from ..analysis.torch_api import LOSS_FUNCTIONS
from ..rule import Invalid, Rule, Safety, Valid

_LEGACY = ("size_average", "reduce")


def _reduction(size_average: Optional[bool], reduce: Optional[bool]) -> str:
    """torch.nn._reduction.legacy_get_string: `None` means the default, True."""
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


def _literal(arg: Optional[cst.Arg]) -> tuple[bool, Optional[bool]]:
    """(is a literal, its value): `True`/`False`/`None` (None = the default)."""
    if arg is None:
        return True, None
    value = arg.value
    if isinstance(value, cst.Name) and value.value == "None":
        return True, None
    flag = literal_bool(value)
    return flag is not None, flag  # legacy_get_string tests truthiness: `0`/`1` act as False/True


class LossSizeAverage(Rule):
    """
    ## What it does
    Checks for the legacy `size_average=` and `reduce=` keywords of `torch.nn` loss modules
    (`nn.CrossEntropyLoss(size_average=False)`) and `torch.nn.functional` loss functions
    (`F.nll_loss(out, y, size_average=False)`, `F.mse_loss(a, b, reduce=False)`).

    ## Why is this bad?
    Since PyTorch 0.4.1 both are deprecated in favour of one `reduction=` argument: every call warns
    (`UserWarning: size_average and reduce args will be deprecated, please use reduction='sum'
    instead.`), and the pair of flags is harder to read than the one word they stand for.

    ## Fix safety
    The flags are replaced by the `reduction=` string that PyTorch itself derives from them
    (`torch.nn._reduction.legacy_get_string`): `reduce=False` gives `'none'` whatever `size_average`
    says; otherwise `size_average=False` gives `'sum'`; otherwise `'mean'` (a `None` flag is the
    default, True). This is exactly what the legacy call computes, so the fix is safe for literal
    `True`/`False`/`None` flags (SEMANTICS.md G: "always"; checked bitwise on torch 2.13 for
    `nll_loss`, `mse_loss` and `CrossEntropyLoss` over all flag combinations). A flag that is an
    expression is reported without a fix, with the rule to apply by hand, and so is a call that also
    passes `reduction=` (the legacy flags override it).

    ## References
    - [`torch.nn.CrossEntropyLoss`](https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html)
      (`size_average`, `reduce`: "Deprecated (see `reduction`)")
    - `torch/nn/_reduction.py` (`legacy_get_string`)
    - SEMANTICS.md, section G
    """

    CODE = "VM306"
    MESSAGE = "`size_average=`/`reduce=` are deprecated loss arguments: use `reduction=`"
    FIX_TITLE = "Replace `size_average=`/`reduce=` with `reduction=`"
    FIX = Safety.SAFE
    TRIGGERS = ("size_average", "reduce=", "reduce =")

    VALID = [
        Valid("import torch.nn as nn\ncriterion = nn.CrossEntropyLoss(reduction='sum')\n"),
        Valid("import torch\nfrom functools import reduce\ntotal = reduce(lambda a, b: a + b, [1, 2])\n"),
        Valid("import torch\ndef f(loss_fn, x, y):\n    return loss_fn(x, y, size_average=False)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch.nn.functional as F\ndef test_loss(out, target):\n"
            "    return F.nll_loss(out, target, size_average=False)\n",
            expected_replacement="import torch.nn.functional as F\ndef test_loss(out, target):\n"
            "    return F.nll_loss(out, target, reduction='sum')\n",
            message="`size_average=False` is a deprecated loss argument: use `reduction='sum'`", range=(3, 36, 3, 54),
        ),
        Invalid(
            "import torch\ncriterion = torch.nn.MSELoss(size_average=False, reduce=False)\n",
            expected_replacement="import torch\ncriterion = torch.nn.MSELoss(reduction='none')\n",
            message="`size_average=False, reduce=False` are deprecated loss arguments: use `reduction='none'`", range=(2, 30, 2, 48),
        ),
        Invalid(
            "import torch.nn as nn\ncriterion = nn.BCELoss(weight=None, size_average=True)\n",
            expected_replacement="import torch.nn as nn\ncriterion = nn.BCELoss(weight=None, reduction='mean')\n",
            message="`size_average=True` is a deprecated loss argument: use `reduction='mean'`", range=(2, 37, 2, 54),
        ),
        Invalid(
            "import torch.nn as nn\ndef make(avg):\n    return nn.L1Loss(size_average=avg)\n",
            message="the flag is not a literal, so pick by hand", range=(3, 22, 3, 38),
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        legacy = [a for a in node.args if a.keyword is not None and a.keyword.value in _LEGACY]
        if not legacy or not self._is_loss(node.func):
            return
        by_name = {a.keyword.value: a for a in legacy if a.keyword is not None}
        shown = ", ".join(short_code(self.ctx, a, 30).rstrip(", ") for a in legacy)
        are = "are deprecated loss arguments" if len(legacy) > 1 else "is a deprecated loss argument"
        if any(a.keyword is not None and a.keyword.value == "reduction" for a in node.args):
            verb = "override" if len(legacy) > 1 else "overrides"
            self.report(legacy[0], f"`{shown}` {verb} the `reduction=` this call also passes: keep only `reduction=`")
            return
        literals = [_literal(by_name.get(k)) for k in _LEGACY]
        if not all(ok for ok, _ in literals):
            self.report(
                legacy[0],
                f"`{shown}` {are}: use `reduction=` ('none' if reduce is False, "
                "else 'sum' if size_average is False, else 'mean'); the flag is not a literal, so pick by hand",
            )
            return
        reduction = _reduction(literals[0][1], literals[1][1])
        self.report(
            legacy[0],
            f"`{shown}` {are}: use `reduction='{reduction}'`",
            [self.edit(self._rewrite(node, reduction), title=f"Replace with `reduction='{reduction}'`")],
            fix_node=node,
        )

    def _is_loss(self, func: cst.BaseExpression) -> bool:
        q = self.ctx.imports.qualified(func)
        if q is None or not q.startswith("torch.nn."):
            return False
        last = q.rsplit(".", 1)[-1]
        if q.startswith("torch.nn.functional."):
            return last in LOSS_FUNCTIONS
        return last.endswith("Loss")

    @staticmethod
    def _rewrite(node: cst.Call, reduction: str) -> cst.Call:
        args: list[cst.Arg] = []
        placed = False
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in _LEGACY:
                if not placed:
                    args.append(arg.with_changes(keyword=cst.Name("reduction"), value=cst.SimpleString(f"'{reduction}'")))
                    placed = True
                continue
            args.append(arg)
        # The last argument keeps the original call's trailing comma (or lack of one).
        args[-1] = args[-1].with_changes(comma=node.args[-1].comma)
        return node.with_changes(args=args)
