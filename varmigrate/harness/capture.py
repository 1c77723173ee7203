"""Gradient trace capture inside the child process.

Wraps ``torch.autograd.backward`` (``Tensor.backward`` looks it up at call time) and
``torch.autograd.grad``, and registers the global optimizer step pre-hook.  Each event is
one JSON line in ``events.jsonl``, flushed at once so a crash still leaves a comparable
prefix.  Tensors are hashed; their raw bytes go to a bounded content-addressed store.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import torch

from .naming import Namer, leaves_of, site_of, user_frames
from .tensorio import TensorStore


def _as_list(x: Any) -> list[Any]:
    if x is None:
        return []
    if isinstance(x, torch.Tensor):
        return [x]
    return list(x)


class Recorder:
    def __init__(self, out_dir: Path, tensor_budget: int) -> None:
        self.out_dir = out_dir
        self.store = TensorStore(out_dir / "tensors", tensor_budget)
        self._events = open(out_dir / "events.jsonl", "w", encoding="utf-8")
        self.count = 0
        self.enabled = True
        self._depth = 0  # re-entrant backward (checkpointing) is part of the outer event
        self.internal = False  # the recorder's own tensor work, hidden from the op drill-down
        self._tracked: dict[str, torch.Tensor] = {}
        self._undo: list[Callable[[], None]] = []

    # -- installation -------------------------------------------------------------------
    def install(self) -> None:
        orig_backward = torch.autograd.backward
        orig_grad = torch.autograd.grad

        def backward(*args: Any, **kwargs: Any) -> Any:
            if not self.enabled or self._depth:
                return orig_backward(*args, **kwargs)
            roots = _as_list(args[0] if args else kwargs.get("tensors"))
            inputs = _as_list(kwargs.get("inputs"))
            leaves = inputs or leaves_of(roots)
            root_info = self._record_all(roots)
            self._depth += 1
            try:
                result = orig_backward(*args, **kwargs)
            finally:
                self._depth -= 1
            self._event("backward", root_info, leaves, [leaf.grad for leaf in leaves],
                        root_tensors=roots)
            return result

        def grad(*args: Any, **kwargs: Any) -> Any:
            if not self.enabled or self._depth:
                return orig_grad(*args, **kwargs)
            roots = _as_list(args[0] if args else kwargs.get("outputs"))
            inputs = _as_list(args[1] if len(args) > 1 else kwargs.get("inputs"))
            root_info = self._record_all(roots)
            self._depth += 1
            try:
                result = orig_grad(*args, **kwargs)
            finally:
                self._depth -= 1
            self._event("grad", root_info, inputs, list(result), root_tensors=roots)
            return result

        torch.autograd.backward = backward
        torch.autograd.grad = grad

        def step_pre_hook(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            if not self.enabled or self._depth:
                return None
            params = [p for g in opt.param_groups for p in g["params"]]
            self._event("optimizer_step", [], params, [p.grad for p in params],
                        extra={"optimizer": type(opt).__name__})
            return None

        from torch.optim.optimizer import register_optimizer_step_pre_hook

        handle = register_optimizer_step_pre_hook(step_pre_hook)

        def undo() -> None:
            torch.autograd.backward = orig_backward
            torch.autograd.grad = orig_grad
            handle.remove()

        self._undo.append(undo)

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    # -- events -------------------------------------------------------------------------
    # The recorder's own tensor work (hashing, statistics) bypasses __torch_function__: neither
    # the before run's legacy mode nor a user subclass should see, or slow down, the bookkeeping.
    def _record_all(self, tensors: Sequence[torch.Tensor]) -> list[dict[str, Any]]:
        self.internal = True
        try:
            with torch._C.DisableTorchFunction():
                return [self.store.record(t) for t in tensors]
        finally:
            self.internal = False

    def _event(self, *args: Any, **kwargs: Any) -> None:
        self.internal = True
        try:
            with torch._C.DisableTorchFunction():
                self._write_event(*args, **kwargs)
        finally:
            self.internal = False

    def _write_event(self, kind: str, roots: list[dict[str, Any]], leaves: Sequence[torch.Tensor],
               grads: Sequence[Optional[torch.Tensor]], extra: Optional[dict[str, Any]] = None,
               root_tensors: Sequence[torch.Tensor] = ()) -> None:
        frames = user_frames(sys._getframe(2))
        namer = Namer([*leaves, *root_tensors])
        namer.scan(frames)
        for pos, (info, r) in enumerate(zip(roots, root_tensors)):
            info["name"] = namer.names(r, pos)[0].replace("leaf#", "root#")
        rows = []
        for pos, (leaf, g) in enumerate(zip(leaves, grads)):
            name, aliases = namer.names(leaf, pos)
            rows.append({
                "name": name,
                "aliases": aliases,
                "grad": None if g is None else self.store.record(g),
                "value": self.store.record(leaf),
            })
            self._tracked.setdefault(name, leaf)
        test = os.environ.get("PYTEST_CURRENT_TEST")
        event = {
            "i": self.count,
            "kind": kind,
            "site": site_of(frames),
            "site_file": frames[0].f_code.co_filename if frames else None,
            "test": test.rsplit(" (", 1)[0] if test else None,
            "roots": roots,
            "leaves": rows,
        }
        if extra:
            event.update(extra)
        self.store.flush()
        self._events.write(json.dumps(event) + "\n")
        self._events.flush()
        self.count += 1

    def finish(self) -> dict[str, Any]:
        """Final values of every leaf seen in an event, by name."""
        self.enabled = False
        self.internal = True
        with torch._C.DisableTorchFunction():
            final = {name: self.store.record(t) for name, t in sorted(self._tracked.items())}
        self._events.close()
        self.store.close()
        return {
            "events": self.count,
            "final": final,
            "tensor_bytes": self.store.used,
            "tensors_not_stored": self.store.skipped,
        }
