"""What shape does a tensor have? Just enough of it to choose the fix of `x.data[0]`.

In 0.3, `x.data[0]` gave a Python number for a one-element or 1-D tensor and a row for a
higher-rank one; today it raises for a 0-dim tensor (every loss). So the fix depends on the rank:
a 0-dim or one-element tensor's `.item()`, a 1-D tensor's `x[0].item()`, a row `x.detach()[0]`.

A shape is a tuple of dimension sizes (-1: a size not known), or None when the rank itself is not
known. The sources are the file's own: factories with literal sizes (`torch.randn(3)`,
`torch.FloatTensor([1])`), losses and full reductions (0-dim), shape-preserving methods and
broadcasting arithmetic, `view(-1)`, indexing with integers, and names whose every binding agrees
(`total = 0; total += loss` is 0-dim: a number adds nothing to the shape). A name bound in any other
way (a parameter, a loop over something not a tensor, an unpacked tuple) has an unknown shape.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Optional

import libcst as cst

from .shape_literals import NEUTRAL, Shape, broadcast, data_shape, dim_zero, is_data, literal_int
from .shape_returns import ReturnedItems, agreed
from .torch_api import FULL_REDUCTIONS, LOSS_FUNCTIONS
from .torch_nodes import comprehension_element, reduces_to_scalar

if TYPE_CHECKING:
    from .bindings import BindingCollector
    from .tensors import TensorInference

# Factories whose positional arguments are sizes.
_SIZE_FACTORIES = {"randn", "rand", "zeros", "ones", "empty", "full", "randint", "normal"}
# Legacy constructors: sizes, or data (a nested list, a tensor).
_LEGACY_CONSTRUCTORS = {
    "Tensor", "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
    "ByteTensor", "CharTensor", "BoolTensor",
}
# Methods whose result has the receiver's shape.
SAME_SHAPE_METHODS = {
    "detach", "clone", "cpu", "cuda", "float", "double", "half", "long", "int", "short", "byte", "char",
    "bool", "contiguous", "abs", "exp", "log", "sigmoid", "tanh", "relu", "neg", "sqrt", "rsqrt", "sign",
    "floor", "ceil", "round", "clamp", "requires_grad_", "pin_memory", "to", "type", "type_as", "log1p",
    "expm1", "reciprocal", "sin", "cos", "zero_", "fill_", "normal_", "uniform_", "clamp_", "abs_",
    "exp_", "log_", "sigmoid_", "tanh_", "relu_", "neg_", "sqrt_", "copy_", "detach_",
}
_BROADCAST_METHODS = {"add", "sub", "mul", "div", "pow", "add_", "sub_", "mul_", "div_", "pow_"}
# torch functions whose result broadcasts their positional arguments (`torch.abs(x)`: x's shape).
_ELEMENTWISE_FUNCTIONS = {
    "abs", "exp", "log", "sigmoid", "tanh", "relu", "neg", "sqrt", "rsqrt", "sign", "floor", "ceil", "round",
    "clamp", "log1p", "expm1", "reciprocal", "sin", "cos", "add", "sub", "mul", "div", "pow",
}
# With a dim, these drop it (`max`/`min`/`median`/`mode` return a (values, indices) pair instead).
_REDUCTIONS_WITH_DIM = (FULL_REDUCTIONS - {"max", "min"}) | {"argmax", "argmin", "all", "any"}


# torch.nn modules whose output has their input's shape (one input), and those that change only the
# last dimension (`nn.Linear`: (..., in) -> (..., out)).
_SAME_SHAPE_MODULES = {
    "ReLU", "ReLU6", "ELU", "SELU", "LeakyReLU", "PReLU", "Tanh", "Sigmoid", "Softplus", "Hardtanh",
    "Dropout", "Dropout2d", "AlphaDropout", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm",
    "InstanceNorm1d", "InstanceNorm2d", "Softmax", "LogSoftmax", "Identity",
}
_LAST_DIM_MODULES = {"Linear", "Bilinear"}


class Shapes(ReturnedItems):
    def __init__(self, inference: TensorInference, collector: BindingCollector,
                 previous: Optional[Shapes] = None) -> None:
        self.inference = weakref.proxy(inference)
        self.imports = inference.imports
        self.sources = collector.sources
        self.self_sources = collector.self_sources
        # What the file's own functions and methods return (a method by its name, in any class).
        self.returns = collector.returns
        self.method_returns = collector.method_returns
        self.appends: dict[str, list[cst.BaseExpression]] = {}  # list name -> what is appended to it
        for owner, value in collector.appends:
            self.appends.setdefault(owner, []).append(value)
        self.previous = previous
        self._names: dict[str, Shape] = {}
        self._self_attrs: dict[str, Shape] = {}
        self._busy: set[str] = set()

    def of(self, node: cst.BaseExpression) -> Shape:
        shape = self._shape(node, 0)
        return None if shape == NEUTRAL else shape

    def name(self, name: str) -> Shape:
        if name in self._names:
            return self._names[name]
        if name in self._busy:
            return NEUTRAL
        self._busy.add(name)
        try:
            sources = self.sources.get(name)
            if sources is None:
                shape = self.previous.name(name) if self.previous is not None else None
            else:
                shape = self._combine(sources)
        finally:
            self._busy.discard(name)
        self._names[name] = shape
        return shape

    def _self_attr(self, attr: str) -> Shape:
        key = "self." + attr
        if attr in self._self_attrs:
            return self._self_attrs[attr]
        if key in self._busy:
            return NEUTRAL
        self._busy.add(key)
        try:
            sources = self.self_sources.get(attr)
            shape = self._combine(sources) if sources is not None else None
        finally:
            self._busy.discard(key)
        self._self_attrs[attr] = shape
        return shape

    def _combine(self, sources: list[tuple[str, Optional[cst.BaseExpression]]]) -> Shape:
        """Every plain binding must agree (numbers aside); augmented ones broadcast into it."""
        plain: Shape = NEUTRAL
        augmented: list[Shape] = []
        for kind, value in sources:
            if value is None or kind == "unknown":
                return None
            if kind == "iter":
                shape = self._shape(value, 1)
                if shape is None or shape == NEUTRAL or not shape:
                    return None
                shape = shape[1:]
            elif kind == "item":
                shape = self._returned_items(value, 1) if isinstance(value, cst.Call) else None
            else:
                shape = self._shape(value, 1)
            if shape is None:
                return None
            if kind == "aug":
                augmented.append(shape)
            elif shape != NEUTRAL:
                if plain != NEUTRAL and plain != shape:
                    return None
                plain = shape
        result = plain
        for shape in augmented:
            result = broadcast(result, shape)
            if result is None:
                return None
        return result

    # -- expressions ---------------------------------------------------------------------------
    def _shape(self, node: cst.BaseExpression, depth: int) -> Shape:
        if depth > 30:
            return None
        if isinstance(node, (cst.Integer, cst.Float)):
            return NEUTRAL
        if isinstance(node, cst.Name):
            if node.value in ("True", "False"):
                return NEUTRAL
            return self.name(node.value)
        if isinstance(node, cst.UnaryOperation):
            return self._shape(node.expression, depth + 1)
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.MatrixMultiply):
                return None
            return broadcast(self._shape(node.left, depth + 1), self._shape(node.right, depth + 1))
        if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
            return broadcast(self._shape(node.left, depth + 1), self._shape(node.comparisons[0].comparator, depth + 1))
        if isinstance(node, cst.Attribute):
            if isinstance(node.value, cst.Name) and node.value.value == "self":
                return self._self_attr(node.attr.value)
            if node.attr.value in ("data", "grad"):
                return self._shape(node.value, depth + 1)
            if node.attr.value == "T":
                inner = self._shape(node.value, depth + 1)
                return tuple(reversed(inner)) if inner is not None and inner != NEUTRAL else None
            return None
        if isinstance(node, cst.Subscript):
            return self._subscript(node, depth)
        if isinstance(node, cst.Call):
            return self._call(node, depth)
        return None

    def _subscript(self, node: cst.Subscript, depth: int) -> Shape:
        base = self._shape(node.value, depth + 1)
        if (base is None or base == NEUTRAL) and isinstance(node.value, cst.Call) and len(node.slice) == 1 \
                and isinstance(node.slice[0].slice, cst.Index) and self._integer(node.slice[0].slice.value):
            return self._returned_items(node.value, depth + 1)  # `accuracy(out, y)[0]`
        if base is None or base == NEUTRAL:
            return None
        dims = list(base)
        out: list[int] = []
        position = 0
        for element in node.slice:
            index = element.slice
            if isinstance(index, cst.Slice):
                if position >= len(dims):
                    return None
                full = index.lower is None and index.upper is None and index.step is None
                out.append(dims[position] if full else -1)
                position += 1
            elif not isinstance(index, cst.Index):
                return None
            elif isinstance(index.value, cst.Name) and index.value.value == "None":
                out.append(1)
            elif self._integer(index.value):
                if position >= len(dims):
                    return None
                position += 1
            else:
                return None  # a tensor index, an ellipsis, a mask ...
        return (*out, *dims[position:])

    def _integer(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Integer):
            return True
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            return isinstance(node.expression, cst.Integer)
        return isinstance(node, cst.Name) and node.value in self.inference.int_names

    def _call(self, node: cst.Call, depth: int) -> Shape:
        func = node.func
        q = self.imports.qualified(func)
        if q is not None:
            return self._torch_call(q, node, depth)
        inf = self.inference
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            receiver = func.value
            if (method == "size" and len(node.args) == 1) or (method in ("dim", "numel", "item") and not node.args):
                return NEUTRAL  # a number (`batch_size = target.size(0)`)
            if method in SAME_SHAPE_METHODS:
                if method in ("type", "to") and not node.args:
                    return None
                return self._shape(receiver, depth + 1) if not self._numeric(receiver) else None
            if method in _BROADCAST_METHODS and len(node.args) == 1 and node.args[0].keyword is None:
                return broadcast(self._shape(receiver, depth + 1), self._shape(node.args[0].value, depth + 1))
            if method in FULL_REDUCTIONS and not node.args:
                return () if inf.is_tensor(receiver) or self._shape(receiver, depth + 1) not in (None, NEUTRAL) \
                    or is_data(receiver) else None
            if method in _REDUCTIONS_WITH_DIM and node.args:
                return self._reduce_dim(self._shape(receiver, depth + 1), node)
            if method in ("view", "reshape", "expand", "new", "new_zeros", "new_ones", "new_empty", "repeat"):
                if method == "repeat":
                    return None
                return _sizes(node, self)
            if method == "view_as" and len(node.args) == 1:
                return self._shape(node.args[0].value, depth + 1)
            if method == "unsqueeze" and len(node.args) == 1:
                inner = self._shape(receiver, depth + 1)
                if inner is None or inner == NEUTRAL:
                    return None
                dim = literal_int(node.args[0].value)
                if dim is None or not -len(inner) - 1 <= dim <= len(inner):
                    return (*[-1] * (len(inner) + 1),)
                dim = dim if dim >= 0 else len(inner) + 1 + dim
                return (*inner[:dim], 1, *inner[dim:])
            if method == "t" and not node.args:
                inner = self._shape(receiver, depth + 1)
                return tuple(reversed(inner)) if inner is not None and inner != NEUTRAL and len(inner) <= 2 else None
            if method == "squeeze" and len(node.args) == 1:
                inner = self._shape(receiver, depth + 1)
                dim = literal_int(node.args[0].value)
                if inner is None or inner == NEUTRAL or dim is None or not -len(inner) <= dim < len(inner):
                    return None
                if inner[dim] == 1:
                    return (*inner[:dim], *inner[dim + 1:]) if dim >= 0 else (*inner[:dim], *inner[len(inner) + dim + 1:])
                return inner if inner[dim] > 1 else None
            if isinstance(receiver, cst.Name) and receiver.value == "self" and method in self.method_returns:
                return self._agreed(self.method_returns[method], depth)
            return None
        if isinstance(func, cst.Name) and func.value in inf.scalar_loss_modules:
            return ()  # `criterion(out, y)` of a reducing loss module
        classes = inf.module_output_classes(node)
        if classes is not None:
            return self._module_output(classes, depth, node)
        if isinstance(func, cst.Name):
            name = func.value
            if name in ("sum",) and inf.is_builtin(name) and len(node.args) == 1:
                element = comprehension_element(node.args[0].value)
                if element is not None:
                    shape = self._shape(element, depth + 1)
                    return None if shape == NEUTRAL else shape
                return None
            if inf.scalar_form(node):
                return ()  # a criterion's loss, a sum of 0-dim tensors
            if name in self.returns and name not in self.sources:
                return self._agreed(self.returns[name], depth)  # a function of this file, never re-bound
        return None

    def _agreed(self, values: list[cst.BaseExpression], depth: int) -> Shape:
        """The shape every one of a function's return values has, if they agree (`return x.mean()`)."""
        if depth > 8:
            return None
        return agreed({self._shape(value, depth + 1) for value in values})

    def _module_output(self, classes: set[str], depth: int, call: cst.Call) -> Shape:
        """The shape every `forward` of `classes` returns (`output.mean(0).view(1)`: (1,)), if they
        agree; a torch layer's from its input's (`nn.Linear(5, 2)(x)` has `x`'s rank)."""
        found: Shape = NEUTRAL
        for cls in classes:
            returns = self.inference.forward_returns.get(cls)
            layer = cls.rpartition(".")[2] if cls.startswith("torch.nn.") else ""
            if layer in _SAME_SHAPE_MODULES or layer in _LAST_DIM_MODULES:
                args = call.args
                inner = self._shape(args[0].value, depth + 1) if len(args) == 1 and not args[0].keyword and not args[0].star else None
                if inner is None or inner == NEUTRAL or (layer in _LAST_DIM_MODULES and not inner):
                    return None
                shape: Shape = inner if layer in _SAME_SHAPE_MODULES else (*inner[:-1], -1)
            elif returns is not None:
                shapes = {self._shape(value, depth + 1) for value in returns}
                shape = shapes.pop() if len(shapes) == 1 else None
            else:
                shape = self.inference.facts.forward_shape(cls)
            if shape is None or shape == NEUTRAL or (found != NEUTRAL and found != shape):
                return None
            found = shape
        return None if found == NEUTRAL else found

    def _numeric(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, (cst.Integer, cst.Float))

    def _reduce_dim(self, inner: Shape, node: cst.Call) -> Shape:
        if inner is None or inner == NEUTRAL:
            return None
        keepdim = any(a.keyword is not None and a.keyword.value == "keepdim" for a in node.args) or (
            len([a for a in node.args if a.keyword is None]) >= 2)
        if keepdim:
            return None  # `keepdim=True` or a second positional (`max(1, True)`): left to chance
        dim = literal_int(node.args[0].value) if node.args[0].keyword in (None,) else None
        if dim is None or not -len(inner) <= dim < len(inner) or not inner:
            return (*[-1] * (len(inner) - 1),) if inner else None
        dim = dim if dim >= 0 else len(inner) + dim
        return (*inner[:dim], *inner[dim + 1:])

    def _torch_call(self, q: str, node: cst.Call, depth: int) -> Shape:
        last = q.rsplit(".", 1)[-1]
        positional = [a for a in node.args if a.keyword is None]
        if any(a.star for a in node.args):
            return None
        if q in ("torch.autograd.Variable", "torch.nn.Parameter") or (q.startswith("torch.") and last.endswith("_like")):
            return self._shape(positional[0].value, depth + 1) if positional else None
        if q.startswith("torch.nn.functional."):
            if last in LOSS_FUNCTIONS:
                return () if reduces_to_scalar(node) else None
            if positional and last in ("relu", "sigmoid", "tanh", "dropout", "leaky_relu", "elu", "softplus"):
                return self._shape(positional[0].value, depth + 1)
            return None
        if not q.startswith("torch.") or q.count(".") > 2:
            return None
        if last in FULL_REDUCTIONS and len(positional) == 1 and len(node.args) == 1:
            return ()
        if last in _ELEMENTWISE_FUNCTIONS and positional and len(positional) == len(node.args):
            shape: Shape = NEUTRAL
            for arg in positional:
                shape = broadcast(shape, self._shape(arg.value, depth + 1))
            return None if shape == NEUTRAL else shape
        if last in ("stack", "cat") and positional:
            # `torch.stack(losses)` of a list of 0-dim losses is 1-D; `cat` keeps the items' rank.
            item = self._items(positional[0].value, depth)
            if item is None or (last == "stack" and len(positional) + len(node.args) > 1 and not dim_zero(node)):
                return None
            if last == "stack":
                return (-1, *item) if dim_zero(node) else None
            return (-1, *item[1:]) if item and dim_zero(node) else None
        if last in _SIZE_FACTORIES and last not in ("randint", "normal", "full"):
            return _sizes(node, self)
        if last == "tensor" and positional:
            return data_shape(positional[0].value)
        if last in _LEGACY_CONSTRUCTORS:
            if len(positional) == 1:
                value = positional[0].value
                if isinstance(value, (cst.List, cst.Tuple)):
                    return data_shape(value)
                if self._integer(value):
                    size = literal_int(value)
                    return (size if size is not None else -1,)
                if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "size":
                    return self._shape(value.func.value, depth + 1)
                return None  # a tensor, an array, a storage: whatever it is
            return _sizes(node, self)
        return None


def _sizes(node: cst.Call, shapes: Shapes) -> Shape:
    """The sizes of `torch.zeros(2, 3)`, `torch.zeros((2, 3))`, `x.view(-1)`, `x.new(n, m)`."""
    positional = [a for a in node.args if a.keyword is None]
    if any(a.star for a in node.args):
        return None
    if len(positional) == 1:
        value = positional[0].value
        if isinstance(value, (cst.Tuple, cst.List)):
            if any(isinstance(e, cst.StarredElement) for e in value.elements):
                return None
            return tuple(_size(e.value, shapes) for e in value.elements)
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "size" and not value.args:
            return shapes.of(value.func.value)
        if isinstance(value, cst.Attribute) and value.attr.value == "shape":
            return shapes.of(value.value)
        if not _size_like(value, shapes):
            return None
    elif not positional:
        return None
    return tuple(_size(a.value, shapes) for a in positional)


def _size_like(node: cst.BaseExpression, shapes: Shapes) -> bool:
    """An expression that can only be one size: an int literal, an int name, `x.size(0)`, `n * 2`."""
    if literal_int(node) is not None or (isinstance(node, cst.Name) and node.value in shapes.inference.int_names):
        return True
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "size" and node.args:
        return True
    if isinstance(node, cst.BinaryOperation):
        return _size_like(node.left, shapes) and _size_like(node.right, shapes)
    return False


def _size(node: cst.BaseExpression, shapes: Shapes) -> int:
    value = literal_int(node)
    return value if value is not None and value >= 0 else -1
