from __future__ import annotations

import libcst as cst

from ..analysis.data_uses import INDEX_ZERO
from ..analysis.nodes import data_use, short_code, strip_device_moves
from ..rewrite.comments import loses_comments
from ..rewrite.expressions import method_call, with_expression_whitespace
from ..rule import Invalid, Rule, Safety, Valid
from ..tree.nodes import single_index


class DataIndexZero(Rule):
    """
    ## What it does
    Checks for `x.data[0]`, the PyTorch 0.3 idiom for reading the number out of a loss
    (`total_loss += loss.data[0]`, `print(loss.data[0])`), its numpy spelling (`loss.data.numpy()[0]`,
    `loss.cpu().data.numpy()[0]`, `loss.data.cpu().numpy()[0]`), and `total[0]` on a name that is only
    ever set to `0` and `+=` a 0-dim value read through `.data`/`.detach()` (`total_loss += loss.data`
    ... `total_loss[0]`, the pytorch/examples word_language_model loop).

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

    The numpy spelling gives a numpy scalar of the tensor's dtype in 0.3 and `.item()` a Python float
    of the same value; on a 0-dim loss the legacy line raises, so the fix is required. For `total[0]`,
    the total is a 0-dim tensor (a sum of 0-dim tensors), `total[0]` raises, and `total.item()` gives
    the float that 0.3 gave, summed in the tensor's dtype as before (safe).

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
        subscript = use.subscript or self.ctx.parent(node)
        assert isinstance(subscript, cst.Subscript)
        via_numpy = use.subscript is not None
        base = strip_device_moves(node.value)
        code = short_code(self.ctx, base, 30)
        whole = short_code(self.ctx, subscript)
        item = with_expression_whitespace(method_call(base, "item"), subscript)
        # A comment inside `[ ... ]` would be lost: never silently.
        keep = Safety.UNSAFE if loses_comments(subscript, item) else Safety.SAFE
        if self.ctx.tensors.is_scalar(base):
            message = None
            if via_numpy:
                message = (f"`{whole}` raises on the 0-dim tensors that losses are since PyTorch 0.4 "
                           "(`[0]` of a 0-dim array): use `.item()`")
            self.report(subscript, message, [self.edit(item, keep, f"Replace with `{code}.item()`")])
            return
        detached = subscript.deep_replace(node, method_call(node.value, "detach"))
        assert isinstance(detached, cst.BaseExpression)
        edits = []
        if self.ctx.data_uses.number_ok(subscript) and not self.ctx.tensors.is_per_element(base):
            edits.append(self.edit(item, Safety.UNSAFE, f"Replace with `{code}.item()` (unsafe: only if `{code}` has exactly one element)"))
        if use.escape is None:
            edits.append(self.edit(detached, keep, "Replace `.data` with `.detach()`"))
        self.report(
            subscript,
            f"`{whole}` gave a number in PyTorch 0.3; now it is {'an array' if via_numpy else 'a tensor'} (and raises if `{code}` is 0-dim): "
            f"use `{code}.item()` if `{code}` has exactly one element, else `{short_code(self.ctx, detached)}`",
            edits,
        )

    def visit_Subscript(self, node: cst.Subscript) -> None:
        # `total_loss += loss.data` ... `total_loss[0]`: the accumulator is a 0-dim tensor now.
        if not isinstance(node.value, cst.Name) or single_index(node) != 0:
            return
        uses = self.ctx.data_uses
        if uses.is_store(node):
            return
        sample = uses.accumulated_scalar(node.value)
        if sample is None:
            return
        name = node.value.value
        item = with_expression_whitespace(method_call(node.value, "item"), node)
        keep = Safety.UNSAFE if loses_comments(node, item) else Safety.SAFE
        self.report(
            node,
            f"`{name}` sums 0-dim tensors (`{name} += {short_code(self.ctx, cst.parse_expression(sample), 30)}`), so "
            f"`{name}[0]` raises on PyTorch >= 0.4: use `{name}.item()`",
            [self.edit(item, keep, f"Replace `{name}[0]` with `{name}.item()`")],
        )
