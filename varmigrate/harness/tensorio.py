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
from typing import Any, Optional

import torch


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


def describe(t: torch.Tensor, data: Optional[bytes] = None) -> dict[str, Any]:
    """sha + shape/dtype + a few float64 statistics, cheap enough for every event."""
    data = raw_bytes(t) if data is None else data
    out: dict[str, Any] = {
        "sha": hashlib.sha256(data).hexdigest(),
        "shape": list(t.shape),
        "dtype": str(t.dtype).replace("torch.", ""),
    }
    with torch.no_grad():
        d = t.detach()
        if d.numel() and (d.is_floating_point() or d.is_complex()):
            a = d.abs().double()
            finite = torch.isfinite(a)
            out["nan"] = int(torch.isnan(d).sum())
            out["inf"] = int(torch.isinf(d).sum())
            fa = a[finite]
            out["absmax"] = float(fa.max()) if fa.numel() else math.nan
            out["norm"] = float(fa.norm()) if fa.numel() else math.nan
        if d.numel() == 1 and not d.is_complex():
            out["value"] = float(d.reshape(()).item())
    return out


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
        root.mkdir(parents=True, exist_ok=True)
        self._pack = open(root / PACK, "ab")

    def record(self, t: torch.Tensor) -> dict[str, Any]:
        data = raw_bytes(t)
        info = describe(t, data)
        sha = info["sha"]
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


PACK = "pack.bin"


def load(tensor_dir: Path, info: dict[str, Any]) -> Optional[torch.Tensor]:
    """Rebuilds a recorded tensor from the pack, or None when it was not stored."""
    at = info.get("at")
    path = tensor_dir / PACK
    if at is None or not path.exists():
        return None
    dtype = getattr(torch, info["dtype"])
    with open(path, "rb") as f:
        f.seek(at[0])
        data = bytearray(f.read(at[1]))
    if len(data) != at[1]:
        return None
    if not data:
        return torch.empty(info["shape"], dtype=dtype)
    return torch.frombuffer(data, dtype=dtype).reshape(info["shape"]).clone()
