from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import libcst as cst

from ..rule import Edit, Invalid, Rule, Safety, Valid
from ..walk import visit as walk_visit

_FUNCTION_BASES = ("torch.autograd.Function", "torch.autograd.InplaceFunction", "torch.autograd.function.Function")
_CTX_RENAMES = {"saved_variables": "saved_tensors"}  # the 0.3 name, deprecated on 2.x


# ------------------------------------------------------------------------------------------
# Analysis of one class
# ------------------------------------------------------------------------------------------
@dataclass
class _Plan:
    """How to rewrite one Function subclass; `problem` says why it cannot be done automatically."""

    cls: cst.ClassDef
    old_style: bool
    problem: Optional[str] = None
    init_params: list[cst.Param] = field(default_factory=list)  # state, becomes extra forward inputs
    state: list[tuple[str, cst.BaseExpression]] = field(default_factory=list)  # `self.attr = expr`
    n_inputs: int = 0  # forward inputs of the legacy class


def _is_staticmethod(fn: cst.FunctionDef) -> bool:
    return any(isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod" for d in fn.decorators)


def _methods(cls: cst.ClassDef) -> dict[str, cst.FunctionDef]:
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    return {s.name.value: s for s in body if isinstance(s, cst.FunctionDef)}


def _names_in(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class Collect(cst.CSTVisitor):
        """Variable names only: not `.attr` names nor `keyword=` names."""

        def visit_Name(self, n: cst.Name) -> None:
            found.add(n.value)

        def visit_Attribute(self, n: cst.Attribute) -> bool:
            walk_visit(n.value, self)
            return False

        def visit_Arg(self, n: cst.Arg) -> bool:
            walk_visit(n.value, self)
            return False

    walk_visit(node, Collect())
    return found


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _is_super_init(expr: cst.BaseExpression) -> bool:
    """`super(...).__init__(...)` or `Base.__init__(self, ...)`."""
    return (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value == "__init__"
    )


def _simple_params(fn: cst.FunctionDef, allow_defaults: bool) -> Optional[list[cst.Param]]:
    """The parameters after `self`, or None when they are not plain positional ones."""
    p = fn.params
    if p.star_arg is not cst.MaybeSentinel.DEFAULT or p.kwonly_params or p.star_kwarg or p.posonly_params:
        return None
    params = list(p.params)
    if not params:
        return None
    rest = params[1:]
    if not allow_defaults and any(q.default is not None for q in rest):
        return None
    return rest


def analyze(cls: cst.ClassDef) -> _Plan:
    methods = _methods(cls)
    forward = methods.get("forward")
    old = forward is not None and not _is_staticmethod(forward)
    plan = _Plan(cls, old)
    if not old:
        return plan
    backward = methods.get("backward")
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    others = [s for s in body if not _is_docstring(s) and not (isinstance(s, cst.FunctionDef) and s.name.value in ("__init__", "forward", "backward"))]
    if others:
        plan.problem = "the class has other members that `ctx` would not have"
        return plan
    if backward is None or _is_staticmethod(backward):
        plan.problem = "`backward` is missing or already static"
        return plan
    inputs = _simple_params(forward, allow_defaults=False)
    if inputs is None or _simple_params(backward, allow_defaults=False) is None:
        plan.problem = "`forward`/`backward` take `*args`, defaults or keyword-only parameters"
        return plan
    plan.n_inputs = len(inputs)
    used = _names_in(forward.body) | _names_in(backward.body) | {p.name.value for p in inputs}
    if "ctx" in used:
        plan.problem = "the methods already use the name `ctx`"
        return plan
    init = methods.get("__init__")
    if init is not None:
        params = _simple_params(init, allow_defaults=True)
        if params is None:
            plan.problem = "`__init__` takes `*args` or keyword-only parameters"
            return plan
        self_name = init.params.params[0].name.value
        names = {p.name.value for p in params}
        if names & used:
            plan.problem = "an `__init__` parameter has the same name as a name in `forward`/`backward`"
            return plan
        for stmt in init.body.body:
            if _is_docstring(stmt):
                continue
            small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
            if isinstance(small, cst.Expr) and _is_super_init(small.value):
                continue
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Attribute)
                and isinstance(small.targets[0].target.value, cst.Name)
                and small.targets[0].target.value.value == self_name
                and self_name not in _names_in(small.value)
            ):
                plan.state.append((small.targets[0].target.attr.value, small.value))
                continue
            plan.problem = "`__init__` does more than store its arguments on `self`"
            return plan
        plan.init_params = params
    return plan


# ------------------------------------------------------------------------------------------
# Class rewrite
# ------------------------------------------------------------------------------------------
class _SelfToCtx(cst.CSTTransformer):
    def __init__(self, self_name: str) -> None:
        super().__init__()
        self.self_name = self_name

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return updated_node.with_changes(value="ctx") if updated_node.value == self.self_name else updated_node

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.Attribute:
        attr = updated_node.attr.value
        if attr in _CTX_RENAMES and isinstance(updated_node.value, cst.Name) and updated_node.value.value == "ctx":
            return updated_node.with_changes(attr=cst.Name(_CTX_RENAMES[attr]))
        return updated_node


class _AppendNones(cst.CSTTransformer):
    """Append one `None` per state argument to each `return` of backward (not of nested functions)."""

    def __init__(self, count: int, n_inputs: int) -> None:
        super().__init__()
        self.count = count
        self.n_inputs = n_inputs
        self.depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.depth += 1
        return self.depth == 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        self.depth -= 1
        return updated_node

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def leave_Return(self, original_node: cst.Return, updated_node: cst.Return) -> cst.Return:
        value = updated_node.value
        nones = [cst.Element(cst.Name("None")) for _ in range(self.count)]
        if value is None:
            return updated_node
        if isinstance(value, cst.Tuple):
            elements = list(value.elements)
            last = elements[-1]
            trailing = last.comma
            if not isinstance(trailing, cst.Comma):
                elements[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            for i, none in enumerate(nones):
                final = i == len(nones) - 1
                comma = (trailing if isinstance(trailing, cst.Comma) and not value.lpar else cst.MaybeSentinel.DEFAULT) if final else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                elements.append(none.with_changes(comma=comma))
            if isinstance(trailing, cst.Comma) and not value.lpar:
                # `return g,` -> `return g, None`
                elements[-1] = elements[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated_node.with_changes(value=value.with_changes(elements=elements))
        if self.n_inputs == 1:
            head = [cst.Element(value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))]
        else:
            head = [cst.StarredElement(value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))]
        elements = head + [n.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for n in nones[:-1]] + nones[-1:]
        tuple_ = cst.Tuple(elements, lpar=[] if self.n_inputs == 1 else [cst.LeftParen()], rpar=[] if self.n_inputs == 1 else [cst.RightParen()])
        return updated_node.with_changes(value=tuple_)


def _static(fn: cst.FunctionDef, extra: Sequence[cst.Param]) -> cst.FunctionDef:
    self_param = fn.params.params[0]
    renamed = walk_visit(fn, _SelfToCtx(self_param.name.value))
    assert isinstance(renamed, cst.FunctionDef)
    params = list(renamed.params.params)
    if extra:
        if not isinstance(params[-1].comma, cst.Comma):
            params[-1] = params[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        extra = [p.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for p in extra]
        extra[-1] = extra[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        params += extra
    return renamed.with_changes(
        decorators=[cst.Decorator(cst.Name("staticmethod")), *renamed.decorators],
        params=renamed.params.with_changes(params=params),
    )


def convert_class(plan: _Plan) -> cst.ClassDef:
    cls = plan.cls
    assert isinstance(cls.body, cst.IndentedBlock)
    body: list[cst.BaseStatement] = []
    carry: Optional[Sequence[cst.EmptyLine]] = None
    for stmt in cls.body.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "__init__":
            carry = stmt.leading_lines  # the next method takes the removed one's place
            continue
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "forward":
            stmt = _static(stmt, [cst.Param(p.name, default=p.default, equal=p.equal, annotation=p.annotation) for p in plan.init_params])
            setters = [cst.parse_statement(f"ctx.{attr} = {cst.Module([]).code_for_node(expr)}\n") for attr, expr in plan.state]
            if setters:
                assert isinstance(stmt.body, cst.IndentedBlock)
                inner = list(stmt.body.body)
                at = 1 if inner and _is_docstring(inner[0]) else 0
                stmt = stmt.with_changes(body=stmt.body.with_changes(body=inner[:at] + setters + inner[at:]))
        elif isinstance(stmt, cst.FunctionDef) and stmt.name.value == "backward":
            stmt = _static(stmt, [])
            if plan.init_params:
                stmt = stmt.with_changes(body=walk_visit(stmt.body, _AppendNones(len(plan.init_params), plan.n_inputs)))
        if carry is not None:
            stmt = stmt.with_changes(leading_lines=carry)
            carry = None
        body.append(stmt)
    return cls.with_changes(body=cls.body.with_changes(body=body))


# ------------------------------------------------------------------------------------------
# Call sites
# ------------------------------------------------------------------------------------------
_Literal = (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString)


def _is_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, _Literal):
        return True
    if isinstance(node, cst.Name):
        return node.value in ("True", "False", "None")
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        return _is_literal(node.expression)
    return False


def _apply_call(class_name: cst.BaseExpression, ctor: cst.Call, call: cst.Call) -> cst.Call:
    """`F(a, k=b)(x, y)` -> `F.apply(x, y, a, k=b)`."""
    inputs = list(call.args)
    state = list(ctor.args)
    if inputs and state and not isinstance(inputs[-1].comma, cst.Comma):
        inputs[-1] = inputs[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    if state:
        state[-1] = state[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return call.with_changes(func=cst.Attribute(class_name, cst.Name("apply")), args=inputs + state)


@dataclass
class _Uses:
    direct: list[cst.Call] = field(default_factory=list)  # F(...)(...)
    bound: list[tuple[cst.SimpleStatementLine, cst.Call, list[cst.Call]]] = field(default_factory=list)  # f = F(..); f(..)
    blocked: list[str] = field(default_factory=list)  # why a use cannot be rewritten


def _target_key(node: cst.BaseExpression) -> Optional[str]:
    """`f` for a name, `self.f` for an attribute of a name (a Function instance kept on a module)."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
        return f"{node.value.value}.{node.attr.value}"
    return None


class _UseFinder(cst.CSTVisitor):
    """Every reference to the class name, and the bindings `f = F(...)` / `self.f = F(...)`."""

    def __init__(self, name: str, cls: cst.ClassDef) -> None:
        super().__init__()
        self.name = name
        self.cls = cls
        self.calls: dict[int, cst.Call] = {}  # id(Name F) -> the call F(...)(...)
        self.bindings: dict[int, tuple[str, cst.SimpleStatementLine, cst.Call, cst.CSTNode]] = {}  # id(Name F)
        self.attribute_bases: set[int] = set()  # Name F in `F.apply`
        self.member_names: set[int] = set()  # attribute and keyword names: never the class
        self.refs: list[cst.Name] = []
        self._line: Optional[cst.SimpleStatementLine] = None
        self._scopes: list[cst.CSTNode] = []

    def visit_Module(self, node: cst.Module) -> None:
        self._scopes.append(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._scopes.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._scopes.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        if node is self.cls:
            return False  # `super(F, self)` inside the class itself is no call site
        self._scopes.append(node)
        return True

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        if original_node is not self.cls:
            self._scopes.pop()

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._line = node

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Call) and isinstance(node.func.func, cst.Name) and node.func.func.value == self.name:
            self.calls[id(node.func.func)] = node

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Name) and node.value.value == self.name:
            self.attribute_bases.add(id(node.value))
        self.member_names.add(id(node.attr))  # `torch.nn.ReLU` is no reference to a local `ReLU`

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        key = _target_key(node.targets[0].target) if len(node.targets) == 1 else None
        if (
            key is not None
            and isinstance(value, cst.Call)
            and isinstance(value.func, cst.Name)
            and value.func.value == self.name
            and self._line is not None
            and len(self._line.body) == 1
        ):
            # `self.f = F(...)` is used across the methods of its class; `f = F(...)` in its function.
            scope = self._scopes[-1]
            if "." in key:
                scope = next((s for s in reversed(self._scopes) if isinstance(s, cst.ClassDef)), scope)
            self.bindings[id(value.func)] = (key, self._line, value, scope)

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.member_names.add(id(node.keyword))

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.name and id(node) not in self.member_names:
            self.refs.append(node)


def _find_uses(module: cst.Module, plan: _Plan) -> _Uses:
    name = plan.cls.name.value
    finder = _UseFinder(name, plan.cls)
    walk_visit(module, finder)
    uses = _Uses()
    for ref in finder.refs:
        if id(ref) in finder.calls:
            uses.direct.append(finder.calls[id(ref)])
        elif id(ref) in finder.attribute_bases:
            continue  # `F.apply(...)`: already the modern call
        elif id(ref) in finder.bindings:
            key, line, ctor, scope = finder.bindings[id(ref)]
            calls = _calls_of(scope, key)
            movable = all(_is_literal(a.value) or ("." not in key and _single_binding(scope, a.value)) for a in ctor.args)
            if calls is None or ("." not in key and not _single_binding(scope, cst.Name(key))):
                uses.blocked.append(f"`{key} = {name}(...)` is used other than by calling it")
            elif not movable:
                uses.blocked.append(f"the arguments of `{key} = {name}(...)` may change before the calls")
            else:
                uses.bound.append((line, ctor, calls))
        else:
            uses.blocked.append(f"`{name}` is used other than as `{name}(...)(...)`")
    return uses


def _single_binding(scope: cst.CSTNode, node: cst.BaseExpression) -> bool:
    """A name bound once in the scope (an assignment or a parameter): moving its read is safe."""
    if not isinstance(node, cst.Name):
        return False
    count = 0

    class Count(cst.CSTVisitor):
        def visit_AssignTarget(self, n: cst.AssignTarget) -> None:
            nonlocal count
            count += node.value in _names_in(n.target)

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            nonlocal count
            count += 2 if isinstance(n.target, cst.Name) and n.target.value == node.value else 0

        def visit_Param(self, n: cst.Param) -> None:
            nonlocal count
            count += n.name.value == node.value

        def visit_For(self, n: cst.For) -> None:
            nonlocal count
            count += 2 * (node.value in _names_in(n.target))

    walk_visit(scope, Count())
    return count == 1


def _calls_of(scope: cst.CSTNode, key: str) -> Optional[list[cst.Call]]:
    """Every use of `key` (`f` or `self.f`) in scope as `key(...)`, or None when used any other way."""
    calls: list[cst.Call] = []
    refs = 0
    members: set[int] = set()  # attribute names: `torch.relu` is no reference to a local `relu`

    class Find(cst.CSTVisitor):
        def visit_Call(self, n: cst.Call) -> None:
            if _target_key(n.func) == key:
                calls.append(n)

        def visit_AssignTarget(self, n: cst.AssignTarget) -> bool:
            return False

        def visit_Name(self, n: cst.Name) -> None:
            nonlocal refs
            refs += "." not in key and n.value == key and id(n) not in members

        def visit_Attribute(self, n: cst.Attribute) -> None:
            nonlocal refs
            members.add(id(n.attr))
            refs += "." in key and _target_key(n) == key

    walk_visit(scope, Find())
    return calls if calls and refs == len(calls) else None


# ------------------------------------------------------------------------------------------
# The rule
# ------------------------------------------------------------------------------------------
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
    TRIGGERS = ("Function",)

    VALID = [
        Valid(
            "import torch\nclass Exp(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, x):\n"
            "        y = x.exp()\n        ctx.save_for_backward(y)\n        return y\n\n    @staticmethod\n"
            "    def backward(ctx, g):\n        y, = ctx.saved_tensors\n        return g * y\n\ny = Exp.apply(torch.ones(2))\n"
        ),
        Valid("import torch\nclass Function:\n    def forward(self, x):\n        return x\nf = Function()(1)\n"),
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
        ),
        Invalid(
            # No call site in this file: callers elsewhere must switch to `.apply` as well.
            "import torch\nclass Neg(torch.autograd.Function):\n    def forward(self, x):\n        return -x\n\n"
            "    def backward(self, g):\n        return -g\n",
            expected_replacement="import torch\nclass Neg(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, x):\n"
            "        return -x\n\n    @staticmethod\n    def backward(ctx, g):\n        return -g\n",
        ),
        Invalid(
            "import torch\nclass Id(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, x):\n        return x\n\n"
            "    @staticmethod\n    def backward(ctx, g):\n        return g\n\ny = Id()(torch.ones(1))\n",
            expected_replacement="import torch\nclass Id(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, x):\n        return x\n\n"
            "    @staticmethod\n    def backward(ctx, g):\n        return g\n\ny = Id.apply(torch.ones(1))\n",
        ),
    ]

    def visit_Module(self, node: cst.Module) -> None:
        for stmt in node.body:
            if isinstance(stmt, cst.ClassDef) and any(self.ctx.imports.qualified(b.value) in _FUNCTION_BASES for b in stmt.bases):
                self._check_class(node, stmt)

    def _check_class(self, module: cst.Module, cls: cst.ClassDef) -> None:
        plan = analyze(cls)
        name = cls.name.value
        if plan.old_style and plan.problem is not None:
            self.report(cls, f"{self.MESSAGE}; convert it by hand: {plan.problem}")
            return
        uses = _find_uses(module, plan)
        n_sites = len(uses.direct) + sum(len(calls) for _, _, calls in uses.bound)
        if not plan.old_style and n_sites == 0:
            return
        reasons = list(dict.fromkeys(uses.blocked))
        if plan.old_style and n_sites == 0 and not reasons:
            reasons.append(f"not every call site is visible in this file (none is): callers must use `{name}.apply(...)`")
        safety = Safety.UNSAFE if reasons else Safety.SAFE
        why = f" (unsafe: {'; '.join(reasons)})" if reasons else ""
        if plan.old_style:
            self.report(cls, self.MESSAGE + why, [self.edit(convert_class(plan), safety)])
        site_title = f"Call `{name}.apply(...)`"
        for call in uses.direct:
            ctor = call.func
            assert isinstance(ctor, cst.Call)
            self.report(call, self._site_message(call, ctor) + why, [self._site_edit(ctor, safety, site_title)])
        for line, ctor, calls in uses.bound:
            message = f"`{self.ctx.code(line.body[0])}` builds a legacy Function instance: its calls become `{name}.apply(...)`"
            self.report(line, message + why, [self.edit(cst.RemoveFromParent(), safety, f"Remove the instance; call `{name}.apply(...)`")])
            for call in calls:
                self.report(call, self._site_message(call, ctor) + why, [self._site_edit(ctor, safety, site_title)])

    def _site_message(self, call: cst.Call, ctor: cst.Call) -> str:
        new = self.ctx.code(_apply_call(ctor.func, ctor, call))
        old = self.ctx.code(call)
        if len(old) + len(new) > 80 or "\n" in old + new:
            old, new = f"{self.ctx.code(ctor)}(...)", f"{self.ctx.code(ctor.func)}.apply(...)"
        return f"`{old}` calls an autograd Function through an instance: use `{new}`"

    def _site_edit(self, ctor: cst.Call, safety: Safety, title: str) -> Edit:
        class_name = ctor.func

        def replace(updated: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(updated, cst.Call)
            inner = updated.func if isinstance(updated.func, cst.Call) else ctor
            return _apply_call(class_name, inner, updated)

        return self.edit(replace, safety, title)
