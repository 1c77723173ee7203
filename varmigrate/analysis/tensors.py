"""Which expressions are tensors? A small, file-wide inference for the `.data` rules.

`.data` is also an attribute of numpy arrays' buffers, scipy.sparse matrices, datasets, argparse
namespaces and user classes. The rules report `x.data` only when `x` is known to be a tensor (bound
from torch, a Parameter, `.grad`, a module's weight, a loss, a module's output, a name whose `.grad`
the file reads), or when the chain after `.data` uses methods that only tensors have. The inference is
flow-insensitive: a name is a tensor if some assignment makes it one and no assignment makes it a
known non-tensor. What names imported from elsewhere are comes from `OutsideFacts` (facts.py).
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from ..tree.memo import FileMemo
from ..tree.walk import visit as walk_visit
from .facts import TORCH, OutsideFacts
from .imports import ImportTracker, dotted_name
from .torch_api import (
    FULL_REDUCTIONS,
    LOSS_FUNCTIONS,
    MODULE_METHODS,
    NON_TENSOR_METHODS,
    TENSOR_ATTRS,
    criterion_like,
    iterates_parameters,
    literal_is,
    loss_like,
    reduces_to_scalar,
)


class TensorInference:
    """Answers `is_tensor(expr)` for one file."""

    def __init__(
        self,
        module: cst.Module,
        imports: ImportTracker,
        memo: Optional[FileMemo] = None,
        facts: OutsideFacts = TORCH,
    ) -> None:
        self.module = module
        self.imports = imports
        self.memo = memo
        self.facts = facts
        self.tensor_names: set[str] = set()
        self.non_tensor_names: set[str] = set()
        self.module_names: set[str] = set()
        self.module_classes: set[str] = set()
        self.tensor_classes: set[str] = set()
        self.self_tensor_attrs: set[str] = set()
        self.self_module_attrs: set[str] = set()
        # Loss modules (`criterion = nn.CrossEntropyLoss()`) and names bound to 0-dim / non-0-dim values.
        self.scalar_loss_modules: set[str] = set()
        self.vector_loss_modules: set[str] = set()
        self.scalar_names: set[str] = set()
        self.vector_names: set[str] = set()
        self.uses_create_graph = False
        self._collect(module)

    # -- classification of expressions -----------------------------------------------------
    def is_tensor(self, node: cst.BaseExpression) -> bool:
        return self._tensor(node, depth=0)

    def is_known_non_tensor(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Name):
            return node.value in self.non_tensor_names or node.value in self.module_names
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
            if node.value.value == "self":
                return node.attr.value in self.self_module_attrs
        # An imported module or object (`torch.utils.data`, `np.lib`) is not a tensor.
        return self.imports.qualified(node) is not None

    def is_module(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Name):
            return node.value in self.module_names
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
            return node.value.value == "self" and node.attr.value in self.self_module_attrs
        if isinstance(node, cst.Call):
            return self._constructs_module(node)
        return False

    def is_scalar(self, node: cst.BaseExpression) -> bool:
        """Known to be a 0-dim tensor (a loss, a full reduction) or a one-element one."""
        if isinstance(node, cst.Name):
            name = node.value
            if name in self.vector_names or name in self.non_tensor_names:
                return False
            return name in self.scalar_names or loss_like(name)
        if isinstance(node, cst.Call):
            func = node.func
            q = self.imports.qualified(func)
            if q is not None:
                last = q.rsplit(".", 1)[-1]
                if q.startswith("torch.nn.functional.") and last in LOSS_FUNCTIONS:
                    return reduces_to_scalar(node)
                if q.startswith("torch.") and last in FULL_REDUCTIONS:
                    return len(node.args) == 1 and node.args[0].keyword is None and self.is_tensor(node.args[0].value)
                return False
            if isinstance(func, cst.Name):
                if func.value in self.scalar_loss_modules:
                    return True
                if func.value in self.vector_loss_modules:
                    return False
                return criterion_like(func.value)
            if isinstance(func, cst.Attribute):
                if isinstance(func.value, cst.Name) and func.value.value == "self":
                    return criterion_like(func.attr.value)
                # `x.sum()`, `x.mean()`: no dim, so 0-dim.
                return func.attr.value in FULL_REDUCTIONS and not node.args and self.is_tensor(func.value)
            return False
        if isinstance(node, cst.BinaryOperation):
            left, right = node.left, node.right
            if isinstance(left, (cst.Integer, cst.Float)):
                return self.is_scalar(right)
            if isinstance(right, (cst.Integer, cst.Float)):
                return self.is_scalar(left)
            return self.is_scalar(left) and self.is_scalar(right)
        if isinstance(node, cst.UnaryOperation):
            return self.is_scalar(node.expression)
        return False

    def is_per_element(self, node: cst.BaseExpression) -> bool:
        """Known to hold one value per sample: an unreduced loss (`reduce=False`, `reduction='none'`)."""
        if isinstance(node, cst.Name):
            return node.value in self.vector_names
        return isinstance(node, cst.Call) and self._is_unreduced_loss(node)

    def _tensor(self, node: cst.BaseExpression, depth: int) -> bool:
        if depth > 40:
            return False
        if isinstance(node, cst.Name):
            name = node.value
            if name in self.non_tensor_names or name in self.module_names:
                return False
            return name in self.tensor_names or loss_like(name)
        if isinstance(node, cst.Attribute):
            attr = node.attr.value
            if isinstance(node.value, cst.Name) and node.value.value == "self":
                return attr in self.self_tensor_attrs or attr in ("weight", "bias", "grad")
            if attr in ("grad", "weight", "bias"):
                return True
            if attr in TENSOR_ATTRS:
                return self._tensor(node.value, depth + 1)
            return False
        if isinstance(node, cst.Subscript):
            return self._tensor(node.value, depth + 1)
        if isinstance(node, cst.Call):
            return self._call_returns_tensor(node, depth)
        if isinstance(node, cst.BinaryOperation):
            return self._tensor(node.left, depth + 1) or self._tensor(node.right, depth + 1)
        if isinstance(node, cst.UnaryOperation):
            return self._tensor(node.expression, depth + 1)
        return False

    def _call_returns_tensor(self, node: cst.Call, depth: int) -> bool:
        func = node.func
        q = self.imports.qualified(func)
        if q is not None:
            return self.facts.returns_tensor(q)
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in NON_TENSOR_METHODS:
                return False
            if self._tensor(func.value, depth + 1):
                return True
        if isinstance(func, cst.Name) and criterion_like(func.value) and func.value not in self.non_tensor_names:
            return True
        # `next(model.parameters())`
        if isinstance(func, cst.Name) and func.value == "next" and node.args and iterates_parameters(node.args[0].value):
            return True
        # A module's forward: `model(x)`, `self.fc1(x)`, `nn.Linear(3, 4)(x)`.
        return self.is_module(func)

    def _constructs_module(self, node: cst.Call) -> bool:
        func = node.func
        q = self.imports.qualified(func)
        known = self.facts.constructs_module(q) if q is not None else None
        if known is not None:
            return known
        if isinstance(func, cst.Name) and func.value in self.module_classes:
            return True
        if isinstance(func, cst.Attribute) and func.attr.value in ("cuda", "cpu", "to", "train", "eval", "float", "double"):
            return self.is_module(func.value)
        return False

    def _loss_module_kind(self, node: cst.BaseExpression) -> Optional[bool]:
        """True/False for a `torch.nn.*Loss(...)` construction that reduces / does not; else None."""
        if isinstance(node, cst.Call):
            q = self.imports.qualified(node.func)
            if q is not None and q.startswith("torch.nn.") and q.endswith("Loss"):
                return reduces_to_scalar(node)
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in ("cuda", "cpu", "to"):
                return self._loss_module_kind(node.func.value)
        return None

    # -- collection over the file -----------------------------------------------------------
    def _collect(self, module: cst.Module) -> None:
        collector = _Collector(self)
        walk_visit(module, collector, self.memo)
        self.uses_create_graph = collector.create_graph
        # `def test(model, ...): model.eval()`: only modules have these methods.
        self.module_names |= collector.module_owners
        # Names depend on each other (`h = model(x); out = h * 2`): iterate a few rounds.
        for _ in range(4):
            before = (len(self.tensor_names), len(self.module_names), len(self.scalar_names))
            for target, value in collector.assignments:
                self._classify(target, value)
            for target, iterable in collector.loops:
                if iterates_parameters(iterable):
                    self._mark_tensor_target(target)
            if (len(self.tensor_names), len(self.module_names), len(self.scalar_names)) == before:
                break
        self.tensor_names -= self.non_tensor_names
        self.tensor_names |= collector.forward_params
        # `p.grad` / `p.requires_grad` on a name: only tensors have those.
        self.tensor_names |= collector.grad_owners - self.non_tensor_names - self.module_names

    def _classify(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            name = target.value
            kind = self._loss_module_kind(value)
            if kind is not None:
                (self.scalar_loss_modules if kind else self.vector_loss_modules).add(name)
            if self._constructs_module(value) if isinstance(value, cst.Call) else False:
                self.module_names.add(name)
            elif self._tensor(value, 0):
                self.tensor_names.add(name)
                if self.is_scalar(value):
                    self.scalar_names.add(name)
                elif isinstance(value, cst.Call):
                    self.vector_names.add(name) if self._is_unreduced_loss(value) else None
            elif self._non_tensor_value(value):
                self.non_tensor_names.add(name)
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
            if isinstance(value, cst.Call) and self._constructs_module(value):
                self.self_module_attrs.add(target.attr.value)
            elif self._tensor(value, 0):
                self.self_tensor_attrs.add(target.attr.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            if isinstance(value, (cst.Tuple, cst.List)) and len(value.elements) == len(target.elements):
                # `data, target = Variable(data), Variable(target)`
                for el, val in zip(target.elements, value.elements):
                    if not isinstance(el, cst.StarredElement) and not isinstance(val, cst.StarredElement):
                        self._classify(el.value, val.value)
                return
            # `out, (h, c) = rnn(x)`: each part of a module's output is a tensor (or tuple of them).
            if isinstance(value, cst.Call) and self._tensor(value, 0):
                self._mark_all_tensor_targets(target)

    def _is_unreduced_loss(self, call: cst.Call) -> bool:
        q = self.imports.qualified(call.func)
        if q is not None and q.startswith("torch.nn.functional.") and q.rsplit(".", 1)[-1] in LOSS_FUNCTIONS:
            return not reduces_to_scalar(call)
        return isinstance(call.func, cst.Name) and call.func.value in self.vector_loss_modules

    def _mark_all_tensor_targets(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.tensor_names.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                self._mark_all_tensor_targets(el.value)

    def _mark_tensor_target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.tensor_names.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            # `for name, p in model.named_parameters()`: the last element is the tensor.
            if target.elements:
                self._mark_tensor_target(target.elements[-1].value)

    def _non_tensor_value(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, (cst.List, cst.Dict, cst.Tuple, cst.SimpleString, cst.Integer, cst.Float, cst.ListComp, cst.DictComp)):
            return True
        if isinstance(value, cst.Call):
            q = self.imports.qualified(value.func)
            if q is not None:
                return not q.startswith("torch") or not self.facts.returns_tensor(q)
            if isinstance(value.func, cst.Attribute) and value.func.attr.value in ("parse_args", "parse_known_args"):
                return True
        return False

class _Collector(cst.CSTVisitor):
    def __init__(self, inference: TensorInference) -> None:
        super().__init__()
        self.inference = inference
        self.assignments: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
        self.loops: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
        self.forward_params: set[str] = set()
        self.grad_owners: set[str] = set()
        self.module_owners: set[str] = set()
        self.create_graph = False
        self._class_stack: list[str] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        imports = self.inference.imports
        for base in node.bases:
            q = imports.qualified(base.value)
            name = dotted_name(base.value)
            if (q is not None and self.inference.facts.is_module_class(q)) or name in self.inference.module_classes:
                self.inference.module_classes.add(node.name.value)
            if q in ("torch.Tensor", "torch.nn.Parameter", "torch.autograd.Variable"):
                self.inference.tensor_classes.add(node.name.value)
        self._class_stack.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._class_stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        # Inputs of a Module's forward are tensors.
        if node.name.value == "forward" and self._class_stack and self._class_stack[-1] in self.inference.module_classes:
            for param in node.params.params[1:]:
                self.forward_params.add(param.name.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in ("grad", "requires_grad") and isinstance(node.value, cst.Name):
            self.grad_owners.add(node.value.value)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.attr.value in MODULE_METHODS:
            self.module_owners.add(func.value.value)

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None and node.keyword.value == "create_graph" and not literal_is(node.value, False):
            self.create_graph = True

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self.assignments.append((target.target, node.value))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self.assignments.append((node.target, node.value))

    def visit_For(self, node: cst.For) -> None:
        self.loops.append((node.target, node.iter))

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.loops.append((node.target, node.iter))
