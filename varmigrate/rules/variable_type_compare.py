from __future__ import annotations

from typing import Optional

import libcst as cst

from ..analysis.nodes import is_builtin_call, is_variable
from ..rewrite.expressions import torch_attr
from ..rule import Invalid, Rule, Safety, Valid

_POSITIVE = (cst.Equal, cst.Is)
_NEGATIVE = (cst.NotEqual, cst.IsNot)


def _type_of(ctx, node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """`x` for `type(x)`."""
    if isinstance(node, cst.Call) and is_builtin_call(ctx, node, "type") and len(node.args) == 1 and node.args[0].keyword is None:
        return node.args[0].value
    return None


class VariableTypeCompare(Rule):
    """
    ## What it does
    Checks for exact type comparisons against `Variable`: `type(x) == Variable`,
    `type(x) is Variable`, `!=`, `is not`, and the operands reversed.

    ## Why is this bad?
    On PyTorch >= 0.4 `Variable(...)` returns a plain `torch.Tensor`, and no object has the type
    `Variable`, so the comparison is **always False** (`!=`/`is not`: always True). The branch it
    guards is dead code, or always taken, without any error: code written for 0.3 that dispatched
    on Variables versus tensors silently takes the "not a Variable" path.

    ## Fix safety
    The fix rewrites the test to `isinstance(x, torch.Tensor)` (`not isinstance(...)` for `!=` and
    `is not`). That restores what the 0.3 code meant, but it is unsafe: it **changes behaviour**
    relative to running the legacy code on PyTorch 2.x (the test flips from always False to True
    for tensors). Apply it after checking that the guarded branch is what the program should do.

    ## References
    - `torch/autograd/variable.py` (`VariableMeta` defines only `__instancecheck__`)
    - SEMANTICS.md, table D
    """

    CODE = "VM105"
    MESSAGE = (
        "`type(x) == Variable` is always False on PyTorch >= 0.4 (tensors are never of type `Variable`); "
        "`isinstance(x, torch.Tensor)` restores the 0.3 meaning but flips the result"
    )
    FIX_TITLE = "Replace with `isinstance(x, torch.Tensor)` (unsafe: changes behaviour relative to PyTorch 2.x)"
    FIX = Safety.UNSAFE
    TRIGGERS = ("Variable",)

    VALID = [
        Valid("import torch\nok = type(x) == torch.Tensor\n"),
        Valid("import torch\nfrom torch.autograd import Variable\nok = type(x) == Variable == y\n"),
        Valid("import torch\nfrom torch.autograd import Variable\nok = kind(x) == Variable\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nif type(x) == Variable:\n    x = x.data\n",
            expected_replacement="import torch\nif isinstance(x, torch.Tensor):\n    x = x.data\n",
            message="`type(x) == Variable` is always False on PyTorch >= 0.4", range=(3, 4, 3, 23),
        ),
        Invalid(
            "import torch\nimport torch.autograd as ag\nok = ag.Variable is not type(x) and y\n",
            expected_replacement="import torch\nimport torch.autograd as ag\nok = not isinstance(x, torch.Tensor) and y\n",
            message="`type(x) != Variable` is always True on PyTorch >= 0.4", range=(3, 6, 3, 32),
        ),
    ]

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if len(node.comparisons) != 1:
            return
        target = node.comparisons[0]
        op = target.operator
        if not isinstance(op, _POSITIVE + _NEGATIVE):
            return
        left, right = node.left, target.comparator
        if is_variable(self.ctx, right):
            subject = _type_of(self.ctx, left)
        elif is_variable(self.ctx, left):
            subject = _type_of(self.ctx, right)
        else:
            return
        if subject is None:
            return
        test: cst.BaseExpression = cst.Call(
            func=cst.Name("isinstance"),
            args=[cst.Arg(subject, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                  cst.Arg(torch_attr(self.ctx.torch, "Tensor"))],
        )
        message = self.MESSAGE
        if isinstance(op, _NEGATIVE):
            message = ("`type(x) != Variable` is always True on PyTorch >= 0.4 (tensors are never of type `Variable`); "
                       "`not isinstance(x, torch.Tensor)` restores the 0.3 meaning but flips the result")
            test = cst.UnaryOperation(operator=cst.Not(), expression=test)
        test = test.with_changes(lpar=node.lpar, rpar=node.rpar)
        self.report(node, message, [self.edit(test, Safety.UNSAFE, needs_torch=True)])
