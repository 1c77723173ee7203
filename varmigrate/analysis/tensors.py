"""Which expressions are tensors? A small, file-wide inference for the `.data` rules.

`.data` is also an attribute of numpy arrays' buffers, scipy.sparse matrices, datasets, argparse
namespaces and user classes. The rules report `x.data` only when `x` is known to be a tensor (bound
from torch, a Parameter, `.grad`, a module's weight, a loss, a module's output, a name whose `.grad`
the file reads), or when the chain after `.data` uses methods that only tensors have. The inference is
flow-insensitive: a name is a tensor if some assignment makes it one and no assignment makes it a
known non-tensor. What names imported from elsewhere are comes from `OutsideFacts` (facts.py).

`TensorInference` holds the name sets and answers the queries about expressions; bindings.py walks
the file once for its bindings, tensor_names.py fills the name sets from them, shapes.py infers
shapes.
"""

from __future__ import annotations

import re
from typing import Optional

import libcst as cst

from ..tree.memo import FileMemo
from ..tree.walk import visit as walk_visit
from .bindings import BindingCollector
from .facts import TORCH, OutsideFacts
from .imports import ImportTracker
from .shape_literals import Shape
from .shapes import SAME_SHAPE_METHODS, Shapes
from .tensor_names import classify_names
from .torch_api import (
    FULL_REDUCTIONS,
    LOSS_FUNCTIONS,
    NON_TENSOR_METHODS,
    TENSOR_ATTRS,
    criterion_like,
    loss_like,
)
from .torch_nodes import comprehension_element, is_number, iterates_parameters, reduces_to_scalar, string_index

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
        self.weak_non_tensor_names: set[str] = set()
        self._bound: set[str] = set()
        self.uses_create_graph = False
        collector = BindingCollector(self)
        walk_visit(module, collector, memo)
        classify_names(self, collector, previous)
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
            return self.is_non_tensor_value(node)
        # An imported module or object (`torch.utils.data`, `np.lib`) is not a tensor.
        return self.imports.qualified(node) is not None

    def is_module(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Name):
            return node.value in self.module_names
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
            return node.value.value == "self" and node.attr.value in self.self_module_attrs
        if isinstance(node, cst.Call):
            return self.constructs_module(node)
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
        return self.scalar_form(node, 0)

    def scalar_form(self, node: cst.BaseExpression, depth: int = 0) -> bool:
        """0-dim by its form (a loss, a full reduction, a 0-dim name), shapes aside."""
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
                return self.scalar_form(node.value, depth + 1)
            return False
        if isinstance(node, cst.Subscript):
            # `state['loss']`, `losses['total_loss']`: a value a dict holds under a loss's name.
            key = string_index(node)
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
                    return self.scalar_form(node.args[0].value, depth + 1)
                return False
            if isinstance(func, cst.Name):
                if func.value in self.scalar_loss_modules:
                    return True
                if func.value in self.vector_loss_modules:
                    return False
                if func.value in _TENSOR_FOLDS and self.is_builtin(func.value) and len(node.args) == 1:
                    # `sum(crit(o, y) for o, y in pairs)`: a sum of 0-dim tensors is 0-dim.
                    element = comprehension_element(node.args[0].value)
                    return element is not None and self.scalar_form(element, depth + 1)
                return criterion_like(func.value)
            if isinstance(func, cst.Attribute):
                if isinstance(func.value, cst.Name) and func.value.value == "self":
                    return criterion_like(func.attr.value)
                method = func.attr.value
                # `x.sum()`, `x.mean()`: no dim, so 0-dim.
                if method in FULL_REDUCTIONS and not node.args:
                    return self.is_tensor(func.value) or self._reduction_of_data(func.value)
                if method in SAME_SHAPE_METHODS:
                    return self.scalar_form(func.value, depth + 1)
            return False
        if isinstance(node, cst.BinaryOperation):
            left, right = node.left, node.right
            if is_number(left):
                return self.scalar_form(right, depth + 1)
            if is_number(right):
                return self.scalar_form(left, depth + 1)
            return self.scalar_form(left, depth + 1) and self.scalar_form(right, depth + 1)
        if isinstance(node, cst.UnaryOperation):
            return self.scalar_form(node.expression, depth + 1)
        return False

    def _reduction_of_data(self, node: cst.BaseExpression) -> bool:
        """`x.data.sum()`: `.data` before a reduction is a tensor's (a numpy buffer has no `sum`)."""
        return isinstance(node, cst.Attribute) and node.attr.value == "data" and not self.is_known_non_tensor(node.value)

    def is_per_element(self, node: cst.BaseExpression) -> bool:
        """Known to hold one value per sample: an unreduced loss (`reduce=False`, `reduction='none'`)."""
        if isinstance(node, cst.Name):
            return node.value in self.vector_names
        return isinstance(node, cst.Call) and self.is_unreduced_loss(node)

    def is_builtin(self, name: str) -> bool:
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
            if isinstance(func.value, cst.Call) and self.is_function_instance(func.value) and method == "forward":
                return True
        if isinstance(func, cst.Name):
            name = func.value
            if criterion_like(name) and name not in self.non_tensor_names:
                return True
            if name in self.tensor_functions or name in self.function_instances:
                return True
            if name in _TENSOR_FOLDS and self.is_builtin(name) and len(node.args) == 1 and not node.args[0].star:
                # `sum(torch.sum(p ** 2) for p in ps)`, `sum(losses)` of a list of tensors.
                element = comprehension_element(node.args[0].value)
                if element is not None:
                    return self._tensor(element, depth + 1)
                arg = node.args[0].value
                return isinstance(arg, cst.Name) and arg.value in self.tensor_lists
        # `next(model.parameters())`
        if isinstance(func, cst.Name) and func.value == "next" and node.args and iterates_parameters(node.args[0].value):
            return True
        # `MyReLU()(x)`, `ReverseGrad(l)(x)`: a legacy Function instance called.
        if isinstance(func, cst.Call) and self.is_function_instance(func):
            return True
        # A module's forward: `model(x)`, `self.fc1(x)`, `nn.Linear(3, 4)(x)`.
        return self.is_module(func)

    def is_function_instance(self, node: cst.Call) -> bool:
        func = node.func
        if isinstance(func, cst.Name) and func.value in self.function_classes:
            return True
        return self._imported_function_class(func)

    def _imported_function_class(self, node: cst.BaseExpression) -> bool:
        q = self.imports.qualified(node)
        return q is not None and self.facts.is_function_class(q)

    def constructs_module(self, node: cst.Call) -> bool:
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

    def module_class(self, node: cst.Call) -> Optional[str]:
        """The class `node` constructs a module of: a local class name or an imported qualified name."""
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("cuda", "cpu", "to", "train", "eval", "float", "double"):
            return self.module_class(func.value) if isinstance(func.value, cst.Call) else None
        if isinstance(func, cst.Name) and func.value in self.module_classes:
            return func.value
        return self.imports.qualified(func)

    def module_output_classes(self, node: cst.BaseExpression) -> Optional[set[str]]:
        """For a call of a module name, the classes it is an instance of (None: not known)."""
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
            classes = self.module_classes_of.get(node.func.value)
            if classes and "" not in classes:
                return classes
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Call) and self.constructs_module(node.func):
            constructed = self.module_class(node.func)  # `nn.ReLU()(x)`
            return {constructed} if constructed else None
        return None

    def loss_module_kind(self, node: cst.BaseExpression) -> Optional[bool]:
        """True/False for a `torch.nn.*Loss(...)` construction that reduces / does not; else None."""
        if isinstance(node, cst.Call):
            q = self.imports.qualified(node.func)
            if q is not None and q.startswith("torch.nn.") and q.endswith("Loss"):
                return reduces_to_scalar(node)
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in ("cuda", "cpu", "to"):
                return self.loss_module_kind(node.func.value)
        return None

    # -- collection over the file -----------------------------------------------------------
    def is_unreduced_loss(self, call: cst.Call) -> bool:
        q = self.imports.qualified(call.func)
        if q is not None and q.startswith("torch.nn.functional.") and q.rsplit(".", 1)[-1] in LOSS_FUNCTIONS:
            return not reduces_to_scalar(call)
        return isinstance(call.func, cst.Name) and call.func.value in self.vector_loss_modules

    def is_non_tensor_value(self, value: cst.BaseExpression) -> bool:
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

    def is_weak_non_tensor_value(self, value: cst.BaseExpression) -> bool:
        """Not a tensor, but a name bound to it may be a tensor elsewhere (`x = x.data.numpy()`)."""
        if isinstance(value, cst.Call):
            func = value.func
            if isinstance(func, cst.Attribute) and func.attr.value in _NON_TENSOR_RESULTS:
                return not (func.attr.value == "type" and value.args)
            if isinstance(func, cst.Name) and func.value in _NON_TENSOR_BUILTINS and self.is_builtin(func.value):
                return True
        return False


# Methods and builtins whose result is never a tensor.
_NON_TENSOR_RESULTS = NON_TENSOR_METHODS | {"keys", "values", "items", "format", "join", "split", "strip", "readlines"}
_NON_TENSOR_BUILTINS = {
    "len", "int", "float", "str", "range", "list", "dict", "tuple", "set", "open", "enumerate", "zip",
    "sorted", "bool", "repr", "format", "isinstance", "type", "hash", "id", "input", "reversed", "map",
    "filter", "iter",
}
