from __future__ import annotations

from typing import Optional, cast

import libcst as cst

from ..rewrite.calls import fix_add_scalar_overload
from ..rule import Invalid, Rule, Safety, Valid

# torch functions: (scalar keyword, positional count including `input`).
_FUNCTIONS = {
    "torch.add": ("alpha", 3), "torch.sub": ("alpha", 3),
    "torch.addcmul": ("value", 4), "torch.addcdiv": ("value", 4),
}
_METHODS = {"add", "add_", "sub", "sub_", "addcmul", "addcmul_", "addcdiv", "addcdiv_"}
# Names that 2017-era optimizers and training loops give to plain numbers.
_SCALAR_NAMES = {"lr", "alpha", "beta", "beta1", "beta2", "eps", "momentum", "dampening", "weight_decay",
                 "step_size", "scale", "rho", "lambd", "decay", "clr", "bias_correction1", "bias_correction2"}


def scalar_looking(node: cst.BaseExpression) -> bool:
    """A number literal, `-lr`, `1 - beta1`, `group['lr']`, `self.lr`: an argument that reads as a scalar."""
    if isinstance(node, (cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        return scalar_looking(node.expression) or isinstance(node.expression, (cst.Name, cst.Attribute, cst.Subscript))
    if isinstance(node, cst.BinaryOperation):
        return scalar_looking(node.left) or scalar_looking(node.right)
    if isinstance(node, cst.Name):
        return node.value in _SCALAR_NAMES
    if isinstance(node, cst.Attribute):
        return node.attr.value in _SCALAR_NAMES
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        index = node.slice[0].slice
        return isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString)
    return False


def _fix_function(call: cst.Call, keyword: str, count: int) -> Optional[cst.Call]:
    """`torch.add(x, s, y)` -> `torch.add(x, y, alpha=s)`."""
    args = list(call.args)
    if len(args) != count or any(a.keyword is not None or a.star for a in args):
        return None
    inner = fix_add_scalar_overload(cst.Call(func=cst.Attribute(cst.Name("_"), cst.Name(keyword == "alpha" and "add" or "addcmul")), args=args[1:]))
    return None if inner is None else call.with_changes(args=[args[0], *inner.args])


class AddScalarOverload(Rule):
    """
    ## What it does
    Checks for the deprecated scalar-first overloads `x.add_(scalar, other)`, `x.sub_(scalar, other)`,
    `x.addcmul_(value, t1, t2)`, `x.addcdiv_(value, t1, t2)` (and their out-of-place and `torch.`
    function forms), as in the 0.3 optimizers: `p.data.add_(-group['lr'], d_p)`,
    `exp_avg.mul_(beta1).add_(1 - beta1, grad)`.

    ## Why is this bad?
    Modern PyTorch still accepts these overloads only for compatibility, with a warning ("This overload
    of add_ is deprecated: add_(Number alpha, Tensor other)"). The current signatures take the scalar
    as a keyword: `add_(other, alpha=scalar)` and `addcmul_(t1, t2, value=scalar)`.

    ## Fix safety
    On a tensor, a second positional argument of `add_`/`sub_` (a third one of `addcmul_`/`addcdiv_`)
    only ever binds through the deprecated overload, which parses the first argument as a Number, the
    same way the `alpha=`/`value=` keyword is parsed; so the rewrite is exact (checked on 2.13 for
    floats, ints, numpy scalars and 0-dim tensors). The fix is safe when the receiver is known to be a
    tensor, or the method is an in-place one (`add_`) and the first argument reads as a scalar (`-lr`,
    `1 - beta1`, `group['lr']`). Otherwise it is unsafe: it is right only if the receiver is a tensor
    rather than an object of your own with an `add(a, b)` method.

    ## References
    - [`torch.Tensor.add_`](https://pytorch.org/docs/stable/generated/torch.Tensor.add_.html)
    - [`torch.addcmul`](https://pytorch.org/docs/stable/generated/torch.addcmul.html)
    """

    CODE = "VM305"
    MESSAGE = "Deprecated scalar-first overload: pass the scalar as `alpha=`/`value=`"
    FIX_TITLE = "Move the scalar to the `alpha=`/`value=` keyword"
    FIX = Safety.SAFE
    TRIGGERS = (".add(", ".add_(", ".sub(", ".sub_(", "addcmul", "addcdiv")

    VALID = [
        Valid("import torch\ndef step(p, g, lr):\n    p.add_(g, alpha=-lr)\n"),
        Valid("import torch\ndef log(meter, loss, n):\n    meter.add(loss, n)\n"),
        Valid("import torch\ndef step(a, b):\n    return a.add(b)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ndef adam(exp_avg, exp_avg_sq, grad, beta1, beta2):\n"
            "    exp_avg.mul_(beta1).add_(1 - beta1, grad)\n    exp_avg_sq.mul_(beta2).addcmul_(1 - beta2, grad, grad)\n",
            expected_replacement="import torch\ndef adam(exp_avg, exp_avg_sq, grad, beta1, beta2):\n"
            "    exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)\n    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)\n",
            message="Deprecated scalar-first overload: pass the scalar as `alpha=`/`value=`", range=(3, 5, 3, 46),
        ),
        Invalid(
            "import torch\ndef sgd(params, lr):\n    for p in params:\n        p.grad.add_(0.1, p)\n        p.add_(-lr, p.grad)\n",
            expected_replacement="import torch\ndef sgd(params, lr):\n    for p in params:\n"
            "        p.grad.add_(p, alpha=0.1)\n        p.add_(p.grad, alpha=-lr)\n",
            message="Deprecated scalar-first overload: pass the scalar as `alpha=`/`value=`", range=(4, 9, 4, 28),
        ),
        Invalid(
            "import torch\nx = torch.ones(3)\ny = torch.add(x, 2, x)\n",
            expected_replacement="import torch\nx = torch.ones(3)\ny = torch.add(x, x, alpha=2)\n",
            message="Deprecated scalar-first overload: pass the scalar as `alpha=`/`value=`", range=(3, 5, 3, 23),
        ),
        Invalid(
            "import torch\ndef f(acc, b):\n    return acc.add(0.5, b)\n",
            expected_replacement="import torch\ndef f(acc, b):\n    return acc.add(b, alpha=0.5)\n",
            expected_safe_replacement="import torch\ndef f(acc, b):\n    return acc.add(0.5, b)\n",
            message="(unsafe: only if `acc` is a tensor)", range=(3, 12, 3, 27),
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        q = self.ctx.imports.qualified(node.func)
        if q in _FUNCTIONS:
            keyword, count = _FUNCTIONS[q]
            new = _fix_function(node, keyword, count)
            if new is not None:
                self.report(node, edits=[self.edit(lambda updated: _fix_function(cast(cst.Call, updated), keyword, count) or updated)])
            return
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in _METHODS or q is not None:
            return
        if fix_add_scalar_overload(node) is None:
            return
        receiver, method = func.value, func.attr.value
        first = node.args[0].value
        tensor = self.ctx.tensors.is_tensor(receiver) or (
            isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute) and receiver.func.attr.value.endswith("_"))
        if tensor or (method.endswith("_") and scalar_looking(first)):
            safety, why = Safety.SAFE, ""
        elif method.endswith("_") or scalar_looking(first):
            safety, why = Safety.UNSAFE, f" (unsafe: only if `{self.ctx.code(receiver)}` is a tensor)"
        else:
            return  # `meter.add(value, n)`: nothing says this is torch's add
        self.report(node, self.MESSAGE + why, [self.edit(lambda updated: fix_add_scalar_overload(cast(cst.Call, updated)) or updated, safety)])
