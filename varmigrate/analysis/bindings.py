"""One walk over a file that records how each name is bound: assignments, augmented ones, loops,
appends to lists, returns of functions and methods (and of each class's `forward`), `.grad`
owners, and every binding of each name with its kind (for the shapes). tensor_names.py classifies
what it recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import libcst as cst

from .imports import dotted_name
from .torch_api import MODULE_METHODS
from .torch_nodes import literal_is

if TYPE_CHECKING:
    from .tensors import TensorInference


def loop_pairs(target: cst.BaseExpression, iterable: cst.BaseExpression) -> list[tuple[cst.BaseExpression, cst.BaseExpression]]:
    """What each loop variable iterates: `for o, y in zip(outs, ys)` pairs `o` with `outs`,
    `for i, x in enumerate(xs)` pairs `x` with `xs`; a plain target with the iterable."""
    if not isinstance(target, (cst.Tuple, cst.List)):
        return [(target, iterable)]
    if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name) and not any(a.star or a.keyword for a in iterable.args):
        args = [a.value for a in iterable.args]
        elements = [e.value for e in target.elements if not isinstance(e, cst.StarredElement)]
        if len(elements) != len(target.elements):
            return []
        if iterable.func.value == "zip" and len(args) == len(elements):
            return list(zip(elements, args))
        if iterable.func.value == "enumerate" and len(args) == 1 and len(elements) == 2:
            return [(elements[1], args[0])]
    return []


class BindingCollector(cst.CSTVisitor):
    def __init__(self, inference: TensorInference) -> None:
        super().__init__()
        self.inference: Any = inference
        self.assignments: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
        self.augmented: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
        self.loops: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
        self.appends: list[tuple[str, cst.BaseExpression]] = []
        # Return values of functions (not methods) by name, and of methods by name.
        self.returns: dict[str, list[cst.BaseExpression]] = {}
        self.method_returns: dict[str, list[cst.BaseExpression]] = {}
        # The return values of each class's `forward` (for the shape of a module's output).
        self.forward_returns: dict[str, list[cst.BaseExpression]] = {}
        self.forward_params: set[str] = set()
        self.grad_owners: set[str] = set()
        self.module_owners: set[str] = set()
        # Every binding of each name (for shapes.py): ("value"|"aug"|"iter"|"item"|"number"|"unknown", expr).
        self.sources: dict[str, list[tuple[str, Optional[cst.BaseExpression]]]] = {}
        self.self_sources: dict[str, list[tuple[str, Optional[cst.BaseExpression]]]] = {}
        # Names the file binds at all (a notebook cell's own names hide the earlier cells' ones).
        self.bound: set[str] = set()
        self.create_graph = False
        self._class_stack: list[str] = []
        self._function_stack: list[tuple[str, bool]] = []  # (name, is a method)

    def _source(self, target: cst.BaseExpression, kind: str, value: Optional[cst.BaseExpression]) -> None:
        if isinstance(target, cst.Name):
            self.sources.setdefault(target.value, []).append((kind, value))
            self.bound.add(target.value)
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
            self.self_sources.setdefault(target.attr.value, []).append((kind, value))
        elif isinstance(target, (cst.Tuple, cst.List)):
            # `prec1, prec5 = accuracy(...)`: an item of what a call returns (shapes.py may know
            # the items of a list a function of this file returns); any other unpacking: unknown.
            starred = any(isinstance(e, cst.StarredElement) for e in target.elements)
            for element in target.elements:
                if kind == "value" and isinstance(value, cst.Call) and not starred:
                    self._source(element.value, "item", value)
                else:
                    self._source(element.value, "unknown", None)
        elif isinstance(target, cst.StarredElement):
            self._source(target.value, "unknown", None)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        inference = self.inference
        imports = inference.imports
        self.bound.add(node.name.value)
        for base in node.bases:
            q = imports.qualified(base.value)
            name = dotted_name(base.value)
            if (q is not None and inference.facts.is_module_class(q)) or name in inference.module_classes:
                inference.module_classes.add(node.name.value)
            if (q is not None and inference.facts.is_function_class(q)) or name in inference.function_classes:
                inference.function_classes.add(node.name.value)
            if q in ("torch.Tensor", "torch.nn.Parameter", "torch.autograd.Variable") or name in inference.tensor_classes:
                inference.tensor_classes.add(node.name.value)
        self._class_stack.append(node.name.value)
        self._function_stack.append(("", False))  # a class body: not a function's

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._class_stack.pop()
        self._function_stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        in_class = bool(self._function_stack) and self._function_stack[-1] == ("", False) and bool(self._class_stack)
        self._function_stack.append((node.name.value, in_class))
        if not in_class:
            self.bound.add(node.name.value)
        # Inputs of a Module's forward are tensors.
        if node.name.value == "forward" and in_class and self._class_stack[-1] in self.inference.module_classes:
            for param in node.params.params[1:]:
                self.forward_params.add(param.name.value)
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            self.sources.setdefault(param.name.value, []).append(("unknown", None))
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                self.sources.setdefault(star.name.value, []).append(("unknown", None))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._function_stack.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        for param in node.params.params:
            self.sources.setdefault(param.name.value, []).append(("unknown", None))

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is None or not self._function_stack:
            return
        name, is_method = self._function_stack[-1]
        if name:
            (self.method_returns if is_method else self.returns).setdefault(name, []).append(node.value)
            if is_method and name == "forward" and self._class_stack:
                self.forward_returns.setdefault(self._class_stack[-1], []).append(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in ("grad", "requires_grad") and isinstance(node.value, cst.Name):
            self.grad_owners.add(node.value.value)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            if func.attr.value in MODULE_METHODS:
                self.module_owners.add(func.value.value)
            elif func.attr.value == "append" and len(node.args) == 1 and not node.args[0].star:
                self.appends.append((func.value.value, node.args[0].value))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None and node.keyword.value == "create_graph" and not literal_is(node.value, False):
            self.create_graph = True

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self.assignments.append((target.target, node.value))
            value, targets = node.value, target.target
            if isinstance(targets, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List)) \
                    and len(value.elements) == len(targets.elements):
                for el, val in zip(targets.elements, value.elements):
                    if isinstance(el, cst.StarredElement) or isinstance(val, cst.StarredElement):
                        self._source(el.value, "unknown", None)
                    else:
                        self._source(el.value, "value", val.value)
            else:
                self._source(targets, "value", value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self.assignments.append((node.target, node.value))
            self._source(node.target, "value", node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.augmented.append((node.target, node.value))
        broadcasting = isinstance(node.operator, (cst.AddAssign, cst.SubtractAssign, cst.MultiplyAssign, cst.DivideAssign))
        self._source(node.target, "aug" if broadcasting else "unknown", node.value)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.assignments.append((node.target, node.value))
        self._source(node.target, "value", node.value)

    def _loop(self, target: cst.BaseExpression, iterable: cst.BaseExpression) -> None:
        self.loops.append((target, iterable))
        if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name) and iterable.func.value == "range":
            self._source(target, "number", None)
            return
        pairs = loop_pairs(target, iterable)
        if isinstance(target, (cst.Tuple, cst.List)) and isinstance(iterable, cst.Call) and \
                isinstance(iterable.func, cst.Name) and iterable.func.value == "enumerate" and len(pairs) == 1:
            self._source(target.elements[0].value, "number", None)
        paired = {id(t) for t, _ in pairs}
        for element_target, source in pairs:
            self._source(element_target, "iter", source)
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                if id(element.value) not in paired and not (
                        isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name)
                        and iterable.func.value == "enumerate" and element is target.elements[0] and pairs):
                    self._source(element.value, "unknown", None)

    def visit_For(self, node: cst.For) -> None:
        self._loop(node.target, node.iter)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._loop(node.target, node.iter)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._source(node.asname.name, "unknown", None)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._source(node.name.name, "unknown", None)

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self.sources.setdefault(item.name.value, []).append(("unknown", None))

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        for item in node.names:
            self.sources.setdefault(item.name.value, []).append(("unknown", None))

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        bound = node.asname.name if node.asname is not None else node.name
        if isinstance(bound, cst.Name):
            self.sources.setdefault(bound.value, []).append(("unknown", None))
