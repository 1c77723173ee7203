"""The before run's one ``TorchFunctionMode`` (child side): 0.3 readings torch cannot give by itself.

Installed only when the program's source uses one of its constructs (each costs a few
microseconds per torch call while the mode is active); it never changes a class, so torch
sees tensors exactly as usual.  Four features, each optional:

``zero_dim_index`` and ``view_contiguous`` (crash shims)
    ``x[0]`` / ``x[-1]`` on a 0-dim tensor gives the number (the tensor itself if it requires
    grad), where modern torch raises IndexError: ``loss.data[0]``.  Done here rather than by
    replacing ``Tensor.__getitem__``: a Python ``__getitem__`` on the class makes torch treat
    every tensor as a sequence (``torch.tensor([t0, t1])`` of 0-dim tensors then raises
    ``len() of a 0-d tensor``), and assigning the original back does not undo that.

``volatile`` (0.3 semantics)
    Volatility is a property of tensors that follows the data flow.  ``Variable(x,
    volatile=True)`` registers its result; any torch call with a volatile tensor input runs
    under ``torch.no_grad()`` and its tensor results are volatile; an in-place op, ``out=`` and
    ``__setitem__`` make their target volatile.  ``x.volatile`` reads membership and
    ``x.volatile = v`` sets it, with 0.3's checks (a bool; only on a tensor without
    ``grad_fn``).  ``x.data`` and ``x.grad`` are never volatile: in 0.3 ``.data`` was a plain
    tensor without flags, so ``Variable(x.data)`` was not volatile.  ``Variable(x)`` of a
    volatile ``x`` stays volatile: 0.3 raised there ("Variable data has to be a tensor, but got
    Variable"), so no working 0.3 program depends on it; keeping the flag follows the data-flow
    rule, as 0.3's ``detach()`` did.  The set is keyed by ``id()`` with weak references:
    ``weakref.WeakSet`` compares tensors with ``==``.

``data_metadata`` (0.3 semantics)
    In 0.3 ``w.data`` was ``w``'s own tensor, so ``w.data.resize_(n)``, ``set_(t)``, ``t_()``,
    ``unsqueeze_()``... changed ``w``; today they change a temporary alias only.  The mode
    remembers which tensor each ``.data`` result aliases and, after a metadata-changing in-place
    op on it, points the owner at the result (``w.data = alias``).  ``set_`` bypasses
    ``__torch_function__``, so it alone is wrapped on the class (``install_set_hook``).

``data_number`` (0.3 semantics)
    0.3's plain tensors (what ``.data`` gave, and the ops that read one) had no 0-dim form: a
    full reduction or an index down to one element gave a Python number (``correct +=
    pred.eq(target.data).sum()`` was an int).  The mode follows plain tensors through the data
    flow as it does volatile ones and gives those numbers back to the program's own code
    (``plain_numbers``); libraries get today's tensors.
"""

from __future__ import annotations

import inspect
import weakref
from collections import Counter
from typing import Any, Callable, Collection, Optional

import torch
from torch.overrides import TorchFunctionMode

from .plain_numbers import called_by_program, gives_number, iterating

_INPLACE_DUNDERS = {"__setitem__", "__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__",
                    "__imod__", "__ipow__", "__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__",
                    "__imatmul__"}
_META_INPLACE = ("resize_", "resize_as_", "set_", "t_", "transpose_", "squeeze_", "unsqueeze_", "as_strided_",
                 "swapdims_", "swapaxes_")


class TensorSet:
    """Tensors by identity, held weakly."""

    def __init__(self) -> None:
        self.refs: dict[int, weakref.ref[torch.Tensor]] = {}
        self._refs = self.refs

    def __bool__(self) -> bool:
        return bool(self._refs)

    def __contains__(self, t: Any) -> bool:
        ref = self._refs.get(id(t))
        return ref is not None and ref() is t

    def add(self, t: torch.Tensor) -> None:
        key = id(t)
        if key in self._refs and self._refs[key]() is t:
            return
        refs = self._refs

        def gone(r: weakref.ref[torch.Tensor], key: int = key) -> None:
            if refs.get(key) is r:
                del refs[key]

        self._refs[key] = weakref.ref(t, gone)

    def discard(self, t: torch.Tensor) -> None:
        if t in self:
            del self._refs[id(t)]


def _accessor(attribute: str, which: str) -> Any:
    """The getter or setter of a tensor attribute, as ``__torch_function__`` receives it."""
    return getattr(inspect.getattr_static(torch.Tensor, attribute), which)


def _tensors(x: Any) -> list[torch.Tensor]:
    """The tensors of an op's result: a tensor, or a (named) tuple / list of them."""
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, (tuple, list)):
        return [t for t in x if isinstance(t, torch.Tensor)]
    return []


def _reads(tensors: TensorSet, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Does an op read one of ``tensors`` (directly, or in a list/tuple argument)?"""
    for group in (args, kwargs.values()):
        for a in group:
            if isinstance(a, torch.Tensor):
                if a in tensors:
                    return True
            elif isinstance(a, (list, tuple)):
                if any(isinstance(x, torch.Tensor) and x in tensors for x in a):
                    return True
    return False


class LegacyMode(TorchFunctionMode):
    def __init__(self, features: Collection[str], hits: Counter[str]) -> None:
        super().__init__()
        self.hits = hits
        self.volatile = TensorSet()
        self._volatile_refs = self.volatile.refs  # its dict: empty means nothing to check
        self._aliases: dict[int, tuple[weakref.ref[torch.Tensor], weakref.ref[torch.Tensor]]] = {}
        self._track_volatile = "volatile" in features
        self._track_data = "data_metadata" in features
        # 0.3's plain tensors: what `.data` gave and what was computed from it alone
        self.plain = TensorSet()
        self._plain_refs = self.plain.refs
        self._track_plain = "data_number" in features
        T = torch.Tensor
        special: dict[Any, Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]] = {}
        if "zero_dim_index" in features:
            special[T.__getitem__] = self._getitem
        if "view_contiguous" in features:
            special[T.view] = self._view
        if "byte_mask" in features:
            for masked in (T.masked_fill, T.masked_fill_, T.masked_select, T.masked_scatter, T.masked_scatter_,
                           torch.masked_select):
                special[masked] = self._byte_mask
        if "integer_division" in features:
            for div in (T.div, T.div_, torch.div, T.__itruediv__):
                special[div] = self._div
        if self._track_volatile:
            special[_accessor("volatile", "__get__")] = self._volatile_get
            special[_accessor("volatile", "__set__")] = self._volatile_set
            special[_accessor("grad", "__get__")] = self._plain
        if self._track_volatile or self._track_data or self._track_plain:
            special[_accessor("data", "__get__")] = self._data_get
        if self._track_data:
            for name in _META_INPLACE:
                special[getattr(T, name)] = self._meta_inplace
        self._special = special

    # -- dispatch (the hot path: every torch call of the program while the mode is active; the
    # recorder's own work bypasses it, see capture.Recorder) ----------------------------------
    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                           kwargs: Optional[dict[str, Any]] = None) -> Any:
        if kwargs is None:
            kwargs = {}
        try:
            handler = self._special.get(func)
        except TypeError:  # an unhashable callable
            handler = None
        if handler is not None:
            return handler(func, args, kwargs)
        return self._generic(func, args, kwargs)

    def _generic(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self._plain_refs and _reads(self.plain, args, kwargs):
            return self._plain_op(func, args, kwargs)
        if not self._volatile_refs or not _reads(self.volatile, args, kwargs):
            return func(*args, **kwargs)
        return self._volatile_op(func, args, kwargs)

    def _volatile_op(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.hits["volatile_op"] += 1
        with torch.no_grad():
            out = func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        if name == "__iter__":  # `for row in volatile_batch`: the rows are volatile too
            out = list(out)
        for t in _tensors(out):
            self.volatile.add(t)
        if args and isinstance(args[0], torch.Tensor) and (
                (name.endswith("_") and not name.startswith("__")) or name in _INPLACE_DUNDERS):
            self.volatile.add(args[0])
        for t in _tensors(kwargs.get("out")):
            self.volatile.add(t)
        return iter(out) if name == "__iter__" else out

    def _plain_op(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """An op reading a 0.3 plain tensor: a number where 0.3 gave one to the program, else
        tensors that are plain too (those that do not require grad: a 0.3 program could not mix)."""
        if self._volatile_refs and _reads(self.volatile, args, kwargs):
            out = self._volatile_op(func, args, kwargs)
        else:
            out = func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        if name == "unbind" and len(args) == 2 and isinstance(args[0], torch.Tensor) and args[0].dim() == 1 \
                and not args[0].requires_grad and iterating():  # `for p in probs.data`: numbers in 0.3
            self.hits["data_number"] += len(out)
            return tuple(t.item() for t in out)
        if gives_number(name, args, kwargs, out) and called_by_program():
            self.hits["data_number"] += 1
            return out.item()
        for t in _tensors(out):
            if not t.requires_grad:
                self.plain.add(t)
        return out

    # -- features -------------------------------------------------------------------------
    def _plain(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return func(*args, **kwargs)

    def _getitem(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if len(args) == 2 and type(args[1]) is int and args[1] in (0, -1):
            t = args[0]
            if isinstance(t, torch.Tensor) and t.dim() == 0:
                self.hits["zero_dim_index"] += 1
                return t if t.requires_grad else t.item()
        return self._generic(func, args, kwargs)

    def _view(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # 0.3's pointwise ops returned contiguous tensors; today's keep their operand's strides, so
        # a view that 0.3 took of `pred.t().eq(y)` raises. A program that ran on 0.3 viewed values
        # laid out contiguously: the same values are viewed here.
        try:
            return self._generic(func, args, kwargs)
        except RuntimeError as exc:
            t = args[0] if args else None
            if not isinstance(t, torch.Tensor) or t.is_contiguous() or "view size is not compatible" not in str(exc):
                raise
        self.hits["view_contiguous"] += 1
        return self._generic(func, (t.contiguous(), *args[1:]), kwargs)

    def _byte_mask(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # 0.3's masks were ByteTensors; a nonzero byte selects, as `True` does.
        mask = kwargs.get("mask", args[1] if len(args) > 1 else None)
        if isinstance(mask, torch.Tensor) and mask.dtype == torch.uint8:
            self.hits["byte_mask"] += 1
            if "mask" in kwargs:
                kwargs = {**kwargs, "mask": mask.bool()}
            else:
                args = (args[0], mask.bool(), *args[2:])
        return self._generic(func, args, kwargs)

    def _div(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # 0.3's integer tensors divided as integers (C's truncation): `ids / n` of beam search.
        if len(args) == 2 and "rounding_mode" not in kwargs and _integral(args[0]) and _integral(args[1]) \
                and called_by_program():
            self.hits["integer_division"] += 1
            kwargs = {**kwargs, "rounding_mode": "trunc"}
            if func is torch.Tensor.__itruediv__:
                func = torch.Tensor.div_
        return self._generic(func, args, kwargs)

    def _volatile_get(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.hits["volatile_attribute"] += 1
        return args[0] in self.volatile

    def _volatile_set(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        t, value = args
        if not isinstance(value, bool):
            raise RuntimeError("volatile must be a bool")
        if t.grad_fn is not None:
            raise RuntimeError("volatile can only be set on leaf variables")
        self.hits["volatile_attribute"] += 1
        if value:
            self.volatile.add(t)
        else:
            self.volatile.discard(t)
        return None

    def _data_get(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        alias = func(*args, **kwargs)  # 0.3: a plain tensor, never volatile
        if self._track_plain and isinstance(alias, torch.Tensor):
            self.plain.add(alias)
        if self._track_data and isinstance(alias, torch.Tensor) and isinstance(args[0], torch.Tensor):
            key = id(alias)
            aliases = self._aliases

            def gone(r: weakref.ref[torch.Tensor], key: int = key) -> None:
                entry = aliases.get(key)
                if entry is not None and entry[0] is r:
                    del aliases[key]

            aliases[key] = (weakref.ref(alias, gone), weakref.ref(args[0]))
        return alias

    def _meta_inplace(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        out = self._generic(func, args, kwargs)
        self.changed_metadata(args[0] if args else None)
        return out

    def changed_metadata(self, alias: Any) -> None:
        """After a metadata-changing in-place op on ``alias``: when it is some tensor's
        ``.data``, that tensor takes the new metadata (0.3's ``.data`` was the tensor itself)."""
        entry = self._aliases.get(id(alias))
        if entry is None or entry[0]() is not alias:
            return
        owner = entry[1]()
        assert isinstance(alias, torch.Tensor)
        if owner is not None and (owner.shape != alias.shape or owner.stride() != alias.stride()
                                  or owner.data_ptr() != alias.data_ptr()
                                  or owner.storage_offset() != alias.storage_offset()):
            self.hits["data_metadata"] += 1
            owner.data = alias


def install_set_hook(mode: LegacyMode) -> Callable[[], None]:
    """``Tensor.set_`` is the one metadata-changing in-place op that never reaches
    ``__torch_function__``: a Python wrapper on the class method (an ordinary method, not a
    protocol slot, so torch's view of tensors is unchanged) reports it to the mode."""
    orig = torch.Tensor.set_

    def set_(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        if mode.volatile and any(isinstance(a, torch.Tensor) and a in mode.volatile for a in args):
            with torch.no_grad():
                out = orig(self, *args, **kwargs)
            mode.volatile.add(self)
        else:
            out = orig(self, *args, **kwargs)
        mode.changed_metadata(self)
        return out

    torch.Tensor.set_ = set_  # type: ignore[method-assign,assignment]

    def undo() -> None:
        del torch.Tensor.set_  # falls back to TensorBase.set_

    return undo


def _integral(value: Any) -> bool:
    """An integer tensor (not bool) or a Python int."""
    if isinstance(value, torch.Tensor):
        return not (value.dtype.is_floating_point or value.dtype.is_complex or value.dtype == torch.bool)
    return type(value) is int


def install_variable_hook(mode: LegacyMode) -> Callable[[], None]:
    """``Variable(x, volatile=True)`` registers its result with the mode; returns the undo."""
    from torch.autograd.variable import VariableMeta

    had = "__call__" in VariableMeta.__dict__
    old = VariableMeta.__dict__.get("__call__")

    def __call__(cls: type, *args: Any, **kwargs: Any) -> Any:
        out = type.__call__(cls, *args, **kwargs)
        flag = kwargs["volatile"] if "volatile" in kwargs else (args[2] if len(args) > 2 else False)
        data = kwargs["data"] if "data" in kwargs else (args[0] if args else None)
        if flag:
            mode.hits["volatile_variable"] += 1
            mode.volatile.add(out)
        elif data is not None and data in mode.volatile:
            mode.volatile.add(out)
        return out

    VariableMeta.__call__ = __call__  # type: ignore[method-assign,assignment]

    def undo() -> None:
        if had:
            VariableMeta.__call__ = old  # type: ignore[method-assign,assignment]
        else:
            del VariableMeta.__call__

    return undo
