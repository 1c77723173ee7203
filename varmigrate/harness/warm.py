"""The warm worker, server side: ``python -m varmigrate.harness.warm``, started by ``worker.ForkWorker``.

It imports torch once, pins one intra-op thread, freezes its collector and then forks one child
per run spec read on stdin, answering with one result per line on stdout.

``torch._dynamo`` (another ~1 s, which every optimizer imports) is not part
of the start-up: the worker imports it, with a throw-away optimizer, just before forking the
first run whose program text may need it (``_needs_dynamo``), so that a program without an
optimizer never waits for it and the others share one import.  Whether it is loaded changes
nothing a run computes (no RNG draw, no grad mode, no default dtype; one sympy warning filter);
a program that needs it and was not recognised imports it itself, as it would outside the harness.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import sys
import time
from pathlib import Path
from typing import Optional

from ..lifeline import ENV_PARENT, POLL_S, die_with_parent, parent_died, parent_from_env
from .spec import RunSpec
from .worker import _killpg, classify


def _warm() -> float:
    start = time.perf_counter()
    import torch

    torch.set_num_threads(1)
    p = torch.zeros(2, requires_grad=True)
    (p * 2).sum().backward()
    from . import capture, device, execute, gradcheck, legacy_mode, naming, notebook, shim, tensorio  # noqa: F401

    _preload("numpy")  # nearly every legacy script uses it (pytest: on the first pytest run)
    _classify_loaded_files()
    return time.perf_counter() - start


def _classify_loaded_files() -> None:
    """Naming a leaf walks the frames of every event, asking of each file whether it is the
    user's (a realpath each, cached per file): answered here, once, for every module loaded so
    far, instead of again in every run."""
    from . import naming

    for module in list(sys.modules.values()):
        filename = getattr(module, "__file__", None)
        if isinstance(filename, str) and os.path.isabs(filename):  # a relative one depends on the run's cwd
            naming.is_user_file(filename)


# What makes torch import torch._dynamo at run time (outside torch.compile itself): the optimizers
# (`_disable_dynamo` on their methods), torch.utils.checkpoint, dispatch modes, torch.library
# custom ops, DDP, flex attention, functorch/torch.func, torch.jit/export, and the harness's own
# drill-down (a TorchDispatchMode). A word found by mistake costs one import that every later
# run shares; a word missed costs the run that needs it its own import (the same torch either way).
_DYNAMO_WORDS = re.compile(r"optim|checkpoint|(?<!re\.)\bcompile\b|\bjit\b|_dynamo|_inductor|dispatch|torch\.library|"
                           r"custom_op|DistributedDataParallel|flex_attention|functorch|torch\.func\b|\bvmap\b|"
                           r"torch\.export|lightning")


def _needs_dynamo(spec: RunSpec) -> bool:
    if spec.optrace_until >= 0:
        return True
    from .detect import program_texts

    try:
        texts = program_texts(spec.kind, spec.target, [spec.sys_path0, spec.cwd])
    except Exception:  # noqa: BLE001 - unreadable program: the run reports it; assume the worst
        return True
    return (spec.kind == "module" and not texts) or any(_DYNAMO_WORDS.search(t) for t in texts)


def _warm_dynamo() -> float:
    """Imports torch._dynamo as the first optimizer would, before forking the runs that need it."""
    import gc

    start = time.perf_counter()
    gc.disable()
    import torch
    import torch._dynamo  # noqa: F401

    p = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    (p * 2).sum().backward()
    opt.step()
    torch.optim.Adam([p], lr=0.1)
    _classify_loaded_files()
    gc.freeze()
    gc.enable()
    return time.perf_counter() - start


def pycache_dir() -> Path:
    """Where the warm worker keeps torch's bytecode when torch was installed without it (public:
    bench/targets_verify.py reports it)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "varmigrate" / "pycache"


def _cache_bytecode() -> tuple[Optional[str], bool]:
    """Where torch was installed without its bytecode (``pip install --no-compile``, an image built
    with PYTHONDONTWRITEBYTECODE, a read-only site-packages), every ``import torch`` compiles
    thousands of modules from source: about twice the CPU of a normal import, and again for
    ``torch._dynamo``. The worker then keeps the bytecode of what it imports under the user's cache
    (``sys.pycache_prefix``: nothing is ever written beside a source file) and reads it from
    there next time. Returns the settings to restore in each run: the user's program runs as
    the environment says (``PYTHONDONTWRITEBYTECODE=1``, no prefix), like outside the harness."""
    saved = (sys.pycache_prefix, sys.dont_write_bytecode)
    import importlib.util

    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return saved
    origin = spec.origin if spec is not None else None
    if not origin or not origin.endswith(".py"):
        return saved
    if os.path.exists(importlib.util.cache_from_source(origin)):
        return saved  # the installation has its bytecode: use it
    sys.pycache_prefix = str(pycache_dir())
    sys.dont_write_bytecode = False
    return saved


def _preload(module: str) -> None:
    """Import `module` in the worker, before a fork, so that no child pays for it."""
    try:
        __import__(module)
    except ImportError:
        pass


def serve() -> None:
    """Reads one JSON RunSpec per line on stdin, forks a child per spec, answers with one
    JSON RunResult per line on stdout, in completion order."""
    import gc

    # The client's death must not leave us (and the runs) behind. The death signal only says
    # "look": the kernel also sends it when the client thread that started us exits.
    parent = parent_from_env()
    os.environ.pop(ENV_PARENT, None)  # the runs inherit this environment
    signal.signal(signal.SIGUSR1, lambda *_: None)
    die_with_parent(parent, signal.SIGUSR1)
    bytecode = _cache_bytecode()
    # Importing torch with the collector on costs ~0.5 s of collections that find
    # next to nothing; freezing then keeps the children's collector off the parent's pages.
    gc.disable()
    warm_s = _warm()
    gc.freeze()
    gc.enable()
    out = sys.stdout
    out.write(json.dumps({"ready": True, "warm_s": round(warm_s, 3), "pid": os.getpid()}) + "\n")
    out.flush()
    running: dict[int, tuple[RunSpec, float, bool]] = {}  # pid -> (spec, start, timed_out)
    # SIGCHLD writes to this pipe, so a finished child wakes the loop at once (no polling)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    buf = b""
    eof = False
    while not eof or running:
        if parent is not None and parent_died(parent):
            _orphaned(running)
        deadline = min((start + spec.timeout for spec, start, timed_out in running.values() if not timed_out),
                       default=None)
        # wake up at least every 2 * POLL_S to see the client is still there (where there is no
        # death signal, and in case one was missed)
        wait = 2 * POLL_S if deadline is None else min(2 * POLL_S, max(0.0, deadline - time.perf_counter()) + 0.01)
        try:
            ready, _, _ = select.select([wake_r] if eof else [0, wake_r], [], [], wait)
        except InterruptedError:
            ready = []
        if wake_r in ready:
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        if 0 in ready:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                eof = True
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if not line.strip():
                    continue
                spec = RunSpec.from_dict(json.loads(line))
                if spec.kind == "module" and spec.target == "pytest" and "pytest" not in sys.modules:
                    _preload("pytest")
                if "torch._dynamo" not in sys.modules and _needs_dynamo(spec):
                    _warm_dynamo()
                me = os.getpid()
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    signal.signal(signal.SIGUSR1, signal.SIG_DFL)
                    os.close(wake_r)
                    os.close(wake_w)
                    die_with_parent(me, signal.SIGKILL)  # a worker killed outright takes the run along
                    sys.pycache_prefix, sys.dont_write_bytecode = bytecode
                    from .child import enter_forked

                    enter_forked(spec)
                running[pid] = (spec, time.perf_counter(), False)
        now = time.perf_counter()
        for pid, (spec, start, timed_out) in list(running.items()):
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                _killpg(pid)  # reap stragglers (DataLoader workers, user subprocesses)
                del running[pid]
                res = classify(spec, status, timed_out, now - start,
                               usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
                out.write(json.dumps(res.to_dict()) + "\n")
                out.flush()
            elif not timed_out and now - start > spec.timeout:
                _killpg(pid)
                running[pid] = (spec, start, True)
    # Every result is written and flushed, every run reaped: skip the interpreter's teardown of
    # torch (module finalizers, ~0.1-0.3 s), which the client would otherwise wait for in close().
    sys.stderr.flush()
    os._exit(0)


def _orphaned(running: dict[int, tuple[RunSpec, float, bool]]) -> None:
    """The client is gone: nobody will read a result. Kill every run (and what it started), exit."""
    for pid in running:
        _killpg(pid)
        try:
            os.kill(pid, signal.SIGKILL)  # not yet in its own session
        except (ProcessLookupError, PermissionError):
            pass
    for pid in running:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    os._exit(1)


if __name__ == "__main__":
    serve()
