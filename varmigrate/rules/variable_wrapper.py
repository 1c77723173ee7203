from __future__ import annotations

import libcst as cst

from ..analysis.nodes import (
    VARIABLE,
    VariableArgs,
    is_builtin_call,
    is_detach_call,
    is_fresh_tensor,
    is_variable,
    literal_bool,
    short_code,
    variable_args,
)
from ..analysis.volatile_scope import under_no_grad
from ..rewrite.calls import call_replacement, unwrap_arg
from ..rewrite.expressions import detach_data_root, method_call, receiver_for_attribute, torch_attr
from ..rule import Edit, Invalid, Rule, Safety, Valid

# Data arguments the legacy constructor rejects with `TypeError: Variable data has to be a tensor`.
_NOT_TENSOR_LITERALS = (
    cst.List, cst.Tuple, cst.Dict, cst.Set, cst.ListComp, cst.Integer, cst.Float, cst.SimpleString,
    cst.ConcatenatedString, cst.FormattedString,
)


class VariableWrapper(Rule):
    """
    ## What it does
    Checks for calls of the legacy `torch.autograd.Variable(x)` constructor that do not ask for
    gradients (`Variable(x)`, `Variable(x, requires_grad=False)`, `Variable(x, False)`,
    `Variable(data=x)`, `Variable()`), under any import spelling (`V`, `ag.Variable`,
    `torch.autograd.variable.Variable`, a star import).

    ## Why is this bad?
    Since PyTorch 0.4 tensors track gradients themselves and `Variable` survives only as a shim.
    The shim is not a no-op: on modern PyTorch `Variable(x)` returns `x.detach()`, a new leaf that
    shares `x`'s storage and never passes gradient back to `x`. Code that keeps the wrapper reads as
    if it did something 0.3-specific and hides that detach.

    ## Fix safety
    `Variable(x)` becomes `x.detach()`, which is exactly what the shim does (safe). When `x` is a
    fresh temporary that cannot require grad (a torch factory such as `torch.randn(3)`, a legacy
    constructor from sizes or data such as `torch.FloatTensor(2, 3)`, `x.new(...)`, `x.detach()`, or
    a conversion chain such as `.float()`/`.cuda()` on one of those, or a copy of detached values
    such as `x.data.repeat(1, k)` or `x.data.view(-1).exp()`, whose root `.data` becomes
    `.detach()`, or a conversion of detached values such as `x.data.cuda()`), nothing else can see it,
    and the wrapper is dropped (safe). So is the wrapper of `Variable(x).detach()`, a detach of a
    detach (safe). Not a view of one
    (`torch.randn(3, 4).t()`): `Variable(...)` of a view is not a view, and written in place with an
    operand that requires grad, a view gets another `grad_fn`. `Variable(h.data)`, the truncated-backprop idiom, becomes
    `h.detach()` (safe). For any other expression, dropping the wrapper altogether is offered as an
    unsafe fix: it is equivalent only if `x` does not require grad and no later code changes the
    result's metadata or identity (`requires_grad_()`, `resize_()`, hooks, `is`). `Variable()` and
    `Variable(None)` become `torch.empty(0)` (safe). `Variable([1., 2.])` and other non-tensor data
    raise `TypeError` on modern PyTorch: reported without a fix. Comments inside the call are kept
    (in parentheses); a fix that would lose one is downgraded to unsafe.

    Calls whose arguments are not all known are reported too: `Variable(x, **opts)` and
    `Variable(*batch)` without a fix (what they do depends on the keywords), `Variable(x,
    _grad_fn=f)` without a fix (it raises on modern PyTorch), and `Variable(x, name='w')` with
    `x.detach()` as an unsafe fix (equivalent only if nothing reads the result's `.name`).

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
    - `torch/csrc/autograd/python_legacy_variable.cpp` (`THPVariable_pynew`)
    - SEMANTICS.md, table A
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
        Valid("import torch\nfrom torch.autograd import Variable\nv = Variable(x, volatile=True)\n"),
        Valid("import torch\nfrom torch.autograd import Variable\nv = Variable(x, requires_grad=flag)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(3))\n",
            expected_replacement="import torch\nx = torch.ones(3)\n",
            message="`Variable(torch.ones(3))` wraps a new tensor: the `Variable(...)` wrapper is a no-op on PyTorch >= 0.4", range=(3, 5, 3, 28),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\ndef f(h):\n    return Variable(h.data)\n",
            expected_replacement="import torch\ndef f(h):\n    return h.detach()\n",
            message="`Variable(h.data)` is the legacy way to cut the graph: use `h.detach()`", range=(4, 12, 4, 28),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\ndef f(x, model):\n    return model(Variable(x))\n",
            expected_replacement="import torch\ndef f(x, model):\n    return model(x)\n",
            expected_safe_replacement="import torch\ndef f(x, model):\n    return model(x.detach())\n",
            message="`Variable(x)` is a legacy wrapper: on PyTorch >= 0.4 it returns `x.detach()`, which the safe fix writes", range=(4, 18, 4, 29),
        ),
        Invalid(
            "import torch.autograd as ag\nv = ag.Variable()\n",
            expected_replacement="import torch\nimport torch.autograd as ag\nv = torch.empty(0)\n",
            message="`Variable()` is a legacy constructor: on PyTorch >= 0.4 it returns an empty tensor", range=(2, 5, 2, 18),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable as V\nv = V(x, False)\n",
            expected_replacement="import torch\nv = x\n",
            expected_safe_replacement="import torch\nv = x.detach()\n",
            message="`V(x, False)` is a legacy wrapper: on PyTorch >= 0.4 it returns `x.detach()`, which the safe fix writes", range=(3, 5, 3, 16),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nv = Variable(Variable(x))\n",
            expected_replacement="import torch\nv = x\n",
            expected_safe_replacement="import torch\nv = x.detach()\n",
            message="`Variable(Variable(x))` is a legacy wrapper: on PyTorch >= 0.4 it returns `Variable(x).detach()`", range=(3, 5, 3, 26),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nv = Variable([1.0, 2.0])\n",
            message="`Variable(...)` of non-tensor data raises `TypeError` on PyTorch >= 0.4; build the tensor with `torch.tensor(...)`",
            range=(3, 5, 3, 25),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\ndef wrap(x, **opts):\n    return Variable(x, **opts)\n",
            message="`Variable(x, **opts)` is a legacy constructor whose arguments are not known here", range=(4, 12, 4, 31),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\ndef wrap(batch):\n    return Variable(*batch)\n",
            message="`Variable(*batch)` is a legacy constructor whose arguments are not known here", range=(4, 12, 4, 28),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nw = Variable(torch.ones(3), name='w')\n",
            expected_replacement="import torch\nw = torch.ones(3).detach()\n",
            message="it returns `torch.ones(3).detach()` with a `name` attribute set", range=(3, 5, 3, 38),
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not is_variable(self.ctx, node.func):
            return
        args = variable_args(node)
        if args.volatile is not None:
            return  # variable-volatile's
        if not args.simple:
            self._report_other_arguments(node, args)
            return
        if args.requires_grad is not None and literal_bool(args.requires_grad.value) is not False:
            return  # variable-requires-grad
        data_arg = args.data
        if data_arg is None or (isinstance(data_arg.value, cst.Name) and data_arg.value.value == "None"):
            empty = torch_attr(self.ctx.torch, "empty(0)")
            self.report(node, "`Variable()` is a legacy constructor: on PyTorch >= 0.4 it returns an empty tensor",
                        [self._edit(node, empty, Safety.SAFE, "Replace with `torch.empty(0)`", needs_torch=True)])
            return
        data = data_arg.value
        if isinstance(data, _NOT_TENSOR_LITERALS):
            self.report(node, "`Variable(...)` of non-tensor data raises `TypeError` on PyTorch >= 0.4; "
                              "build the tensor with `torch.tensor(...)`")
            return
        inner = unwrap_arg(node, data_arg)
        call, x = short_code(self.ctx, node), short_code(self.ctx, data, 30)
        # `Variable(x % 2)` returns `(x % 2).detach()`: the message spells what the fix writes.
        xd = short_code(self.ctx, receiver_for_attribute(data), 32)
        if isinstance(data, cst.Attribute) and data.attr.value == "data":
            # Variable(h.data): a detach of a detach, and `.data`'s extra version counter goes away.
            detached = method_call(unwrap_arg(node, data_arg.with_changes(value=data.value)), "detach")
            h = short_code(self.ctx, data.value, 30)
            self.report(node, f"`{call}` is the legacy way to cut the graph: use `{h}.detach()`",
                        [self._edit(node, detached, Safety.SAFE, f"Replace `{call}` with `{h}.detach()`")])
        elif self._detached_at_once(node):
            self.report(node, f"`{call}` is detached at once: `{call}.detach()` is `{x}.detach()`",
                        [self._edit(node, detach_data_root(inner), Safety.SAFE, "Remove the `Variable` wrapper")])
        elif is_fresh_tensor(self.ctx, data) or is_detach_call(data):
            self.report(node, f"`{call}` wraps a new tensor: the `Variable(...)` wrapper is a no-op on PyTorch >= 0.4",
                        [self._edit(node, detach_data_root(inner), Safety.SAFE, "Remove the `Variable` wrapper")])
        elif self._consumed_under_no_grad(node):
            self.report(node, f"`{call}` is a legacy wrapper: on PyTorch >= 0.4 it returns `{x}.detach()`, which under "
                              "`no_grad` changes nothing for the operation that takes it",
                        [self._edit(node, inner, Safety.SAFE, "Remove the `Variable` wrapper")])
        else:
            self.report(
                node,
                # The message says what the safe fix does; the unsafe alternative's condition is in its title.
                f"`{call}` is a legacy wrapper: on PyTorch >= 0.4 it returns `{xd}.detach()`, which the safe fix writes",
                [
                    self._edit(node, inner, Safety.UNSAFE,
                               f"Remove the `Variable` wrapper (unsafe: equivalent only if `{x}` does not require grad and "
                               "nothing later changes the result's `requires_grad`, size or identity)"),
                    self._edit(node, method_call(inner, "detach"), Safety.SAFE, f"Replace `{call}` with `{xd}.detach()`"),
                ],
            )

    def _report_other_arguments(self, node: cst.Call, args: VariableArgs) -> None:
        """`Variable(x, **opts)`, `Variable(*batch)`, `Variable(x, name='w')`, `Variable(x, _grad_fn=f)`:
        reported, and fixed only where every argument is known."""
        call = short_code(self.ctx, node)
        starred = [a for a in args.others if a.star]
        keywords = {a.keyword.value for a in args.others if a.keyword is not None}
        if starred:
            self.report(node, f"`{call}` is a legacy constructor whose arguments are not known here: on PyTorch >= 0.4 "
                        "`Variable(x, requires_grad=r)` is `x.detach().requires_grad_(r)` and `volatile=` has no effect; "
                        "spell the call out")
            return
        if "_grad_fn" in keywords or keywords - {"name"} or any(a.keyword is None for a in args.others):
            self.report(node, f"`{call}`: the `_grad_fn` argument (and any argument past `volatile`) is rejected by "
                        "the legacy constructor on PyTorch >= 0.4 (`TypeError`/`RuntimeError`); build the tensor itself")
            return
        data = args.data
        if data is None or (args.requires_grad is not None and literal_bool(args.requires_grad.value) is not False):
            self.report(node, f"`{call}` is a legacy constructor: the tensor has no `name` on PyTorch >= 0.4 beyond "
                        "the attribute it sets; use `x.detach().requires_grad_()` and keep the name yourself")
            return
        x = short_code(self.ctx, receiver_for_attribute(data.value), 32)
        detached = method_call(unwrap_arg(node, data), "detach")
        self.report(node, f"`{call}` is a legacy constructor: on PyTorch >= 0.4 it returns `{x}.detach()` with a "
                    "`name` attribute set",
                    [self._edit(node, detached, Safety.UNSAFE,
                                f"Replace `{call}` with `{x}.detach()` (unsafe: only if nothing reads the result's `.name`)")])

    def visit_Arg(self, node: cst.Arg) -> None:
        # `map(Variable, batch)`, `functools.partial(Variable, volatile=True)`: the constructor as a value.
        if not is_variable(self.ctx, node.value):
            return
        call = self.ctx.parent(node)
        if not isinstance(call, cst.Call) or any(is_builtin_call(self.ctx, call, f) for f in ("isinstance", "issubclass")):
            return  # isinstance/issubclass belong to variable-isinstance / variable-issubclass
        self.report(
            node.value,
            f"`{self.ctx.code(node.value)}` passed as a function: on PyTorch >= 0.4 it returns its argument detached; "
            "pass `torch.Tensor.detach` (equivalent for tensor arguments), or drop the call if the values do not "
            "require grad",
        )

    def _detached_at_once(self, node: cst.Call) -> bool:
        """`Variable(x).detach()`: a detach of a detach. Both are new tensors (not views) that share
        `x`'s storage and version counter and do not require grad; the inner one is a temporary."""
        parent = self.ctx.parent(node)
        if not (isinstance(parent, cst.Attribute) and parent.value is node and parent.attr.value == "detach"):
            return False
        call = self.ctx.parent(parent)
        return isinstance(call, cst.Call) and call.func is parent and not call.args

    def _consumed_under_no_grad(self, node: cst.Call) -> bool:
        """`model(Variable(x))`, `Variable(x) * 2` inside `with torch.no_grad():`: the operation records
        nothing whether it gets `x` or `x.detach()`, and its result is a new tensor either way."""
        parent, child = self.ctx.tree.expr_parent(node)
        if isinstance(parent, cst.BinaryOperation):
            consumed = True
        elif isinstance(parent, cst.Call) and isinstance(child, cst.Arg) and child.keyword is None:
            func = parent.func
            q = self.ctx.imports.qualified(func) or ""
            consumed = self.ctx.tensors.is_module(func) or (q.startswith("torch.") and q != VARIABLE)
        else:
            consumed = False
        return consumed and under_no_grad(self.ctx, node)

    def _edit(self, node: cst.Call, new: cst.BaseExpression, safety: Safety, title: str | None = None,
              needs_torch: bool = False) -> Edit:
        new, safety, lost = call_replacement(node, new, safety)
        if lost:
            title = f"{title or self.FIX_TITLE} (unsafe: drops a comment inside the call)"
        return self.edit(new, safety, title, needs_torch)
