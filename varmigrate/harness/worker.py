"""Executors: a warm pre-fork worker (default) and a fresh subprocess per run (fallback).

The worker is a separate interpreter that imports torch once (that is where a cold child
spends ~1 s), pins one intra-op thread, and then forks one child per run.  It never runs a
multi-threaded kernel itself: forking after libgomp started its pool makes children hang
(pytorch#17199, #58962).

A worker whose client dies without closing it (``kill -9`` of the CLI) kills its running
children's process groups and exits within a fraction of a second; a child whose worker dies
is killed by the kernel (``lifeline``).

This module is the client side and never imports torch; the worker itself is ``warm.py``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Optional, Protocol

from ..lifeline import ENV_PARENT
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
        self.proc = subprocess.Popen([python, "-m", "varmigrate.harness.warm"], stdin=subprocess.PIPE,
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

