"""Writes are atomic: a crash or a signal leaves every file old or new, and no temporary file."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from varmigrate import sources
from varmigrate.config import Settings
from varmigrate.sources import TEMP_SUFFIX, atomic_write
from varmigrate.testing import fix_text

LEGACY_BLOCK = '''
def step{n}(model, x, y, optimizer):
    x, y = Variable(x), Variable(y)
    optimizer.zero_grad()
    loss = model(x).sub(y).pow(2).mean()
    loss.backward()
    optimizer.step()
    return loss, Variable(torch.zeros(3)), Variable(x.data)
'''


def _legacy_file(blocks: int) -> str:
    return "import torch\nfrom torch.autograd import Variable\n" + "".join(LEGACY_BLOCK.format(n=i) for i in range(blocks))


def test_atomic_write_keeps_mode_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "m.py"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    atomic_write(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"]


def test_atomic_write_through_symlink_keeps_link(tmp_path: Path) -> None:
    real = tmp_path / "real.py"
    real.write_text("old\n")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    atomic_write(link, b"new\n")
    assert link.is_symlink() and real.read_text() == "new\n"


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "m.py"
    target.write_text("old\n")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sources.os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write(target, b"new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"]


def test_signal_during_write_is_deferred_until_the_file_is_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM raised in the middle of a write is delivered only after the rename."""
    target = tmp_path / "m.py"
    target.write_text("old\n")
    real_fsync = os.fsync
    seen: list[str] = []

    def fsync_then_signal(fd: int) -> None:
        real_fsync(fd)
        # At this thread (the one writing, whose mask holds it): a process-directed kill may go to
        # another thread of the process (torch's pool once a test module imported it), and run the
        # handler at once.
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)  # arrives while the temporary file exists
        seen.append("sent")

    def handler(signum: int, frame: object) -> None:
        seen.append(target.read_text())
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    monkeypatch.setattr(sources.os, "fsync", fsync_then_signal)
    try:
        with pytest.raises(KeyboardInterrupt):
            atomic_write(target, b"new\n")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert seen == ["sent", "new\n"]
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"]


@pytest.mark.slow
def _sigint_default() -> None:
    # A suite started in the background (`make test &`) inherits SIGINT ignored, and Python then
    # installs no KeyboardInterrupt handler: give the child the interactive default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(
    "signum, jobs",
    [(signal.SIGTERM, "1"), (signal.SIGINT, "1"), (signal.SIGTERM, "2")],
    ids=["sigterm-j1", "sigint-j1", "sigterm-j2"],
)
def test_interrupted_fix_leaves_files_old_or_new(tmp_path: Path, signum: int, jobs: str) -> None:
    old = _legacy_file(12)
    new = fix_text(old, Settings())
    assert new != old
    files = []
    for i in range(150):
        path = tmp_path / f"m{i:03d}.py"
        path.write_text(old)
        files.append(path)
    (tmp_path / "pyproject.toml").write_text("[tool.varmigrate]\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "varmigrate", "fix", "-j", jobs, str(tmp_path)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=_sigint_default,
    )
    deadline = time.monotonic() + 60
    # Interrupt once some (but not all) files have been rewritten.
    while time.monotonic() < deadline and proc.poll() is None:
        if sum(p.read_text() == new for p in files) >= 3:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    contents = [p.read_text() for p in files]
    assert all(c in (old, new) for c in contents)
    assert 3 <= sum(c == new for c in contents) < len(files)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(TEMP_SUFFIX)]
    assert leftovers == []
    assert "Traceback" not in err or signum == signal.SIGINT
