"""What the two runs printed: a torch-free comparison of their stdout, reported as a note.

Printed output is evidence, never a verdict: a training script whose printed accuracy changed
should stand out next to the gradient verdict.  Before comparing, each side is normalised so
that what legitimately differs between two runs of the same computation does not count:

- progress-bar redraws: of a line rewritten with ``\\r``, only what a terminal finally shows;
  ANSI escapes dropped;
- timings, rates, clock times and dates (``0.53 s``, ``12ms``, ``00:01<00:00``, ``9.5it/s``,
  ``took 3.2``), and object addresses (``0x7f3a...``);
- the spelling of a value: ``tensor(3.)`` and ``3.0``, ``tensor(0.1235)`` and
  ``0.12345678`` (a number printed with fewer digits matches one it is the rounding of),
  ``tensor([1., 2.], grad_fn=<AddBackward0>)`` and ``[1.0, 2.0]``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Optional

_MAX_BYTES = 4 << 20
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_UNIT = (r"(?:ms|us|µs|ns|s|sec|secs|second|seconds|min|mins|minute|minutes|h|hr|hrs|hour|hours)")
_SUBS = [
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"), "<time>"),
    (re.compile(r"\b\d+(?:\.\d+)?\s*(?:it/s|s/it|(?:samples|examples|images|img|tokens|batches)/s(?:ec)?)"),
     "<rate>"),
    (re.compile(r"\b\d{1,3}:\d{2}(?::\d{2})?(?:\.\d+)?\b"), "<time>"),
    (re.compile(r"\b\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s*" + _UNIT + r"\b"), "<time>"),
    (re.compile(r"(?i)(\b(?:time|elapsed|took|duration|eta|speed|wall|cpu|seconds)\b[^\d\n]{0,12})"
                r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"), r"\1<time>"),
    (re.compile(r"\b0x[0-9a-fA-F]{6,}\b"), "<addr>"),
    (re.compile(r"\d+%\|[^|\n]*\|"), "<progress>|"),
]
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|\b(?:nan|inf)\b")


def _unwrap_tensors(text: str) -> str:
    """``tensor(X, grad_fn=..., dtype=...)`` -> ``X`` on one line."""
    out: list[str] = []
    i = 0
    while True:
        j = text.find("tensor(", i)
        if j < 0 or (j > 0 and (text[j - 1].isalnum() or text[j - 1] == "_")):
            if j < 0:
                out.append(text[i:])
                return "".join(out)
            out.append(text[i:j + 7])
            i = j + 7
            continue
        out.append(text[i:j])
        depth, k, cut = 0, j + 7, None
        while k < len(text):
            c = text[k]
            if c in "([{":
                depth += 1
            elif c in ")]}":
                if depth == 0:
                    break
                depth -= 1
            elif c == "," and depth == 0 and cut is None:
                cut = k  # keyword arguments follow the values
            k += 1
        inner = text[j + 7:cut if cut is not None else k]
        out.append(" ".join(inner.split()))
        i = k + 1
        if k >= len(text):
            return "".join(out)


def normalise(text: str) -> list[str]:
    """The lines a person would compare: redraws, timings and value spellings normalised."""
    text = _ANSI.sub("", text.replace("\r\n", "\n"))
    text = _unwrap_tensors(text)
    lines = []
    for line in text.split("\n"):
        line = line.rsplit("\r", 1)[-1]
        for pat, rep in _SUBS:
            line = pat.sub(rep, line)
        lines.append(line.rstrip())
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _shape(line: str) -> str:
    return " ".join(_NUMBER.sub("#", line).split())


def _quantum(tok: str) -> Decimal:
    """The rounding step of a printed number; 0 when it is exact (no fractional digits)."""
    try:
        d = Decimal(tok)
    except InvalidOperation:
        return Decimal(0)
    if not d.is_finite():
        return Decimal(0)
    exp = d.as_tuple().exponent
    assert isinstance(exp, int)
    return Decimal(0) if exp >= 0 else Decimal(1).scaleb(exp)


def _same_number(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        da, db = Decimal(a), Decimal(b)
    except InvalidOperation:
        return False
    if da.is_nan() or db.is_nan():
        return da.is_nan() and db.is_nan()
    if da == db:
        return True
    step = max(_quantum(a), _quantum(b))
    return bool(step) and abs(da - db) <= step / 2


def same_line(a: str, b: str) -> bool:
    if a == b:
        return True
    if _shape(a) != _shape(b):
        return False
    return all(_same_number(x, y) for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b)))


@dataclass
class Printed:
    before_lines: int
    after_lines: int
    differing: int
    first: Optional[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"compared": True, "same": self.differing == 0, "before_lines": self.before_lines,
                "after_lines": self.after_lines, "differing": self.differing, "first": self.first,
                "note": self.note()}

    def note(self) -> str:
        if not self.differing:
            return (f"printed output matches ({self.before_lines} lines, after normalising timings, "
                    f"progress redraws and value spellings)") if self.before_lines else "neither run printed anything"
        f = self.first or {}
        return (f"printed output differs: {self.differing} line(s), first at before line {f.get('before_line')} / "
                f"after line {f.get('after_line')}: {f.get('before')!r} vs {f.get('after')!r}")


def compare(before: str, after: str) -> Printed:
    nb, na = normalise(before), normalise(after)
    sm = difflib.SequenceMatcher(None, [_shape(x) for x in nb], [_shape(x) for x in na], autojunk=False)
    differing = 0
    first: Optional[dict[str, Any]] = None
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        rows = list(zip(range(i1, i2), range(j1, j2))) if op in ("equal", "replace") else []
        for i, j in rows:
            if not same_line(nb[i], na[j]):
                differing += 1
                first = first or _row(nb, na, i, j)
        if op != "equal":
            extra = abs((i2 - i1) - (j2 - j1))
            if extra:
                differing += extra
                i, j = i1 + min(i2 - i1, j2 - j1), j1 + min(i2 - i1, j2 - j1)
                first = first or _row(nb, na, i, j)
    return Printed(len(nb), len(na), differing, first)


def _row(nb: list[str], na: list[str], i: int, j: int) -> dict[str, Any]:
    return {"before_line": i + 1 if i < len(nb) else None, "after_line": j + 1 if j < len(na) else None,
            "before": nb[i][:200] if i < len(nb) else None, "after": na[j][:200] if j < len(na) else None}


def read(out_dir: str | Path) -> Optional[str]:
    path = Path(out_dir) / "stdout.txt"
    try:
        with open(path, "rb") as f:
            return f.read(_MAX_BYTES).decode("utf-8", "replace")
    except OSError:
        return None


def compare_runs(before_dir: str | Path, after_dir: str | Path) -> dict[str, Any]:
    b, a = read(before_dir), read(after_dir)
    if b is None or a is None:
        return {"compared": False, "note": "printed output not available"}
    return compare(b, a).to_dict()
