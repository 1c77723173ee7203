"""Plain data passed between the orchestrator, the worker and the sandboxed child.

Everything here is JSON-serialisable and torch-free: the orchestrator and the worker's
client side never import torch.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

# Default resource limits for one run (see HARNESS.md section 5 for the measurements).
DEFAULT_MEMORY_BYTES = 4 << 30
DEFAULT_FILE_BYTES = 1 << 30
DEFAULT_NOFILE = 1024
# Raw tensors kept per run for max-abs/rel diffs (content-addressed, so repeats are free).
DEFAULT_TENSOR_BUDGET = 128 << 20


@dataclass
class RunSpec:
    """One side of a pair, executed once in a fresh child process."""

    run_id: str
    kind: str  # "script" | "module" | "notebook"
    target: str  # script/notebook path, or module name for kind="module"
    out_dir: str  # trace files, stdout/stderr; outside the user's tree
    cwd: str
    argv: list[str] = field(default_factory=list)
    sys_path0: str = ""
    shim: bool = False  # a before run: the legacy shim's `features` apply
    features: list[str] = field(default_factory=list)  # shim features to install (harness.features)
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    seed: int = 0
    timeout: float = 120.0
    gradcheck: bool = False  # after-runs: float64 gradcheck of user autograd.Functions
    optrace_until: int = -1  # >= 0: record aten ops up to this event (the DIVERGED drill-down)
    tensor_budget: int = DEFAULT_TENSOR_BUDGET
    memory_bytes: int = DEFAULT_MEMORY_BYTES
    file_bytes: int = DEFAULT_FILE_BYTES

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunSpec":
        return cls(**data)


@dataclass
class RunResult:
    """How a run ended, as seen by the parent, plus the child's own summary."""

    run_id: str
    out_dir: str
    status: str  # ok | exception | exit | crashed | timeout | error
    exit_code: Optional[int] = None
    signal: Optional[str] = None
    wall_s: float = 0.0
    cpu_s: float = 0.0
    max_rss_mb: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    stderr_tail: str = ""
    stdout_tail: str = ""
    frame: Optional[dict[str, Any]] = None  # the user's frame where it failed
    message: str = ""  # one line: exception / signal / timeout text

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def events_path(self) -> Path:
        return Path(self.out_dir) / "events.jsonl"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunResult":
        return cls(**data)
