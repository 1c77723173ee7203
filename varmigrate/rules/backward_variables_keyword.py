from __future__ import annotations

import libcst as cst

from ..analysis.nodes import keyword_arg
from ..rewrite.calls import rename_keyword
from ..rule import Invalid, Rule, Safety, Valid

# Old keyword -> new keyword, and whether the old one still works on modern PyTorch.
_RENAMES = {"variables": ("tensors", False), "grad_variables": ("grad_tensors", True)}


class BackwardVariablesKeyword(Rule):
    """
    ## What it does
    Checks for `torch.autograd.backward(variables=..., grad_variables=...)`, the PyTorch 0.3 keyword
    names of `tensors=` and `grad_tensors=`.

    ## Why is this bad?
    `variables=` is rejected by modern PyTorch (`TypeError: backward() got an unexpected keyword
    argument 'variables'`). `grad_variables=` still works but issues a `FutureWarning` ("`grad_variables`
    is deprecated. Use `grad_tensors` instead.") and is due for removal.

    ## Fix safety
    Both keywords are renamed to their current names; the values and their meaning are unchanged, so
    the fix is safe. A call that passes both the old and the new name of one parameter is reported
    without a fix.

    ## References
    - [`torch.autograd.backward`](https://pytorch.org/docs/stable/generated/torch.autograd.backward.html)
    """

    CODE = "VM303"
    MESSAGE = "`torch.autograd.backward(variables=..., grad_variables=...)` uses the 0.3 keyword names"
    FIX_TITLE = "Rename to `tensors=` / `grad_tensors=`"
    FIX = Safety.SAFE
    TRIGGERS = ("variables",)

    VALID = [
        Valid("import torch\ndef f(loss, g):\n    torch.autograd.backward(tensors=[loss], grad_tensors=[g])\n"),
        Valid("import torch\ndef f(loss, g, opt):\n    opt.backward(variables=[loss])\n"),
        Valid("import torch\ndef f(loss, g):\n    torch.autograd.grad([loss], [g], only_inputs=True)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ndef f(loss, g):\n    torch.autograd.backward(variables=[loss], grad_variables=[g])\n",
            expected_replacement="import torch\ndef f(loss, g):\n    torch.autograd.backward(tensors=[loss], grad_tensors=[g])\n",
            message="`variables=` is the PyTorch 0.3 name of `tensors=`: it raises `TypeError` on modern PyTorch", range=(3, 29, 3, 45),
        ),
        Invalid(
            "from torch import autograd\ndef f(losses, grads):\n    autograd.backward(losses, grad_variables=grads)\n",
            expected_replacement="from torch import autograd\ndef f(losses, grads):\n    autograd.backward(losses, grad_tensors=grads)\n",
            message="`grad_variables=` is the PyTorch 0.3 name of `grad_tensors=`: it still works but is deprecated", range=(3, 31, 3, 51),
        ),
        Invalid(
            "import torch\ndef f(loss, g):\n    torch.autograd.backward(variables=[loss], tensors=[loss])\n",
            message="this call passes both, keep `tensors=`", range=(3, 29, 3, 45),
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.imports.qualified(node.func) != "torch.autograd.backward":
            return
        for old, (new, works) in _RENAMES.items():
            arg = keyword_arg(node, old)
            if arg is None:
                continue
            effect = "still works but is deprecated" if works else "raises `TypeError` on modern PyTorch"
            message = f"`{old}=` is the PyTorch 0.3 name of `{new}=`: it {effect}"
            if keyword_arg(node, new) is not None:
                self.report(arg, f"{message}; this call passes both, keep `{new}=`")
            else:
                self.report(arg, message, [self.edit(rename_keyword(arg, new), title=f"Rename `{old}=` to `{new}=`")])
