"""Which expressions are tensors? A small, file-wide inference for the `.data` rules.

`.data` is also an attribute of numpy arrays' buffers, scipy.sparse matrices, datasets, argparse
namespaces and user classes. The rules report `x.data` only when `x` is known to be a tensor (bound
from torch, a Parameter, `.grad`, a module's weight, a loss, a module's output, a name whose `.grad`
the file reads), or when the chain after `.data` uses methods that only tensors have. The inference is
flow-insensitive: a name is a tensor if some assignment makes it one and no assignment makes it a
known non-tensor. What names imported from elsewhere are comes from `OutsideFacts` (facts.py).
"""

from __future__ import annotations

import re
from typing import Any, Optional

import libcst as cst

from ..tree.memo import FileMemo
from ..tree.walk import visit as walk_visit
from .facts import TORCH, OutsideFacts
from .imports import ImportTracker, dotted_name
from .shapes import SAME_SHAPE_METHODS, Shape, Shapes, _element
from .torch_api import (
    FULL_REDUCTIONS,
    LOSS_FUNCTIONS,
    MODULE_METHODS,
    NON_TENSOR_METHODS,
    TENSOR_ATTRS,
    criterion_like,
    loss_like,
)
from .torch_nodes import iterates_parameters, literal_is, reduces_to_scalar

# `weight`, `bias` and the parameters of recurrent modules (`weight_ih_l0`, `bias_hh_l1_reverse`,
# an `LSTMCell`'s `bias_ih`): attributes that are tensors on any module that has them.
PARAMETER_ATTR = re.compile(r"(weight|bias)(_[ih]h(_l\d+(_reverse)?)?)?\Z")
# Builtins whose result is a tensor when their iterable holds tensors (`sum(losses)`, `max(...)`).
_TENSOR_FOLDS = ("sum", "max", "min")


class TensorInference:
    """Answers `is_tensor(expr)` for one file (or one notebook cell, seeded by the cells before it)."""

    def __init__(
        self,
        module: cst.Module,
        imports: ImportTracker,
        memo: Optional[FileMemo] = None,
        facts: OutsideFacts = TORCH,
        previous: Optional[TensorInference] = None,
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
        # Legacy `torch.autograd.Function` subclasses, and names bound to their instances.
        self.function_classes: set[str] = set()
        self.function_instances: set[str] = set()
        self.self_tensor_attrs: set[str] = set()
        self.self_module_attrs: set[str] = set()
        self.self_scalar_attrs: set[str] = set()
        # Loss modules (`criterion = nn.CrossEntropyLoss()`) and names bound to 0-dim / non-0-dim values.
        self.scalar_loss_modules: set[str] = set()
        self.vector_loss_modules: set[str] = set()
        self.scalar_names: set[str] = set()
        self.vector_names: set[str] = set()
        # Names bound to a number somewhere (`total = 0`): "tensor or number" once `+=` adds a tensor.
        self.number_names: set[str] = set()
        # Lists whose items are tensors (`outs = []; outs.append(model(x))`).
        self.tensor_lists: set[str] = set()
        # What each of those lists is appended (for the shape of `torch.stack(losses)`).
        self.list_items: dict[str, list[cst.BaseExpression]] = {}
        # The classes a module name is an instance of (`netD = Critic()`: local class names or the
        # qualified names of imported ones).
        self.module_classes_of: dict[str, set[str]] = {}
        # Functions of this file that return a tensor (`def to_var(x): return Variable(x)`), and
        # methods of its module classes that do (`self.encode(x)`).
        self.tensor_functions: set[str] = set()
        self.tensor_methods: set[str] = set()
        self.self_function_attrs: set[str] = set()
        self.mixed_names: set[str] = set()
        self.definite_non_tensor_names: set[str] = set()
        self.int_names: set[str] = set()
        self._weak_non_tensor: set[str] = set()
        self._bound: set[str] = set()
        self.uses_create_graph = False
        self._previous = previous
        collector = _Collector(self)
        self._collect(module, collector)
        self._bound = set(collector.sources)
        # (The collector and the shapes refer back to this inference only weakly or not at all: no
        # reference cycle may keep a linted tree alive.)
        self.forward_returns = collector.forward_returns
        for owner, value in collector.appends:
            if owner in self.list_items:
                self.list_items[owner].append(value)
        self.shapes: Shapes = Shapes(self, collector, previous.shapes if previous is not None else None)

    # -- classification of expressions -----------------------------------------------------
    def is_tensor(self, node: cst.BaseExpression) -> bool:
        return self._tensor(node, depth=0)

    def is_known_non_tensor(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Name):
            return node.value in self.non_tensor_names or node.value in self.module_names
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
            if node.value.value == "self":
                return node.attr.value in self.self_module_attrs
        if isinstance(node, (cst.List, cst.Dict, cst.Tuple, cst.Set, cst.SimpleString, cst.ConcatenatedString,
                             cst.FormattedString, cst.ListComp, cst.DictComp, cst.SetComp)):
            return True
        if isinstance(node, cst.Call):
            return self._non_tensor_value(node)
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

    def shape(self, node: cst.BaseExpression) -> Shape:
        """The shape of the tensor `node` evaluates to, as far as the file tells (None: unknown
        rank; -1 for a dimension of unknown size)."""
        return self.shapes.of(node)

    def is_scalar(self, node: cst.BaseExpression) -> bool:
        """Known to be a 0-dim tensor (a loss, a full reduction) or a one-element 1-D one: the
        tensors whose `x.data[0]` gave the number `x.item()` gives."""
        known = self.shapes.of(node)
        if known is not None:
            return known in ((), (1,))
        return self._scalar(node, 0)

    def _scalar(self, node: cst.BaseExpression, depth: int) -> bool:
        if depth > 40:
            return False
        if isinstance(node, cst.Name):
            name = node.value
            if name in self.vector_names or name in self.non_tensor_names:
                return False
            return name in self.scalar_names or loss_like(name)
        if isinstance(node, cst.Attribute):
            if isinstance(node.value, cst.Name) and node.value.value == "self":
                return node.attr.value in self.self_scalar_attrs
            if node.attr.value in ("data", "grad"):
                return self._scalar(node.value, depth + 1)
            return False
        if isinstance(node, cst.Subscript):
            # `state['loss']`, `losses['total_loss']`: a value a dict holds under a loss's name.
            key = _string_index(node)
            return key is not None and loss_like(key)
        if isinstance(node, cst.Call):
            func = node.func
            q = self.imports.qualified(func)
            if q is not None:
                last = q.rsplit(".", 1)[-1]
                if q.startswith("torch.nn.functional.") and last in LOSS_FUNCTIONS:
                    return reduces_to_scalar(node)
                if q.startswith("torch.") and last in FULL_REDUCTIONS:
                    return len(node.args) == 1 and node.args[0].keyword is None and self.is_tensor(node.args[0].value)
                if q == "torch.autograd.Variable" and node.args and node.args[0].keyword is None:
                    return self._scalar(node.args[0].value, depth + 1)
                return False
            if isinstance(func, cst.Name):
                if func.value in self.scalar_loss_modules:
                    return True
                if func.value in self.vector_loss_modules:
                    return False
                if func.value in _TENSOR_FOLDS and self._builtin(func.value) and len(node.args) == 1:
                    # `sum(crit(o, y) for o, y in pairs)`: a sum of 0-dim tensors is 0-dim.
                    element = _element(node.args[0].value)
                    return element is not None and self._scalar(element, depth + 1)
                return criterion_like(func.value)
            if isinstance(func, cst.Attribute):
                if isinstance(func.value, cst.Name) and func.value.value == "self":
                    return criterion_like(func.attr.value)
                method = func.attr.value
                # `x.sum()`, `x.mean()`: no dim, so 0-dim.
                if method in FULL_REDUCTIONS and not node.args:
                    return self.is_tensor(func.value) or self._reduction_of_data(func.value)
                if method in _SAME_SHAPE_METHODS:
                    return self._scalar(func.value, depth + 1)
            return False
        if isinstance(node, cst.BinaryOperation):
            left, right = node.left, node.right
            if _is_number(left):
                return self._scalar(right, depth + 1)
            if _is_number(right):
                return self._scalar(left, depth + 1)
            return self._scalar(left, depth + 1) and self._scalar(right, depth + 1)
        if isinstance(node, cst.UnaryOperation):
            return self._scalar(node.expression, depth + 1)
        return False

    def _reduction_of_data(self, node: cst.BaseExpression) -> bool:
        """`x.data.sum()`: `.data` before a reduction is a tensor's (a numpy buffer has no `sum`)."""
        return isinstance(node, cst.Attribute) and node.attr.value == "data" and not self.is_known_non_tensor(node.value)

    def is_per_element(self, node: cst.BaseExpression) -> bool:
        """Known to hold one value per sample: an unreduced loss (`reduce=False`, `reduction='none'`)."""
        if isinstance(node, cst.Name):
            return node.value in self.vector_names
        return isinstance(node, cst.Call) and self._is_unreduced_loss(node)

    def _builtin(self, name: str) -> bool:
        return name not in self.imports.local_defs and name not in self.imports.bindings

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
                return attr in self.self_tensor_attrs or attr == "grad" or PARAMETER_ATTR.match(attr) is not None
            if attr == "grad" or PARAMETER_ATTR.match(attr):
                return True
            if attr in TENSOR_ATTRS:
                return self._tensor(node.value, depth + 1)
            return False
        if isinstance(node, cst.Subscript):
            if isinstance(node.value, cst.Name) and node.value.value in self.tensor_lists:
                return True
            return self._tensor(node.value, depth + 1)
        if isinstance(node, cst.Call):
            return self._call_returns_tensor(node, depth)
        if isinstance(node, cst.BinaryOperation):
            return self._tensor(node.left, depth + 1) or self._tensor(node.right, depth + 1)
        if isinstance(node, cst.UnaryOperation):
            return self._tensor(node.expression, depth + 1)
        if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
            # `(out > 0)`: an elementwise comparison of a tensor is a (bool) tensor.
            return self._tensor(node.left, depth + 1) and not isinstance(
                node.comparisons[0].operator, (cst.Is, cst.IsNot, cst.In, cst.NotIn))
        return False

    def _call_returns_tensor(self, node: cst.Call, depth: int) -> bool:
        func = node.func
        q = self.imports.qualified(func)
        if q is not None:
            if self.facts.returns_tensor(q):
                return True
            # `MyFunction()(x)` of an imported legacy Function, `Fn.apply(x)`.
            return False
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method == "type" and node.args:
                # `w.type(torch.FloatTensor)` converts (without an argument it names the type).
                return self._tensor(func.value, depth + 1)
            if method in NON_TENSOR_METHODS:
                return False
            if self._tensor(func.value, depth + 1):
                return True
            if isinstance(func.value, cst.Name):
                owner = func.value.value
                if owner == "self" and (method == "forward" or method in self.tensor_methods
                                        or method in self.self_function_attrs):
                    return True  # `self.forward(x)`, `self.encode(x)` of a module class
                if method == "apply" and (owner in self.function_classes or self._imported_function_class(func.value)):
                    return True  # `MyReLU.apply(x)`
            if isinstance(func.value, cst.Call) and self._is_function_instance(func.value) and method == "forward":
                return True
        if isinstance(func, cst.Name):
            name = func.value
            if criterion_like(name) and name not in self.non_tensor_names:
                return True
            if name in self.tensor_functions or name in self.function_instances:
                return True
            if name in _TENSOR_FOLDS and self._builtin(name) and len(node.args) == 1 and not node.args[0].star:
                # `sum(torch.sum(p ** 2) for p in ps)`, `sum(losses)` of a list of tensors.
                element = _element(node.args[0].value)
                if element is not None:
                    return self._tensor(element, depth + 1)
                arg = node.args[0].value
                return isinstance(arg, cst.Name) and arg.value in self.tensor_lists
        # `next(model.parameters())`
        if isinstance(func, cst.Name) and func.value == "next" and node.args and iterates_parameters(node.args[0].value):
            return True
        # `MyReLU()(x)`, `ReverseGrad(l)(x)`: a legacy Function instance called.
        if isinstance(func, cst.Call) and self._is_function_instance(func):
            return True
        # A module's forward: `model(x)`, `self.fc1(x)`, `nn.Linear(3, 4)(x)`.
        return self.is_module(func)

    def _is_function_instance(self, node: cst.Call) -> bool:
        func = node.func
        if isinstance(func, cst.Name) and func.value in self.function_classes:
            return True
        return self._imported_function_class(func)

    def _imported_function_class(self, node: cst.BaseExpression) -> bool:
        q = self.imports.qualified(node)
        return q is not None and self.facts.is_function_class(q)

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

    def _module_class(self, node: cst.Call) -> Optional[str]:
        """The class `node` constructs a module of: a local class name or an imported qualified name."""
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("cuda", "cpu", "to", "train", "eval", "float", "double"):
            return self._module_class(func.value) if isinstance(func.value, cst.Call) else None
        if isinstance(func, cst.Name) and func.value in self.module_classes:
            return func.value
        return self.imports.qualified(func)

    def module_output_classes(self, node: cst.BaseExpression) -> Optional[set[str]]:
        """For a call of a module name, the classes it is an instance of (None: not known)."""
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
            classes = self.module_classes_of.get(node.func.value)
            if classes and "" not in classes:
                return classes
        return None

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
    def _sizes(self) -> tuple[int, ...]:
        return (len(self.tensor_names), len(self.module_names), len(self.scalar_names), len(self.tensor_lists),
                len(self.tensor_functions), len(self.tensor_methods), len(self.function_instances),
                len(self.self_tensor_attrs), len(self.self_scalar_attrs))

    def _collect(self, module: cst.Module, collector: _Collector) -> None:
        walk_visit(module, collector, self.memo)
        self.uses_create_graph = collector.create_graph
        if self._previous is not None:
            self._seed(self._previous, collector.bound)
        # `def test(model, ...): model.eval()`: only modules have these methods.
        self.module_names |= collector.module_owners
        self.int_names |= {name for name, sources in collector.sources.items()
                          if all(kind == "number" or (kind == "value" and isinstance(v, cst.Integer)) for kind, v in sources)}
        # Names depend on each other (`h = model(x); out = h * 2`): iterate a few rounds.
        for _ in range(6):
            before = self._sizes()
            for target, value in collector.assignments:
                self._classify(target, value)
            for target, value in collector.augmented:
                self._classify_augmented(target, value)
            for owner, value in collector.appends:
                if owner not in self.tensor_lists and self._tensor(value, 0):
                    self.tensor_lists.add(owner)
                    self.list_items.setdefault(owner, [])
            for target, iterable in collector.loops:
                self._classify_loop(target, iterable)
            for name, values in collector.returns.items():
                if name not in self.tensor_functions and any(self._tensor(v, 0) for v in values):
                    self.tensor_functions.add(name)
            for name, values in collector.method_returns.items():
                if name not in self.tensor_methods and any(self._tensor(v, 0) for v in values):
                    self.tensor_methods.add(name)
            if self._sizes() == before:
                break
        # A name bound to a tensor somewhere and to a known non-tensor elsewhere is neither known
        # to be a tensor nor known not to be one.
        self.mixed_names |= self.tensor_names & self.non_tensor_names
        # Numbers and method results (`x = x.numpy()`) count as "not a tensor" only for names never
        # bound to a tensor: `total = 0; total += loss` is a tensor.
        self.non_tensor_names |= (self.number_names | self._weak_non_tensor) - self.tensor_names
        self.tensor_names -= self.non_tensor_names
        self.tensor_names |= collector.forward_params
        # `p.grad` / `p.requires_grad` on a name: only tensors have those.
        self.tensor_names |= collector.grad_owners - self.non_tensor_names - self.module_names
        # Names every binding of which is known not to be a tensor (for the crash forms, which are
        # reported wherever that is not known: a name also bound to a call's unknown result is not).
        self.definite_non_tensor_names |= {
            name for name, sources in collector.sources.items()
            if sources and all(self._non_tensor_source(kind, value) for kind, value in sources)
        }
        collector.inference = None

    def _seed(self, previous: TensorInference, bound: set[str]) -> None:
        """A notebook cell sees what the cells before it bound (names it does not bind itself)."""
        for attr in ("tensor_names", "non_tensor_names", "module_names", "scalar_names", "vector_names",
                     "number_names", "tensor_lists", "tensor_functions", "function_instances",
                     "scalar_loss_modules", "vector_loss_modules", "mixed_names", "definite_non_tensor_names"):
            mine: set[str] = getattr(self, attr)
            mine |= {n for n in getattr(previous, attr) if n not in bound}
        for attr in ("module_classes", "tensor_classes", "function_classes", "tensor_methods",
                     "self_tensor_attrs", "self_module_attrs", "self_scalar_attrs", "self_function_attrs"):
            getattr(self, attr).update(n for n in getattr(previous, attr) if n not in bound)

    def _classify(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            name = target.value
            kind = self._loss_module_kind(value)
            if kind is not None:
                (self.scalar_loss_modules if kind else self.vector_loss_modules).add(name)
            if isinstance(value, cst.Call) and self._constructs_module(value):
                self.module_names.add(name)
                constructed = self._module_class(value)
                self.module_classes_of.setdefault(name, set()).add(constructed or "")
            elif isinstance(value, cst.Name) and value.value in self.module_names:
                self.module_names.add(name)  # `net = model`
            elif isinstance(value, cst.Call) and self._is_function_instance(value):
                self.function_instances.add(name)  # `relu = MyReLU()`
            elif self._tensor(value, 0):
                self.tensor_names.add(name)
                if self._scalar(value, 0):
                    self.scalar_names.add(name)
                elif isinstance(value, cst.Call):
                    self.vector_names.add(name) if self._is_unreduced_loss(value) else None
            elif _is_number(value):
                self.number_names.add(name)
            elif self._non_tensor_value(value):
                self.non_tensor_names.add(name)
            elif self._weak_non_tensor_value(value):
                self._weak_non_tensor.add(name)
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
            if isinstance(value, cst.Call) and self._constructs_module(value):
                self.self_module_attrs.add(target.attr.value)
            elif isinstance(value, cst.Call) and self._is_function_instance(value):
                self.self_function_attrs.add(target.attr.value)
            elif self._tensor(value, 0):
                self.self_tensor_attrs.add(target.attr.value)
                if self._scalar(value, 0):
                    self.self_scalar_attrs.add(target.attr.value)
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

    def _classify_augmented(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        """`total += loss`: a name that starts as a number becomes a tensor (0-dim if what it adds is)."""
        if not self._tensor(value, 0):
            return
        scalar = self._scalar(value, 0)
        if isinstance(target, cst.Name):
            self.tensor_names.add(target.value)
            if scalar:
                self.scalar_names.add(target.value)
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
            self.self_tensor_attrs.add(target.attr.value)
            if scalar:
                self.self_scalar_attrs.add(target.attr.value)

    def _classify_loop(self, target: cst.BaseExpression, iterable: cst.BaseExpression) -> None:
        if iterates_parameters(iterable):
            self._mark_tensor_target(target)
            return
        for element_target, element_source in _loop_pairs(target, iterable):
            if isinstance(element_target, cst.Name) and self._holds_tensors(element_source):
                self.tensor_names.add(element_target.value)

    def _holds_tensors(self, iterable: cst.BaseExpression) -> bool:
        """Iterating `iterable` gives tensors: a tensor's rows, a list of tensors."""
        if isinstance(iterable, cst.Name) and iterable.value in self.tensor_lists:
            return True
        if isinstance(iterable, (cst.List, cst.Tuple)) and iterable.elements:
            return all(not isinstance(e, cst.StarredElement) and self._tensor(e.value, 0) for e in iterable.elements)
        return self._tensor(iterable, 0)

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
        if isinstance(value, (cst.List, cst.Dict, cst.Tuple, cst.SimpleString, cst.ConcatenatedString,
                              cst.FormattedString, cst.ListComp, cst.DictComp, cst.SetComp, cst.Set)):
            return True
        if isinstance(value, cst.Call):
            q = self.imports.qualified(value.func)
            if q is not None:
                return not self.facts.returns_tensor(q) and self.facts.returns_non_tensor(q)
            if isinstance(value.func, cst.Attribute) and value.func.attr.value in ("parse_args", "parse_known_args"):
                return True
        return False

    def _non_tensor_source(self, kind: str, value: Optional[cst.BaseExpression]) -> bool:
        if kind == "number":
            return True
        if kind != "value" or value is None or self._tensor(value, 0):
            return False
        if isinstance(value, cst.Call) and self._constructs_module(value):
            return True
        if isinstance(value, cst.Name):
            return value.value in self.non_tensor_names and value.value not in self.mixed_names
        return _is_number(value) or self._non_tensor_value(value) or self._weak_non_tensor_value(value)

    def is_definitely_not_tensor(self, node: cst.BaseExpression) -> bool:
        """For the crash forms: every binding of the name is known not to be a tensor (a module, a
        numpy array, a number, a container); other expressions as `is_known_non_tensor`."""
        if isinstance(node, cst.Name):
            name = node.value
            if name in self.tensor_names or name in self.mixed_names:
                return False
            if name in self.definite_non_tensor_names or name in self.module_names:
                return True
            return name not in self._bound and self.imports.qualified(node) is not None
        return self.is_known_non_tensor(node)

    def _weak_non_tensor_value(self, value: cst.BaseExpression) -> bool:
        """Not a tensor, but a name bound to it may be a tensor elsewhere (`x = x.data.numpy()`)."""
        if isinstance(value, cst.Call):
            func = value.func
            if isinstance(func, cst.Attribute) and func.attr.value in _NON_TENSOR_RESULTS:
                return not (func.attr.value == "type" and value.args)
            if isinstance(func, cst.Name) and func.value in _NON_TENSOR_BUILTINS and self._builtin(func.value):
                return True
        return False


# Methods and builtins whose result is never a tensor.
_NON_TENSOR_RESULTS = NON_TENSOR_METHODS | {"keys", "values", "items", "format", "join", "split", "strip", "readlines"}
_NON_TENSOR_BUILTINS = {
    "len", "int", "float", "str", "range", "list", "dict", "tuple", "set", "open", "enumerate", "zip",
    "sorted", "bool", "repr", "format", "isinstance", "type", "hash", "id", "input", "reversed", "map",
    "filter", "iter",
}
# `x.sum()` of a one-element tensor is one element too: methods that keep the number of elements.
_SAME_SHAPE_METHODS = SAME_SHAPE_METHODS


def _is_number(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation):
        return _is_number(node.expression)
    return isinstance(node, (cst.Integer, cst.Float))


def _string_index(node: cst.Subscript) -> Optional[str]:
    """`'loss'` of `state['loss']`."""
    if len(node.slice) != 1:
        return None
    index = node.slice[0].slice
    if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
        value = index.value.evaluated_value
        return value if isinstance(value, str) else None
    return None




def _loop_pairs(target: cst.BaseExpression, iterable: cst.BaseExpression) -> list[tuple[cst.BaseExpression, cst.BaseExpression]]:
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


class _Collector(cst.CSTVisitor):
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
        # Every binding of each name (for shapes.py): ("value"|"aug"|"iter"|"number"|"unknown", expr).
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
            for element in target.elements:
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
        pairs = _loop_pairs(target, iterable)
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
