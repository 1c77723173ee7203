"""Which expressions are tensors? A small, file-wide inference for the `.data` rules.

`.data` is also an attribute of numpy arrays' buffers, scipy.sparse matrices, datasets, argparse
namespaces and user classes. The rules report `x.data` only when `x` is known to be a tensor (bound
from torch, a Parameter, `.grad`, a module's weight, a loss, a module's output, a name whose `.grad`
the file reads), or when the chain after `.data` uses methods that only tensors have. The inference is
flow-insensitive: a name is a tensor if some assignment makes it one and no assignment makes it a
known non-tensor.

`DataUses` classifies every `.data` attribute of a file by what its context does with it (scalar
extraction, metadata read, in-place update, plain read ...), so that each `.data` is claimed by exactly
one VM2xx rule, and decides whether the alias a `.data` read creates can be written in place later
(SEMANTICS.md E: `.data` and `.detach()` differ only in the version counter).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Optional

import libcst as cst

from .imports import ImportTracker, dotted_name
from .walk import visit as walk_visit

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
# Methods that only tensors have. Names numpy arrays share (`max`, `sum`, `view`, `item`, `tolist`,
# `astype`, `dtype`, `shape`, `device` ...) are left out on purpose: `m.data` of a scipy.sparse
# matrix is an ndarray, and `m.data.max()` must stay silent.
TENSOR_ONLY_METHODS = {
    "numpy", "cpu", "cuda", "clone", "detach", "size", "dim", "ndimension", "numel", "type_as",
    "float", "double", "long", "int", "half", "byte", "unsqueeze", "expand", "expand_as", "contiguous",
    "norm", "eq", "ne", "gt", "lt", "ge", "le", "mm", "masked_fill", "index_select", "new", "exp",
    "log", "sqrt", "pow", "topk", "is_cuda", "storage", "to", "permute", "view_as", "zero_", "normal_",
    "uniform_", "fill_", "copy_", "add_", "sub_", "mul_", "div_", "clamp_", "addcmul_", "addcdiv_",
    "div", "mul", "sigmoid", "softmax", "log_softmax", "new_zeros", "new_ones", "new_full", "new_empty",
    "new_tensor",
}
# Methods ndarrays share with tensors: a chain through them after `.data` still needs a tensor-only
# method further on (`out.data.view(-1).div(t).exp()`) to count as evidence.
_SHARED_ARRAY_METHODS = {
    "view", "reshape", "squeeze", "transpose", "flatten", "sum", "mean", "max", "min", "abs", "clip",
    "round", "cumsum", "prod", "std", "var", "argmax", "argmin", "repeat",
}
# `.new(...)` and friends make a fresh tensor that never requires grad: `.data` before them is noise.
NEW_METHODS = {"new", "new_zeros", "new_ones", "new_full", "new_empty", "new_tensor"}
# `torch.nn` loss classes / `torch.nn.functional` loss functions: their result is 0-dim unless they
# are asked not to reduce.
LOSS_FUNCTIONS = _LOSS_FUNCTIONS = {
    "nll_loss", "cross_entropy", "mse_loss", "l1_loss", "smooth_l1_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "poisson_nll_loss", "hinge_embedding_loss",
    "margin_ranking_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss", "multi_margin_loss",
    "soft_margin_loss", "cosine_embedding_loss", "triplet_margin_loss", "huber_loss", "gaussian_nll_loss",
    "ctc_loss",
}
# Reductions that return a 0-dim tensor when called without a dimension.
_FULL_REDUCTIONS = {"sum", "mean", "prod", "norm", "std", "var", "max", "min", "dot", "trace", "logsumexp"}
# Tensor methods whose result aliases the receiver (a view, or `self` when no conversion is needed).
ALIAS_METHODS = {
    "cpu", "cuda", "to", "float", "double", "half", "long", "int", "short", "byte", "char", "bool",
    "type", "type_as", "contiguous", "view", "view_as", "reshape", "reshape_as", "expand", "expand_as",
    "squeeze", "unsqueeze", "t", "transpose", "permute", "narrow", "select", "unfold", "detach",
    "flatten", "as_strided", "split", "chunk", "unbind", "diagonal", "movedim", "swapaxes",
}
# Comparisons: their result never requires grad, so `.data` on an operand changes nothing.
COMPARISON_METHODS = {"eq", "ne", "gt", "lt", "ge", "le", "equal"}
# Metadata that reads the same through `.data` (SEMANTICS E: drop `.data`, always).
METADATA_ATTRS = {"shape", "dtype", "is_cuda", "device", "ndim", "layout", "is_sparse"}
METADATA_METHODS = {
    "size", "dim", "ndimension", "numel", "nelement", "tolist", "is_contiguous", "element_size",
    "get_device", "is_floating_point", "stride", "type",
}
# Builtins and other callables that only read their tensor arguments.
_READING_BUILTINS = {
    "print", "len", "float", "int", "str", "repr", "format", "round", "abs", "bool", "isinstance",
    "type", "hash", "id", "sorted", "min", "max", "sum", "any", "all",
}
# Methods only an nn.Module has (a name they are called on is a module).
_MODULE_METHODS = {"parameters", "named_parameters", "train", "eval", "modules", "children", "named_modules"}
_CRITERION_NAMES = ("criterion", "loss_fn", "lossfn", "loss_func", "loss_function")
# Names that hold datasets, loaders or options, whose `.data` is never autograd's `.data`.
_CONTAINER_HINTS = ("dataset", "loader", "args", "opt", "config", "cfg", "sparse", "matrix", "batch", "df")


def is_inplace_method(name: str) -> bool:
    return name.endswith("_") and not name.startswith("_")


def _literal_is(node: Optional[cst.BaseExpression], value: object) -> bool:
    if node is None:
        return False
    if isinstance(node, cst.Name):
        return node.value == str(value)
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value == value
    return False


def _reduces_to_scalar(call: cst.Call) -> bool:
    """A loss call that was not asked to return per-element losses (`reduce=False`, `'none'`)."""
    for arg in call.args:
        if arg.keyword is None:
            continue
        key = arg.keyword.value
        if key == "reduce" and not _literal_is(arg.value, True):
            return False
        if key == "reduction" and not (_literal_is(arg.value, "mean") or _literal_is(arg.value, "sum")):
            return False
    return True


class TensorInference:
    """Answers `is_tensor(expr)` for one file."""

    def __init__(
        self,
        module: cst.Module,
        imports: ImportTracker,
        parent_map: Optional[Callable[[], dict[int, cst.CSTNode]]] = None,
    ) -> None:
        self.module = module
        self.imports = imports
        self.parent_map = parent_map  # a shared, lazily built parent map (FileContext.parents)
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
            return name in self.scalar_names or _loss_like(name)
        if isinstance(node, cst.Call):
            func = node.func
            q = self.imports.qualified(func)
            if q is not None:
                last = q.rsplit(".", 1)[-1]
                if q.startswith("torch.nn.functional.") and last in _LOSS_FUNCTIONS:
                    return _reduces_to_scalar(node)
                if q.startswith("torch.") and last in _FULL_REDUCTIONS:
                    return len(node.args) == 1 and node.args[0].keyword is None and self.is_tensor(node.args[0].value)
                return False
            if isinstance(func, cst.Name):
                if func.value in self.scalar_loss_modules:
                    return True
                if func.value in self.vector_loss_modules:
                    return False
                return _criterion_like(func.value)
            if isinstance(func, cst.Attribute):
                if isinstance(func.value, cst.Name) and func.value.value == "self":
                    return _criterion_like(func.attr.value)
                # `x.sum()`, `x.mean()`: no dim, so 0-dim.
                return func.attr.value in _FULL_REDUCTIONS and not node.args and self.is_tensor(func.value)
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
            return name in self.tensor_names or _loss_like(name)
        if isinstance(node, cst.Attribute):
            attr = node.attr.value
            if isinstance(node.value, cst.Name) and node.value.value == "self":
                return attr in self.self_tensor_attrs or attr in ("weight", "bias", "grad")
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
        if isinstance(func, cst.Name) and _criterion_like(func.value) and func.value not in self.non_tensor_names:
            return True
        # `next(model.parameters())`
        if isinstance(func, cst.Name) and func.value == "next" and node.args and _iterates_parameters(node.args[0].value):
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

    def _loss_module_kind(self, node: cst.BaseExpression) -> Optional[bool]:
        """True/False for a `torch.nn.*Loss(...)` construction that reduces / does not; else None."""
        if isinstance(node, cst.Call):
            q = self.imports.qualified(node.func)
            if q is not None and q.startswith("torch.nn.") and q.endswith("Loss"):
                return _reduces_to_scalar(node)
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in ("cuda", "cpu", "to"):
                return self._loss_module_kind(node.func.value)
        return None

    # -- collection over the file -----------------------------------------------------------
    def _collect(self, module: cst.Module) -> None:
        collector = _Collector(self)
        walk_visit(module, collector)
        self.uses_create_graph = collector.create_graph
        # `def test(model, ...): model.eval()`: only modules have these methods.
        self.module_names |= collector.module_owners
        # Names depend on each other (`h = model(x); out = h * 2`): iterate a few rounds.
        for _ in range(4):
            before = (len(self.tensor_names), len(self.module_names), len(self.scalar_names))
            for target, value in collector.assignments:
                self._classify(target, value)
            for target, iterable in collector.loops:
                if _iterates_parameters(iterable):
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
        if q is not None and q.startswith("torch.nn.functional.") and q.rsplit(".", 1)[-1] in _LOSS_FUNCTIONS:
            return not _reduces_to_scalar(call)
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
                return not q.startswith("torch") or not _torch_callable_returns_tensor(q)
            if isinstance(value.func, cst.Attribute) and value.func.attr.value in ("parse_args", "parse_known_args"):
                return True
        return False

    # -- `.data` uses ------------------------------------------------------------------------
    @cached_property
    def data_uses(self) -> "DataUses":
        return DataUses(self)


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
        # `nn.parallel.data_parallel(module, input)` is a module's forward (dcgan's netD).
        return q.startswith(("torch.nn.functional.", "torch.nn.init.")) or q == "torch.nn.parallel.data_parallel"
    if q.startswith("torch.autograd."):
        return last in ("grad",)
    return last.endswith("Tensor") or last[:1].islower()


def _loss_like(name: str) -> bool:
    lowered = name.lower()
    return "loss" in lowered and "losses" not in lowered and not lowered.endswith(("fn", "func", "function", "criterion"))


def _criterion_like(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("criterion") or lowered.endswith(_CRITERION_NAMES)


def _container_like(name: str) -> bool:
    lowered = name.lower()
    return any(hint in lowered for hint in _CONTAINER_HINTS) or lowered in ("data", "self", "cls", "np", "numpy")


def _iterates_parameters(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value in ("parameters", "named_parameters")
    # `for p in group['params']` (an optimizer's param_groups)
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        index = node.slice[0].slice
        return isinstance(index, cst.Index) and _literal_is(index.value, "params")
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

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in ("grad", "requires_grad") and isinstance(node.value, cst.Name):
            self.grad_owners.add(node.value.value)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.attr.value in _MODULE_METHODS:
            self.module_owners.add(func.value.value)

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None and node.keyword.value == "create_graph" and not _literal_is(node.value, False):
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


# ------------------------------------------------------------------------------------------
# `.data` uses
# ------------------------------------------------------------------------------------------
# Kinds of `.data` use; each belongs to one rule.
INDEX_ZERO = "index-zero"  # x.data[0]                     VM201
ITEM = "item"  # x.data.item()                             VM202
READ = "read"  # any other read                            VM203
METADATA = "metadata"  # x.data.size(), .shape, len()      VM204
INDICES = "indices"  # x.data.max(1)[1]                    VM205
GRAD = "grad"  # w.grad.data                               VM206
INPLACE = "inplace"  # w.data -= ..., w.data.zero_()       VM207 (the target of the update)
INIT = "init"  # nn.init.normal_(w.data)                   VM207
INPLACE_EXPR = "inplace-expr"  # y = w.data.zero_()        VM207 (report only)
ASSIGN = "assign"  # p.data = new                          VM208
INSIDE_UPDATE = "inside-update"  # a read inside an update statement: VM207's callable drops it


@dataclass
class DataUse:
    kind: str
    data: cst.Attribute  # the `x.data` node
    # For READ and the safe fallback of INDEX_ZERO: None when nothing can write through the alias,
    # else why it might.
    escape: Optional[str] = None
    # READ consumed only by a comparison: `.data` can go altogether.
    compared: bool = False
    # INPLACE: the statement (SimpleStatementLine) or small statement that performs the update.
    statement: Optional[cst.CSTNode] = None
    # INDEX_ZERO through a numpy conversion (`loss.cpu().data.numpy()[0]`): the `[0]` subscript.
    subscript: Optional[cst.Subscript] = None

    @property
    def base(self) -> cst.BaseExpression:
        return self.data.value


class DataUses:
    """Classifies `.data` attributes by their context (computed once per file, on first use)."""

    def __init__(self, inference: TensorInference) -> None:
        # The inference caches this object: a strong reference back would be a cycle that keeps
        # the file's whole tree alive until the collector's next full pass.
        self.inference: TensorInference = weakref.proxy(inference)
        self.imports = inference.imports
        self.parents: dict[int, cst.CSTNode] = {}
        self._names_by_scope: dict[int, dict[str, list[cst.Name]]] = {}
        self._cache: dict[int, Optional[DataUse]] = {}
        self._build_parents(inference.module)

    def _build_parents(self, module: cst.Module) -> None:
        if self.inference.parent_map is not None:
            self.parents = self.inference.parent_map()  # the file context's, shared with the rules
            return
        from .walk import parent_map  # 5x cheaper than a CSTVisitor pass (no node is rebuilt)

        self.parents.update(parent_map(module))

    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self.parents.get(id(node))

    def expr_parent(self, node: cst.CSTNode) -> tuple[Optional[cst.CSTNode], cst.CSTNode]:
        """The nearest ancestor that is not a wrapper node (Arg, Index, SubscriptElement, Element ...),
        and the child of it on the way."""
        child = node
        parent = self.parent(node)
        while isinstance(parent, (cst.Arg, cst.Index, cst.SubscriptElement, cst.Element, cst.ComparisonTarget,
                                  cst.FormattedStringExpression, cst.AssignTarget)):
            if isinstance(parent, (cst.FormattedStringExpression, cst.AssignTarget)):
                return parent, child
            child = parent
            parent = self.parent(parent)
        return parent, child

    # -- is the base a tensor? ---------------------------------------------------------------
    def base_is_tensor(self, data: cst.Attribute) -> bool:
        base = data.value
        inf = self.inference
        if inf.is_tensor(base):
            return True
        if inf.is_known_non_tensor(base) or inf.is_module(base):
            return False
        # Evidence from the chain after `.data`, only for a plain name of unknown type that does not
        # look like a dataset, loader or options object.
        if not isinstance(base, cst.Name) or _container_like(base.value):
            return False
        if self._tensor_only_chain(data):
            return True
        # An argument of a known tensor's method (`pred.eq(target.data)`, `w.copy_(src.data)`).
        expr_parent, child = self.expr_parent(data)
        return (
            isinstance(expr_parent, cst.Call)
            and isinstance(child, cst.Arg)
            and isinstance(expr_parent.func, cst.Attribute)
            and inf.is_tensor(expr_parent.func.value)
        )

    def _tensor_only_chain(self, data: cst.Attribute) -> bool:
        """The methods called on `x.data` reach a tensor-only one, possibly through calls of methods
        ndarrays also have: `output.data.view(-1).div(temperature).exp()`."""
        node: cst.CSTNode = data
        for _ in range(8):
            parent = self.parent(node)
            if not (isinstance(parent, cst.Attribute) and parent.value is node):
                return False
            if parent.attr.value in TENSOR_ONLY_METHODS:
                return True
            call = self.parent(parent)
            if parent.attr.value in ("max", "min") and self._indexed_reduction(call, parent):
                return True
            if parent.attr.value not in _SHARED_ARRAY_METHODS or not (isinstance(call, cst.Call) and call.func is parent):
                return False
            node = call
        return False

    def _indexed_reduction(self, call: Optional[cst.CSTNode], func: cst.Attribute) -> bool:
        """`x.max(1)[1]`: only torch's max/min with a dim return a (values, indices) pair to index
        (numpy's return an array, and the memoryview that `ndarray.data` is has no `max`)."""
        if not (isinstance(call, cst.Call) and call.func is func and call.args):
            return False
        first = call.args[0]
        if first.star or (first.keyword is not None and first.keyword.value not in ("dim",)):
            return False
        holder = self.parent(call)
        return isinstance(holder, cst.Subscript) and holder.value is call

    # -- classification ----------------------------------------------------------------------
    def use(self, data: cst.Attribute) -> Optional[DataUse]:
        key = id(data)
        if key not in self._cache:
            self._cache[key] = self._classify(data) if data.attr.value == "data" and self.base_is_tensor(data) else None
        return self._cache[key]

    def _classify(self, data: cst.Attribute) -> Optional[DataUse]:
        parent = self.parent(data)
        base = data.value
        # 1. Assignment targets (also inside a tuple target: `p.data, extra = new, None`).
        holder = parent
        while isinstance(holder, (cst.Element, cst.Tuple, cst.List)):
            holder = self.parent(holder)
        if holder is not parent and isinstance(holder, (cst.AssignTarget, cst.For, cst.CompFor)):
            return DataUse(ASSIGN, data)
        if isinstance(parent, cst.AssignTarget):
            return DataUse(ASSIGN, data, statement=self.parent(parent))
        if isinstance(parent, cst.AugAssign) and parent.target is data:
            return DataUse(INPLACE, data, statement=parent)
        if isinstance(parent, cst.Subscript) and parent.value is data:
            holder = self.parent(parent)
            if isinstance(holder, cst.AssignTarget) or (isinstance(holder, cst.AugAssign) and holder.target is parent):
                return DataUse(INPLACE, data, statement=holder if isinstance(holder, cst.AugAssign) else self.parent(holder))
        if isinstance(parent, cst.Del) or isinstance(self.parent(parent) if parent else None, cst.Del):
            return None
        # 2. In-place method chains on `.data`: `w.data.normal_(0, 0.02)`, `p.data.add_(-lr, g).clamp_(...)`.
        top = self._inplace_chain_top(data)
        if top is not None:
            holder = self.parent(top)
            if isinstance(holder, cst.Expr):
                return DataUse(INPLACE, data, statement=holder)
            return DataUse(INPLACE_EXPR, data)
        # 3. `torch.nn.init.normal_(w.data, ...)`: the init function writes in place under no_grad.
        expr_parent, child = self.expr_parent(data)
        if isinstance(expr_parent, cst.Call) and isinstance(child, cst.Arg) and expr_parent.args and expr_parent.args[0] is child:
            q = self.imports.qualified(expr_parent.func) or ""
            if q.startswith("torch.nn.init."):
                return DataUse(INIT, data)
            if q == "torch.autograd.Variable":
                return None  # `Variable(h.data)` belongs to the Variable rules
        # 4. `.grad.data` (also inside an update: the update's fix composes with this one).
        if isinstance(base, cst.Attribute) and base.attr.value == "grad":
            return DataUse(GRAD, data)
        # 5. Other reads inside an in-place update statement go with it.
        if self._inside_update(data):
            return DataUse(INSIDE_UPDATE, data)
        # 6. Scalar extraction, metadata, indices.
        if isinstance(parent, cst.Subscript) and parent.value is data and _single_index(parent) == 0:
            return DataUse(INDEX_ZERO, data, escape=self.escape(parent))
        numpy_zero = self._numpy_index_zero(data)
        if numpy_zero is not None:
            # The ndarray is a copy's view at worst, and `[0]` of it a number: nothing writes through it.
            return DataUse(INDEX_ZERO, data, subscript=numpy_zero)
        method = self._method_called(data)
        if method == "item" and not self._call_of(data).args:  # type: ignore[union-attr]
            return DataUse(ITEM, data)
        if self._is_metadata(data, parent, method):
            return DataUse(METADATA, data)
        if self._is_indices(data):
            return DataUse(INDICES, data)
        # 7. Everything else is a read.
        compared = self._compared(data)
        return DataUse(READ, data, escape=None if compared else self.escape(data), compared=compared)

    def _numpy_index_zero(self, data: cst.Attribute) -> Optional[cst.Subscript]:
        """`x.data.numpy()[0]`, `x.data.cpu().numpy()[0]`: the 0.3 way to a number, via numpy."""
        node: cst.CSTNode = data
        while True:
            method = self._method_called(node)
            call = self._call_of(node) if method is not None else None
            if call is None or call.args or method not in ("cpu", "numpy"):
                return None
            if method == "cpu":
                node = call
                continue
            holder = self.parent(call)
            if (
                isinstance(holder, cst.Subscript)
                and holder.value is call
                and _single_index(holder) == 0
                and not self.is_store(holder)
            ):
                return holder
            return None

    def is_store(self, node: cst.CSTNode) -> bool:
        parent = self.parent(node)
        return isinstance(parent, (cst.AssignTarget, cst.Del)) or (isinstance(parent, cst.AugAssign) and parent.target is node)

    def accumulated_scalar(self, name: cst.Name) -> Optional[str]:
        """For `total[0]`: the code of a value `total` accumulates, when `total` is, in its scope, only
        ever set to `0` and `+=` 0-dim values read through `.data`/`.detach()` (`total_loss +=
        loss.data`), so that it is a 0-dim tensor. None otherwise."""
        scope = self._scope_of(name)
        sample: Optional[str] = None
        for n in self._names_in(scope).get(name.value, []):
            parent = self.parent(n)
            if isinstance(parent, cst.AugAssign) and parent.target is n:
                if not isinstance(parent.operator, cst.AddAssign) or not self._scalar_read(parent.value):
                    return None
                sample = sample or self.inference.module.code_for_node(parent.value)
            elif isinstance(parent, cst.AssignTarget):
                assign = self.parent(parent)
                value = assign.value if isinstance(assign, cst.Assign) else None
                if not (isinstance(value, (cst.Integer, cst.Float)) and float(value.evaluated_value) == 0):
                    return None
            elif self._is_binding(n) or isinstance(parent, cst.NameItem):
                return None
        return sample

    def _scalar_read(self, value: cst.BaseExpression) -> bool:
        """`loss.data`, `loss.detach()`, `n * crit(out, y).data`: a 0-dim tensor without history."""
        inf = self.inference
        if isinstance(value, cst.Attribute) and value.attr.value == "data":
            return inf.is_scalar(value.value)
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "detach" and not value.args:
            return inf.is_scalar(value.func.value)
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, (cst.Multiply, cst.Divide)):
            left, right = value.left, value.right
            if self._scalar_read(left):
                return not inf.is_tensor(right)
            return isinstance(value.operator, cst.Multiply) and self._scalar_read(right) and not inf.is_tensor(left)
        return False

    def _method_called(self, node: cst.CSTNode) -> Optional[str]:
        """`m` when `node` is the receiver of a call `node.m(...)`."""
        parent = self.parent(node)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            call = self.parent(parent)
            if isinstance(call, cst.Call) and call.func is parent:
                return parent.attr.value
        return None

    def _call_of(self, node: cst.CSTNode) -> Optional[cst.Call]:
        parent = self.parent(node)
        call = self.parent(parent) if parent is not None else None
        return call if isinstance(call, cst.Call) else None

    def _inplace_chain_top(self, data: cst.Attribute) -> Optional[cst.Call]:
        node: cst.CSTNode = data
        top: Optional[cst.Call] = None
        while True:
            method = self._method_called(node)
            if method is None or not is_inplace_method(method):
                return top
            top = self._call_of(node)
            node = top  # type: ignore[assignment]

    def _inside_update(self, data: cst.Attribute) -> bool:
        """`data` is an argument or operand inside a statement that VM207 rewrites as a whole."""
        node: Optional[cst.CSTNode] = data
        while node is not None and not isinstance(node, cst.BaseSmallStatement):
            node = self.parent(node)
        if isinstance(node, cst.AugAssign):
            target = node.target
            if isinstance(target, cst.Subscript):
                target = target.value
            return isinstance(target, cst.Attribute) and target is not data and self.use(target) is not None and self.use(target).kind == INPLACE  # type: ignore[union-attr]
        if isinstance(node, cst.Expr) and isinstance(node.value, cst.Call):
            # Find the `.data` receiver at the bottom of the in-place chain.
            recv = node.value
            while isinstance(recv, cst.Call) and isinstance(recv.func, cst.Attribute) and is_inplace_method(recv.func.attr.value):
                recv = recv.func.value
            if isinstance(recv, cst.Attribute) and recv is not data and recv.attr.value == "data" and self.base_is_tensor(recv):
                return True
        if isinstance(node, cst.Assign):
            for target in node.targets:
                t = target.target
                if isinstance(t, cst.Subscript) and isinstance(t.value, cst.Attribute) and t.value is not data:
                    use = self.use(t.value)
                    if use is not None and use.kind == INPLACE:
                        return True
        return False

    def _is_metadata(self, data: cst.Attribute, parent: Optional[cst.CSTNode], method: Optional[str]) -> bool:
        if method is not None:
            if method in NEW_METHODS:
                return True  # a fresh tensor that never requires grad (VM204 says so)
            if method == "type":
                return not self._call_of(data).args  # type: ignore[union-attr]
            return method in METADATA_METHODS
        if isinstance(parent, cst.Attribute) and parent.value is data and parent.attr.value in METADATA_ATTRS:
            holder = self.parent(parent)
            return not isinstance(holder, (cst.AssignTarget, cst.AugAssign))
        expr_parent, child = self.expr_parent(data)
        if isinstance(expr_parent, cst.Call) and isinstance(expr_parent.func, cst.Name) and isinstance(child, cst.Arg):
            name = expr_parent.func.value
            if name in self.imports.local_defs or name in self.imports.bindings:
                return False
            if name == "len":
                return len(expr_parent.args) == 1
            # `isinstance(x.data, torch.cuda.FloatTensor)`: legacy tensor types match by dtype and device.
            return name == "isinstance" and expr_parent.args[0] is child
        return False

    def _is_indices(self, data: cst.Attribute) -> bool:
        """`x.data.max(1)[1]`, `torch.max(x.data, 1)[1]`, `x.data.argmax(1)`, `_, i = x.data.max(1)`."""
        method = self._method_called(data)
        if method in ("argmax", "argmin"):
            return True
        call: Optional[cst.Call] = None
        if method in ("max", "min", "topk", "sort"):
            call = self._call_of(data)
            has_dim = bool(call.args) if method in ("max", "min") else True  # type: ignore[union-attr]
            if not has_dim:
                return False
        else:
            expr_parent, child = self.expr_parent(data)
            if isinstance(expr_parent, cst.Call) and isinstance(child, cst.Arg) and expr_parent.args[0] is child:
                q = self.imports.qualified(expr_parent.func)
                if q in ("torch.max", "torch.min") and len(expr_parent.args) >= 2:
                    call = expr_parent
                elif q in ("torch.argmax", "torch.argmin"):
                    return True
        if call is None:
            return False
        holder = self.parent(call)
        if isinstance(holder, cst.Subscript) and holder.value is call:
            return _single_index(holder) == 1 and not isinstance(self.parent(holder), cst.AssignTarget)
        if isinstance(holder, cst.Assign) and len(holder.targets) == 1:
            target = holder.targets[0].target
            if isinstance(target, (cst.Tuple, cst.List)) and len(target.elements) == 2:
                first = target.elements[0].value
                return isinstance(first, cst.Name) and first.value.startswith("_") and not self._name_loaded(first)
        return False

    def _compared(self, data: cst.Attribute) -> bool:
        """The `.data` value, through methods that are not in-place, ends in something that never
        carries gradient: a comparison, `.item()` or `.tolist()` (so `.data` can simply go)."""
        node: cst.CSTNode = data
        while True:
            method = self._method_called(node)
            if method in COMPARISON_METHODS or method in ("item", "tolist"):
                return True
            if method is not None and not is_inplace_method(method) and method not in ("numpy", "backward"):
                node = self._call_of(node)  # type: ignore[assignment]
                continue
            parent = self.parent(node)
            if isinstance(parent, cst.Subscript) and parent.value is node and not isinstance(self.parent(parent), (cst.AssignTarget, cst.AugAssign, cst.Del)):
                node = parent
                continue
            parent, child = self.expr_parent(node)
            if isinstance(parent, cst.Comparison):
                return all(isinstance(t.operator, (cst.Equal, cst.NotEqual, cst.LessThan, cst.GreaterThan,
                                                   cst.LessThanEqual, cst.GreaterThanEqual)) for t in parent.comparisons)
            if isinstance(parent, cst.Call) and isinstance(child, cst.Arg) and isinstance(parent.func, cst.Attribute):
                if parent.func.attr.value in COMPARISON_METHODS and not any(a.keyword for a in parent.args):
                    return True
            if isinstance(parent, cst.Call) and isinstance(child, cst.Arg):
                q = self.imports.qualified(parent.func) or ""
                return q.rsplit(".", 1)[-1] in COMPARISON_METHODS and q.startswith("torch.")
            return False

    def number_ok(self, node: cst.CSTNode) -> bool:
        """A Python number can stand in for the tensor value of `node`: it is not used as a tensor
        (no `.attr`, indexing or in-place update on it, directly or through the name it is bound to)."""
        parent = self.parent(node)
        if isinstance(parent, (cst.Attribute, cst.Subscript)) and parent.value is node:
            return False
        if isinstance(parent, cst.Assign) and parent.value is node:
            targets = [t.target for t in parent.targets]
            if len(targets) != 1 or not isinstance(targets[0], cst.Name):
                return False
            for use in self._uses(targets[0]):
                holder = self.parent(use)
                if isinstance(holder, (cst.Attribute, cst.Subscript)) and holder.value is use:
                    return False
                if isinstance(holder, cst.AugAssign) and holder.target is use:
                    return False
        return True

    # -- can the alias be written in place? ---------------------------------------------------
    def escape(self, node: cst.CSTNode) -> Optional[str]:
        """None when the alias `node` evaluates to (a `.data`, or a view/`self`-returning conversion of
        one) cannot be written in place afterwards; else a short reason."""
        while True:
            method = self._method_called(node)
            if method is not None:
                if is_inplace_method(method):
                    return f"`.{method}()` writes through it"
                if method in ALIAS_METHODS:
                    node = self._call_of(node)  # type: ignore[assignment]
                    continue
                return None  # a new tensor (or a number / ndarray)
            parent, child = self.expr_parent(node)
            if isinstance(parent, cst.Attribute) and parent.value is node:
                if parent.attr.value in ("T", "mT", "data", "real", "imag"):
                    node = parent
                    continue
                return None  # metadata such as `.shape`
            if isinstance(parent, cst.Subscript) and parent.value is node:
                holder = self.parent(parent)
                if isinstance(holder, cst.AssignTarget) or (isinstance(holder, cst.AugAssign) and holder.target is parent):
                    return "an item assignment writes through it"
                node = parent  # a view
                continue
            return self._consumer_escape(parent, child, node)

    def _consumer_escape(self, parent: Optional[cst.CSTNode], child: cst.CSTNode, node: cst.CSTNode) -> Optional[str]:
        if isinstance(parent, (cst.BinaryOperation, cst.UnaryOperation, cst.Comparison, cst.BooleanOperation,
                               cst.FormattedStringExpression, cst.If, cst.While, cst.Assert, cst.Expr, cst.IfExp)):
            if isinstance(parent, cst.IfExp) and parent.test is not node:
                return "it is the value of a conditional expression"
            return None
        if isinstance(parent, cst.AugAssign):
            return None if parent.value is node else "an augmented assignment writes through it"
        if isinstance(parent, cst.Call) and isinstance(child, cst.Arg):
            return None if self._reads_args(parent) else f"it is passed to `{_callee(parent)}`"
        if isinstance(parent, (cst.Tuple, cst.List)):
            # `rnn(x, (h, c))`: a tuple built for a call that reads its arguments.
            outer, outer_child = self.expr_parent(parent)
            if isinstance(outer, cst.Call) and isinstance(outer_child, cst.Arg) and self._reads_args(outer):
                return None
            return "it is stored in a container"
        if isinstance(parent, cst.AssignTarget):
            return "it is assigned"
        if isinstance(parent, cst.Assign):
            targets = [t.target for t in parent.targets]
            if len(targets) == 1 and isinstance(targets[0], cst.Name):
                return self._name_escape(targets[0])
            return "it is stored"
        if isinstance(parent, (cst.Return, cst.Yield)):
            return "it is returned"
        return "it is stored or bound elsewhere"

    def _reads_args(self, call: cst.Call) -> bool:
        func = call.func
        q = self.imports.qualified(func)
        if q is not None:
            last = q.rsplit(".", 1)[-1]
            if q.startswith("torch.nn.init.") or is_inplace_method(last):
                return False
            # torchvision.utils (save_image, make_grid) only reads its tensors.
            return q.startswith(("torch.", "numpy.", "math.", "torchvision.utils.")) or q in ("torch", "numpy")
        if isinstance(func, cst.Name):
            if func.value in _READING_BUILTINS and func.value not in self.imports.local_defs:
                return True
            # A module's forward reads its inputs (in practice: SEMANTICS E, truncated BPTT row).
            return self.inference.is_module(func)
        if isinstance(func, cst.Attribute):
            # An argument of a tensor method is read, even of an in-place one (`w.copy_(src)`).
            return self.inference.is_tensor(func.value) or self.inference.is_module(func)
        return False

    def _name_escape(self, name: cst.Name) -> Optional[str]:
        """`y = x.data`: every use of `y` in its scope must only read it."""
        for use in self._uses(name):
            reason = self._use_escape(use)
            if reason is not None:
                return f"`{name.value}` is an alias: {reason}"
        return None

    def _use_escape(self, use: cst.Name) -> Optional[str]:
        parent = self.parent(use)
        if isinstance(parent, cst.AugAssign) and parent.target is use:
            return f"`{use.value} {parent.operator.__class__.__name__}` updates it in place"
        if isinstance(parent, cst.Attribute) and parent.value is use:
            method = self._method_called(use)
            if method is not None and is_inplace_method(method):
                return f"`{use.value}.{method}()` writes through it"
            return None  # other methods return new tensors or views used in place (accepted)
        if isinstance(parent, cst.Subscript) and parent.value is use:
            holder = self.parent(parent)
            if isinstance(holder, cst.AssignTarget) or (isinstance(holder, cst.AugAssign) and holder.target is parent):
                return f"`{use.value}[...] =` writes through it"
            return None
        expr_parent, child = self.expr_parent(use)
        if isinstance(expr_parent, cst.Assign) and isinstance(child, cst.AssignTarget):
            return None  # a rebinding
        reason = self._consumer_escape(expr_parent, child, use)
        if reason is not None and isinstance(expr_parent, cst.Assign):
            return "it is bound to another name"
        return reason

    def _uses(self, name: cst.Name) -> list[cst.Name]:
        names = self._names_in(self._scope_of(name))
        return [n for n in names.get(name.value, []) if n is not name and not self._is_binding(n)]

    def _names_in(self, scope: cst.CSTNode) -> dict[str, list[cst.Name]]:
        names = self._names_by_scope.get(id(scope))
        if names is None:
            collector = _Names()
            walk_visit(scope, collector)
            names = self._names_by_scope[id(scope)] = collector.names
        return names

    def _is_binding(self, name: cst.Name) -> bool:
        parent = self.parent(name)
        if isinstance(parent, (cst.AssignTarget, cst.Param, cst.FunctionDef, cst.ClassDef, cst.ImportAlias, cst.AsName)):
            return True
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.target is name:
            return True
        if isinstance(parent, cst.Element):
            holder = self.parent(parent)
            while isinstance(holder, (cst.Tuple, cst.List, cst.Element)):
                parent, holder = holder, self.parent(holder)
            return isinstance(holder, cst.AssignTarget) or (isinstance(holder, (cst.For, cst.CompFor)) and holder.target is parent)
        return False

    def _name_loaded(self, name: cst.Name) -> bool:
        return bool(self._uses(name))

    def _scope_of(self, node: cst.CSTNode) -> cst.CSTNode:
        current = self.parent(node)
        while current is not None and not isinstance(current, (cst.FunctionDef, cst.Lambda, cst.Module)):
            current = self.parent(current)
        return current if current is not None else self.inference.module


def _single_index(sub: cst.Subscript) -> Optional[int]:
    if len(sub.slice) != 1:
        return None
    index = sub.slice[0].slice
    if isinstance(index, cst.Index) and isinstance(index.value, cst.Integer) and index.star is None:
        return int(index.value.evaluated_value)
    return None


def _callee(call: cst.Call) -> str:
    return dotted_name(call.func) or "a function"


class _Names(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, list[cst.Name]] = {}

    def visit_Name(self, node: cst.Name) -> None:
        self.names.setdefault(node.value, []).append(node)
