"""When a 0.3 ``Tensor`` op gave a Python number (``legacy_mode``'s ``data_number`` feature).

In PyTorch 0.3 a plain ``Tensor`` (what ``.data`` gave, and everything computed from it) had no
0-dim form: a full reduction (``pred.eq(target).sum()``, ``x.max()``, ``x.norm()``, ``a.dot(b)``)
and an index down to one element (``topi[0][0]``, ``m[i, j]``, iterating a 1-D tensor) gave a
Python number.  Modern torch gives a 0-dim tensor, which ``json.dumps`` refuses, a dict looks up
by identity and ``print`` shows as ``tensor(6)``.  The mode gives the number back, but only to the
program's own code: torch, torchvision and the other libraries were written for today's torch
and get the tensor (``clip_grad_norm_`` goes on computing with its ``torch.norm``).
"""

from __future__ import annotations

import os
import sys
import sysconfig
from typing import Any

import torch

# reductions whose no-`dim` form gave a number in 0.3; their other forms (a `dim`, or `max(other)`)
# gave tensors
_REDUCTIONS = frozenset({"sum", "mean", "prod", "max", "min", "median", "norm", "std", "var", "dot"})

# torch's own dispatch layers between the program's call and the mode (`Tensor.norm` is Python
# code in `_tensor.py` that asks `overrides.handle_torch_function`): skipped to find the caller.
_DISPATCH_FILES = frozenset([os.path.join(os.path.dirname(torch.__file__), name)
                              for name in ("overrides.py", "_tensor.py", "functional.py")]
                             + [os.path.join(os.path.dirname(__file__), name)  # the mode's own frames
                                for name in ("legacy_mode.py", "plain_numbers.py")])
_LIBRARY_ROOTS = tuple({os.path.realpath(p) + os.sep for p in (
    sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
    os.path.dirname(torch.__file__), os.path.dirname(os.path.dirname(__file__)))})
_from_library: dict[str, bool] = {}


def _caller(frame: Any) -> Any:
    while frame is not None and frame.f_code.co_filename in _DISPATCH_FILES:
        frame = frame.f_back
    return frame


def iterating() -> bool:
    """Is this ``unbind`` the one ``Tensor.__iter__`` makes (``for p in probs.data``)?"""
    frame: Any = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename in _DISPATCH_FILES and frame.f_code.co_name != "__iter__":
        frame = frame.f_back
    return frame is not None and frame.f_code.co_name == "__iter__" and called_by_program(frame.f_back)


def called_by_program(frame: Any = None) -> bool:
    """Is the code that made the torch call the mode is handling (past torch's dispatch layers
    and the mode's own frames) the program's own, not a library's?"""
    frame = _caller(frame if frame is not None else sys._getframe(1))
    if frame is None:
        return False
    name = frame.f_code.co_filename
    library = _from_library.get(name)
    if library is None:
        real = os.path.realpath(name) if os.path.isabs(name) else name
        library = _from_library[name] = real.startswith(_LIBRARY_ROOTS)
    return not library


def gives_number(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    """Did 0.3 give a number for this op on a plain tensor (``args[0]``), which returned ``out``?"""
    if not isinstance(out, torch.Tensor) or out.dim() != 0 or out.requires_grad:
        return False
    if not args or not isinstance(args[0], torch.Tensor) or args[0].dim() == 0:
        return False  # a 0-dim input exists only in today's reading (`loss.data`)
    if name == "__getitem__":
        return len(args) == 2 and _integers(args[1])
    if name not in _REDUCTIONS or kwargs.get("dim") is not None or kwargs.get("axis") is not None:
        return False
    rest = args[1:]
    if name == "dot":
        return len(rest) == 1 and isinstance(rest[0], torch.Tensor) and rest[0].dim() == 1
    if name == "norm":  # `x.norm(2)`: the p, no dim
        return len(rest) <= 1 and all(isinstance(a, (int, float, str)) for a in rest)
    if name in ("std", "var"):  # `x.std(False)`: unbiased, no dim
        return len(rest) <= 1 and all(isinstance(a, bool) for a in rest)
    return not rest


def _integers(index: Any) -> bool:
    if type(index) is int:
        return True
    return type(index) is tuple and bool(index) and all(type(i) is int for i in index)
