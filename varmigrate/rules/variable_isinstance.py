from __future__ import annotations

import libcst as cst

from ..analysis.nodes import is_builtin_call
from ..rewrite.tensor_class import spell_variable_as_tensor
from ..rule import Invalid, Rule, Safety, Valid


class VariableIsinstance(Rule):
    """
    ## What it does
    Checks for `isinstance(x, Variable)`, also with `Variable` inside a tuple of types and under any
    import spelling of `torch.autograd.Variable`.

    ## Why is this bad?
    Since PyTorch 0.4 there are no Variables: every tensor tracks gradients itself. `Variable` is a
    shim class whose metaclass answers `isinstance(x, Variable)` with `isinstance(x, torch.Tensor)`.
    Spelling the test against `Variable` suggests a distinction that no longer exists and keeps a
    dependency on the shim alive.

    ## Fix safety
    The fix spells the class `torch.Tensor` (and adds `import torch` when the file lacks it). It is
    safe: `VariableMeta.__instancecheck__` on PyTorch 2.x is literally `isinstance(x, torch.Tensor)`.
    In a tuple that already contains `torch.Tensor`, `Variable` is removed.

    ## References
    - `torch/autograd/variable.py` (`VariableMeta.__instancecheck__`)
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
    - SEMANTICS.md, table D
    """

    CODE = "VM104"
    MESSAGE = "`isinstance(x, Variable)` is a legacy check: on PyTorch >= 0.4 it means `isinstance(x, torch.Tensor)`"
    FIX_TITLE = "Replace `Variable` with `torch.Tensor`"
    FIX = Safety.SAFE
    TRIGGERS = ("Variable",)

    VALID = [
        Valid("import torch\nok = isinstance(x, torch.Tensor)\n"),
        Valid("import torch\nclass Variable:\n    pass\nok = isinstance(x, Variable)\n"),
        Valid("import torch\nfrom torch.autograd import Variable\ndef isinstance(a, b):\n    return 1\nok = isinstance(x, Variable)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nif isinstance(x, Variable):\n    x = x.data\n",
            expected_replacement="import torch\nif isinstance(x, torch.Tensor):\n    x = x.data\n",
            message="`isinstance(x, Variable)` is a legacy check: on PyTorch >= 0.4 it means `isinstance(x, torch.Tensor)`", range=(3, 18, 3, 26),
        ),
        Invalid(
            "from torch.autograd import Variable\nok = isinstance(x, (Variable, float))\n",
            expected_replacement="import torch\nok = isinstance(x, (torch.Tensor, float))\n",
            message="`isinstance(x, Variable)` is a legacy check: on PyTorch >= 0.4 it means `isinstance(x, torch.Tensor)`", range=(2, 21, 2, 36),
        ),
        Invalid(
            "import torch\nimport torch.autograd as ag\nok = isinstance(x, (torch.Tensor, ag.Variable))\n",
            expected_replacement="import torch\nimport torch.autograd as ag\nok = isinstance(x, torch.Tensor)\n",
            message="`isinstance(x, Variable)` is a legacy check: on PyTorch >= 0.4 it means `isinstance(x, torch.Tensor)`", range=(3, 21, 3, 46),
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not is_builtin_call(self.ctx, node, "isinstance") or len(node.args) != 2:
            return
        types = node.args[1].value
        new = spell_variable_as_tensor(types, self.ctx.imports.qualified, self.ctx.torch)
        if new is not None:
            self.report(types, edits=[self.edit(new, Safety.SAFE, needs_torch=True)])
