"""Value comparison of two stored tensors, without torch (the parent process stays torch-free).

The child stores each recorded tensor's raw contiguous bytes in a pack file (``tensorio``);
when two hashes differ, the parent reads both back here and grades them as torch would:

- EQUAL: ``torch.equal`` after matching NaN positions (``-0.0 == 0.0``, NaN payloads);
- CLOSE: ``torch.testing.assert_close(after, before, equal_nan=True)`` with its dtype defaults,
  i.e. ``|after - before| <= atol + |rtol * before|`` element-wise, in the tensors' own dtype;
- DIVERGED otherwise, with max abs/rel difference (float64) and the count of elements outside
  the tolerance.

numpy does the arithmetic when it is importable (in the dtype itself, as torch does); without it a
pure-Python path computes the same in float64, which can differ from torch only for elements
within one rounding step of the tolerance boundary.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

PACK = "pack.bin"  # the pack file name written by tensorio.TensorStore

# dtype name -> (struct code, numpy dtype name); bfloat16 is decoded through its float32 bits
_CODES = {"float32": "f", "float64": "d", "float16": "e", "bfloat16": "H", "int64": "q", "int32": "i",
          "int16": "h", "int8": "b", "uint8": "B", "uint16": "H", "uint32": "I", "uint64": "Q", "bool": "?",
          "complex64": "f", "complex128": "d"}
# torch.testing.assert_close defaults (torch/testing/_comparison.py, _DTYPE_PRECISIONS)
_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7)}


@dataclass
class Graded:
    tier: int  # a tiers.Tier value
    max_abs: Optional[float] = None
    max_rel: Optional[float] = None
    mismatched: Optional[int] = None
    note: str = ""


def read_bytes(tensor_dir: Path, info: dict[str, Any]) -> Optional[bytes]:
    """The stored raw bytes of a recorded tensor, or None when they were not stored."""
    at = info.get("at")
    path = tensor_dir / PACK
    if at is None or not path.exists():
        return None
    with open(path, "rb") as f:
        f.seek(at[0])
        data = f.read(at[1])
    return data if len(data) == at[1] else None


def tolerances(dtype: str) -> tuple[float, float]:
    return _TOLERANCES.get(dtype, (0.0, 0.0))


def is_float(dtype: str) -> bool:
    return dtype.startswith(("float", "bfloat"))


def is_complex(dtype: str) -> bool:
    return dtype.startswith("complex")


def grade(data_a: bytes, data_b: bytes, dtype: str, use_numpy: Optional[bool] = None) -> Optional[Graded]:
    """Grades ``b`` (after) against the reference ``a`` (before); None for a dtype we cannot decode."""
    from .tiers import Tier

    if dtype not in _CODES:
        return None
    if use_numpy is None:
        use_numpy = _numpy() is not None
    graded = _grade_numpy(data_a, data_b, dtype) if use_numpy else _grade_python(data_a, data_b, dtype)
    if graded.tier == Tier.DIVERGED and not (is_float(dtype) or is_complex(dtype)):
        graded.note = "integer values differ"
    return graded


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def _np_values(np: Any, data: bytes, dtype: str) -> Any:
    if dtype == "bfloat16":
        bits = np.frombuffer(data, dtype=np.uint16).astype(np.uint32) << 16
        return bits.view(np.float32)
    name = {"bool": "bool_"}.get(dtype, dtype)
    return np.frombuffer(data, dtype=getattr(np, name))


def _grade_numpy(data_a: bytes, data_b: bytes, dtype: str) -> Graded:
    import numpy as np

    from .tiers import Tier

    va, vb = _np_values(np, data_a, dtype), _np_values(np, data_b, dtype)
    inexact = is_float(dtype) or is_complex(dtype)
    ma, mb = va, vb  # NaN positions zeroed when they match (torch.equal would call NaN unequal)
    if inexact:
        na, nb = np.isnan(va), np.isnan(vb)
        if bool(np.array_equal(na, nb)):
            ma, mb = np.where(na, 0, va), np.where(nb, 0, vb)
    if bool(np.array_equal(ma, mb)):
        return Graded(Tier.EQUAL, 0.0, 0.0, 0, "equal values, different bits")
    if not inexact:
        return Graded(Tier.DIVERGED, mismatched=int(np.count_nonzero(va != vb)))
    rtol, atol = tolerances(dtype)
    with np.errstate(all="ignore"):
        wide = np.complex128 if is_complex(dtype) else np.float64
        da, db = ma.astype(wide), mb.astype(wide)
        absdiff = np.abs(da - db)
        absdiff = np.where(np.isnan(absdiff), np.inf, absdiff)
        max_abs = float(absdiff.max()) if absdiff.size else 0.0
        rel = np.where(absdiff == 0, 0.0, absdiff / np.abs(da))
        max_rel = float(rel.max()) if rel.size else 0.0
        mism = int(np.count_nonzero(absdiff > atol + rtol * np.abs(da)))
        # torch.isclose(actual=b, expected=a): in the dtype itself, as torch computes it
        close = (va == vb) | (np.isnan(va) & np.isnan(vb))
        actual = np.abs(vb - va)
        allowed = atol + np.abs(rtol * va)
        close |= np.isfinite(actual) & (actual <= allowed)
    tier = Tier.CLOSE if bool(close.all()) else Tier.DIVERGED
    return Graded(tier, max_abs, max_rel, mism)


def _py_values(data: bytes, dtype: str) -> Sequence[Any]:
    code = _CODES[dtype]
    n = len(data) // struct.calcsize(code)
    values: Sequence[Any] = struct.unpack(f"={n}{code}", data)
    if dtype == "bfloat16":
        values = [struct.unpack("=f", struct.pack("=I", h << 16))[0] for h in values]
    elif is_complex(dtype):
        values = [complex(values[i], values[i + 1]) for i in range(0, len(values), 2)]
    return values


def _isnan(x: Any) -> bool:
    return math.isnan(x.real) or math.isnan(x.imag) if isinstance(x, complex) else math.isnan(x)


def _isfinite(x: Any) -> bool:
    return math.isfinite(x.real) and math.isfinite(x.imag) if isinstance(x, complex) else math.isfinite(x)


def _grade_python(data_a: bytes, data_b: bytes, dtype: str) -> Graded:
    from .tiers import Tier

    va, vb = _py_values(data_a, dtype), _py_values(data_b, dtype)
    inexact = is_float(dtype) or is_complex(dtype)
    if not inexact:
        mism = sum(1 for x, y in zip(va, vb) if x != y)
        return Graded(Tier.EQUAL, 0.0, 0.0, 0, "equal values, different bits") if not mism else \
            Graded(Tier.DIVERGED, mismatched=mism)
    nan_same = all(_isnan(x) == _isnan(y) for x, y in zip(va, vb))
    if nan_same and all(_isnan(x) or x == y for x, y in zip(va, vb)):
        return Graded(Tier.EQUAL, 0.0, 0.0, 0, "equal values, different bits")
    rtol, atol = tolerances(dtype)
    max_abs = max_rel = 0.0
    mism = 0
    close = True
    for x, y in zip(va, vb):
        mx, my = (0.0, 0.0) if nan_same and _isnan(x) else (x, y)  # matching NaNs count as equal
        d = abs(mx - my)
        if math.isnan(d):
            d = math.inf
        max_abs = max(max_abs, d)
        if d:
            max_rel = max(max_rel, d / abs(mx) if abs(mx) else math.inf)
        if d > atol + rtol * abs(mx):
            mism += 1
        both_nan = _isnan(x) and _isnan(y)
        actual = abs(y - x)
        if not (x == y or both_nan or (_isfinite(actual) and actual <= atol + abs(rtol * x))):
            close = False
    return Graded(Tier.CLOSE if close else Tier.DIVERGED, max_abs, max_rel, mism)
