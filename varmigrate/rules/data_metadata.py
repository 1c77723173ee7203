from __future__ import annotations

import libcst as cst

from ..analysis.data_uses import METADATA, DataUses
from ..analysis.nodes import data_use
from ..analysis.torch_api import NEW_METHODS
from ..rewrite.expressions import drop_data
from ..rule import Invalid, Rule, Safety, Valid


class DataMetadata(Rule):
    """
    ## What it does
    Checks for metadata read through `.data`: `x.data.size()`, `.shape`, `.dim()`, `.ndimension()`,
    `.dtype`, `.type()`, `.is_cuda`, `.device`, `.numel()`, `.tolist()`, `len(x.data)`, and
    `isinstance(x.data, torch.cuda.FloatTensor)`; and `.data` before `x.data.new(...)` (also
    `new_zeros`, `new_ones`, `new_full`, `new_empty`, `new_tensor`).

    ## Why is this bad?
    In PyTorch 0.3 a `Variable` did not expose all of its tensor's metadata, so legacy code went
    through `.data`. Modern tensors answer these directly, with or without autograd history, and the
    detour makes code look as if it needed a detached view.

    ## Fix safety
    `.data` is dropped. Shape, dtype, device, element count, `len()` and the `tolist()` values are the
    same for a tensor and its `.data` (and `tolist()` works on tensors that require grad), and
    `isinstance` against a legacy tensor type matches on dtype, device and layout (a `Parameter` included),
    so the fix is safe. `x.new(...)` and the `new_*` methods make a fresh tensor of `x`'s dtype and device
    that does not require grad and does not share `x`'s storage, with or without `.data` (also for a
    `Parameter`: the result is a plain `Tensor` either way), so dropping `.data` there is safe too.
    `.type(T)` with an argument is a conversion, not metadata, and is left to `data-read`.

    ## References
    - SEMANTICS.md, section E (metadata and `tolist()` rows)
    """

    CODE = "VM204"
    MESSAGE = "`.data` is not needed to read a tensor's metadata"
    FIX_TITLE = "Remove `.data`"
    FIX = Safety.SAFE
    TRIGGERS = (".data",)

    VALID = [
        Valid("import torch\nx = torch.ones(2, 3)\nn = x.size(0)\n"),
        Valid("import torch\nfrom scipy import sparse\nm = sparse.csr_matrix((3, 3))\nprint(m.data.shape, len(m.data))\n"),
        Valid("import torch\nclass Batch:\n    def __init__(self, data):\n        self.data = data\n"
              "    def __len__(self):\n        return len(self.data)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.randn(4, 3))\n"
            "batch_size = x.data.size(0)\nprint(x.data.shape, len(x.data), x.data.type())\n",
            expected_replacement="import torch\nfrom torch.autograd import Variable\nx = Variable(torch.randn(4, 3))\n"
            "batch_size = x.size(0)\nprint(x.shape, len(x), x.type())\n",
            message="`.data` is not needed to read `.size()`", range=(4, 14, 4, 20),
        ),
    ]

    def visit_Attribute(self, node: cst.Attribute) -> None:
        use = data_use(self.ctx, node)
        if use is not None and use.kind == METADATA:
            target, new = drop_data(node, self.ctx.parent(node))
            parent = self.ctx.parent(node)
            if isinstance(parent, cst.Attribute) and parent.attr.value in NEW_METHODS:
                # `w.new(n)` never requires grad and never aliases `w`: `.data` changes nothing.
                message = f"`.data` is not needed before `.{parent.attr.value}()`: it makes a new tensor that never requires grad"
            else:
                message = f"`.data` is not needed to read {_what(self.ctx.data_uses, node)}"
            self.report(target, message, [self.edit(new)])


def _what(uses: DataUses, node: cst.Attribute) -> str:
    parent = uses.parent(node)
    if isinstance(parent, cst.Attribute) and parent.value is node:
        call = uses.parent(parent)
        name = parent.attr.value
        return f"`.{name}()`" if isinstance(call, cst.Call) and call.func is parent else f"`.{name}`"
    call = uses.expr_parent(node)[0]
    return "`len()`" if isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value == "len" else "its type"
