"""Op-level drill-down for a DIVERGED pair (child side, and a torch-free diff).

Re-running both sides under a ``TorchDispatchMode`` records every aten op that produces
floating-point data, with the hash of its outputs and the user's line, up to the first
divergent event.  Aligning the two op streams names the first op that differs and where it
comes from (e.g. the ``aten.zero_`` of a ``b.grad.data.zero_()`` the rewrite lost).  Views,
aliases and detach are skipped: ``.data`` and ``.detach()`` dispatch differently but compute
nothing.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Optional

_SKIP = {"aten.detach.default", "aten.alias.default", "aten.lift_fresh.default",
         "aten._local_scalar_dense.default", "aten.lift_fresh_copy.default"}
_MAX_OPS = 200_000


def make_mode(out: Path, recorder: Any, until_event: int) -> Any:
    """A dispatch mode writing ``ops.jsonl``; stops after event ``until_event`` was recorded."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    from .naming import site_of, user_frames
    from .tensorio import raw_bytes

    class OpTrace(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.file = open(out, "w", encoding="utf-8")
            self.count = 0

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            result = func(*args, **(kwargs or {}))
            if recorder.internal or recorder.count > until_event or self.count >= _MAX_OPS:
                return result
            name = str(func)
            if name in _SKIP or getattr(func, "is_view", False):
                return result
            outs = [t for t in tree_leaves(result)
                    if isinstance(t, torch.Tensor) and (t.is_floating_point() or t.is_complex())]
            if not outs:
                return result
            recorder.internal = True
            try:
                shas = [hashlib.sha256(raw_bytes(t)).hexdigest()[:16] for t in outs]
                site = site_of(user_frames(sys._getframe(1)))
            finally:
                recorder.internal = False
            self.file.write(json.dumps({"op": name, "sha": shas, "site": site, "event": recorder.count}) + "\n")
            self.count += 1
            return result

        def close(self) -> None:
            self.file.close()

    return OpTrace()


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return out


def first_difference(before_ops: Path, after_ops: Path) -> Optional[dict[str, Any]]:
    """Aligns the two op streams on (op, output hashes) and describes the first mismatch."""
    a, b = _load(before_ops), _load(after_ops)
    key_a = [(o["op"], tuple(o["sha"])) for o in a]
    key_b = [(o["op"], tuple(o["sha"])) for o in b]
    sm = difflib.SequenceMatcher(a=key_a, b=key_b, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        row: dict[str, Any] = {"before_ops": len(a), "after_ops": len(b), "matched_ops": i1, "change": tag}
        if i1 < i2:
            row["before"] = {k: a[i1][k] for k in ("op", "site", "event")}
        if j1 < j2:
            row["after"] = {k: b[j1][k] for k in ("op", "site", "event")}
        row["summary"] = _summary(tag, row)
        return row
    return {"before_ops": len(a), "after_ops": len(b), "matched_ops": len(a), "change": "none",
            "summary": f"the {len(a)} recorded ops are identical"}


def _summary(tag: str, row: dict[str, Any]) -> str:
    def where(side: str) -> str:
        o = row[side]
        return f"{o['op']} at {o['site']} (event {o['event']})"

    if tag == "delete":
        return f"first differing op: {where('before')} runs only before"
    if tag == "insert":
        return f"first differing op: {where('after')} runs only after"
    return f"first differing op: {where('before')} before vs {where('after')} after"
