from __future__ import annotations

import libcst as cst

from ..analysis.nodes import is_builtin_call
from ..rewrite.tensor_class import spell_variable_as_tensor
from ..rule import Invalid, Rule, Safety, Valid


class VariableIssubclass(Rule):
    """
    ## What it does
    Checks for `issubclass(C, Variable)`, also with `Variable` inside a tuple of classes.

    ## Why is this bad?
    On PyTorch >= 0.4 `Variable` is a shim class with an `__instancecheck__` but no
    `__subclasscheck__`: `issubclass(torch.Tensor, Variable)` and
    `issubclass(nn.Parameter, Variable)` are **False**. Legacy code that dispatched on Variable
    classes silently takes the other branch.

    ## Fix safety
    The fix tests against `torch.Tensor` instead. It restores the 0.3 meaning but is unsafe: it
    **changes behaviour** relative to running the legacy code on PyTorch 2.x (the test flips from
    False to True for tensor classes). Apply it after checking that the guarded branch is wanted.

    ## References
    - `torch/autograd/variable.py` (`VariableMeta` defines only `__instancecheck__`)
    - SEMANTICS.md, table D
    """

    CODE = "VM106"
    MESSAGE = (
        "`issubclass(C, Variable)` is False for every tensor class on PyTorch >= 0.4; "
        "`issubclass(C, torch.Tensor)` restores the 0.3 meaning but flips the result"
    )
    FIX_TITLE = "Replace `Variable` with `torch.Tensor` (unsafe: changes behaviour relative to PyTorch 2.x)"
    FIX = Safety.UNSAFE
    TRIGGERS = ("Variable",)

    VALID = [
        Valid("import torch\nok = issubclass(C, torch.Tensor)\n"),
        Valid("import torch\nclass Variable:\n    pass\nok = issubclass(C, Variable)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nok = issubclass(cls, Variable)\n",
            expected_replacement="import torch\nok = issubclass(cls, torch.Tensor)\n",
            message="`issubclass(C, Variable)` is False for every tensor class on PyTorch >= 0.4", range=(3, 22, 3, 30),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nok = issubclass(cls, (Variable, int))\n",
            expected_replacement="import torch\nok = issubclass(cls, (torch.Tensor, int))\n",
            message="`issubclass(C, Variable)` is False for every tensor class on PyTorch >= 0.4", range=(3, 23, 3, 36),
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not is_builtin_call(self.ctx, node, "issubclass") or len(node.args) != 2:
            return
        types = node.args[1].value
        new = spell_variable_as_tensor(types, self.ctx.imports.qualified, self.ctx.torch)
        if new is not None:
            self.report(types, edits=[self.edit(new, Safety.UNSAFE, needs_torch=True)])
