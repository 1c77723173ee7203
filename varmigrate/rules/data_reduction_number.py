from __future__ import annotations

from typing import Optional

import libcst as cst

from ..analysis.nodes import short_code
from ..analysis.number_uses import kept_as_number
from ..rewrite.expressions import method_call
from ..rule import Invalid, Rule, Safety, Valid

# Reductions that gave a number in 0.3 when called without a dimension.
_REDUCTIONS = frozenset({"sum", "mean", "prod", "max", "min", "median", "norm", "std", "var", "dot"})


class DataReductionNumber(Rule):
    """
    ## What it does
    Checks for a full reduction (no dimension) of a tensor read through `.data`, whose result the
    program keeps, passes on or prints: `correct += pred.eq(target.data).sum()`,
    `norms.append(p.grad.data.norm())`, `print(x.data.abs().mean())`, `torch.sum(w.data)`.

    ## Why is this bad?
    What `.data` gave in PyTorch 0.3 was a `Tensor`, not a `Variable`, and a `Tensor`'s full
    reduction was a Python number. It is a 0-dim tensor today: it prints as `tensor(6)`, `json.dumps`
    raises `TypeError`, a dict looks it up by identity, and a CUDA accumulator cannot go to numpy.

    ## Fix safety
    `.item()` is appended to the reduction, which gives the number 0.3 gave (the other rules drop the
    `.data`). It is safe: the operand is known to be a 0.3 `Tensor` (a `.data` read, a factory such as
    `torch.ones(3)` or a function of the file returning only such, or an op whose operand is one: a
    0.3 program could not mix `Tensor`s and `Variable`s in one op), so its full
    reduction was a number, whatever its size, and carried no gradient. A reduction that feeds a
    tensor op (`w.data.div_(w.data.norm())`), a comparison or `float(...)` is not reported: a 0-dim
    tensor behaves as the number did there. Nor is a file that already calls `.item()` (new in 0.4): it
    ran on a torch where the reduction was a 0-dim tensor (`norm_term += t.data.ne(pad).sum()` ...
    `loss / norm_term.item()`), and `.item()` on the number would raise.

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
      ("use `.item()` to get a Python number from a tensor containing a single value")
    - SEMANTICS.md, section E (`x.data.sum()` and `correct += pred.eq(target.data).sum()` rows)
    """

    CODE = "VM211"
    MESSAGE = "a full reduction of a `.data` tensor was a Python number in PyTorch 0.3; now it is a 0-dim tensor: append `.item()`"
    FIX_TITLE = "Append `.item()`"
    FIX = Safety.SAFE
    TRIGGERS = (".data",)

    VALID = [
        # A reduction over a dimension was a tensor in 0.3 too.
        Valid("import torch\ndef f(x):\n    total = x.data.sum(0)\n    return total\n"),
        # A Variable's reduction (no `.data`) was a 1-element Variable.
        Valid("import torch\ndef f(out):\n    loss = out.sum()\n    return loss\n"),
        # Consumed by tensor math or a comparison: a 0-dim tensor behaves as the number did.
        Valid("import torch\ndef f(w):\n    w.data.div_(w.data.norm())\n    if w.data.abs().max() > 1:\n        return w.data / w.data.sum()\n"),
        # Written for 0.4 (`.item()` elsewhere): the 0-dim tensor is what the author meant.
        Valid("import torch\ndef f(t, loss):\n    n = t.data.ne(0).sum()\n    return loss / n.item()\n"),
        # A numpy array's `.data` is a buffer, not a tensor.
        Valid("import numpy as np\na = np.ones(3)\ns = a.data.sum()\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ndef test(model, loader):\n    correct = 0\n    for data, target in loader:\n"
            "        output = model(data)\n        pred = output.data.max(1)[1]\n"
            "        correct += pred.eq(target.data).sum()\n    return correct\n",
            expected_replacement="import torch\ndef test(model, loader):\n    correct = 0\n    for data, target in loader:\n"
            "        output = model(data)\n        pred = output.data.max(1)[1]\n"
            "        correct += pred.eq(target.data).sum().item()\n    return correct\n",
            message="`pred.eq(target.data).sum()` was a Python number", range=(7, 20, 7, 46),
        ),
        Invalid(
            "import torch\ndef log(params, history):\n    for p in params:\n        history.append(torch.norm(p.grad.data, 2))\n",
            expected_replacement="import torch\ndef log(params, history):\n    for p in params:\n"
            "        history.append(torch.norm(p.grad.data, 2).item())\n",
            message="was a Python number", range=(4, 24, 4, 50),
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        found = self._full_reduction(node)
        if found is None:
            return
        operand, torch_function = found
        plain = self.ctx.plain_tensors
        if plain.written_for_0_4():
            return
        if not (plain.is_plain_argument(operand) if torch_function else plain.is_plain(operand)) or not kept_as_number(self.ctx, node):
            return
        self.report(
            node,
            f"`{short_code(self.ctx, node)}` was a Python number in PyTorch 0.3 (a full reduction of a 0.3 "
            "`Tensor`); now a 0-dim tensor, which prints as `tensor(...)` and which `json` refuses: append `.item()`",
            # Callable: the `.data` inside is dropped by other rules in the same round.
            [self.edit(lambda updated: method_call(updated, "item"))],  # type: ignore[arg-type]
        )

    def _full_reduction(self, node: cst.Call) -> Optional[tuple[cst.BaseExpression, bool]]:
        """The operand of `x.sum()` / `torch.sum(x)` (and the other reductions) without a dimension,
        and whether it is a torch function's."""
        func = node.func
        args = node.args
        if any(a.star for a in args) or any(a.keyword is not None and a.keyword.value in ("dim", "axis") for a in args):
            return None
        positional = [a.value for a in args if a.keyword is None]
        q = self.ctx.imports.qualified(func)
        if q is not None and q.startswith("torch.") and q.count(".") == 1:
            name = q.split(".", 1)[1]
            if name not in _REDUCTIONS or not positional:
                return None
            operand, rest, torch_function = positional[0], positional[1:], True
        elif isinstance(func, cst.Attribute) and func.attr.value in _REDUCTIONS:
            name, operand, rest, torch_function = func.attr.value, func.value, positional, False
        else:
            return None
        if name == "dot":
            full = len(rest) == 1
        elif name == "norm":  # `x.norm(2)`: the p, no dim
            full = len(rest) <= 1 and all(isinstance(a, (cst.Integer, cst.Float, cst.SimpleString)) for a in rest)
        else:
            full = not rest
        return (operand, torch_function) if full else None
