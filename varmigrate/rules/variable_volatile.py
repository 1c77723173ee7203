from __future__ import annotations

from typing import Callable, Optional

import libcst as cst

from ..analysis.nodes import is_variable, literal_bool, variable_args
from ..analysis.volatile_scope import DETACH, Helper, SourcePlan, VolatileFile, cut_condition, cut_message, volatility
from ..rewrite.calls import call_replacement, drop_argument, replace_call
from ..rewrite.no_grad import grad_enabled_argument
from ..rewrite.volatile import lowest_block, volatile_edit
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
    The reference is the program as PyTorch 0.3 ran it (SEMANTICS.md, "The reference is 0.3"). There,
    everything computed from a volatile value was volatile too and built no graph, and `backward`
    through it raised; the only way such a value reached a gradient was `x.volatile = False`, which
    made `x` a constant. On PyTorch 2.x the keyword does nothing: the graph is built, and at such a
    statement the gradient now leaks into what computed `x` (a DQN target network). So the fixes
    follow the value's data flow through the function (a re-assignment ends its live range,
    branches join, loops iterate; `.data`, `.item()`, `.detach()` end it; `a[mask] = v` and
    in-place ops carry it into their target; `values.append(v)` into a local list):
    - **Drop the keyword** (safe): where no computed value reaches an `x.volatile = False`, dropping
      is exact for every program that ran on 0.3 (nothing is differentiated through those values).
      Where one does, the same fix also writes `x = x.detach()` in place of that statement, which
      stops the gradient where 0.3 did (volatile-attribute offers the same rewrite on its own). When
      another name or a container holds the same tensor, or `x` may be a leaf that requires grad,
      that detach is only right under a condition: the fix is unsafe, and says which. When
      `requires_grad=` is also given and one of the two flags is not a literal, dropping is unsafe
      (the legacy call raises `ValueError` when both are true); with both literally true the call
      always raises: reported without a fix. `volatile=False` is the default and is simply dropped.
    - **Scope** (unsafe): drop the keyword and put the statements that use the value under `with
      torch.no_grad():` (`torch.set_grad_enabled(not flag)` for a non-literal flag): the shortest
      run of statements of the innermost block that holds every operation on the value (a whole
      loop body becomes the loop), from the statement that creates it when that comes right
      before, to the last one that reads anything derived from it when that costs nothing; an
      `x.volatile = False` that it makes a no-op goes. This restores the 0.3 intent (no graph, less
      memory), but it is equivalent only if (1) the scope covers every operation on the value,
      (2) nothing else in it needs gradients (`no_grad` stops those too), and (3) nothing inspects
      `requires_grad`/`grad_fn` of the results. The fix checks what it can: it is not offered when
      the value escapes (stored on an object, yielded, captured by a lambda or a nested function,
      bound to a `global`), when its autograd state is read, when the run would hold a `backward`,
      an optimizer `step()`, an `autograd.grad`, or a `yield` or `await` (a generator paused inside
      `no_grad` would leave grad mode off in its caller), when a value computed in the run from other
      inputs may carry a graph that is used after it, or when the run re-binds what a non-literal
      flag reads. Calls into other functions are not followed. A statement already inside a
      `no_grad` block needs no scope, and an adjacent `no_grad` block joins the new one (never
      nested).
    - **Helpers** that hand a parameter to `Variable(..., volatile=flag)` and return the result
      (`def to_var(x, volatile=False)`): the helper's own keyword is dropped (safe: a scope there
      would end at `return`), and every call in the file that passes the flag set is a volatile
      source of its own, fixed as above where its result is used (the flag argument goes).
      Callers in other modules are not seen: where they clear `.volatile` on a result,
      volatile-attribute detaches it.

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
            "    with torch.no_grad():\n        v = Variable(x)\n        return model(v)\n",
            expected_safe_replacement="import torch\nfrom torch.autograd import Variable\n\n\ndef predict(model, x):\n"
            "    v = Variable(x)\n    return model(v)\n",
            message="the unsafe fix also puts the function body under `torch.no_grad()`", range=(6, 9, 6, 35),
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
            "    with torch.no_grad():\n"
            "        for data, target in loader:\n"
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
            message="the unsafe fix also puts the statements that use it under `torch.no_grad()`", range=(8, 16, 8, 45),
        ),
        Invalid(
            # A generator: paused at `yield` inside `no_grad`, it would leave grad mode off in its
            # caller. No scope holds a `yield` (or an `await`): only the keyword goes.
            "import torch\nfrom torch.autograd import Variable\n\n\ndef outputs(model, loader):\n"
            "    for x in loader:\n        yield model(Variable(x, volatile=True))\n",
            expected_replacement="import torch\nfrom torch.autograd import Variable\n\n\ndef outputs(model, loader):\n"
            "    for x in loader:\n        yield model(Variable(x))\n",
            message="`with torch.no_grad():` restores the intent", range=(7, 21, 7, 47),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nv = Variable(x, volatile=False)\n",
            expected_replacement="import torch\nfrom torch.autograd import Variable\nv = Variable(x)\n",
            message="`volatile=False` is a legacy argument with no effect", range=(3, 5, 3, 32),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nv = Variable(x, requires_grad=True, volatile=True)\n",
            message="`Variable(x, requires_grad=True, volatile=True)` raises `ValueError` on PyTorch >= 0.4", range=(3, 5, 3, 51),
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        file = volatility(self.ctx)
        helper = file.helper_of.get(id(node))
        if helper is not None:
            self._helper_call(node, file, helper)
            return
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
        param = next((h for h in file.helpers.values() if isinstance(args.volatile.value, cst.Name)
                      and h.param == args.volatile.value.value and self._in_function(node, h.name)), None)
        if param is not None:
            sites = sorted({self.ctx.position(n).start.line for n in file.call_sites(param)})
            if sites:
                message += (f"; `{param.name}` passes the flag on: its calls that set it ({'lines' if len(sites) > 1 else 'line'} "
                            f"{', '.join(map(str, sites))}) are reported where the result is used")
            else:
                message += (f"; `{param.name}` passes the flag on to what its callers compute (none in this file): "
                            "where they clear `.volatile` on the result, it must be detached there")
        manager = "no_grad()" if volatile else f"set_grad_enabled({grad_enabled_argument(args.volatile.value, self.ctx.code)})"
        self._fix(node, file, file.plan(node), message, drop_safety, manager, replace_call(self.ctx.code(node), dropped),
                  lambda: self._drop(node, dropped, drop_safety))

    def _in_function(self, node: cst.CSTNode, name: str) -> bool:
        return any(isinstance(n, cst.FunctionDef) and n.name.value == name for n in self.ctx.ancestors(node))

    def _helper_call(self, node: cst.Call, file: VolatileFile, helper: Helper) -> None:
        """`to_var(x, volatile=True)`, where `to_var` hands the flag to `Variable(...)`."""
        flag = next(a for a in node.args if a.value is _flag_of(node, helper))
        value = literal_bool(flag.value)
        flag_code = self.ctx.code(flag.value)
        name = self.ctx.code(node.func)
        spelled = f"{helper.param}={flag_code}" if flag.keyword is not None else flag_code
        if value is True:
            message = (f"`{name}(..., {spelled})` hands `volatile=True` to `Variable(...)`, which ignores it on "
                       "PyTorch >= 0.4 (a graph is built anyway); `with torch.no_grad():` restores the intent")
            manager = "no_grad()"
        else:
            argument = grad_enabled_argument(flag.value, self.ctx.code)
            message = (f"`{name}(..., {spelled})` hands the flag to `Variable(..., volatile=...)`, which ignores it "
                       f"on PyTorch >= 0.4; `with torch.set_grad_enabled({argument}):` restores the intent")
            manager = f"set_grad_enabled({argument})"
        positional = [a for a in node.args if a.keyword is None]
        if flag.keyword is not None or (positional and positional[-1] is flag and
                                        all(a.keyword is None for a in node.args[node.args.index(flag):])):
            dropped = drop_argument(node, flag)
        else:
            dropped = node.with_changes(args=[a.with_changes(value=cst.Name("False")) if a is flag else a
                                              for a in node.args])
        self._fix(node, file, file.plan(node), message, Safety.SAFE, manager, replace_call(self.ctx.code(node), dropped),
                  lambda: self._drop(node, dropped, Safety.SAFE, f"Remove `{spelled}`"))

    def _fix(self, node: cst.Call, file: VolatileFile, plan: Optional[SourcePlan], message: str, drop_safety: Safety, manager: str,
             rewrite: Callable[[cst.CSTNode], cst.CSTNode], simple: Callable[[], Edit]) -> None:
        """Report `node`: the flag goes; the cuts its values reach become `x = x.detach()`; the
        unsafe alternative puts the statements that use it under `torch.<manager>`."""
        if plan is None:
            self.report(node, message, [simple()])
            return
        detach = [c for c in plan.cuts if c.action == DETACH]
        unsafe = plan.unsafe_cuts
        if unsafe:
            drop_safety = Safety.UNSAFE
        message += cut_message(self.ctx, plan.cuts)
        scope = plan.scope
        if scope is None and not detach:
            self.report(node, message, [simple()])
            return
        torch_manager = f"{self.ctx.torch}.{manager}"
        lines = [c.line for c in detach]
        targets = [plan.statement, *lines] + ([scope.block.body[scope.start]] if scope is not None else [])
        top = lowest_block([self.ctx.ancestors(t) for t in targets])
        drop = volatile_edit(self.ctx.ancestors, top, plan.statement, rewrite, lines, index=file.index) if top is not None else None
        if drop is None:
            self.report(node, message, [simple()])
            return
        names = ", ".join(f"`{self.ctx.code(c.cut.assign.targets[0].target.value)}`" for c in detach)  # type: ignore[attr-defined]
        drop_title = self.FIX_TITLE if not detach else f"Remove `volatile=` and detach {names} where 0.3 made it a constant"
        if detach:
            condition = cut_condition(detach)
            message += (f"; the fix drops the argument and detaches {names} there" if not condition else
                        f"; dropping the argument and detaching {names} there is right {condition}")
        edits = []
        if scope is not None and top is not None:
            deleted = [c.line for c in plan.deleted_cuts]
            wrapped = volatile_edit(self.ctx.ancestors, top, plan.statement, rewrite, lines, deleted,
                                    (scope.block, scope.start, scope.end, torch_manager), file.index)
            if wrapped is not None:
                # The message says what the safe fix does; the unsafe alternative's condition is in its title.
                message += (f", the unsafe fix puts {scope.where} under `torch.{manager}` instead" if detach else
                            f"; the safe fix drops the argument (results then record a graph, as they already do), "
                            f"the unsafe fix also puts {scope.where} under `torch.{manager}`")
                edits.append(self.edit(
                    wrapped, Safety.UNSAFE,
                    f"Remove `volatile=` and put {scope.where} under `torch.{manager}` (unsafe: equivalent only if that "
                    "block holds every use of the volatile value, nothing else in it needs gradients, and nothing "
                    "inspects `requires_grad`/`grad_fn` of the results)", needs_torch=True))
        edits.append(self.edit(drop, drop_safety, drop_title))
        # Reported at the call; every edit rewrites the block that holds what it changes.
        self.report(node, message, fix_node=top, edits=edits)

    def _drop(self, node: cst.Call, dropped: cst.Call, safety: Safety, title: Optional[str] = None) -> Edit:
        new, safety, lost = call_replacement(node, dropped, safety)
        title = (title or self.FIX_TITLE) + (" (unsafe: drops a comment inside the call)" if lost else "")
        return self.edit(new, safety, title)


def _flag_of(call: cst.Call, helper: Helper) -> Optional[cst.BaseExpression]:
    positional = 0
    for arg in call.args:
        if arg.keyword is not None:
            if arg.keyword.value == helper.param:
                return arg.value
            continue
        if positional == helper.position:
            return arg.value
        positional += 1
    return None
