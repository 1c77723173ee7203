"""Which expressions are tensors? A small, file-wide inference for the `.data` rules.

`.data` is also an attribute of numpy arrays' buffers, scipy.sparse matrices, datasets, argparse
namespaces and user classes. The rules report `x.data` only when `x` is known to be a tensor (bound
from torch, a Parameter, `.grad`, a module's weight, a loss, a module's output), or when the chain
after `.data` uses tensor-only methods. The inference is flow-insensitive: a name is a tensor if some
assignment makes it one and no assignment makes it a known non-tensor.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from .imports import ImportTracker, dotted_name

# torch namespaces whose callables do not return tensors.
_NON_TENSOR_PREFIXES = (
    "torch.utils.",
    "torch.optim.",
    "torch.backends.",
    "torch.jit.",
    "torch.distributed.",
    "torch.multiprocessing.",
    "torch.onnx.",
    "torch.hub.",
    "torch.cuda.",
    "torch.testing.",
    "torch.distributions.",
)
_NON_TENSOR_FUNCS = {
    "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "manual_seed", "seed",
    "save", "load", "device", "dtype", "is_tensor", "is_storage", "numel", "get_default_dtype",
    "set_default_dtype", "set_default_tensor_type", "set_num_threads", "get_num_threads", "Size",
    "Generator", "is_grad_enabled", "set_printoptions", "typename", "use_deterministic_algorithms",
    "initial_seed", "get_rng_state", "set_rng_state", "is_floating_point", "compile",
}
# Tensor methods whose result is not a tensor.
_NON_TENSOR_METHODS = {
    "item", "tolist", "numpy", "size", "dim", "ndimension", "numel", "data_ptr", "is_contiguous",
    "element_size", "backward", "register_hook", "nelement", "is_floating_point", "get_device",
    "storage", "untyped_storage", "stride", "__len__", "equal", "type",
}
# Attribute names that are tensors on any tensor or module.
_TENSOR_ATTRS = {"grad", "weight", "bias", "data", "T", "mT", "real", "imag"}
# Methods that only tensors have (not numpy arrays, lists, scipy matrices or datasets).
TENSOR_ONLY_METHODS = {
    "numpy", "cpu", "cuda", "clone", "detach", "item", "size", "dim", "ndimension", "numel",
    "type_as", "float", "double", "long", "int", "half", "byte", "bool", "view", "view_as",
    "unsqueeze", "squeeze", "expand", "expand_as", "contiguous", "norm", "max", "min", "sum",
    "mean", "eq", "ne", "gt", "lt", "ge", "le", "mm", "matmul", "masked_fill", "index_select",
    "tolist", "new", "sign", "abs", "exp", "log", "sqrt", "pow", "topk", "sort", "argmax",
    "argmin", "is_cuda", "shape", "dtype", "device", "storage", "type", "to", "permute",
}


def _is_inplace_method(name: str) -> bool:
    return name.endswith("_") and not name.startswith("_")


class TensorInference:
    """Answers `is_tensor(expr)` for one file."""

    def __init__(self, module: cst.Module, imports: ImportTracker) -> None:
        self.imports = imports
        self.tensor_names: set[str] = set()
        self.non_tensor_names: set[str] = set()
        self.module_names: set[str] = set()
        self.module_classes: set[str] = set()
        self.tensor_classes: set[str] = set()
        self.self_tensor_attrs: set[str] = set()
        self.self_module_attrs: set[str] = set()
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

    def _tensor(self, node: cst.BaseExpression, depth: int) -> bool:
        if depth > 40:
            return False
        if isinstance(node, cst.Name):
            name = node.value
            if name in self.non_tensor_names or name in self.module_names:
                return False
            return name in self.tensor_names or _loss_like(name)
        if isinstance(node, cst.Attribute):
            attr = node.attr.value
            if isinstance(node.value, cst.Name) and node.value.value == "self":
                return attr in self.self_tensor_attrs
            if attr in ("grad", "weight", "bias"):
                return True
            if attr in _TENSOR_ATTRS:
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
            return _torch_callable_returns_tensor(q)
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in _NON_TENSOR_METHODS:
                return False
            if self._tensor(func.value, depth + 1):
                return True
        # A module's forward: `model(x)`, `self.fc1(x)`, `nn.Linear(3, 4)(x)`.
        return self.is_module(func)

    def _constructs_module(self, node: cst.Call) -> bool:
        func = node.func
        q = self.imports.qualified(func)
        if q is not None and q.startswith("torch.nn."):
            last = q.rsplit(".", 1)[-1]
            return last[:1].isupper() and last != "Parameter" and "functional" not in q
        if isinstance(func, cst.Name) and func.value in self.module_classes:
            return True
        if isinstance(func, cst.Attribute) and func.attr.value in ("cuda", "cpu", "to", "train", "eval", "float", "double"):
            return self.is_module(func.value)
        return False

    # -- collection over the file -----------------------------------------------------------
    def _collect(self, module: cst.Module) -> None:
        collector = _Collector(self)
        module.visit(collector)
        # Names depend on each other (`h = model(x); out = h * 2`): iterate a few rounds.
        for _ in range(4):
            before = (len(self.tensor_names), len(self.module_names))
            for target, value in collector.assignments:
                self._classify(target, value)
            for target, iterable in collector.loops:
                if _iterates_parameters(iterable):
                    self._mark_tensor_target(target)
            if (len(self.tensor_names), len(self.module_names)) == before:
                break
        self.tensor_names -= self.non_tensor_names
        self.tensor_names |= collector.forward_params

    def _classify(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            name = target.value
            if self._constructs_module(value) if isinstance(value, cst.Call) else False:
                self.module_names.add(name)
            elif self._tensor(value, 0):
                self.tensor_names.add(name)
            elif self._non_tensor_value(value):
                self.non_tensor_names.add(name)
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
            if isinstance(value, cst.Call) and self._constructs_module(value):
                self.self_module_attrs.add(target.attr.value)
            elif self._tensor(value, 0):
                self.self_tensor_attrs.add(target.attr.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                # `out, hidden = rnn(x)`: each part of a module's output is a tensor (or tuple of them).
                if isinstance(value, cst.Call) and self._tensor(value, 0):
                    self._mark_tensor_target(el.value)

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
                return not q.startswith("torch") or not _torch_callable_returns_tensor(q)
            if isinstance(value.func, cst.Attribute) and value.func.attr.value in ("parse_args", "parse_known_args"):
                return True
        return False


def _torch_callable_returns_tensor(q: str) -> bool:
    if q == "torch.autograd.Variable" or q == "torch.nn.Parameter":
        return True
    if not q.startswith("torch."):
        return False
    if q.startswith("torch.cuda.") and q.endswith("Tensor"):
        return True
    if q.startswith(_NON_TENSOR_PREFIXES):
        return False
    last = q.rsplit(".", 1)[-1]
    if last in _NON_TENSOR_FUNCS:
        return False
    if q.startswith("torch.nn."):
        return q.startswith(("torch.nn.functional.", "torch.nn.init."))
    if q.startswith("torch.autograd."):
        return last in ("grad",)
    return last.endswith("Tensor") or last[:1].islower()


def _loss_like(name: str) -> bool:
    lowered = name.lower()
    return "loss" in lowered and "losses" not in lowered and not lowered.endswith(("fn", "func", "function", "criterion"))


def _iterates_parameters(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value in ("parameters", "named_parameters")
    return False


class _Collector(cst.CSTVisitor):
    def __init__(self, inference: TensorInference) -> None:
        super().__init__()
        self.inference = inference
        self.assignments: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
        self.loops: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
        self.forward_params: set[str] = set()
        self._class_stack: list[str] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        imports = self.inference.imports
        for base in node.bases:
            q = imports.qualified(base.value)
            name = dotted_name(base.value)
            if q in ("torch.nn.Module",) or (q or "").startswith("torch.nn.") or name in self.inference.module_classes:
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
