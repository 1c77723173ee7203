"""Writing a proven tree into the user's directory: journaled, each file replaced atomically.

The one place where `verify` writes user files.  Protocol, all inside ``DIR/.varmigrate-apply/``
(the same file system as the targets, so every rename is atomic):

1. ``journal.json`` (written atomically) lists every file to replace with the sha256 of its
   old and new bytes; state ``staging``;
2. the new bytes and a backup of the old bytes of each file are written and synced;
3. the journal's state becomes ``committing``: from here on the new tree is what DIR must hold;
4. each file is replaced by ``os.replace`` of its staged copy (checked first: a file whose bytes
   are neither the old nor the new ones was edited meanwhile, and nothing more is written);
5. the directory is removed.

A run killed anywhere leaves every file either old or new, and the journal.  `recover` (every
`verify --apply` calls it first) completes a ``committing`` journal and rolls a ``staging``
one back (nothing was replaced yet); ``rollback=True`` restores the old bytes instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

JOURNAL_DIR = ".varmigrate-apply"
JOURNAL = "journal.json"
SCHEMA = "varmigrate.apply/1"


class ApplyError(RuntimeError):
    """The tree could not be written (or recovered); the message names the file."""


@dataclass
class Recovery:
    action: str  # "completed" | "rolled back" | "none"
    files: list[str]

    def describe(self) -> str:
        if self.action == "none":
            return ""
        return (f"an interrupted `verify --apply` was {self.action}: "
                f"{len(self.files)} file(s) ({', '.join(self.files[:10])})")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha(path: Path) -> str | None:
    try:
        return _sha(path.read_bytes())
    except FileNotFoundError:
        return None


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_synced(path: Path, data: bytes, mode: int | None = None) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    if mode is not None:
        os.chmod(path, mode)


def _write_journal(jdir: Path, journal: dict[str, object]) -> None:
    tmp = jdir / (JOURNAL + ".tmp")
    _write_synced(tmp, (json.dumps(journal, indent=1) + "\n").encode())
    os.replace(tmp, jdir / JOURNAL)
    _fsync_dir(jdir)


def _read_journal(jdir: Path) -> dict[str, object] | None:
    path = jdir / JOURNAL
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ApplyError(f"{path}: unreadable journal of an interrupted apply ({exc}); "
                         "inspect it and remove the folder by hand") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ApplyError(f"{path}: not a varmigrate apply journal")
    return data


def pending(root: Path) -> bool:
    return (root / JOURNAL_DIR / JOURNAL).exists() or (root / JOURNAL_DIR).exists()


def recover(root: Path, rollback: bool = False) -> Recovery:
    """Finish (or, with `rollback`, undo) an interrupted apply; a no-op when there is none."""
    jdir = root / JOURNAL_DIR
    if not jdir.exists():
        return Recovery("none", [])
    journal = _read_journal(jdir)
    if journal is None:  # killed before the journal existed: nothing was written
        shutil.rmtree(jdir)
        return Recovery("rolled back", [])
    entries = journal["files"]
    assert isinstance(entries, list)
    names = [str(e["path"]) for e in entries]
    if journal.get("state") == "staging" and not rollback:
        shutil.rmtree(jdir)  # nothing was replaced before the state became `committing`
        return Recovery("rolled back", names)
    for e in entries:
        target = root / e["path"]
        now = _file_sha(target)
        if rollback:
            if now == e["old"]:
                continue
            if now != e["new"]:
                raise ApplyError(f"{target}: changed since the interrupted apply (neither its old nor "
                                 f"its new content); journal kept in {jdir}")
            backup = jdir / e["backup"]
            tmp = target.with_name(target.name + ".varmigrate-tmp")
            shutil.copyfile(backup, tmp)
            shutil.copymode(backup, tmp)
            os.replace(tmp, target)
        else:
            if now == e["new"]:
                continue
            if now != e["old"]:
                raise ApplyError(f"{target}: changed since the interrupted apply (neither its old nor "
                                 f"its new content); journal kept in {jdir}")
            os.replace(jdir / e["staged"], target)
        _fsync_dir(target.parent)
    shutil.rmtree(jdir)
    return Recovery("rolled back" if rollback else "completed", names)


def write_tree(root: Path, changes: Mapping[str, tuple[bytes, bytes]], patch: str = "") -> list[str]:
    """Replace ``root/rel`` by its new bytes for every ``rel -> (old, new)``; see the module
    docstring.  Returns the files written.  Raises ApplyError (having written nothing, or
    having put back what it wrote) when a file changed since it was read."""
    root = root.resolve()
    if pending(root):
        raise ApplyError(f"{root / JOURNAL_DIR}: an interrupted apply is pending; run again to finish it")
    jdir = root / JOURNAL_DIR
    jdir.mkdir()
    (jdir / "new").mkdir()
    (jdir / "old").mkdir()
    entries: list[dict[str, object]] = []
    for i, (rel, (old, new)) in enumerate(sorted(changes.items())):
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            shutil.rmtree(jdir)
            raise ApplyError(f"{rel}: not a path inside {root}")
        entries.append({"path": rel, "old": _sha(old), "new": _sha(new),
                        "staged": f"new/{i:05d}", "backup": f"old/{i:05d}"})
    journal: dict[str, object] = {"schema": SCHEMA, "state": "staging", "files": entries}
    _write_journal(jdir, journal)
    for e, (rel, (old, new)) in zip(entries, sorted(changes.items())):
        target = root / rel
        if _file_sha(target) != e["old"]:
            shutil.rmtree(jdir)
            raise ApplyError(f"{target}: changed while it was being verified; nothing was written")
        mode = target.stat().st_mode & 0o7777
        _write_synced(jdir / str(e["staged"]), new, mode)
        _write_synced(jdir / str(e["backup"]), old, mode)
    if patch:
        _write_synced(jdir / "apply.patch", patch.encode())
    _fsync_dir(jdir / "new")
    _fsync_dir(jdir / "old")
    journal["state"] = "committing"
    _write_journal(jdir, journal)
    for e in entries:
        target = root / str(e["path"])
        if _file_sha(target) != e["old"]:
            done = recover(root, rollback=True)
            raise ApplyError(f"{target}: changed while the tree was being written; the "
                             f"{len(done.files)} file(s) of this apply were put back")
        os.replace(jdir / str(e["staged"]), target)
        _fsync_dir(target.parent)
    shutil.rmtree(jdir)
    return [str(e["path"]) for e in entries]
