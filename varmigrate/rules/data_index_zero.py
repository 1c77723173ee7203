from __future__ import annotations

import libcst as cst

from ..helpers import data_use, loses_comments, method_call, with_expression_whitespace
from ..rule import Invalid, Rule, Safety, Valid
from ..tensors import INDEX_ZERO


class DataIndexZero(Rule):
    """
    ## What it does
    Checks for `x.data[0]`, the PyTorch 0.3 idiom for reading the number out of a loss
    (`total_loss += loss.data[0]`, `print(loss.data[0])`).

    ## Why is this bad?
    Since PyTorch 0.4 losses and full reductions are 0-dim tensors, and indexing a 0-dim tensor raises
    `IndexError: invalid index of a 0-dim tensor. Use tensor.item() ...`. Every loss does this, so the
    legacy line crashes. On a one-element 1-D tensor it no longer gives a Python number either, but a
    0-dim tensor, so totals silently become tensors.

    ## Fix safety
    The replacement is `x.item()`, the Python number that 0.3 gave. It is safe where `x` is known to
    be 0-dim: a loss (a loss-like name, a call of a criterion module or `F.*_loss` that reduces, a
    sum of such) or a full reduction such as `x.sum()`. Elsewhere `.item()` is equivalent only if `x`
    has exactly one element (with more it raises) and the value is used as a number (arithmetic,
    formatting, comparison: not as a tensor), so it is an unsafe fix, not offered where the value is used
    as a tensor. `x.detach()[0]` is offered as the exact alternative, which keeps what the line does on
    modern PyTorch, where nothing can write in place through the row it returns.

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
      ("Using `.item()` to get a Python number")
    - SEMANTICS.md, section E (`loss.data[0]` rows)
    """

    CODE = "VM201"
    MESSAGE = "`loss.data[0]` raises on the 0-dim tensors that losses are since PyTorch 0.4"
    FIX_TITLE = "Replace `x.data[0]` with `x.item()`"
    FIX = Safety.SAFE
    TRIGGERS = (".data",)

    VALID = [
        Valid("import torch\nx = torch.randn(3)\nprint(x[0])\n"),
        Valid("import torch\nimport numpy as np\nm = np.ones(3)\nprint(m.data[0])\n"),
        Valid("import torch\nfrom torch.utils.data import DataLoader\ndef f(dataset):\n    return dataset.data[0]\n"),
    ]
    INVALID = [
        Invalid(
            "import torch.nn.functional as F\n"
            "def train(model, x, y):\n"
            "    loss = F.nll_loss(model(x), y)\n"
            "    print('loss %.3f' % loss.data[0])\n",
            expected_replacement="import torch.nn.functional as F\n"
            "def train(model, x, y):\n"
            "    loss = F.nll_loss(model(x), y)\n"
            "    print('loss %.3f' % loss.item())\n",
        ),
        Invalid(
            "import torch.nn as nn\ncriterion = nn.CrossEntropyLoss()\ndef step(out, y, total):\n"
            "    return total + criterion(out, y).data[0]\n",
            expected_replacement="import torch.nn as nn\ncriterion = nn.CrossEntropyLoss()\ndef step(out, y, total):\n"
            "    return total + criterion(out, y).item()\n",
        ),
        Invalid(
            "import torch\nb = torch.randn(1, requires_grad=True)\nprint('b', b.data[0])\n",
            expected_replacement="import torch\nb = torch.randn(1, requires_grad=True)\nprint('b', b.item())\n",
            expected_safe_replacement="import torch\nb = torch.randn(1, requires_grad=True)\nprint('b', b.detach()[0])\n",
        ),
    ]

    def visit_Attribute(self, node: cst.Attribute) -> None:
        use = data_use(self.ctx, node)
        if use is None or use.kind != INDEX_ZERO:
            return
        subscript = self.ctx.tensors.data_uses.parent(node)
        assert isinstance(subscript, cst.Subscript)
        base = node.value
        code = self.ctx.code(base)
        item = with_expression_whitespace(method_call(base, "item"), subscript)
        # A comment inside `[ ... ]` would be lost: never silently.
        keep = Safety.UNSAFE if loses_comments(subscript, item) else Safety.SAFE
        if self.ctx.tensors.is_scalar(base):
            self.report(subscript, edits=[self.edit(item, keep, f"Replace with `{code}.item()`")])
            return
        detached = subscript.with_changes(value=method_call(base, "detach"))
        edits = []
        if self.ctx.tensors.data_uses.number_ok(subscript) and not self.ctx.tensors.is_per_element(base):
            edits.append(self.edit(item, Safety.UNSAFE, f"Replace with `{code}.item()` (unsafe: only if `{code}` has exactly one element)"))
        if use.escape is None:
            edits.append(self.edit(detached, keep, f"Replace with `{code}.detach()[0]`"))
        name = code if len(code) <= 30 and "\n" not in code else "x"
        self.report(
            subscript,
            f"`{name}.data[0]` gave a number in PyTorch 0.3; now it is a tensor (and raises if `{name}` is 0-dim): "
            f"use `{name}.item()` if `{name}` has exactly one element, else `{name}.detach()[0]`",
            edits,
        )
