"""The sandboxed child: resource limits, output files, crash and hang diagnostics.

Entered either right after ``os.fork()`` in the warm worker (``enter_forked``) or as a fresh
interpreter (``python -m varmigrate.harness.child SPEC.json``, the fallback).  Either way the
user program never writes into the harness's own pipes, and the child ends with
``summary.json`` written, or dies and the parent classifies the death.
"""

from __future__ import annotations

import faulthandler
import json
import os
import resource
import signal
import sys
from pathlib import Path
from typing import IO, Any

from .spec import DEFAULT_NOFILE, RunSpec

_faulthandler_file: Any = None


def set_limits(spec: RunSpec) -> None:
    def lim(kind: int, soft: int, hard: int) -> None:
        cur_soft, cur_hard = resource.getrlimit(kind)
        if cur_hard != resource.RLIM_INFINITY:
            hard = min(hard, cur_hard)
            soft = min(soft, hard)
        try:
            resource.setrlimit(kind, (soft, hard))
        except (ValueError, OSError):  # a lower inherited limit wins
            pass

    if spec.device != "cuda":  # the CUDA driver reserves huge virtual ranges
        lim(resource.RLIMIT_AS, spec.memory_bytes, spec.memory_bytes)
    cpu = int(spec.timeout) + 1
    lim(resource.RLIMIT_CPU, cpu, cpu + 5)
    lim(resource.RLIMIT_FSIZE, spec.file_bytes, spec.file_bytes)
    lim(resource.RLIMIT_NOFILE, DEFAULT_NOFILE, DEFAULT_NOFILE)
    lim(resource.RLIMIT_CORE, 0, 0)


def _redirect(out: Path) -> IO[str]:
    # No flush first: after a fork, Python-level buffers hold the parent's bytes, which must
    # not reach the parent's pipe twice.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    for fd, name in ((1, "stdout.txt"), (2, "stderr.txt")):
        f = os.open(out / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(f, fd)
        os.close(f)
    return sys.stderr


def run_child(spec: RunSpec) -> None:
    """Everything after the process boundary; never returns normally into the caller's loop."""
    global _faulthandler_file
    out = Path(spec.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["VARMIGRATE_RUN_DIR"] = str(out)
    err = _redirect(out)
    set_limits(spec)
    _faulthandler_file = err
    faulthandler.enable(file=err, all_threads=True)
    if spec.timeout > 2:  # say where a hang is stuck, just before the parent kills us
        faulthandler.dump_traceback_later(spec.timeout - 1, exit=False, file=err)
    os.chdir(spec.cwd)
    from .execute import run

    try:
        summary = run(spec)
    except BaseException as exc:  # a harness failure, reported as such
        import traceback

        summary = {"run_id": spec.run_id, "status": "error",
                   "harness_error": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))}
    faulthandler.cancel_dump_traceback_later()
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(summary), encoding="utf-8")
    tmp.replace(out / "summary.json")
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass


def enter_forked(spec: RunSpec) -> None:
    """Called in the forked child; exits the process."""
    code = 0
    try:
        os.setsid()
        run_child(spec)
    except BaseException:
        code = 70
    finally:
        os._exit(code)


def main(argv: list[str]) -> None:
    from ..lifeline import ENV_PARENT, die_with_parent, parent_from_env

    die_with_parent(parent_from_env(), signal.SIGKILL)  # the run goes with a killed parent
    os.environ.pop(ENV_PARENT, None)  # the user's program sees the environment it would otherwise
    spec = RunSpec.from_dict(json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    import gc

    gc.disable()  # as in the warm worker: collections during the torch import find nothing
    import torch  # noqa: F401  (same import order as the warm worker)

    gc.enable()
    torch.set_num_threads(1)
    run_child(spec)
    os._exit(0)  # skip interpreter teardown: user atexit/threads must not hang the run


if __name__ == "__main__":
    main(sys.argv[1:])
