"""Stable names for the leaf tensors of an autograd event (child side).

Leaves are found by walking ``grad_fn.next_functions`` to the ``AccumulateGrad`` nodes, in
depth-first order.  They are named from the user's own frames, so the same parameter gets
the same name before and after a rewrite even if the walk order changed:

rank 0  ``model.fc1.weight``      a parameter reached through an ``nn.Module`` variable
rank 1  ``w``                     a tensor bound to a variable
rank 2  ``params[1]``, ``d['w']``  an element of a list, tuple or dict variable
rank 3  ``opt.param_groups[0]['params'][2]``  an optimizer slot

The best name is the lowest rank, then the shortest, then alphabetical; all names are kept
as aliases so the comparer can still match a leaf when the rewrite renamed a variable.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import types
from typing import Any, Iterable, Optional, Sequence

import torch

_MAX_ALIASES = 8


def _library_prefixes() -> tuple[str, ...]:
    import varmigrate

    paths = {
        os.path.dirname(torch.__file__),
        os.path.dirname(varmigrate.__file__),
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
    }
    try:  # pytest, numpy ... live in site-packages; a user's tree never does
        import site

        paths.update(site.getsitepackages())
    except AttributeError:  # pragma: no cover - virtualenv's old site module
        pass
    return tuple(os.path.realpath(p) + os.sep for p in paths if p)


_LIBS: Optional[tuple[str, ...]] = None
_USER_CACHE: dict[str, bool] = {}


def is_user_file(filename: str) -> bool:
    global _LIBS
    known = _USER_CACHE.get(filename)
    if known is not None:
        return known
    if filename.startswith("<"):
        result = False
    else:
        if _LIBS is None:
            _LIBS = _library_prefixes()
        result = not os.path.realpath(filename.split("#cell", 1)[0]).startswith(_LIBS)
    _USER_CACHE[filename] = result
    return result


def user_frames(start: Optional[types.FrameType] = None) -> list[types.FrameType]:
    """The user's frames, innermost first."""
    frame: Optional[types.FrameType] = start if start is not None else sys._getframe(1)
    out = []
    while frame is not None:
        if is_user_file(frame.f_code.co_filename):
            out.append(frame)
        frame = frame.f_back
    return out


def site_of(frames: Sequence[types.FrameType]) -> Optional[str]:
    if not frames:
        return None
    f = frames[0]
    return f"{os.path.basename(f.f_code.co_filename)}:{f.f_lineno}"


def leaves_of(roots: Iterable[torch.Tensor]) -> list[torch.Tensor]:
    """Leaves that a backward from ``roots`` writes, in deterministic DFS order."""
    out: list[torch.Tensor] = []
    seen_leaf: set[int] = set()
    seen_node: set[int] = set()
    stack: list[Any] = []
    for r in reversed(list(roots)):
        if r.grad_fn is None:
            if r.requires_grad and id(r) not in seen_leaf:
                stack.append(("leaf", r))
        else:
            stack.append(("node", r.grad_fn))
    while stack:
        kind, item = stack.pop()
        if kind == "leaf":
            if id(item) not in seen_leaf:
                seen_leaf.add(id(item))
                out.append(item)
            continue
        if item is None or id(item) in seen_node:
            continue
        seen_node.add(id(item))
        var = getattr(item, "variable", None)
        if isinstance(var, torch.Tensor):
            stack.append(("leaf", var))
            continue
        for nxt, _ in reversed(item.next_functions):
            if nxt is not None:
                stack.append(("node", nxt))
    return out


class Namer:
    """Collects candidate names for a set of tensors from the user's frames."""

    def __init__(self, tensors: Sequence[torch.Tensor]) -> None:
        self.wanted = {id(t) for t in tensors}
        self.cands: dict[int, set[tuple[int, str]]] = {i: set() for i in self.wanted}

    def _add(self, t: Any, rank: int, name: str) -> None:
        if isinstance(t, torch.Tensor) and id(t) in self.wanted:
            self.cands[id(t)].add((rank, name))

    def scan(self, frames: Sequence[types.FrameType]) -> None:
        for frame in frames:
            for var, value in list(frame.f_locals.items()):
                if var.startswith("__"):
                    continue
                self._scan_value(var, value)

    def _scan_value(self, var: str, value: Any) -> None:
        if isinstance(value, torch.Tensor):
            self._add(value, 1, var)
        elif isinstance(value, torch.nn.Module):
            for pname, p in value.named_parameters():
                self._add(p, 0, f"{var}.{pname}")
        elif isinstance(value, (list, tuple)) and len(value) <= 10_000:
            for i, item in enumerate(value):
                if isinstance(item, torch.Tensor):
                    self._add(item, 2, f"{var}[{i}]")
                elif isinstance(item, torch.nn.Module):
                    for pname, p in item.named_parameters():
                        self._add(p, 0, f"{var}[{i}].{pname}")
        elif isinstance(value, dict) and len(value) <= 10_000:
            for key, item in value.items():
                if isinstance(item, torch.Tensor) and isinstance(key, (str, int)):
                    self._add(item, 2, f"{var}[{key!r}]")
        elif isinstance(value, torch.optim.Optimizer):
            for g, group in enumerate(value.param_groups):
                for i, p in enumerate(group["params"]):
                    self._add(p, 3, f"{var}.param_groups[{g}]['params'][{i}]")

    def names(self, t: torch.Tensor, position: int) -> tuple[str, list[str]]:
        cands = sorted(self.cands.get(id(t), ()), key=lambda c: (c[0], len(c[1]), c[1]))
        if not cands:
            fallback = f"leaf#{position}"
            return fallback, [fallback]
        aliases = [name for _, name in cands[:_MAX_ALIASES]]
        return aliases[0], aliases
