from __future__ import annotations

from typing import Optional

import libcst as cst

from ..analysis.nodes import (
    factory_call,
    is_detach_call,
    is_fresh_tensor,
    is_variable,
    literal_bool,
    variable_args,
)
from ..rewrite.calls import add_keyword, call_replacement, unwrap_arg
from ..rewrite.expressions import detach_data_root, method_call, torch_attr
from ..rule import Edit, Invalid, Rule, Safety, Valid

_FLAG_CONDITION = (
    "only if `{flag}` is a real `bool` (`requires_grad_()` and factories reject the ints, numpy bools and "
    "0-dim tensors the legacy constructor accepted)"
)


class VariableRequiresGrad(Rule):
    """
    ## What it does
    Checks for `Variable(x, requires_grad=True)` and the positional `Variable(x, True)` (also `1`),
    and for a non-literal flag, `Variable(x, requires_grad=flag)`.

    ## Why is this bad?
    Since PyTorch 0.4 tensors carry `requires_grad` themselves. On modern PyTorch the legacy
    constructor is exactly `x.detach().requires_grad_(flag)`: the result is a **new leaf** that
    shares `x`'s storage, gets its own `.grad`, and passes no gradient back to `x`. Keeping the
    wrapper hides that detach and depends on a shim.

    ## Fix safety
    - A torch factory (`torch.randn(3)`, `torch.zeros(...)`, `torch.tensor(...)`, ...) gets
      `requires_grad=True` folded in: bitwise-equal values, the same random draws, the same errors
      (safe).
    - `torch.from_numpy(a)` and other fresh temporaries (legacy constructors such as
      `torch.FloatTensor([1, 2])`, `x.new(...)`, conversion chains on those) get `.requires_grad_()`:
      nothing else references them (safe; on an integer tensor both forms raise, with different
      wording).
    - `Variable(h.data, requires_grad=True)` becomes `h.detach().requires_grad_()` (safe).
    - Any other expression gets `x.detach().requires_grad_()` (safe). The shorter
      `x.requires_grad_()` is offered as the unsafe alternative: it is equivalent only if `x` is a
      leaf that does not require grad yet and nothing else uses `x` afterwards (otherwise `x`
      itself starts requiring grad, or gradient reaches a Parameter or an upstream leaf). It is
      not offered for a name read again in its scope, or by a loop around the call that does not
      bind it anew.
    - A non-literal flag (`requires_grad=flag`) makes every rewrite unsafe: `requires_grad_()`
      and the factories accept only a real `bool`, where the legacy constructor also took `1` or a
      0-dim tensor.

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
    - `torch/csrc/autograd/python_legacy_variable.cpp` (`THPVariable_pynew`)
    - SEMANTICS.md, table B
    """

    CODE = "VM102"
    MESSAGE = (
        "`Variable(x, requires_grad=True)` is a legacy constructor: on PyTorch >= 0.4 it returns "
        "`x.detach().requires_grad_()`"
    )
    FIX_TITLE = "Replace with `x.detach().requires_grad_()`"
    FIX = Safety.SAFE
    TRIGGERS = ("Variable",)

    VALID = [
        Valid("import torch\nw = torch.randn(3, requires_grad=True)\n"),
        Valid("import torch\nfrom torch.autograd import Variable\nw = Variable(x, requires_grad=False)\n"),
        Valid("import torch\nfrom torch.autograd import Variable\nw = Variable(x, requires_grad=True, volatile=flag)\n"),
        Valid("import torch\nclass Variable:\n    pass\nw = Variable(x, requires_grad=True)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nw = Variable(torch.randn(3, 4), requires_grad=True)\n",
            expected_replacement="import torch\nw = torch.randn(3, 4, requires_grad=True)\n",
            message="`Variable(factory(...), requires_grad=True)` is a legacy wrapper: pass `requires_grad=True` to the factory", range=(3, 5, 3, 52),
        ),
        Invalid(
            "import numpy as np\nimport torch\nfrom torch.autograd import Variable\nw = Variable(torch.from_numpy(a), True)\n",
            expected_replacement="import numpy as np\nimport torch\nw = torch.from_numpy(a).requires_grad_()\n",
            message="`Variable(new_tensor, requires_grad=True)` is a legacy wrapper: call `.requires_grad_()` on the new tensor", range=(4, 5, 4, 40),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nw = Variable(torch.FloatTensor([1, 2]), requires_grad=True)\n",
            expected_replacement="import torch\nw = torch.FloatTensor([1, 2]).requires_grad_()\n",
            message="`Variable(new_tensor, requires_grad=True)` is a legacy wrapper: call `.requires_grad_()` on the new tensor", range=(3, 5, 3, 60),
        ),
        Invalid(
            # The same `x` wrapped on every pass of the loop (an input-gradient step): each pass
            # needs a new leaf, so only the safe form is offered.
            "import torch\nfrom torch.autograd import Variable\ndef steps(model, x, n):\n    for _ in range(n):\n"
            "        xv = Variable(x, requires_grad=True)\n        model(xv).sum().backward()\n        yield xv.grad\n",
            expected_replacement="import torch\ndef steps(model, x, n):\n    for _ in range(n):\n"
            "        xv = x.detach().requires_grad_()\n        model(xv).sum().backward()\n        yield xv.grad\n",
            message="`Variable(x, requires_grad=True)` is a legacy constructor", range=(5, 14, 5, 45),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\ndef f(x):\n    return Variable(x, requires_grad=True)\n",
            expected_replacement="import torch\ndef f(x):\n    return x.requires_grad_()\n",
            expected_safe_replacement="import torch\ndef f(x):\n    return x.detach().requires_grad_()\n",
            message="the shorter `x.requires_grad_()` is equivalent only if `x` is a leaf", range=(4, 12, 4, 43),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\ndef f(x, train):\n    return Variable(x, requires_grad=train)\n",
            expected_replacement="import torch\ndef f(x, train):\n    return x.detach().requires_grad_(train)\n",
            message="the rewrite is equivalent only if `train` is a real `bool`", range=(4, 12, 4, 44),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\ndef f(train):\n    return Variable(torch.zeros(2), requires_grad=train)\n",
            expected_replacement="import torch\ndef f(train):\n    return torch.zeros(2, requires_grad=train)\n",
            message="the rewrite is equivalent only if `train` is a real `bool`", range=(4, 12, 4, 57),
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not is_variable(self.ctx, node.func):
            return
        args = variable_args(node)
        if not args.simple or args.volatile is not None or args.requires_grad is None:
            return  # `volatile=` first goes through variable-volatile
        flag = args.requires_grad.value
        literal = literal_bool(flag)
        if literal is False:
            return  # variable-wrapper
        data_arg = args.data
        if data_arg is not None and isinstance(data_arg.value, cst.Name) and data_arg.value.value == "None":
            data_arg = None  # `Variable(None, ...)` is `Variable(...)`
        if literal:
            self._literal_true(node, data_arg)
        else:
            self._flag(node, data_arg, flag)

    def _literal_true(self, node: cst.Call, data_arg: Optional[cst.Arg]) -> None:
        true = cst.Name("True")
        if data_arg is None:
            new = add_keyword(torch_attr(self.ctx.torch, "empty(0)"), "requires_grad", true)  # type: ignore[arg-type]
            self.report(node, edits=[self._edit(node, new, Safety.SAFE, "Replace with `torch.empty(0, requires_grad=True)`", True)])
            return
        data = data_arg.value
        inner = unwrap_arg(node, data_arg)
        factory = factory_call(self.ctx, data)
        if factory is not None:
            folded = add_keyword(inner, "requires_grad", true)  # type: ignore[arg-type]
            self.report(node, "`Variable(factory(...), requires_grad=True)` is a legacy wrapper: pass "
                              "`requires_grad=True` to the factory",
                        [self._edit(node, folded, Safety.SAFE, "Fold `requires_grad=True` into the factory call")])
        elif is_fresh_tensor(self.ctx, data) or is_detach_call(data):
            self.report(node, "`Variable(new_tensor, requires_grad=True)` is a legacy wrapper: call "
                              "`.requires_grad_()` on the new tensor",
                        [self._edit(node, method_call(detach_data_root(inner), "requires_grad_"), Safety.SAFE, "Replace with `.requires_grad_()`")])
        elif isinstance(data, cst.Attribute) and data.attr.value == "data":
            base = unwrap_arg(node, data_arg.with_changes(value=data.value))
            new = method_call(method_call(base, "detach"), "requires_grad_")
            self.report(node, edits=[self._edit(node, new, Safety.SAFE, "Replace with `h.detach().requires_grad_()`")])
        elif not self._fresh(inner):
            # `x` is read again (later, or by the next pass of a loop around the call): after
            # `x.requires_grad_()` it would be the same leaf each time, its gradients accumulating.
            self.report(node, edits=[self._edit(node, method_call(method_call(inner, "detach"), "requires_grad_"), Safety.SAFE)])
        else:
            self.report(
                node,
                self.MESSAGE + "; the shorter `x.requires_grad_()` is equivalent only if `x` is a leaf that does "
                "not require grad and nothing else uses `x` afterwards",
                [
                    self._edit(node, method_call(inner, "requires_grad_"), Safety.UNSAFE,
                               "Replace with `x.requires_grad_()` (unsafe: only if `x` is a fresh leaf used nowhere else)"),
                    self._edit(node, method_call(method_call(inner, "detach"), "requires_grad_"), Safety.SAFE),
                ],
            )

    def _flag(self, node: cst.Call, data_arg: Optional[cst.Arg], flag: cst.BaseExpression) -> None:
        flag_code = self.ctx.code(flag)
        condition = _FLAG_CONDITION.format(flag=flag_code)
        message = (f"`Variable(x, requires_grad={flag_code})` is a legacy constructor: on PyTorch >= 0.4 it returns "
                   f"`x.detach().requires_grad_({flag_code})`; the rewrite is equivalent {condition}")
        flag_arg = [cst.Arg(flag)]
        if data_arg is None:
            new: cst.BaseExpression = add_keyword(torch_attr(self.ctx.torch, "empty(0)"), "requires_grad", flag)  # type: ignore[arg-type]
            self.report(node, message, [self._edit(node, new, Safety.UNSAFE, f"Replace with `torch.empty(0, requires_grad={flag_code})`", True)])
            return
        data = data_arg.value
        inner = unwrap_arg(node, data_arg)
        if factory_call(self.ctx, data) is not None:
            new = add_keyword(inner, "requires_grad", flag)  # type: ignore[arg-type]
            title = f"Fold `requires_grad={flag_code}` into the factory call"
        elif is_fresh_tensor(self.ctx, data) or is_detach_call(data):
            new = method_call(detach_data_root(inner), "requires_grad_", flag_arg)
            title = f"Replace with `.requires_grad_({flag_code})`"
        else:
            if isinstance(data, cst.Attribute) and data.attr.value == "data":
                inner = unwrap_arg(node, data_arg.with_changes(value=data.value))
            new = method_call(method_call(inner, "detach"), "requires_grad_", flag_arg)
            title = f"Replace with `x.detach().requires_grad_({flag_code})`"
        self.report(node, message, [self._edit(node, new, Safety.UNSAFE, f"{title} (unsafe: `{flag_code}` must be a bool)")])

    def _fresh(self, inner: cst.BaseExpression) -> bool:
        """Whether a name `x` is read nowhere else in its scope and not again by a loop around the
        call that does not bind it anew (other expressions: not known, the condition stands)."""
        if not isinstance(inner, cst.Name):
            return True
        scopes = self.ctx.data_uses.scopes
        if scopes.uses(inner):
            return False
        scope = scopes.scope_of(inner)
        bound_in = [set(map(id, self.ctx.ancestors(b))) for b in scopes.bindings(inner)]
        for node in reversed(self.ctx.ancestors(inner)):
            if node is scope:
                break
            if isinstance(node, (cst.For, cst.While)) and not any(id(node) in chain for chain in bound_in):
                return False
        return True

    def _edit(self, node: cst.Call, new: cst.BaseExpression, safety: Safety, title: Optional[str] = None,
              needs_torch: bool = False) -> Edit:
        new, safety, lost = call_replacement(node, new, safety)
        if lost:
            title = f"{title or self.FIX_TITLE} (unsafe: drops a comment inside the call)"
        return self.edit(new, safety, title, needs_torch)
