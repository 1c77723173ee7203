from __future__ import annotations

import libcst as cst

from ..rule import Invalid, Rule, Safety, Valid

_INIT = ("uniform", "normal", "constant", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
         "orthogonal", "sparse", "eye", "dirac")
# 0.3-era names that modern torch keeps only as warning wrappers around the in-place versions.
_RENAMES = {
    "torch.nn.utils.clip_grad_norm": "clip_grad_norm_",
    **{f"torch.nn.init.{name}": f"{name}_" for name in _INIT},
}


class DeprecatedFunctionAlias(Rule):
    """
    ## What it does
    Checks for the 0.3-era spellings `torch.nn.utils.clip_grad_norm(...)` and
    `torch.nn.init.xavier_uniform(...)` (also `uniform`, `normal`, `constant`, `xavier_normal`,
    `kaiming_uniform`, `kaiming_normal`, `orthogonal`, `sparse`, `eye`, `dirac`), written through
    any alias of the module (`nn.init.normal`, `init.constant`).

    ## Why is this bad?
    PyTorch 0.4 renamed these functions with a trailing underscore because they modify their
    argument in place. The old names survive only as wrappers that emit a `FutureWarning`
    ("... is now deprecated in favor of ...") and call the new function with the same arguments.

    ## Fix safety
    Renaming to `clip_grad_norm_` / `xavier_uniform_` calls exactly the function the wrapper calls,
    with the same arguments: same values, same random-number consumption; only the warning goes
    (safe; checked on torch 2.13, where each old name is `deprecated_init` around the new one).
    A name imported on its own (`from torch.nn.init import xavier_uniform`) is not rewritten.

    ## References
    - `torch/nn/init.py` (`_make_deprecate`) and `torch/nn/utils/clip_grad.py` (`clip_grad_norm`)
    - [PyTorch 0.4.0 release notes](https://github.com/pytorch/pytorch/releases/tag/v0.4.0)
    """

    CODE = "VM309"
    MESSAGE = "Deprecated 0.3-era name of an in-place function: use the name with a trailing underscore"
    FIX_TITLE = "Rename to the in-place spelling"
    FIX = Safety.SAFE
    TRIGGERS = ("clip_grad_norm(", "nn.init import", *(f"init.{name}(" for name in _INIT))

    VALID = [
        Valid("import torch\ntorch.nn.utils.clip_grad_norm_(params, 0.25)\n"),
        Valid("import torch.nn as nn\nnn.init.xavier_uniform_(w)\nnn.init.normal_(w, 0, 0.02)\n"),
        Valid("import torch\nimport numpy as np\nx = np.random.normal(0, 1)\n"),
        Valid("import torch\nfrom torch.nn.init import normal_\nnormal_(w)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ntorch.nn.utils.clip_grad_norm(model.parameters(), 0.25)\n",
            expected_replacement="import torch\ntorch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)\n",
            message="`clip_grad_norm` is the deprecated 0.3-era name of `clip_grad_norm_` (a warning wrapper around it)", range=(2, 1, 2, 30),
        ),
        Invalid(
            "import torch.nn as nn\ndef init(m):\n    nn.init.xavier_uniform(m.weight, gain=1.0)\n    nn.init.constant(m.bias, 0)\n",
            expected_replacement="import torch.nn as nn\ndef init(m):\n"
            "    nn.init.xavier_uniform_(m.weight, gain=1.0)\n    nn.init.constant_(m.bias, 0)\n",
            message="`xavier_uniform` is the deprecated 0.3-era name of `xavier_uniform_` (a warning wrapper around it)", range=(3, 5, 3, 27),
        ),
        Invalid(
            "import torch\nfrom torch.nn import init\ninit.kaiming_normal(w, mode='fan_out')\n",
            expected_replacement="import torch\nfrom torch.nn import init\ninit.kaiming_normal_(w, mode='fan_out')\n",
            message="`kaiming_normal` is the deprecated 0.3-era name of `kaiming_normal_` (a warning wrapper around it)", range=(3, 1, 3, 20),
        ),
        Invalid(
            "import torch\nfrom torch.nn.init import xavier_uniform\nxavier_uniform(w)\n",
            message="`xavier_uniform` is imported under the deprecated 0.3-era name of `xavier_uniform_`", range=(3, 1, 3, 15),
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        # `from torch.nn.init import xavier_uniform`: the import and every call would need renaming.
        if isinstance(node.func, cst.Name):
            new = _RENAMES.get(self.ctx.imports.qualified(node.func) or "")
            if new is not None:
                self.report(node.func, f"`{node.func.value}` is imported under the deprecated 0.3-era name of `{new}`: "
                                       f"import `{new}` and call that")

    def visit_Attribute(self, node: cst.Attribute) -> None:
        new = _RENAMES.get(self.ctx.imports.qualified(node) or "")
        if new is None:
            return
        old = node.attr.value
        self.report(
            node,
            f"`{old}` is the deprecated 0.3-era name of `{new}` (a warning wrapper around it)",
            [self.edit(node.with_changes(attr=node.attr.with_changes(value=new)), title=f"Rename `{old}` to `{new}`")],
        )
