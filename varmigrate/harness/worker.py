"""Executors: a warm pre-fork worker (default) and a fresh subprocess per run (fallback).

The worker is a separate interpreter that imports torch once (that is where a cold child
spends ~1 s), pins one intra-op thread, and then forks one child per run.  It never runs a
multi-threaded kernel itself: forking after libgomp started its pool makes children hang
(pytorch#17199, #58962).

``torch._dynamo`` (another ~1 s, which every optimizer imports) is not part
of the start-up: the worker imports it, with a throw-away optimizer, just before forking the
first run whose program text may need it (``_needs_dynamo``), so that a program without an
optimizer never waits for it and the others share one import.  Whether it is loaded changes
nothing a run computes (no RNG draw, no grad mode, no default dtype; one sympy warning filter);
a program that needs it and was not recognised imports it itself, as it would outside the harness.

A worker whose client dies without closing it (``kill -9`` of the CLI) kills its running
children's process groups and exits within a fraction of a second; a child whose worker dies
is killed by the kernel (``lifeline``).

Client side (this module's classes) never imports torch.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Optional, Protocol

from ..lifeline import ENV_PARENT, POLL_S, die_with_parent, parent_died, parent_from_env
from .spec import RunResult, RunSpec

_ENV_KEEP = ("PATH", "HOME", "LANG", "LANGUAGE", "TERM", "TMPDIR", "TZ", "USER", "LOGNAME",
             "VIRTUAL_ENV", "PYTHONPATH", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT")
_TAIL = 4000


def child_env() -> dict[str, str]:
    """A scrubbed environment: no credentials, fixed hash seed, one thread."""
    env = {k: v for k, v in os.environ.items() if k in _ENV_KEEP or k.startswith("LC_")}
    import varmigrate

    pkg_root = str(Path(varmigrate.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_root, env.get("PYTHONPATH", "")) if p)
    env.update(PYTHONHASHSEED="0", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    return env


class Executor(Protocol):
    name: str

    def run(self, spec: RunSpec) -> RunResult: ...

    def close(self) -> None: ...


# -- classification (parent side) ---------------------------------------------------------

def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - _TAIL))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _frame_from_faulthandler(stderr: str) -> Optional[dict[str, Any]]:
    """faulthandler prints the most recent call first; the first user file is the frame."""
    import re

    pat = re.compile(r'File "([^"]+)", line (\d+) in (\S+)')
    lib_markers = (os.sep + "site-packages" + os.sep, os.sep + "lib" + os.sep + "python",
                   os.sep + "varmigrate" + os.sep + "harness" + os.sep)
    for m in pat.finditer(stderr):
        fname = m.group(1)
        if not any(mark in fname for mark in lib_markers):
            from .source import line

            code = line(fname.split("#cell")[0], int(m.group(2))) if "#cell" not in fname else ""
            return {"file": fname, "line": int(m.group(2)), "function": m.group(3), "code": code}
    return None


def classify(spec: RunSpec, wait_status: Optional[int], timed_out: bool, wall: float,
             cpu: float = 0.0, max_rss_kb: float = 0.0) -> RunResult:
    out = Path(spec.out_dir)
    res = RunResult(run_id=spec.run_id, out_dir=spec.out_dir, status="error", wall_s=round(wall, 4),
                    cpu_s=round(cpu, 4), max_rss_mb=round(max_rss_kb / 1024, 1),
                    stderr_tail=_tail(out / "stderr.txt"), stdout_tail=_tail(out / "stdout.txt"))
    summary_path = out / "summary.json"
    if summary_path.exists():
        res.summary = json.loads(summary_path.read_text(encoding="utf-8"))
    if timed_out:
        res.status, res.message = "timeout", f"timed out after {spec.timeout:g} s (process group killed)"
    elif wait_status is not None and os.WIFSIGNALED(wait_status):
        sig = signal.Signals(os.WTERMSIG(wait_status)).name
        res.status, res.signal, res.message = "crashed", sig, f"killed by {sig}"
    elif res.summary:
        res.status = res.summary.get("status", "error")
        res.exit_code = res.summary.get("exit_code")
        exc = res.summary.get("exception")
        if exc:
            res.message = f"{exc['type']}: {exc['message']}".splitlines()[0][:500]
            res.frame = exc.get("frame")
        elif res.status == "exit":
            res.message = f"exited with status {res.exit_code}"
        elif res.status == "error":
            res.message = "harness error: " + res.summary.get("harness_error", "").strip().splitlines()[-1]
    else:
        code = os.WEXITSTATUS(wait_status) if wait_status is not None and os.WIFEXITED(wait_status) else None
        res.status, res.exit_code = "crashed", code
        res.message = f"ended without a summary (exit status {code})"
    if res.frame is None and res.status in ("crashed", "timeout"):
        res.frame = _frame_from_faulthandler(res.stderr_tail)
    return res


# -- the warm worker: server side -----------------------------------------------------------

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


def _pycache_dir() -> Path:
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
    sys.pycache_prefix = str(_pycache_dir())
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


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# -- the warm worker: client side ----------------------------------------------------------

class ForkWorker:
    """Client of one warm worker process; ``run`` is blocking and thread-safe."""

    name = "fork"

    def __init__(self, python: str = sys.executable) -> None:
        self._log = tempfile.NamedTemporaryFile(prefix="varmigrate-worker-", suffix=".log", delete=False)
        start = time.perf_counter()
        env = child_env()
        env[ENV_PARENT] = str(os.getpid())
        self.proc = subprocess.Popen([python, "-m", "varmigrate.harness.worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._log, env=env,
                                     cwd=tempfile.gettempdir())
        assert self.proc.stdout is not None and self.proc.stdin is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise RuntimeError("the harness worker failed to start:\n" + _tail(Path(self._log.name)))
        self.ready = json.loads(line)
        self.start_s = time.perf_counter() - start
        self._lock = threading.Lock()
        self._pending: dict[str, Future[RunResult]] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            res = RunResult.from_dict(json.loads(line))
            with self._lock:
                fut = self._pending.pop(res.run_id, None)
            if fut is not None:
                fut.set_result(res)
        with self._lock:  # the worker died: fail whoever still waits
            for fut in self._pending.values():
                fut.set_exception(RuntimeError("the harness worker exited unexpectedly"))
            self._pending.clear()

    def run(self, spec: RunSpec) -> RunResult:
        fut: Future[RunResult] = Future()
        with self._lock:
            if self.proc.poll() is not None:
                raise RuntimeError("the harness worker is not running")
            self._pending[spec.run_id] = fut
            assert self.proc.stdin is not None
            self.proc.stdin.write((spec.to_json() + "\n").encode())
            self.proc.stdin.flush()
        return fut.result()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        os.unlink(self._log.name)


class FreshExecutor:
    """One new interpreter per run: ~1.5 s of torch import each, but no shared state at all."""

    name = "fresh"

    def __init__(self, python: str = sys.executable) -> None:
        self.python = python

    def run(self, spec: RunSpec) -> RunResult:
        out = Path(spec.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        spec_path = out / "spec.json"
        spec_path.write_text(spec.to_json(), encoding="utf-8")
        start = time.perf_counter()
        env = child_env()
        env[ENV_PARENT] = str(os.getpid())  # started by this thread, which waits for it (lifeline)
        proc = subprocess.Popen([self.python, "-m", "varmigrate.harness.child", str(spec_path)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env, cwd=spec.cwd,
                                start_new_session=True)
        timed_out = False
        # the fresh interpreter needs its torch import on top of the user's time budget
        try:
            _, status, usage = _wait4_deadline(proc.pid, start + spec.timeout + 10)
        except TimeoutError:
            _killpg(proc.pid)
            timed_out = True
            _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0
        _killpg(proc.pid)
        return classify(spec, status, timed_out, time.perf_counter() - start,
                        usage.ru_utime + usage.ru_stime, usage.ru_maxrss)

    def close(self) -> None:
        pass


def _wait4_deadline(pid: int, deadline: float) -> tuple[int, int, Any]:
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return done, status, usage
        if time.perf_counter() > deadline:
            raise TimeoutError
        time.sleep(0.005)


def default_jobs() -> int:
    """Runs in parallel by default: one per core (each run is pinned to one thread)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


_SHARED: Optional[ForkWorker] = None
_SHARED_LOCK = threading.Lock()


def shared_worker() -> ForkWorker:
    """One warm worker per process (the CLI, or a whole pytest session); closed at exit."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None or _SHARED.proc.poll() is not None:
            import atexit

            _SHARED = ForkWorker()
            atexit.register(_SHARED.close)
        return _SHARED


def make_executor(kind: str) -> Executor:
    if kind == "fresh" or not hasattr(os, "fork"):
        return FreshExecutor()
    try:
        return shared_worker()
    except RuntimeError:
        return FreshExecutor()  # e.g. the worker could not start: slower but still correct


if __name__ == "__main__":
    serve()
