"""Hashing, summary statistics and content-addressed storage of tensors (child side).

A tensor's identity is the sha256 of its raw contiguous bytes: a migration that runs the
same kernels in the same order must reproduce it bit for bit (HARNESS.md section 0.2).
Raw bytes are read through ctypes so numpy is not required.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
from pathlib import Path
from typing import Any

import torch

from .numeric import PACK


def raw_bytes(t: torch.Tensor) -> bytes:
    c = t.detach()
    if c.layout != torch.strided:
        c = c.to_dense()
    if c.device.type != "cpu":
        c = c.cpu()
    if c.is_conj():
        c = c.resolve_conj()
    if c.is_neg():
        c = c.resolve_neg()
    c = c.contiguous()
    n = c.numel() * c.element_size()
    return ctypes.string_at(c.data_ptr(), n) if n else b""


def _stats(t: torch.Tensor) -> dict[str, Any]:
    """A few float64 statistics, cheap enough for every event (the sha names the values)."""
    out: dict[str, Any] = {}
    with torch.no_grad():
        d = t.detach()
        n = d.numel()
        if n and d.is_floating_point():
            # one fused pass in the common all-finite case: max-norm is finite iff every value is
            a = d if d.dtype == torch.float64 else d.double()
            absmax, norm = torch.stack((torch.linalg.vector_norm(a, math.inf),
                                        torch.linalg.vector_norm(a, 2))).tolist()
            if math.isfinite(absmax):
                out.update(nan=0, inf=0, absmax=absmax, norm=norm)
            else:
                out.update(_nonfinite_stats(a.abs()))
        elif n and d.is_complex():
            out.update(_nonfinite_stats(d.abs().double()))
        if n == 1 and not d.is_complex():
            out["value"] = float(d.reshape(()).item())
    return out


def _nonfinite_stats(a: torch.Tensor) -> dict[str, Any]:
    """NaN/inf counts, and max/norm over the finite values only (a: float64 magnitudes)."""
    finite = torch.isfinite(a)
    fa = a[finite]
    return {"nan": int(torch.isnan(a).sum()), "inf": int(torch.isinf(a).sum()),
            "absmax": float(fa.max()) if fa.numel() else math.nan,
            "norm": float(fa.norm()) if fa.numel() else math.nan}


class TensorStore:
    """Appends raw tensor bytes to one pack file, once per content hash, up to a byte budget.

    One file, not one per tensor: creating hundreds of small files cost ~1 ms each and
    dominated the capture time.  An info dict records where its bytes are (``at``).
    """

    def __init__(self, root: Path, budget: int) -> None:
        self.root = root
        self.budget = budget
        self.used = 0
        self.skipped = 0
        self._where: dict[str, list[int]] = {}
        self._stats: dict[tuple[str, tuple[int, ...], torch.dtype], dict[str, Any]] = {}
        root.mkdir(parents=True, exist_ok=True)
        self._pack = open(root / PACK, "ab")

    def record(self, t: torch.Tensor) -> dict[str, Any]:
        data = raw_bytes(t)
        sha = hashlib.sha256(data).hexdigest()
        # the same values recur across events (a parameter after backward and at the step)
        key = (sha, tuple(t.shape), t.dtype)
        stats = self._stats.get(key)
        if stats is None:
            stats = self._stats[key] = _stats(t)
        info = {"sha": sha, "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""), **stats}
        at = self._where.get(sha)
        if at is None and self.used + len(data) <= self.budget:
            at = self._where[sha] = [self.used, len(data)]
            self._pack.write(data)
            self.used += len(data)
        if at is None:
            self.skipped += 1
        info["at"] = at
        return info

    def flush(self) -> None:
        """Before an event line is written, so a crash never leaves a dangling reference."""
        self._pack.flush()

    def close(self) -> None:
        self._pack.close()
