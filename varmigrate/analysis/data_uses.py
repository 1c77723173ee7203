"""What each `.data` attribute of a file is used for (scalar extraction, metadata read, in-place
update, plain read ...), so that each `.data` is claimed by exactly one VM2xx rule; and, for reads,
whether the alias it creates can be written in place later (aliases.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import libcst as cst

from ..tree.memo import FileMemo
from ..tree.nodes import single_index
from ..tree.parents import Parents
from .aliases import AliasEscapes
from .names import Scopes
from .tensors import TensorInference
from .torch_api import (
    COMPARISON_METHODS,
    METADATA_ATTRS,
    METADATA_METHODS,
    NEW_METHODS,
    SHARED_ARRAY_METHODS,
    TENSOR_ONLY_METHODS,
    container_like,
    is_inplace_method,
)

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
RESIZE = "resize"  # w.data.resize_(n), w.data.set_(t)       VM209 (0.3 resized / re-pointed `w` itself)

# Methods on the way from `.data` to `.numpy()[0]` that keep the number (and element count) it reads:
# `value_loss.data.double().numpy()[0]`, `a.max(1)[1].data.squeeze().numpy()[0]`.
_NUMBER_PRESERVING = ("cpu", "cuda", "double", "float", "half", "long", "int", "squeeze", "contiguous", "clone", "detach")

# What a Python number has (`x.data[0]` of a 1-D tensor in 0.3): any other attribute is a tensor's.
_NUMBER_ATTRIBUTES = frozenset(dir(0.0)) | frozenset(dir(0))

# In-place methods that change a tensor's shape or storage: through `.data` they touched the
# Variable itself in 0.3, and only a separate alias today.
RESIZE_METHODS = ("resize_", "resize_as_", "set_")


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
    # INDEX_ZERO: False when the base is not known to be a tensor (a crash form reported anyway).
    known_tensor: bool = True

    @property
    def base(self) -> cst.BaseExpression:
        return self.data.value


class DataUses:
    """Classifies `.data` attributes by their context (computed once per file, on first use)."""

    def __init__(self, inference: TensorInference, parents: Parents, memo: Optional[FileMemo] = None) -> None:
        self.inference = inference
        self.imports = inference.imports
        self.parent = parents.parent
        self.expr_parent = parents.expr_parent
        self.method_called = parents.method_called
        self.call_of = parents.call_of
        self.scopes = Scopes(inference.module, parents, memo)
        self.escapes = AliasEscapes(parents, self.scopes, inference, inference.imports)
        self._cache: dict[int, Optional[DataUse]] = {}

    # -- is the base a tensor? ---------------------------------------------------------------
    def base_is_tensor(self, data: cst.Attribute) -> bool:
        base = data.value
        inf = self.inference
        if inf.is_tensor(base):
            return True
        if not self.could_be_tensor(base):
            return False
        # Evidence from the chain after `.data`, for a base of unknown type that does not look like
        # a dataset, loader or options object.
        if self._tensor_only_chain(data):
            return True
        # An argument of a known tensor's method (`pred.eq(target.data)`, `w.copy_(src.data)`).
        expr_parent, child = self.expr_parent(data)
        return (
            isinstance(base, cst.Name)
            and isinstance(expr_parent, cst.Call)
            and isinstance(child, cst.Arg)
            and isinstance(expr_parent.func, cst.Attribute)
            and inf.is_tensor(expr_parent.func.value)
        )

    def could_be_tensor(self, base: cst.BaseExpression) -> bool:
        """Nothing says `base` is not a tensor: it is no numpy or scipy value, dataset, loader,
        options object, module, container or literal, and no `self` of a class that is not a tensor
        subclass. (The crash forms are reported on such bases: DESIGN.md, "Rules".)"""
        inf = self.inference
        if isinstance(base, cst.Name):
            name = base.value
            if name == "self":
                return self._enclosing_class(base) in inf.tensor_classes
            return not (inf.is_definitely_not_tensor(base) or container_like(name))
        if inf.is_known_non_tensor(base) or inf.is_module(base):
            return False
        if isinstance(base, cst.Attribute):
            return not container_like(base.attr.value)
        if isinstance(base, cst.Subscript):
            # `dataset[i].data`, `args[0].data`: an item of a container-like name is no evidence.
            value = base.value
            return not (isinstance(value, cst.Name) and (value.value != "self" and container_like(value.value)))
        return isinstance(base, (cst.Call, cst.BinaryOperation, cst.UnaryOperation))

    def _enclosing_class(self, node: cst.CSTNode) -> Optional[str]:
        current = self.parent(node)
        while current is not None and not isinstance(current, cst.ClassDef):
            current = self.parent(current)
        return current.name.value if isinstance(current, cst.ClassDef) else None

    def _tensor_only_chain(self, data: cst.Attribute) -> bool:
        """The methods called on `x.data` reach a tensor-only one, possibly through calls of methods
        ndarrays also have: `output.data.view(-1).div(temperature).exp()`."""
        node: cst.CSTNode = data
        for _ in range(8):
            parent = self.parent(node)
            if not (isinstance(parent, cst.Attribute) and parent.value is node):
                return False
            if parent.attr.value in TENSOR_ONLY_METHODS or is_inplace_method(parent.attr.value):
                return True  # (numpy has no `x_` in-place methods)
            call = self.parent(parent)
            if parent.attr.value in ("max", "min") and self._indexed_reduction(call, parent):
                return True
            if parent.attr.value not in SHARED_ARRAY_METHODS or not (isinstance(call, cst.Call) and call.func is parent):
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
            use: Optional[DataUse] = None
            if data.attr.value == "data":
                use = self._classify(data) if self.base_is_tensor(data) else self._crash_form(data)
            self._cache[key] = use
        return self._cache[key]

    def _crash_form(self, data: cst.Attribute) -> Optional[DataUse]:
        """`x.data[0]` (and `x.data.numpy()[0]`, `x.data.tolist()[0]`) on a base not known to be a
        tensor, nor known not to be one: it raises on every 0-dim tensor, so it is reported."""
        if not self.could_be_tensor(data.value):
            return None
        indexed = self._index_zero_of(data)
        if indexed is not None:
            return DataUse(INDEX_ZERO, data, escape=self.escapes.escape(indexed), known_tensor=False)
        converted = self._numpy_index_zero(data)
        if converted is not None:
            return DataUse(INDEX_ZERO, data, subscript=converted, known_tensor=False)
        return None

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
            statement = self.parent(parent)
            if self._resize_assignment(statement) is not None:
                return None  # `w.data = w.data.resize_(n)`: what a `w.data.resize_(n)` of 0.3 is today
            return DataUse(ASSIGN, data, statement=statement)
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
        if top is not None and self._resizes(data, top):
            holder = self.parent(top)
            assignment = self._resize_assignment(holder)
            if assignment is not None and assignment is data:
                return None  # the value of `w.data = w.data.resize_(n)`
            return DataUse(RESIZE, data, statement=holder if isinstance(holder, cst.Expr) else None)
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
        indexed = self._index_zero_of(data)
        if indexed is not None:
            return DataUse(INDEX_ZERO, data, escape=self.escapes.escape(indexed))
        numpy_zero = self._numpy_index_zero(data)
        if numpy_zero is not None:
            # The ndarray is a copy's view at worst, and `[0]` of it a number: nothing writes through it.
            return DataUse(INDEX_ZERO, data, subscript=numpy_zero)
        method = self.method_called(data)
        if method == "item" and not self.call_of(data).args:  # type: ignore[union-attr]
            return DataUse(ITEM, data)
        if self._is_metadata(data, parent, method):
            return DataUse(METADATA, data)
        if self._is_indices(data):
            return DataUse(INDICES, data)
        # 7. Everything else is a read.
        compared = self._compared(data)
        return DataUse(READ, data, escape=None if compared else self.escapes.escape(data), compared=compared)

    def _numpy_index_zero(self, data: cst.Attribute) -> Optional[cst.Subscript]:
        """`x.data.numpy()[0]`, `x.data.cpu().numpy()[0]`, `x.data.tolist()[0]`: the 0.3 ways to a
        number, via numpy or a list; also `x.data.cpu()[0]`, `x.data.float()[0]` (a copy or a cast
        of a 0-dim tensor is 0-dim: `[0]` raises as on `x.data`)."""
        node: cst.CSTNode = data
        while True:
            method = self.method_called(node)
            call = self.call_of(node) if method is not None else None
            if call is None or call.args or (method not in ("numpy", "tolist") and method not in _NUMBER_PRESERVING):
                return self._index_zero_of(node) if node is not data else None
            if method in _NUMBER_PRESERVING:
                node = call
                continue
            return self._index_zero_of(call, numpy=method == "numpy")

    def _index_zero_of(self, node: cst.CSTNode, numpy: bool = False) -> Optional[cst.Subscript]:
        """The `node[0]` that reads `node` (not a store into it), unless what it gives is used as a
        tensor (`x.data[0][0]`, `x.data.cpu()[0].numpy()`): 0.3 gave that only for `x` of two or
        more dimensions (of a 1-D `x`, a number), so it reads a row, as it does today. `numpy`:
        `node` is an array, whose `[0]` of one dimension is a numpy scalar (with array methods)."""
        holder = self.parent(node)
        if not (
            isinstance(holder, cst.Subscript)
            and holder.value is node
            and single_index(holder) == 0
            and not self.is_store(holder)
        ):
            return None
        user = self.parent(holder)
        if isinstance(user, cst.Subscript) and user.value is holder:
            return None
        if (not numpy and isinstance(user, cst.Attribute) and user.value is holder
                and user.attr.value not in _NUMBER_ATTRIBUTES):
            return None
        return holder

    def is_store(self, node: cst.CSTNode) -> bool:
        parent = self.parent(node)
        return isinstance(parent, (cst.AssignTarget, cst.Del)) or (isinstance(parent, cst.AugAssign) and parent.target is node)

    def _resizes(self, data: cst.Attribute, top: cst.Call) -> bool:
        node: cst.BaseExpression = top
        while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value in RESIZE_METHODS:
                return True
            node = node.func.value
        return False

    def _resize_assignment(self, statement: Optional[cst.CSTNode]) -> Optional[cst.Attribute]:
        """For `w.data = w.data.resize_(n)...` (one target, the same `w`): the value's `.data`."""
        if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
            return None
        target = statement.targets[0].target
        if not (isinstance(target, cst.Attribute) and target.attr.value == "data"):
            return None
        node: cst.BaseExpression = statement.value
        resized = False
        while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and is_inplace_method(node.func.attr.value):
            resized = resized or node.func.attr.value in RESIZE_METHODS
            node = node.func.value
        if not (resized and isinstance(node, cst.Attribute) and node.attr.value == "data"):
            return None
        module = self.inference.module
        if module.code_for_node(node.value) != module.code_for_node(target.value):
            return None
        return node

    def _inplace_chain_top(self, data: cst.Attribute) -> Optional[cst.Call]:
        node: cst.CSTNode = data
        top: Optional[cst.Call] = None
        while True:
            method = self.method_called(node)
            if method is None or not is_inplace_method(method):
                return top
            top = self.call_of(node)
            node = top  # type: ignore[assignment]

    def _inside_update(self, data: cst.Attribute) -> bool:
        """`data` is an argument or operand inside a statement that VM207 rewrites as a whole."""
        node: Optional[cst.CSTNode] = data
        while node is not None and not isinstance(node, cst.BaseSmallStatement):
            node = self.parent(node)
        if isinstance(node, cst.AugAssign):
            updated: cst.BaseExpression = node.target
            if isinstance(updated, cst.Subscript):
                updated = updated.value
            if not isinstance(updated, cst.Attribute) or updated is data:
                return False
            use = self.use(updated)
            return use is not None and use.kind == INPLACE
        if isinstance(node, cst.Expr) and isinstance(node.value, cst.Call):
            # Find the `.data` receiver at the bottom of the in-place chain.
            recv: cst.BaseExpression = node.value
            while isinstance(recv, cst.Call) and isinstance(recv.func, cst.Attribute) and is_inplace_method(recv.func.attr.value):
                recv = recv.func.value
            if isinstance(recv, cst.Attribute) and recv is not data and recv.attr.value == "data" and self.base_is_tensor(recv):
                return True
        if isinstance(node, cst.Assign):
            for assign_target in node.targets:
                t = assign_target.target
                if isinstance(t, cst.Subscript) and isinstance(t.value, cst.Attribute) and t.value is not data:
                    item_use = self.use(t.value)
                    if item_use is not None and item_use.kind == INPLACE:
                        return True
        return False

    def _is_metadata(self, data: cst.Attribute, parent: Optional[cst.CSTNode], method: Optional[str]) -> bool:
        if method is not None:
            if method in NEW_METHODS:
                return True  # a fresh tensor that never requires grad (VM204 says so)
            if method == "type":
                return not self.call_of(data).args  # type: ignore[union-attr]
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
        method = self.method_called(data)
        if method in ("argmax", "argmin"):
            return True
        call: Optional[cst.Call] = None
        if method in ("max", "min", "topk", "sort"):
            call = self.call_of(data)
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
            return single_index(holder) == 1 and not isinstance(self.parent(holder), cst.AssignTarget)
        if isinstance(holder, cst.Assign) and len(holder.targets) == 1:
            target = holder.targets[0].target
            if isinstance(target, (cst.Tuple, cst.List)) and len(target.elements) == 2:
                first = target.elements[0].value
                return isinstance(first, cst.Name) and first.value.startswith("_") and not bool(self.scopes.uses(first))
        return False

    def _compared(self, data: cst.Attribute) -> bool:
        """The `.data` value, through methods that are not in-place, ends in something that never
        carries gradient: a comparison, `.item()` or `.tolist()` (so `.data` can simply go)."""
        node: cst.CSTNode = data
        while True:
            method = self.method_called(node)
            if method in COMPARISON_METHODS or method in ("item", "tolist"):
                return True
            if method is not None and not is_inplace_method(method) and method not in ("numpy", "backward"):
                node = self.call_of(node)  # type: ignore[assignment]
                continue
            parent = self.parent(node)
            if isinstance(parent, cst.Subscript) and parent.value is node and not isinstance(
                    self.parent(parent), (cst.AssignTarget, cst.AugAssign, cst.Del)):
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
