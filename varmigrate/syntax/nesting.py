"""Input nested too deeply to process, found in milliseconds before libcst would spend seconds on it."""

from __future__ import annotations

import ast
import re
import warnings
from itertools import accumulate
from typing import Optional

# Beyond this naive bracket depth (or unary-operator run) CPython's own parser is asked first:
# libcst's parser takes many seconds on such input before its visitors hit the recursion limit.
_SUSPICIOUS_DEPTH = 50
# Runs of 50 prefix operators: each alternative is searched only when its word occurs 50
# times at all (one alternation regex over every file was ~1.3 ms of a check).
_UNARY_RUNS = (
    (("-", "+", "~"), re.compile(r"[-+~](?:\s*[-+~]){49}")),
    (("not",), re.compile(r"(?:\bnot\s+){50}")),
    (("await",), re.compile(r"(?:\bawait\s+){50}")),
    (("lambda",), re.compile(r"(?:\blambda\s*:\s*){50}")),
)


def _unary_run(text: str) -> bool:
    return any(sum(text.count(w) for w in words) >= 50 and pattern.search(text) for words, pattern in _UNARY_RUNS)


_NOT_BRACKETS = re.compile(r"[^()\[\]{}]+")
_DEPTH_STEP = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


def nesting_error(text: str) -> Optional[tuple[int, str]]:
    """(line, message) when `text` is nested too deeply to process, found in milliseconds."""
    # C-level passes only (a per-character Python loop was ~1.5 % of a check)
    deepest = max(accumulate(map(_DEPTH_STEP.__getitem__, _NOT_BRACKETS.sub("", text))), default=0)
    if deepest < _SUSPICIOUS_DEPTH and not _unary_run(text):
        return None
    try:
        with warnings.catch_warnings():  # only the nesting matters here, not the code's warnings
            warnings.simplefilter("ignore")
            compile(text, "<nesting check>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except RecursionError:
        return 1, "expressions are nested too deeply to process (Python's own parser gives up too); file left unchanged"
    except SyntaxError as exc:
        if "too many nested" in str(exc.msg) or "too complex" in str(exc.msg):
            return exc.lineno or 1, f"{exc.msg} (Python's own parser rejects it too); file left unchanged"
    except (ValueError, MemoryError):
        pass
    return None
