from __future__ import annotations

import libcst as cst

from ..analysis.legacy_function import (
    FUNCTION_BASES,
    CallSites,
    analyze_function_class,
    find_call_sites,
    find_name_call_sites,
)
from ..rewrite.legacy_function import apply_call, convert_function_class
from ..rule import Edit, Invalid, Rule, Safety, Valid


class LegacyAutogradFunction(Rule):
    """
    ## What it does
    Checks for old-style `torch.autograd.Function` subclasses (instance `forward(self, ...)` and
    `backward(self, ...)`, `self.save_for_backward`, `self.saved_tensors`, state set in `__init__`)
    and for calls of a Function through an instance, `F()(x)` or `F(alpha)(x)`.

    ## Why is this bad?
    PyTorch 0.4 replaced instance Functions with static methods that receive a context object. On
    modern PyTorch calling a legacy Function raises `RuntimeError: Legacy autograd function with
    non-static forward method is deprecated. Please use new-style autograd function with static forward
    method.`, so the script cannot run until it is converted.

    ## Fix safety
    The class gets `@staticmethod def forward(ctx, x, *state)` and `@staticmethod def backward(ctx,
    grad)`: `self.` becomes `ctx.`, the `__init__` arguments become extra `forward` inputs whose values
    are stored on `ctx` (`ctx.alpha = alpha`) at the start of `forward`, and `backward` returns one
    more `None` per such argument, because a new-style backward returns one gradient per forward input.
    Call sites `F(alpha)(x)`, and `f = F(alpha)` followed by `f(x)`, become `F.apply(x, alpha)`.
    The conversion is required to run at all. It is safe when every use of the class in the file is a
    call site that is rewritten (the gradients are computed by the same code). It is unsafe when some
    use cannot be rewritten or when the file has no call site at all (callers in other files must change
    to `F.apply(...)` too); the message says which. Classes whose `__init__` does more than store its
    arguments, or that have other methods or attributes `ctx` would lack, are reported without a fix.

    ## References
    - [Extending torch.autograd](https://pytorch.org/docs/stable/notes/extending.html)
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
    """

    CODE = "VM301"
    MESSAGE = "Legacy autograd `Function` with instance `forward`/`backward`: modern PyTorch raises `RuntimeError` when it is called"
    FIX_TITLE = "Convert to static `forward(ctx, ...)`/`backward(ctx, ...)` and call it with `.apply`"
    FIX = Safety.SAFE
    TRIGGERS = ("Function", ")(")
    PROJECT_FUNCTIONS = True

    VALID = [
        Valid(
            "import torch\nclass Exp(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, x):\n"
            "        y = x.exp()\n        ctx.save_for_backward(y)\n        return y\n\n    @staticmethod\n"
            "    def backward(ctx, g):\n        y, = ctx.saved_tensors\n        return g * y\n\ny = Exp.apply(torch.ones(2))\n"
        ),
        Valid("import torch\nclass Function:\n    def forward(self, x):\n        return x\nf = Function()(1)\n"),
        Valid(
            # A new-style Function with a helper method, called with `.apply`: nothing to convert.
            "import torch\nclass Sq(torch.autograd.Function):\n    @staticmethod\n    def _two():\n        return 2\n\n"
            "    @staticmethod\n    def forward(ctx, x):\n        return x ** Sq._two()\n\n    @staticmethod\n"
            "    def backward(ctx, g):\n        return g\n\ny = Sq.apply(torch.ones(1))\n"
        ),
    ]
    INVALID = [
        Invalid(
            """import torch
from torch.autograd import Function


class MyReLU(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return x.clamp(min=0)

    def backward(self, grad_output):
        x, = self.saved_tensors
        grad_input = grad_output.clone()
        grad_input[x < 0] = 0
        return grad_input


def relu(x):
    return MyReLU()(x)
""",
            expected_replacement="""import torch
from torch.autograd import Function


class MyReLU(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[x < 0] = 0
        return grad_input


def relu(x):
    return MyReLU.apply(x)
""",
            message="Legacy autograd `Function` with instance `forward`/`backward`", range=(5, 1, 14, 26),
        ),
        Invalid(
            """import torch


class Scale(torch.autograd.Function):
    def __init__(self, alpha):
        super(Scale, self).__init__()
        self.alpha = alpha

    def forward(self, x):
        return x * self.alpha

    def backward(self, g):
        return g * self.alpha


def run(x, alpha):
    f = Scale(alpha)
    return f(x) + f(2 * x)
""",
            expected_replacement="""import torch


class Scale(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.alpha = alpha
        return x * ctx.alpha

    @staticmethod
    def backward(ctx, g):
        return g * ctx.alpha, None


def run(x, alpha):
    return Scale.apply(x, alpha) + Scale.apply(2 * x, alpha)
""",
            message="Legacy autograd `Function` with instance `forward`/`backward`", range=(4, 1, 13, 30),
        ),
        Invalid(
            # No call site in this file: callers elsewhere must switch to `.apply` as well.
            "import torch\nclass Neg(torch.autograd.Function):\n    def forward(self, x):\n        return -x\n\n"
            "    def backward(self, g):\n        return -g\n",
            expected_replacement="import torch\nclass Neg(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, x):\n"
            "        return -x\n\n    @staticmethod\n    def backward(ctx, g):\n        return -g\n",
            message="(unsafe: not every call site is visible in this file", range=(2, 1, 7, 18),
        ),
        Invalid(
            "import torch\nclass Id(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, x):\n        return x\n\n"
            "    @staticmethod\n    def backward(ctx, g):\n        return g\n\ny = Id()(torch.ones(1))\n",
            expected_replacement="import torch\nclass Id(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, x):\n        return x\n\n"
            "    @staticmethod\n    def backward(ctx, g):\n        return g\n\ny = Id.apply(torch.ones(1))\n",
            message="`Id()(torch.ones(1))` calls an autograd Function through an instance: use `Id.apply(torch.ones(1))`", range=(11, 5, 11, 24),
        ),
        Invalid(
            # The class is converted by hand (a helper method); its call sites still raise: reported, no fix.
            "import torch\nclass Half(torch.autograd.Function):\n    def _k(self):\n        return 0.5\n\n"
            "    def forward(self, x):\n        return x * self._k()\n\n    def backward(self, g):\n        return g * self._k()\n\n"
            "y = Half()(torch.ones(1))\n",
            message="`Half()(...)` calls a legacy autograd Function through an instance: convert the class by hand",
            range=(12, 5, 12, 26),
        ),
    ]

    def visit_Module(self, node: cst.Module) -> None:
        for stmt in node.body:
            if isinstance(stmt, cst.ClassDef) and any(self.ctx.imports.qualified(b.value) in FUNCTION_BASES for b in stmt.bases):
                self._check_class(node, stmt)
        for local, qname in self._imported_function_classes():
            self._check_imported(node, local, qname)

    def _imported_function_classes(self) -> list[tuple[str, str]]:
        """The Function subclasses of other project modules this file imports (by name or through
        `from m import *`), with their qualified names; torch's own classes are no call sites."""
        imports = self.ctx.imports
        found: dict[str, str] = {}
        candidates = dict(imports.bindings)
        for module in imports.star_modules:
            for local, qname in imports.facts.star_names(module).items():
                candidates.setdefault(local, qname)
        for local, qname in candidates.items():
            if local in imports.local_defs or qname.split(".", 1)[0] == "torch":
                continue
            if imports.facts.is_function_class(qname):
                found[local] = qname
        return sorted(found.items())

    def _check_imported(self, module: cst.Module, name: str, qname: str) -> None:
        uses = find_name_call_sites(module, name, None, self.ctx.memo)
        where = qname.rpartition(".")[0] or "another module"
        reasons = [f"`{name}` is defined in `{where}`: convert the class there too (VM301 there), and its "
                   "`__init__` arguments must become `forward` inputs in the same order"]
        why = f" (unsafe: {'; '.join(reasons)})"
        site_title = f"Call `{name}.apply(...)`"
        for call in uses.direct:
            ctor = call.func
            assert isinstance(ctor, cst.Call)
            self.report(call, self._site_message(call, ctor) + why, [self._site_edit(ctor, Safety.UNSAFE, site_title)])
        builds = f"builds an instance of the autograd Function `{name}` (`{where}`): modern PyTorch raises `RuntimeError` when it is called"
        for line, ctor, calls in uses.bound:
            self.report(line, f"`{self._short(line.body[0])}` {builds}; use `{name}.apply(...)`{why}",
                        [self.edit(cst.RemoveFromParent(), Safety.UNSAFE, f"Remove the instance; call `{name}.apply(...)`")])
            for call in calls:
                self.report(call, self._site_message(call, ctor) + why, [self._site_edit(ctor, Safety.UNSAFE, site_title)])
        for line, reason in uses.blocked_lines:
            self.report(line, f"`{self._short(line.body[0])}` {builds}; convert its calls to `{name}.apply(...)` by hand "
                        f"({reason})")

    def _check_class(self, module: cst.Module, cls: cst.ClassDef) -> None:
        plan = analyze_function_class(cls, self.ctx.memo)
        name = cls.name.value
        if plan.old_style and plan.problem is not None:
            self.report(cls, f"{self.MESSAGE}; convert it by hand: {plan.problem}")
            self._report_by_hand(find_call_sites(module, plan, self.ctx.memo), name)
            return
        uses = find_call_sites(module, plan, self.ctx.memo)
        n_sites = uses.count
        if not plan.old_style and n_sites == 0:
            return
        reasons = list(dict.fromkeys(uses.blocked))
        if plan.old_style and n_sites == 0 and not reasons:
            reasons.append(f"not every call site is visible in this file (none is): callers must use `{name}.apply(...)`")
        safety = Safety.UNSAFE if reasons else Safety.SAFE
        why = f" (unsafe: {'; '.join(reasons)})" if reasons else ""
        if plan.old_style:
            converted = convert_function_class(cls, plan.init_params, plan.state, plan.n_inputs)
            self.report(cls, self.MESSAGE + why, [self.edit(converted, safety)])
        site_title = f"Call `{name}.apply(...)`"
        for call in uses.direct:
            ctor = call.func
            assert isinstance(ctor, cst.Call)
            self.report(call, self._site_message(call, ctor) + why, [self._site_edit(ctor, safety, site_title)])
        for line, ctor, calls in uses.bound:
            message = f"`{self._short(line.body[0])}` builds a legacy Function instance: its calls become `{name}.apply(...)`"
            self.report(line, message + why, [self.edit(cst.RemoveFromParent(), safety, f"Remove the instance; call `{name}.apply(...)`")])
            for call in calls:
                self.report(call, self._site_message(call, ctor) + why, [self._site_edit(ctor, safety, site_title)])
        if plan.old_style:
            self._report_blocked_lines(uses, name)

    def _report_by_hand(self, uses: CallSites, name: str) -> None:
        """The call sites of a legacy class converted by hand: each raises on modern torch, so each is
        reported, without a fix (`F.apply` only works once the class is converted)."""
        hint = f"convert the class by hand, then call `{name}.apply(...)`"
        for call in uses.direct:
            ctor = call.func
            assert isinstance(ctor, cst.Call)
            self.report(call, f"`{self._short(ctor)}(...)` calls a legacy autograd Function through an instance: {hint}")
        for line, _ctor, calls in uses.bound:
            self.report(line, f"`{self._short(line.body[0])}` builds a legacy Function instance: {hint}")
            for call in calls:
                self.report(call, f"`{self.ctx.code(call.func)}(...)` calls a legacy autograd Function through an instance: {hint}")
        self._report_blocked_lines(uses, name)

    def _report_blocked_lines(self, uses: CallSites, name: str) -> None:
        """`f = F(...)` whose calls cannot be rewritten automatically, though the instance is called."""
        for line, reason in uses.blocked_lines:
            self.report(line, f"`{self._short(line.body[0])}` builds a legacy Function instance that is called: "
                        f"convert its calls to `{name}.apply(...)` by hand ({reason})")

    def _short(self, node: cst.CSTNode) -> str:
        """The node's code on one line, cut after 60 characters."""
        code = " ".join(self.ctx.code(node).split())
        return code if len(code) <= 60 else code[:57] + "..."

    def _site_message(self, call: cst.Call, ctor: cst.Call) -> str:
        new = self.ctx.code(apply_call(ctor.func, ctor, call))
        old = self.ctx.code(call)
        if len(old) + len(new) > 80 or "\n" in old + new:
            old, new = f"{self.ctx.code(ctor)}(...)", f"{self.ctx.code(ctor.func)}.apply(...)"
        return f"`{old}` calls an autograd Function through an instance: use `{new}`"

    def _site_edit(self, ctor: cst.Call, safety: Safety, title: str) -> Edit:
        class_name = ctor.func

        def replace(updated: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(updated, cst.Call)
            inner = updated.func if isinstance(updated.func, cst.Call) else ctor
            return apply_call(class_name, inner, updated)

        return self.edit(replace, safety, title)
