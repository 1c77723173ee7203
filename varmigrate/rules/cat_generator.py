from __future__ import annotations

import libcst as cst

from ..analysis.nodes import generator_argument, short_code
from ..rewrite.calls import tuple_of_generator
from ..rewrite.comments import loses_comments
from ..rule import Invalid, Rule, Safety, Valid


class CatGenerator(Rule):
    """
    ## What it does
    Checks for `torch.cat` and `torch.stack` over a generator expression:
    `torch.cat((head(x) for head in heads), 1)`, `torch.stack(l for l in losses)`.

    ## Why is this bad?
    PyTorch 0.3 accepted any iterable of tensors. Since 0.4 the argument must be a tuple or list,
    and a generator raises `TypeError: cat() received an invalid combination of arguments - got
    (generator, int)` (`expected a tuple of Tensors`). `numpy.stack` over a generator is not
    reported (numpy has its own rules).

    ## Fix safety
    The generator becomes `tuple(...)`: the same tensors, made in the same order by the same
    expression, handed to the same function (safe). A comment inside the generator that the fix
    would lose makes it unsafe.

    ## References
    - [`torch.cat`](https://pytorch.org/docs/stable/generated/torch.cat.html) ("tensors (sequence of
      Tensors)")
    """

    CODE = "VM311"
    MESSAGE = "`torch.cat`/`torch.stack` of a generator raises `TypeError` since PyTorch 0.4: pass a tuple"
    FIX_TITLE = "Wrap the generator in `tuple(...)`"
    FIX = Safety.SAFE
    TRIGGERS = ("cat(", "stack(")

    VALID = [
        Valid("import torch\nxs = [torch.ones(2)] * 3\ny = torch.cat([x * 2 for x in xs], 0)\n"),
        Valid("import torch\nimport numpy as np\ny = np.stack(a for a in [np.ones(2)])\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ndef features(heads, x):\n    return torch.cat((h(x) for h in heads), 1)\n",
            expected_replacement="import torch\ndef features(heads, x):\n    return torch.cat(tuple(h(x) for h in heads), 1)\n",
            message="`torch.cat` of a generator raises `TypeError` since PyTorch 0.4 (0.3 took any iterable): pass `tuple(h(x) for ...)`",
            range=(3, 12, 3, 47),
        ),
        Invalid(
            "import torch\ndef total(losses):\n    return torch.stack(l * 2 for l in losses).sum()\n",
            expected_replacement="import torch\ndef total(losses):\n    return torch.stack(tuple(l * 2 for l in losses)).sum()\n",
            message="`torch.stack` of a generator raises `TypeError` since PyTorch 0.4 (0.3 took any iterable): pass `tuple(l * 2 for ...)`",
            range=(3, 12, 3, 46),
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        arg = generator_argument(self.ctx, node)
        if arg is None:
            return
        generator = arg.value
        assert isinstance(generator, cst.GeneratorExp)
        new = tuple_of_generator(generator)
        safety = Safety.UNSAFE if loses_comments(generator, new) else Safety.SAFE
        name = short_code(self.ctx, node.func, 20)
        self.report(node, f"`{name}` of a generator raises `TypeError` since PyTorch 0.4 (0.3 took any iterable): "
                    f"pass `tuple({short_code(self.ctx, generator.elt, 24)} for ...)`",
                    [self.edit(new, safety)], fix_node=generator)
