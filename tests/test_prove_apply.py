"""`verify --apply` writes: journal first, each file atomically, a kill anywhere recoverable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from varmigrate.prove.apply import JOURNAL_DIR, ApplyError, recover, write_tree

N = 6


def _tree(root: Path) -> dict[str, tuple[bytes, bytes]]:
    changes = {}
    for i in range(N):
        rel = f"pkg/m{i}.py" if i % 2 else f"m{i}.py"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        old = f"x{i} = Variable(t)\n".encode()
        path.write_bytes(old)
        changes[rel] = (old, f"x{i} = t\n".encode())
    os.chmod(root / "m0.py", 0o755)
    return changes


def _state(root: Path, changes: dict[str, tuple[bytes, bytes]]) -> list[str]:
    out = []
    for rel, (old, new) in sorted(changes.items()):
        data = (root / rel).read_bytes()
        assert data in (old, new), rel  # never a torn file
        out.append("new" if data == new else "old")
    return out


def test_every_file_is_written_and_the_journal_removed(tmp_path: Path) -> None:
    changes = _tree(tmp_path)
    written = write_tree(tmp_path, changes, patch="--- a\n+++ b\n")
    assert written == sorted(changes)
    assert _state(tmp_path, changes) == ["new"] * N
    assert not (tmp_path / JOURNAL_DIR).exists()
    assert os.stat(tmp_path / "m0.py").st_mode & 0o777 == 0o755  # the mode is kept
    assert recover(tmp_path).action == "none"


def test_a_file_edited_meanwhile_stops_the_apply_before_any_write(tmp_path: Path) -> None:
    changes = _tree(tmp_path)
    (tmp_path / "m2.py").write_text("edited by the user\n")
    with pytest.raises(ApplyError, match="m2.py"):
        write_tree(tmp_path, changes)
    assert (tmp_path / "m2.py").read_text() == "edited by the user\n"
    assert [s for rel, s in zip(sorted(changes), _state_loose(tmp_path, changes)) if rel != "m2.py"] == ["old"] * (N - 1)
    assert not (tmp_path / JOURNAL_DIR).exists()


def _state_loose(root: Path, changes: dict[str, tuple[bytes, bytes]]) -> list[str]:
    return ["new" if (root / rel).read_bytes() == new else "old" for rel, (_, new) in sorted(changes.items())]


_KILLER = """
import os, signal, sys
from pathlib import Path
from varmigrate.prove import apply
root = Path(sys.argv[1])
after = int(sys.argv[2])
where = sys.argv[3]
changes = {}
for i in range(N_FILES):
    rel = f"pkg/m{i}.py" if i % 2 else f"m{i}.py"
    old = (root / rel).read_bytes()
    changes[rel] = (old, old.replace(b"Variable(t)", b"t"))
real_replace, real_write = os.replace, apply._write_synced
count = [0]
def replace(src, dst):
    if where == "replace" and str(dst).endswith(".py"):
        if count[0] == after:
            os.kill(os.getpid(), signal.SIGKILL)
        count[0] += 1
    return real_replace(src, dst)
def write(path, data, mode=None):
    if where == "staging" and "/new/" in str(path):
        if count[0] == after:
            os.kill(os.getpid(), signal.SIGKILL)
        count[0] += 1
    return real_write(path, data, mode)
os.replace = replace
apply._write_synced = write
apply.write_tree(root, changes)
""".replace("N_FILES", str(N))


def _killed_apply(root: Path, after: int, where: str = "replace") -> None:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_KILLER), str(root), str(after), where],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


@pytest.mark.parametrize("after", [0, 2, N - 1])
def test_a_kill_in_the_middle_leaves_old_or_new_files_and_the_next_run_completes(tmp_path: Path, after: int) -> None:
    changes = _tree(tmp_path)
    _killed_apply(tmp_path, after)
    states = _state(tmp_path, changes)
    assert states.count("new") == after and (tmp_path / JOURNAL_DIR / "journal.json").exists()
    rec = recover(tmp_path)
    assert rec.action == "completed" and len(rec.files) == N
    assert _state(tmp_path, changes) == ["new"] * N
    assert not (tmp_path / JOURNAL_DIR).exists()


def test_a_kill_in_the_middle_can_be_rolled_back(tmp_path: Path) -> None:
    changes = _tree(tmp_path)
    _killed_apply(tmp_path, 3)
    assert _state(tmp_path, changes).count("new") == 3
    rec = recover(tmp_path, rollback=True)
    assert rec.action == "rolled back"
    assert _state(tmp_path, changes) == ["old"] * N
    assert os.stat(tmp_path / "m0.py").st_mode & 0o777 == 0o755


def test_a_kill_while_staging_is_rolled_back_with_nothing_written(tmp_path: Path) -> None:
    changes = _tree(tmp_path)
    _killed_apply(tmp_path, 2, where="staging")
    assert _state(tmp_path, changes) == ["old"] * N
    rec = recover(tmp_path)
    assert rec.action == "rolled back"
    assert _state(tmp_path, changes) == ["old"] * N and not (tmp_path / JOURNAL_DIR).exists()


def test_a_file_edited_after_the_kill_keeps_the_journal_and_names_the_file(tmp_path: Path) -> None:
    _tree(tmp_path)
    _killed_apply(tmp_path, 1)
    (tmp_path / "m4.py").write_text("the user's edit\n")
    with pytest.raises(ApplyError, match="m4.py"):
        recover(tmp_path)
    assert (tmp_path / "m4.py").read_text() == "the user's edit\n"
    assert (tmp_path / JOURNAL_DIR / "journal.json").exists()


def test_a_second_apply_refuses_while_one_is_pending(tmp_path: Path) -> None:
    changes = _tree(tmp_path)
    _killed_apply(tmp_path, 1)
    with pytest.raises(ApplyError, match="pending"):
        write_tree(tmp_path, changes)


def test_paths_outside_the_root_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ApplyError):
        write_tree(tmp_path, {"../evil.py": (b"", b"x")})
    assert not (tmp_path / JOURNAL_DIR).exists()
