"""CUDA placement for 2017 code that calls ``.cuda()`` everywhere (child side).

``--device cpu`` maps every CUDA placement to the CPU, identically on both sides of a pair:
``Tensor.cuda()``, ``Module.cuda()``, ``torch.cuda.FloatTensor`` and friends,
``x.type('torch.cuda.FloatTensor')``, ``device='cuda'`` arguments of the common factories and of
``.to()``.  Each mapped call is counted for the report.  ``--device cuda`` instead turns on the
deterministic settings CUDA needs.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from typing import Any, Callable

import torch

HITS: Counter[str] = Counter()

_TENSOR_TYPES = ("FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "ByteTensor",
                 "CharTensor", "ShortTensor", "IntTensor", "LongTensor", "BoolTensor")
_FACTORIES = ("tensor", "as_tensor", "zeros", "ones", "empty", "full", "rand", "randn",
              "randint", "randperm", "arange", "linspace", "logspace", "eye", "zeros_like",
              "ones_like", "empty_like", "full_like", "rand_like", "randn_like", "randint_like")


def resolve(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _is_cuda(dev: Any) -> bool:
    if isinstance(dev, torch.device):
        return dev.type == "cuda"
    if isinstance(dev, str):
        return dev.startswith("cuda")
    return False


def _map_args(args: tuple[Any, ...], kwargs: dict[str, Any], what: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if _is_cuda(kwargs.get("device")):
        HITS[what] += 1
        kwargs = {**kwargs, "device": "cpu"}
    if any(_is_cuda(a) for a in args):
        HITS[what] += 1
        args = tuple("cpu" if _is_cuda(a) else a for a in args)
    return args, kwargs


def _wrap(fn: Callable[..., Any], what: str) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        args, kwargs = _map_args(args, kwargs, what)
        return fn(*args, **kwargs)

    return wrapper


def map_cuda_to_cpu() -> None:
    def tensor_cuda(self: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        HITS["Tensor.cuda"] += 1
        return self

    def module_cuda(self: torch.nn.Module, *args: Any, **kwargs: Any) -> torch.nn.Module:
        HITS["Module.cuda"] += 1
        return self

    setattr(torch.Tensor, "cuda", tensor_cuda)
    setattr(torch.nn.Module, "cuda", module_cuda)
    torch.Tensor.to = _wrap(torch.Tensor.to, "to(cuda)")  # type: ignore[method-assign]
    torch.nn.Module.to = _wrap(torch.nn.Module.to, "to(cuda)")  # type: ignore[method-assign]
    for name in _FACTORIES:
        if hasattr(torch, name):
            setattr(torch, name, _wrap(getattr(torch, name), "device=cuda"))

    orig_type = torch.Tensor.type

    def tensor_type(self: torch.Tensor, dtype: Any = None, *args: Any, **kwargs: Any) -> Any:
        if isinstance(dtype, str) and dtype.startswith("torch.cuda."):
            HITS["type(cuda)"] += 1
            dtype = "torch." + dtype[len("torch.cuda."):]
        if dtype is None:
            return orig_type(self, *args, **kwargs)
        return orig_type(self, dtype, *args, **kwargs)

    setattr(torch.Tensor, "type", tensor_type)
    for name in _TENSOR_TYPES:
        if hasattr(torch, name):
            setattr(torch.cuda, name, getattr(torch, name))
    torch.cuda.synchronize = lambda *a, **k: None


def setup(device: str) -> str:
    """Installs the device policy; returns the resolved device name."""
    resolved = resolve(device)
    if resolved == "cpu":
        map_cuda_to_cpu()
    else:
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda: no CUDA device is available")
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return resolved
