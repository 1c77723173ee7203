from __future__ import annotations

import libcst as cst

from ..helpers import is_fresh_tensor, is_variable, literal_bool, method_call, torch_attr, variable_args
from ..rule import Invalid, Rule, Safety, Valid


class VariableWrapper(Rule):
    """
    ## What it does
    Checks for calls of the legacy `torch.autograd.Variable(x)` constructor that do not ask for
    gradients (`Variable(x)`, `Variable(x, requires_grad=False)`, `Variable(data=x)`, `Variable()`).

    ## Why is this bad?
    Since PyTorch 0.4 tensors track gradients themselves and `Variable` survives only as a shim.
    The shim is not a no-op: on modern PyTorch `Variable(x)` returns `x.detach()`, a new leaf that
    shares `x`'s storage and never passes gradient back to `x`. Code that keeps the wrapper reads as
    if it did something 0.3-specific and hides that detach.

    ## Fix safety
    `Variable(x)` becomes `x.detach()`, which is exactly what the shim does (safe). When `x` is a
    fresh temporary (a torch factory such as `torch.randn(3)`, a legacy constructor such as
    `torch.FloatTensor(2, 3)`, `x.new(...)`, or a conversion chain on one of those), nothing else can
    see it, and the wrapper is dropped (safe). `Variable(h.data)`, the truncated-backprop idiom,
    becomes `h.detach()`. For any other expression, dropping the wrapper altogether is offered as an
    unsafe fix: it is equivalent only if `x` does not require grad and nothing changes the result's
    metadata or identity afterwards. `Variable()` becomes `torch.empty(0)`.

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
    - `torch/csrc/autograd/python_legacy_variable.cpp` (`THPVariable_pynew`)
    """

    CODE = "VM101"
    MESSAGE = "`Variable(x)` is a legacy wrapper: on PyTorch >= 0.4 it just returns `x.detach()`"
    FIX_TITLE = "Replace `Variable(x)` with `x.detach()`"
    FIX = Safety.SAFE
    TRIGGERS = ("Variable",)

    VALID = [
        Valid("import torch\nx = torch.ones(3)\n"),
        Valid("import torch\nclass Variable:\n    pass\nv = Variable(1)\n"),
        Valid("import torch\nfrom torch.autograd import Variable\nv = Variable(torch.ones(3), requires_grad=True)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(3))\n",
            expected_replacement="import torch\nx = torch.ones(3)\n",
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\ndef f(h):\n    return Variable(h.data)\n",
            expected_replacement="import torch\ndef f(h):\n    return h.detach()\n",
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\ndef f(x, model):\n    return model(Variable(x))\n",
            expected_replacement="import torch\ndef f(x, model):\n    return model(x)\n",
            expected_safe_replacement="import torch\ndef f(x, model):\n    return model(x.detach())\n",
        ),
        Invalid(
            "import torch.autograd as ag\nv = ag.Variable()\n",
            expected_replacement="import torch\nimport torch.autograd as ag\nv = torch.empty(0)\n",
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not is_variable(self.ctx, node.func):
            return
        args = variable_args(node)
        if not args.simple or args.volatile is not None:
            return  # `name=`/`_grad_fn=` need a person; `volatile=` is variable-volatile's
        if args.requires_grad is not None and literal_bool(args.requires_grad.value) is not False:
            return  # variable-requires-grad
        if args.data is None:
            self.report(node, "`Variable()` is a legacy constructor: it returns an empty tensor",
                        [self.edit(torch_attr(self.ctx, "empty(0)"), title="Replace with `torch.empty(0)`", needs_torch=True)])
            return
        data = args.data.value
        loses_comment = "#" in self.ctx.code(node) and "#" not in self.ctx.code(data)
        keep = Safety.UNSAFE if loses_comment else Safety.SAFE
        if isinstance(data, cst.Attribute) and data.attr.value == "data":
            # Variable(h.data): detach of a detach, without the extra version counter.
            self.report(node, edits=[self.edit(method_call(data.value, "detach"), keep, "Replace `Variable(h.data)` with `h.detach()`")])
        elif is_fresh_tensor(self.ctx, data):
            self.report(node, "`Variable(...)` around a new tensor is a no-op wrapper on PyTorch >= 0.4",
                        [self.edit(data, keep, "Remove the `Variable` wrapper")])
        else:
            self.report(
                node,
                "`Variable(x)` is a legacy wrapper that returns `x.detach()`; dropping it is equivalent only if `x` does not require grad",
                [
                    self.edit(data, Safety.UNSAFE, "Remove the `Variable` wrapper (unsafe: only if `x` does not require grad)"),
                    self.edit(method_call(data, "detach"), keep),
                ],
            )
