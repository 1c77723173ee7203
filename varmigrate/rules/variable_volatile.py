from __future__ import annotations

import libcst as cst

from ..analysis.nodes import is_variable, literal_bool, variable_args
from ..analysis.volatile_scope import volatile_scope
from ..rewrite.calls import call_replacement, drop_argument, replace_call
from ..rewrite.no_grad import grad_enabled_argument, rewrite_statements, wrap_statements
from ..rule import Edit, Invalid, Rule, Safety, Valid


class VariableVolatile(Rule):
    """
    ## What it does
    Checks for the `volatile=` argument of the legacy `Variable(...)` constructor
    (`Variable(x, volatile=True)`, `volatile=flag`, `volatile=False`).

    ## Why is this bad?
    `volatile` was removed in PyTorch 0.4 and has **no effect**: besides a `UserWarning`, the
    constructor ignores it, so code meant to run without autograd (evaluation, inference, sampling)
    builds a graph and keeps its buffers alive. `with torch.no_grad():` is the replacement. Under
    `python -W error` the keyword even makes the constructor raise.

    ## Fix safety
    Two fixes, the first applied with `--unsafe-fixes`, the second by `fix`:
    - **Scope** (unsafe): drop the keyword and put the statements that use the volatile value
      under `with torch.no_grad():` (`torch.set_grad_enabled(not flag)` for a non-literal flag):
      a contiguous run of statements of the innermost block that holds every use, from the
      statement that creates the value to the last one that reads anything derived from it. Uses
      are followed through the data flow: a re-assignment ends a value's live range (a training
      loop that re-uses the names `inputs`/`output` is not a use), and a value is carried to the
      next loop iteration only when it is read there before being re-assigned (an RNN hidden
      state: the scope then starts at that read). This restores the 0.3 intent, but it is
      equivalent only if (1) the scope covers every operation that uses the volatile value,
      directly or through values computed from it (0.3 volatility followed the data flow;
      `no_grad` is lexical), (2) nothing else in it needs gradients (`no_grad` stops those too),
      and (3) nothing inspects `requires_grad`/`grad_fn` of the results or calls `backward` on
      them. The fix checks what it can: it is not offered when the value escapes (returned,
      yielded, stored on an object, appended to a container, captured by a lambda or a nested
      function, bound to a `global`), when its autograd state is read, when the scope would hold a
      `backward`, an optimizer `step()` or an `autograd.grad`, or when a value computed in the scope
      from other inputs reaches a graph operation after it. Calls into other functions are not
      followed.
    - **Drop the keyword** (safe): the call without `volatile=` does exactly what it does now on
      PyTorch 2.x (minus the warning); the remaining `Variable(x)` is then handled by
      variable-wrapper. When `requires_grad=` is also given and one of the two flags is not a
      literal, dropping is unsafe (the legacy call raises `ValueError` when both are true). With both
      literally true the call always raises: reported without a fix.
    `volatile=False` is the default and is simply dropped (safe).

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
      ("The volatile flag is now deprecated and has no effect")
    - `torch/csrc/autograd/python_legacy_variable.cpp` (`THPVariable_pynew`)
    - SEMANTICS.md, table C
    """

    CODE = "VM103"
    MESSAGE = (
        "`volatile=True` has no effect on PyTorch >= 0.4 (a graph is built anyway); "
        "`with torch.no_grad():` restores the intent"
    )
    FIX_TITLE = "Remove `volatile=`"
    FIX = Safety.SAFE
    TRIGGERS = ("volatile",)

    VALID = [
        Valid("import torch\nfrom torch.autograd import Variable\nv = Variable(x)\n"),
        Valid("import torch\nclass Variable:\n    pass\nv = Variable(x, volatile=True)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom torch.autograd import Variable\n\n\ndef predict(model, x):\n"
            "    v = Variable(x, volatile=True)\n    return model(v)\n",
            expected_replacement="import torch\nfrom torch.autograd import Variable\n\n\ndef predict(model, x):\n"
            "    v = Variable(x)\n    return model(v)\n",
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\n\n\ndef test(model, loader):\n"
            "    correct = 0\n"
            "    for data, target in loader:\n"
            "        data = Variable(data, volatile=True)\n"
            "        output = model(data)\n"
            "        correct += output.data.max(1)[1].eq(target).sum()\n"
            "    return correct\n",
            expected_replacement="import torch\nfrom torch.autograd import Variable\n\n\ndef test(model, loader):\n"
            "    correct = 0\n"
            "    for data, target in loader:\n"
            "        with torch.no_grad():\n"
            "            data = Variable(data)\n"
            "            output = model(data)\n"
            "            correct += output.data.max(1)[1].eq(target).sum()\n"
            "    return correct\n",
            expected_safe_replacement="import torch\nfrom torch.autograd import Variable\n\n\ndef test(model, loader):\n"
            "    correct = 0\n"
            "    for data, target in loader:\n"
            "        data = Variable(data)\n"
            "        output = model(data)\n"
            "        correct += output.data.max(1)[1].eq(target).sum()\n"
            "    return correct\n",
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nv = Variable(x, volatile=False)\n",
            expected_replacement="import torch\nfrom torch.autograd import Variable\nv = Variable(x)\n",
        ),
        Invalid("import torch\nfrom torch.autograd import Variable\nv = Variable(x, requires_grad=True, volatile=True)\n"),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not is_variable(self.ctx, node.func):
            return
        args = variable_args(node)
        if args.volatile is None:
            return
        volatile = literal_bool(args.volatile.value)
        flag_code = self.ctx.code(args.volatile.value)
        rg = literal_bool(args.requires_grad.value) if args.requires_grad is not None else False
        if volatile is not False and rg is True and volatile is True:
            self.report(node, "`Variable(x, requires_grad=True, volatile=True)` raises `ValueError` on PyTorch >= 0.4 "
                              "(and did in 0.3): decide which of the two flags you meant")
            return
        dropped = drop_argument(node, args.volatile)
        if volatile is False:
            self.report(node, "`volatile=False` is a legacy argument with no effect", [self._drop(node, dropped, Safety.SAFE)])
            return
        message = self.MESSAGE if volatile else (
            f"`volatile={flag_code}` has no effect on PyTorch >= 0.4 (a graph is built anyway); "
            f"`with torch.set_grad_enabled({grad_enabled_argument(args.volatile.value, self.ctx.code)}):` restores the intent")
        drop_safety = Safety.SAFE
        if args.requires_grad is not None and rg is not False:
            drop_safety = Safety.UNSAFE
            message += ("; removing `volatile=` is right only if it and `requires_grad=` are never both true "
                        "(the legacy call raises `ValueError` then)")
        if not args.simple:
            self.report(node, message)  # `name=`/`_grad_fn=`: variable-wrapper leaves those to a person too
            return
        scope = volatile_scope(self.ctx, node)
        if scope is None:
            self.report(node, message, [self._drop(node, dropped, drop_safety)])
            return
        manager = "no_grad()" if volatile else f"set_grad_enabled({grad_enabled_argument(args.volatile.value, self.ctx.code)})"
        # The message says what the safe fix does; the unsafe alternative's condition is in its title.
        message += (f"; the safe fix drops the argument (results then record a graph, as they already do), the "
                    f"unsafe fix also puts {scope.where} under `torch.{manager}`")
        rewrite = replace_call(self.ctx.code(node), dropped)
        size = len(scope.block.body)
        # Reported at the call; both edits rewrite the enclosing block (one replacement node per finding).
        self.report(node, message, fix_node=scope.block, edits=[
            self.edit(wrap_statements(size, scope.start, scope.end, rewrite, f"{self.ctx.torch}.{manager}"), Safety.UNSAFE,
                      f"Remove `volatile=` and put {scope.where} under `torch.{manager}` (unsafe: equivalent only if that "
                      "block holds every use of the volatile value, nothing else in it needs gradients, and nothing "
                      "inspects `requires_grad`/`grad_fn` of the results)", needs_torch=True),
            self.edit(rewrite_statements(size, scope.start, scope.end, rewrite), drop_safety),
        ])

    def _drop(self, node: cst.Call, dropped: cst.Call, safety: Safety) -> Edit:
        new, safety, lost = call_replacement(node, dropped, safety)
        title = self.FIX_TITLE + (" (unsafe: drops a comment inside the call)" if lost else "")
        return self.edit(new, safety, title)
