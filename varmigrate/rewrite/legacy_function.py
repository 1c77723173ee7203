"""The builders of the old-style `autograd.Function` conversion (analysis/legacy_function.py
decides whether a class and its call sites can be converted)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import libcst as cst

from ..tree.nodes import is_docstring

_CTX_RENAMES = {"saved_variables": "saved_tensors"}  # the 0.3 name, deprecated on 2.x


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
                if final:
                    comma = trailing if isinstance(trailing, cst.Comma) and not value.lpar else cst.MaybeSentinel.DEFAULT
                else:
                    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                elements.append(none.with_changes(comma=comma))
            if isinstance(trailing, cst.Comma) and not value.lpar:
                # `return g,` -> `return g, None`
                elements[-1] = elements[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated_node.with_changes(value=value.with_changes(elements=elements))
        head: list[cst.BaseElement]
        if self.n_inputs == 1:
            head = [cst.Element(value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))]
        else:
            head = [cst.StarredElement(value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))]
        elements = [*head, *(n.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for n in nones[:-1]), *nones[-1:]]
        tuple_ = cst.Tuple(elements, lpar=[] if self.n_inputs == 1 else [cst.LeftParen()], rpar=[] if self.n_inputs == 1 else [cst.RightParen()])
        return updated_node.with_changes(value=tuple_)


def _static(fn: cst.FunctionDef, extra: Sequence[cst.Param]) -> cst.FunctionDef:
    self_param = fn.params.params[0]
    renamed = fn.visit(_SelfToCtx(self_param.name.value))
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


def convert_function_class(
    cls: cst.ClassDef, init_params: Sequence[cst.Param], state: Sequence[tuple[str, cst.BaseExpression]], n_inputs: int
) -> cst.ClassDef:
    """The new-style class: static `forward(ctx, *inputs, *init_params)` that first stores `state`
    on `ctx`, static `backward(ctx, ...)` returning one `None` more per `__init__` parameter."""
    assert isinstance(cls.body, cst.IndentedBlock)
    body: list[cst.BaseStatement] = []
    carry: Optional[Sequence[cst.EmptyLine]] = None
    for stmt in cls.body.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "__init__":
            carry = stmt.leading_lines  # the next method takes the removed one's place
            continue
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "forward":
            stmt = _static(stmt, [cst.Param(p.name, default=p.default, equal=p.equal, annotation=p.annotation) for p in init_params])
            setters = [cst.parse_statement(f"ctx.{attr} = {cst.Module([]).code_for_node(expr)}\n") for attr, expr in state]
            if setters:
                assert isinstance(stmt.body, cst.IndentedBlock)
                inner = list(stmt.body.body)
                at = 1 if inner and is_docstring(inner[0]) else 0
                stmt = stmt.with_changes(body=stmt.body.with_changes(body=inner[:at] + setters + inner[at:]))
        elif isinstance(stmt, cst.FunctionDef) and stmt.name.value == "backward":
            stmt = _static(stmt, [])
            if init_params:
                stmt = stmt.with_changes(body=stmt.body.visit(_AppendNones(len(init_params), n_inputs)))
        if carry is not None:
            stmt = stmt.with_changes(leading_lines=carry)
            carry = None
        body.append(stmt)
    return cls.with_changes(body=cls.body.with_changes(body=body))


def apply_call(class_name: cst.BaseExpression, ctor: cst.Call, call: cst.Call) -> cst.Call:
    """`F(a, k=b)(x, y)` -> `F.apply(x, y, a, k=b)`."""
    inputs = list(call.args)
    state = list(ctor.args)
    if inputs and state and not isinstance(inputs[-1].comma, cst.Comma):
        inputs[-1] = inputs[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    if state:
        state[-1] = state[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return call.with_changes(func=cst.Attribute(class_name, cst.Name("apply")), args=inputs + state)
