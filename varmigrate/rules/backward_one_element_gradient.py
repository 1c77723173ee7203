from __future__ import annotations

import libcst as cst

from ..analysis.nodes import backward_gradient, short_code
from ..rewrite.calls import reshape_to_scalar
from ..rule import Invalid, Rule, Safety, Valid


class BackwardOneElementGradient(Rule):
    """
    ## What it does
    Checks for `backward(g)` with a one-element 1-D gradient on a result that is (or may be) 0-dim:
    the WGAN idiom `one = torch.FloatTensor([1]); mone = one * -1` ...
    `D_real.mean().backward(mone)`, `loss.backward(torch.ones(1))`, also
    `torch.autograd.backward(loss, one)`.

    ## Why is this bad?
    In PyTorch 0.3 a loss or a full reduction had shape `(1,)`, so a gradient of shape `(1,)` fit.
    Since 0.4 they are 0-dim, and the call raises `RuntimeError: Mismatch in shape: grad_output[0]
    has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([])`. A result that still
    has one element along a dimension (`output.mean(0).view(1)`, the original WGAN critic) is fine:
    it is not reported.

    ## Fix safety
    The gradient is reshaped to the result's shape: `D_real.mean().backward(mone.reshape(()))`. The
    values are the same (one element, same sign), so the gradients are the ones 0.3 computed (safe)
    where the result is known to be 0-dim (a loss, a full reduction, a module whose `forward` returns
    one). Where the result's shape is not known, the fix is unsafe: it is right only if the result is
    0-dim (for a one-element 1-D result the original call works and the reshaped one raises).

    ## References
    - SEMANTICS.md, section G (`loss.backward(torch.ones(1))` on a 0-dim loss)
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
      ("zero-dimensional tensors")
    """

    CODE = "VM310"
    MESSAGE = "`backward(g)` with a one-element gradient raises on the 0-dim results that losses are since PyTorch 0.4"
    FIX_TITLE = "Reshape the gradient to the result's shape"
    FIX = Safety.SAFE
    TRIGGERS = ("Tensor([1", "Tensor([-1", "Tensor(1)", "ones(1)", "ones([1])", "ones((1,))", "Tensor([1.", "tensor([1")

    VALID = [
        Valid("import torch\nx = torch.randn(3, requires_grad=True)\ny = x * 2\ny.backward(torch.ones(3))\n"),
        Valid("import torch\none = torch.FloatTensor([1])\nx = torch.randn(3, requires_grad=True)\n"
              "x.mean().view(1).backward(one)\n"),
        Valid("import torch\nimport torch.nn as nn\nclass D(nn.Module):\n    def forward(self, x):\n"
              "        return x.mean(0).view(1)\nnet = D()\none = torch.FloatTensor([1])\n"
              "def step(x):\n    net(x).backward(one)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\none = torch.FloatTensor([1])\nmone = one * -1\n"
            "def step(D, real):\n    D(real).mean().backward(mone)\n",
            expected_replacement="import torch\none = torch.FloatTensor([1])\nmone = one * -1\n"
            "def step(D, real):\n    D(real).mean().backward(mone.reshape(()))\n",
            message="`backward(mone)` with the one-element gradient `mone` raises a shape mismatch if `D(real).mean()` is 0-dim",
            range=(5, 5, 5, 34),
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\nclass Critic(nn.Module):\n    def forward(self, x):\n"
            "        return x.mean()\nnet = Critic()\none = torch.FloatTensor([1])\n"
            "def step(x):\n    err = net(x)\n    err.backward(one)\n",
            expected_replacement="import torch\nimport torch.nn as nn\nclass Critic(nn.Module):\n    def forward(self, x):\n"
            "        return x.mean()\nnet = Critic()\none = torch.FloatTensor([1])\n"
            "def step(x):\n    err = net(x)\n    err.backward(one.reshape(()))\n",
            message="`err` is 0-dim since PyTorch 0.4, and the one-element gradient `one` raises a shape mismatch", range=(10, 5, 10, 22),
        ),
        Invalid(
            "import torch\none = torch.ones(1)\ndef step(netD, x):\n    err = netD(x)\n    err.backward(one)\n",
            expected_replacement="import torch\none = torch.ones(1)\ndef step(netD, x):\n    err = netD(x)\n"
            "    err.backward(one.reshape(()))\n",
            expected_safe_replacement="import torch\none = torch.ones(1)\ndef step(netD, x):\n    err = netD(x)\n"
            "    err.backward(one)\n",
            message="`backward(one)` with the one-element gradient `one` raises a shape mismatch if `err` is 0-dim", range=(5, 5, 5, 22),
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        found = backward_gradient(self.ctx, node)
        if found is None:
            return
        result, gradient = found
        tensors = self.ctx.tensors
        if tensors.shape(gradient.value) != (1,):
            return
        shape = tensors.shape(result)
        if shape is not None and shape != ():
            return  # a result with one element along a dimension takes the gradient as it is
        known = shape == () or (shape is None and tensors.is_scalar(result))
        r, g = short_code(self.ctx, result, 30), short_code(self.ctx, gradient.value, 20)
        reshaped = gradient.with_changes(value=reshape_to_scalar(gradient.value))
        title = f"Replace `{g}` with `{g}.reshape(())`"
        if known:
            message = (f"`{r}` is 0-dim since PyTorch 0.4, and the one-element gradient `{g}` raises a shape mismatch "
                       f"in `backward`: use `{g}.reshape(())`")
            edits = [self.edit(reshaped, Safety.SAFE, title)]
        else:
            message = (f"`backward({g})` with the one-element gradient `{g}` raises a shape mismatch if `{r}` is 0-dim "
                       f"(every loss and full reduction since PyTorch 0.4): use `{g}.reshape(())` then")
            edits = [self.edit(reshaped, Safety.UNSAFE, title + f" (unsafe: only if `{r}` is 0-dim)")]
        self.report(node, message, edits, fix_node=gradient)

