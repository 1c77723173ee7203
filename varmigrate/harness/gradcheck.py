"""Finite-difference check of the custom ``autograd.Function`` classes an after-run used.

The first ``.apply`` of every user-defined Function is recorded (inputs cloned); at exit each
is re-run in float64 under ``torch.autograd.gradcheck`` (fast mode for larger inputs).  This
is the evidence left when the before side cannot run at all (HARNESS.md section 6).
"""

from __future__ import annotations

import traceback
from typing import Any

import torch

_MAX_NUMEL = 20_000  # beyond this even fast mode is slow; the check is skipped and says so
_FULL_MODE_NUMEL = 200


class FunctionProbe:
    def __init__(self) -> None:
        self.calls: dict[str, tuple[type, tuple[Any, ...]]] = {}
        self._active = True
        self._orig: Any = None

    def install(self) -> None:
        Function = torch.autograd.Function
        orig = Function.__dict__["apply"]
        self._orig = orig
        probe = self

        def apply(cls: Any, *args: Any, **kwargs: Any) -> Any:
            key = f"{cls.__module__}.{cls.__qualname__}"
            if (probe._active and not kwargs and key not in probe.calls
                    and not cls.__module__.startswith(("torch", "varmigrate"))):
                probe.calls[key] = (cls, tuple(
                    a.detach().clone() if isinstance(a, torch.Tensor) else a for a in args))
            return orig.__func__(cls, *args, **kwargs)

        Function.apply = classmethod(apply)  # type: ignore[assignment,method-assign]

    def check_all(self) -> list[dict[str, Any]]:
        self._active = False
        return [self._check(key, cls, args) for key, (cls, args) in self.calls.items()]

    @staticmethod
    def _check(key: str, cls: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        result: dict[str, Any] = {"function": key}
        diff_pos = [i for i, a in enumerate(args)
                    if isinstance(a, torch.Tensor) and a.is_floating_point()]
        if not diff_pos:
            return {**result, "status": "skipped", "detail": "no floating-point tensor input"}
        numel = sum(args[i].numel() for i in diff_pos)
        if numel > _MAX_NUMEL:
            return {**result, "status": "skipped", "detail": f"inputs too large ({numel} elements)"}
        inputs = tuple(args[i].double().requires_grad_() for i in diff_pos)

        def fn(*xs: torch.Tensor) -> Any:
            full = list(args)
            for i, x in zip(diff_pos, xs):
                full[i] = x
            return cls.apply(*full)

        fast = numel > _FULL_MODE_NUMEL
        result["fast_mode"] = fast
        try:
            ok = torch.autograd.gradcheck(fn, inputs, fast_mode=fast, raise_exception=True)
            return {**result, "status": "passed" if ok else "failed", "detail": ""}
        except Exception as exc:  # gradcheck reports the mismatch as an exception
            lines = traceback.format_exception_only(type(exc), exc)
            return {**result, "status": "failed", "detail": "".join(lines).strip()[:2000]}
