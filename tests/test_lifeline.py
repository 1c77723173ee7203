"""A parent killed outright (`kill -9`: a CI timeout, a cancelled pre-commit) takes its workers along.

Every scenario runs for real in subprocesses: the parent is killed with SIGKILL and the test asserts
the processes it had started are gone a few seconds later (a generous bound, not a timing
measurement), and that files were left old or new.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

from varmigrate import lifeline
from varmigrate.config import Settings
from varmigrate.sources import TEMP_SUFFIX
from varmigrate.testing import fix_text

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")

GONE_WITHIN_S = 60.0  # "about a second" by design; polled, so generous costs nothing on a loaded machine

LEGACY_BLOCK = '''
def step{n}(model, x, y, optimizer):
    x, y = Variable(x), Variable(y)
    optimizer.zero_grad()
    loss = model(x).sub(y).pow(2).mean()
    loss.backward()
    optimizer.step()
    return loss, Variable(torch.zeros(3)), Variable(x.data, volatile=True)
'''


def _legacy_file(blocks: int) -> str:
    return "import torch\nfrom torch.autograd import Variable\n" + "".join(LEGACY_BLOCK.format(n=i) for i in range(blocks))


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of a live process; None once it is gone (a zombie counts as gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return None if fields[0] in ("Z", "X") else (fields[0], int(fields[1]), int(fields[19]))


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st is not None and st[1] == pid:
                out.append(int(entry.name))
    return out


def _wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    """Polls `predicate` until it holds or `timeout` seconds passed (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


Identity = dict[int, int]  # pid -> start time: a pid the kernel reuses for a new process is not ours


def _identify(pids: list[int]) -> Identity:
    """Taken while the processes are known to be alive, i.e. before their parent is killed."""
    ids = {}
    for p in pids:
        st = _stat(p)
        assert st is not None, f"process {p} is not running"
        ids[p] = st[2]
    return ids


def _alive(ids: Identity) -> list[int]:
    return [p for p, start in ids.items() if (st := _stat(p)) is not None and st[2] == start]


def _assert_gone(ids: Identity) -> None:
    assert ids
    _wait_for(lambda: not _alive(ids), GONE_WITHIN_S)
    alive = _alive(ids)
    for p in alive:  # do not leave them behind for the rest of the suite
        os.kill(p, signal.SIGKILL)
    assert alive == [], f"still alive {GONE_WITHIN_S:g} s after their parent was killed"


def test_killed_fix_takes_its_pool_workers_along(tmp_path: Path) -> None:
    old = _legacy_file(30)
    new = fix_text(old, Settings(unsafe_fixes=True))
    assert new != old
    files = []
    for i in range(200):
        path = tmp_path / f"m{i:03d}.py"
        path.write_text(old)
        files.append(path)
    (tmp_path / "pyproject.toml").write_text("[tool.varmigrate]\n")
    proc = subprocess.Popen([sys.executable, "-m", "varmigrate", "fix", "--unsafe-fixes", "--no-cache", "-j", "2", "."],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []

    def busy() -> bool:
        workers[:] = _children(proc.pid)
        return len(workers) == 2 and sum(p.read_text() == new for p in files) >= 3

    try:
        assert _wait_for(busy, 300), "the workers never started rewriting files"
        ids = _identify(workers)
        assert proc.poll() is None, "the run finished before it could be killed"
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    _assert_gone(ids)
    contents = [p.read_text() for p in files]
    assert all(c in (old, new) for c in contents)
    assert sum(c == new for c in contents) < len(files)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(TEMP_SUFFIX)] == []


MIDDLE = """
import os, signal, sys, time
from varmigrate import lifeline
mode = sys.argv[1]
parent = os.getpid()
pid = os.fork()
if pid == 0:
    if mode == "thread":
        lifeline._prctl_pdeathsig = lambda signum: False
    how = lifeline.die_with_parent(parent, signal.SIGTERM)
    print(how, flush=True)
    time.sleep(300)
    os._exit(0)
print(pid, flush=True)
time.sleep(300)
"""


@pytest.mark.parametrize("mode", ["prctl", "thread"])
def test_die_with_parent_signals_the_child_when_its_parent_is_killed(mode: str) -> None:
    if mode == "prctl" and not sys.platform.startswith("linux"):
        pytest.skip("prctl is Linux's")
    proc = subprocess.Popen([sys.executable, "-c", MIDDLE, mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    lines = [proc.stdout.readline().strip(), proc.stdout.readline().strip()]
    child = int(next(line for line in lines if line.isdigit()))
    assert mode in lines
    ids = _identify([child])
    proc.kill()
    proc.wait()
    _assert_gone(ids)


def test_die_with_parent_whose_parent_is_already_gone_signals_at_once() -> None:
    # A pid that is certainly not our parent: the death happened before the signal was armed.
    code = "import signal, time; from varmigrate import lifeline; lifeline.die_with_parent(2**22 + 7, signal.SIGTERM); time.sleep(30)"
    proc = subprocess.run([sys.executable, "-c", code], timeout=300)
    assert proc.returncode == -signal.SIGTERM


def test_no_parent_pid_arms_nothing() -> None:
    assert lifeline.die_with_parent(None) == "none"


DRIVER = """
import json, sys, threading, time
from pathlib import Path
from varmigrate.harness.spec import RunSpec
from varmigrate.harness.worker import ForkWorker, FreshExecutor
kind, program, out = sys.argv[1], sys.argv[2], sys.argv[3]
ex = ForkWorker() if kind == "fork" else FreshExecutor()
spec = RunSpec(run_id="r", kind="script", target=program, out_dir=out, cwd=str(Path(program).parent), timeout=600)
threading.Thread(target=ex.run, args=(spec,), daemon=True).start()
print(json.dumps({"worker": getattr(getattr(ex, "proc", None), "pid", None)}), flush=True)
time.sleep(600)
"""

PROGRAM = """
import json, os, subprocess, sys, time
sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(sys.argv[0] + ".pids.tmp", "w") as f:
    json.dump({"run": os.getpid(), "grandchild": sleeper.pid}, f)
os.replace(sys.argv[0] + ".pids.tmp", sys.argv[0] + ".pids")
time.sleep(600)
"""


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["fork", "fresh"])
def test_killed_verify_client_takes_the_worker_and_its_runs_along(tmp_path: Path, kind: str) -> None:
    program = tmp_path / "prog.py"
    program.write_text(PROGRAM)
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, kind, str(program), str(tmp_path / "out")],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    pids_file = Path(str(program) + ".pids")
    try:
        worker = json.loads(proc.stdout.readline())["worker"]
        assert _wait_for(pids_file.exists, 300), "the run never started"
        pids = json.loads(pids_file.read_text())
        expected = [pids["run"]] + ([worker, pids["grandchild"]] if kind == "fork" else [])
        ids = _identify(expected)
        grandchild = _identify([pids["grandchild"]])
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
    try:
        _assert_gone(ids)
    finally:  # the fresh executor's run is killed by the kernel; what it started is its own business
        for p in _alive(grandchild):
            os.kill(p, signal.SIGKILL)


@pytest.mark.torch
def test_worker_started_from_a_thread_outlives_that_thread(tmp_path: Path) -> None:
    """The kernel's death signal also fires when the forking *thread* exits: the worker must check."""
    from varmigrate.harness.spec import RunSpec
    from varmigrate.harness.worker import ForkWorker

    box: list[ForkWorker] = []
    thread = threading.Thread(target=lambda: box.append(ForkWorker()))
    thread.start()
    thread.join()
    worker = box[0]
    try:
        time.sleep(1.5)  # past the worker's polling period
        program = tmp_path / "p.py"
        program.write_text(textwrap.dedent("""
            import torch
            x = torch.ones(2, requires_grad=True)
            (x * 3).sum().backward()
        """))
        res = worker.run(RunSpec(run_id="t", kind="script", target=str(program), out_dir=str(tmp_path / "out"),
                                 cwd=str(tmp_path), timeout=120))
        assert res.status == "ok", res.message
        assert worker.proc.poll() is None
    finally:
        worker.close()
