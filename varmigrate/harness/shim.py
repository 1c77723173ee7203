"""The legacy shim: the before run reads the program as PyTorch 0.3 did (before-runs only).

Each feature (catalogue and detection in ``features``, torch-free) is installed only when the
program's source uses its construct, and every use is counted so the report can say how far
the reference depended on it.  Crash features change only calls that would otherwise raise
(or, for ``type(x) == Variable``, answer differently than 0.3 did):

  zero_dim_index      ``x[0]`` / ``x[-1]`` on a 0-dim tensor -> the number (``legacy_mode``)
  view_contiguous     ``x.view(...)`` that raises on a non-contiguous ``x`` -> of ``x.contiguous()`` (``legacy_mode``)
  byte_mask           a ``uint8`` mask of ``masked_fill_``/``masked_select``/``masked_scatter`` -> ``bool``
  packed_pair         a ``PackedSequence`` unpacked by the program -> ``(data, batch_sizes)``, 0.3's pair
  type_eq_variable    ``type(x) == Variable`` / ``!=`` for tensor types
  legacy_function     instance-style ``autograd.Function`` (``F(alpha)(x)``) bridged through a
                      new-style Function; ``__init__`` state kept
  backward_keywords   ``retain_variables=``, ``variables=``, ``backward(torch.ones(1))`` on 0-dim
  async_keyword       ``.cuda(async=True)`` (a syntax error since Python 3.7), on the tokens

Semantics features (``--reference 0.3``, the default) restore what modern torch silently
computes differently: ``volatile``, ``data_metadata``, ``data_number`` and ``integer_division`` (all
in ``legacy_mode``).
"""

from __future__ import annotations

import inspect
import sys
from collections import Counter
from typing import Any, Collection, Optional

import torch

HITS: Counter[str] = Counter()


def fix_source(source: str) -> str:
    """Renames the ``async=`` keyword argument to ``non_blocking=`` at the token level.

    Neither ``compile`` nor libcst accepts the legacy spelling, so this runs on tokens and
    only when the original failed to compile.  The spots are the linter's own
    (``varmigrate.syntax.async_keyword``, a torch-free and libcst-free text pass), so ``check``,
    ``fix`` and the harness agree on which ``async`` is a keyword argument.
    """
    from ..syntax.async_keyword import rename_async_keywords

    fixed, spots = rename_async_keywords(source, new_name="non_blocking")
    HITS["async_keyword"] += len(spots)
    return fixed


def _patch_type_eq_variable() -> None:
    from torch.autograd.variable import VariableMeta

    def _is_tensor_type(other: Any) -> bool:
        return isinstance(other, type) and issubclass(other, torch.Tensor)

    def __eq__(cls: type, other: Any) -> Any:
        if cls is other:
            return True
        if _is_tensor_type(other):
            HITS["type_eq_variable"] += 1
            return True
        return NotImplemented

    def __ne__(cls: type, other: Any) -> Any:
        eq = __eq__(cls, other)
        return eq if eq is NotImplemented else not eq

    # `torch.Tensor == Variable` falls back to the reflected VariableMeta.__eq__ because
    # type.__eq__ answers NotImplemented for distinct classes.  Hash stays identity-based.
    VariableMeta.__eq__ = __eq__  # type: ignore[method-assign,assignment]
    VariableMeta.__ne__ = __ne__  # type: ignore[method-assign,assignment]
    VariableMeta.__hash__ = type.__hash__  # type: ignore[method-assign]


class _LegacySelf:
    """Stands in for ``self`` inside a legacy forward/backward: ctx features go to the ctx,
    everything else to the legacy instance (its ``__init__`` state) or this call's dict."""

    def __init__(self, ctx: Any, legacy: Any) -> None:
        object.__setattr__(self, "_ctx", ctx)
        object.__setattr__(self, "_legacy", legacy)

    def save_for_backward(self, *tensors: Any) -> None:
        self._ctx.save_for_backward(*tensors)

    def mark_dirty(self, *tensors: Any) -> None:
        self._ctx.mark_dirty(*tensors)

    def mark_non_differentiable(self, *tensors: Any) -> None:
        self._ctx.mark_non_differentiable(*tensors)

    @property
    def saved_tensors(self) -> Any:
        return self._ctx.saved_tensors

    @property
    def saved_variables(self) -> Any:
        return self._ctx.saved_tensors

    @property
    def needs_input_grad(self) -> Any:
        return self._ctx.needs_input_grad[1:]  # minus the bridge's own first argument

    def __getattr__(self, name: str) -> Any:
        return getattr(self._legacy, name)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)


class _LegacyBridge(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, legacy: Any, *args: Any) -> Any:
        proxy = _LegacySelf(ctx, legacy)
        ctx.legacy_self = proxy
        ctx.legacy_cls = type(legacy)
        return ctx.legacy_cls.forward(proxy, *args)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        result = ctx.legacy_cls.backward(ctx.legacy_self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        return (None, *result)


def _patch_legacy_function() -> None:
    Function = torch.autograd.Function
    orig_call = Function.__call__

    def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
        cls = type(self)
        if isinstance(inspect.getattr_static(cls, "forward", None), staticmethod):
            HITS["function_instance_call"] += 1  # new-style class called on an instance
            return cls.apply(*args, **kwargs)
        if kwargs:
            return orig_call(self, *args, **kwargs)
        HITS["legacy_function"] += 1
        return _LegacyBridge.apply(self, *args)

    Function.__call__ = __call__  # type: ignore[method-assign]


def _patch_backward_keywords() -> None:
    orig_tensor_backward = torch.Tensor.backward

    def tensor_backward(self: torch.Tensor, gradient: Any = None, *args: Any, **kwargs: Any) -> Any:
        if "retain_variables" in kwargs:
            HITS["retain_variables"] += 1
            kwargs["retain_graph"] = kwargs.pop("retain_variables")
        if (isinstance(gradient, torch.Tensor) and self.dim() == 0
                and gradient.dim() == 1 and gradient.numel() == 1):
            HITS["scalar_grad_shape"] += 1
            gradient = gradient.reshape(())
        return orig_tensor_backward(self, gradient, *args, **kwargs)

    torch.Tensor.backward = tensor_backward  # type: ignore[method-assign]

    orig_backward = torch.autograd.backward

    def autograd_backward(*args: Any, **kwargs: Any) -> Any:
        if "variables" in kwargs:
            HITS["backward_variables"] += 1
            kwargs["tensors"] = kwargs.pop("variables")
        if "retain_variables" in kwargs:
            HITS["retain_variables"] += 1
            kwargs["retain_graph"] = kwargs.pop("retain_variables")
        return orig_backward(*args, **kwargs)

    torch.autograd.backward = autograd_backward


def _patch_packed_pair() -> None:
    from torch.nn.utils.rnn import PackedSequence

    from .plain_numbers import called_by_program

    orig_iter = PackedSequence.__iter__

    def __iter__(self: Any) -> Any:
        # 0.3's PackedSequence was the pair (data, batch_sizes): `packed, _ = pack_padded_sequence(...)`
        if called_by_program(sys._getframe(1)):
            HITS["packed_pair"] += 1
            return iter((self.data, self.batch_sizes))
        return orig_iter(self)

    PackedSequence.__iter__ = __iter__  # type: ignore[method-assign,assignment]


def install(features: Collection[str]) -> Optional[Any]:
    """Installs the patches of ``features``; returns the ``LegacyMode`` to enter around the
    program when a feature needs it (None otherwise)."""
    if "type_eq_variable" in features:
        _patch_type_eq_variable()
    if "legacy_function" in features:
        _patch_legacy_function()
    if "backward_keywords" in features:
        _patch_backward_keywords()
    if "packed_pair" in features:
        _patch_packed_pair()
    if not {"zero_dim_index", "view_contiguous", "byte_mask", "volatile", "data_metadata", "data_number",
            "integer_division"} & set(features):
        return None
    from .legacy_mode import LegacyMode, install_set_hook, install_variable_hook

    mode = LegacyMode(features, HITS)
    if "volatile" in features:
        install_variable_hook(mode)
    if "data_metadata" in features:
        install_set_hook(mode)
    return mode
