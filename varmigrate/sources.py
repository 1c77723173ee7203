"""Files: discovery, decoding (PEP 263 cookies, BOM, newlines kept), atomic writes."""

from __future__ import annotations

import codecs
import contextlib
import errno
import fnmatch
import io
import os
import re
import signal
import stat
import tokenize
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from .ftypes import SourceError as SourceError  # defined there (libcst-free); re-exported

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

# Folders never walked into (explicitly named files inside them are still checked).
SKIP_DIRS = {
    ".git", ".hg", ".svn", ".venv", "venv", "env", ".env", "__pycache__", "build", "dist",
    "node_modules", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".eggs",
    "site-packages", ".ipynb_checkpoints", ".varmigrate_cache",
}
SUFFIXES = (".py", ".pyi", ".ipynb")  # notebooks: see notebook.py
TEMP_SUFFIX = ".varmigrate-tmp"


class SourceReadError(Exception):
    """A file that cannot be read or decoded; carries a location for the message."""

    def __init__(self, message: str, line: int = 1, column: int = 1, kind: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.kind = kind


@dataclass
class SourceText:
    text: str
    encoding: str  # codec name used to decode (without the BOM)
    bom: bool

    def encode(self, text: str) -> bytes:
        data = text.encode(self.encoding)
        return (codecs.BOM_UTF8 + data) if self.bom else data


# PEP 263: a comment on line 1 or 2 matching this names the file's encoding.
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def _bom_cookie_conflict(raw: bytes) -> Optional[tuple[str, int]]:
    """(message, line) when a UTF-8 BOM and a coding cookie for another encoding disagree."""
    if not raw.startswith(codecs.BOM_UTF8):
        return None
    for number, line in enumerate(raw[len(codecs.BOM_UTF8):].splitlines()[:2], start=1):
        match = _COOKIE.match(line)
        if match:
            cookie = match.group(1).decode("ascii", "replace")
            message = (f"the UTF-8 byte order mark and the coding cookie `{cookie}` disagree (Python refuses the file: "
                       f"\"encoding problem: {cookie} with BOM\"); remove the BOM or the cookie")
            return message, number
        if line.strip() and not line.lstrip().startswith(b"#"):
            break  # the cookie must come before any code
    return None


def decode_source(raw: bytes) -> SourceText:
    """Decode Python source bytes the way the interpreter does, keeping newlines as they are."""
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise SourceReadError("source contains null bytes", line)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as exc:
        conflict = _bom_cookie_conflict(raw)
        if conflict is not None:
            raise SourceReadError(*conflict) from None
        raise SourceReadError(f"invalid encoding declaration: {exc}") from None
    bom = encoding == "utf-8-sig"
    body = raw[len(codecs.BOM_UTF8):] if bom else raw
    codec = "utf-8" if bom else encoding
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        column = exc.start - (body.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SourceReadError(
            f"cannot decode byte 0x{body[exc.start]:02x} as {codec} (add a PEP 263 coding cookie or re-save as UTF-8)",
            line,
            column,
        ) from None
    except LookupError:
        raise SourceReadError(f"unknown encoding {encoding!r} in coding cookie") from None
    return SourceText(text, codec, bom)


def read_source(path: Path) -> SourceText:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceReadError(f"cannot read file: {exc.strerror or exc}", 0, 0, kind="io") from None
    return decode_source(raw)


class ReadOnlyFileError(PermissionError):
    """A file whose permission bits forbid writing it: never replaced."""

    def __init__(self, path: str, mode: int) -> None:
        super().__init__(errno.EACCES, f"file is read-only (mode {mode:04o}); make it writable to fix it", path)


def _writable(path: Path, mode: int) -> bool:
    """Whether the permission bits let us write the file. For root, who may write anything, a file
    with no write bit at all counts as read-only (as vim and other editors treat it)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return os.access(path, os.W_OK)


# Signals that would otherwise kill us between creating a temporary file and renaming it.
_DEFERRED_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP} if hasattr(signal, "SIGHUP") else {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP until the block ends: they are delivered right after, not lost."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: os.replace is still atomic
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a reader, a crash or a signal only ever sees old or new content.

    The temporary file lives in the same folder (rename is atomic only within a file system) and
    gets the original's permission bits. A read-only file is refused (`ReadOnlyFileError`), as an
    editor refuses it: replacing it would only need the folder to be writable, and would defeat the
    protection its owner set. Interrupting signals are held for the few milliseconds this takes, so
    neither a half-written file nor a temporary file is left behind.
    """
    import tempfile  # (shutil, random, the compression modules: not for a run that writes nothing)

    path = Path(path)
    target = Path(os.path.realpath(path))  # write through a symlink, never replace the link itself
    with _signals_deferred():
        mode = stat.S_IMODE(os.stat(target).st_mode) if target.exists() else None
        if mode is not None and not _writable(target, mode):
            raise ReadOnlyFileError(str(path), mode)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if mode is not None:
                os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


def path_candidates(path: str | Path, root: Optional[Path] = None) -> set[str]:
    """The forms a glob may be written against: as given, relative to the root, the basename."""
    p = Path(path)
    candidates = {p.as_posix(), p.name}
    try:
        candidates.add(p.resolve().relative_to((root or Path.cwd()).resolve()).as_posix())
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop
        pass
    return candidates


def glob_matches(candidates: Iterable[str], pattern: str) -> bool:
    """A pattern matches a path, or any folder above it (`tests/fixtures` covers its files)."""
    pattern = pattern.rstrip("/")
    return any(
        fnmatch.fnmatch(c, pattern) or fnmatch.fnmatch(c, pattern + "/*") or c.startswith(pattern + "/")
        for c in candidates
    )


def path_excluded(path: str | Path, patterns: Sequence[str], root: Optional[Path] = None) -> bool:
    if not patterns:
        return False
    candidates = path_candidates(path, root)
    return any(glob_matches(candidates, pattern) for pattern in patterns)


def file_identity(path: Path) -> str:
    """The file a path names, for de-duplication; a dangling or looping link is its own file."""
    return os.path.realpath(path) if os.path.exists(path) else os.path.abspath(path)


# ------------------------------------------------------------------------------------------
# .gitignore (ruff's respect-gitignore)
# ------------------------------------------------------------------------------------------
def _repo_root(folder: Path) -> Optional[Path]:
    """The nearest folder at or above `folder` holding `.git` (a folder, or a worktree's file)."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


class GitIgnore:
    """Which paths git ignores: every `.gitignore` from the repository root down to the path's
    folder (a deeper file overrides a shallower one, the last matching line wins, `!` re-includes),
    and the repository's `.git/info/exclude` below them all. Matching is pathspec's
    `GitIgnoreSpec`, the gitignore dialect of git itself.

    Outside a git repository the `.gitignore` files from `top` (the folder being walked, or the
    project root for a named file) down apply, as ruff does.
    """

    def __init__(self) -> None:
        self._specs: dict[Path, Optional[GitIgnoreSpec]] = {}
        self._roots: dict[Path, Optional[Path]] = {}

    def _spec(self, folder: Path, repo: Optional[Path]) -> Optional[GitIgnoreSpec]:
        if folder in self._specs:
            return self._specs[folder]
        lines: list[str] = []
        sources = [folder / ".git" / "info" / "exclude"] if folder == repo else []
        for file in (*sources, folder / ".gitignore"):
            try:
                lines.extend(file.read_text(encoding="utf-8", errors="replace").splitlines())
            except OSError:
                continue
        spec = None
        if any(line.strip() and not line.lstrip().startswith("#") for line in lines):
            from pathspec import GitIgnoreSpec

            spec = GitIgnoreSpec.from_lines(lines)
        self._specs[folder] = spec
        return spec

    def _repo(self, folder: Path) -> Optional[Path]:
        if folder not in self._roots:
            self._roots[folder] = _repo_root(folder)
        return self._roots[folder]

    def ignored_entry(self, path: Path, is_dir: bool, top: Path, from_top: bool = False) -> bool:
        """Is `path` itself matched (its folders are assumed not ignored: a walk prunes them).

        `from_top`: only the files from `top` down apply (a walk of an ignored folder that was
        named explicitly)."""
        path = Path(os.path.abspath(path))
        folder = path.parent
        repo = self._repo(folder)
        start = repo if repo is not None and not from_top else Path(os.path.abspath(top))
        try:
            chain = folder.relative_to(start).parts
        except ValueError:
            return False
        verdict = False
        current = start
        for depth in range(len(chain) + 1):
            if depth:
                current = current / chain[depth - 1]
            spec = self._spec(current, repo)
            if spec is None:
                continue
            relative = path.relative_to(current).as_posix() + ("/" if is_dir else "")
            include = spec.check_file(relative).include
            if include is not None:
                verdict = include
        return verdict

    def ignored(self, path: Path, top: Path) -> bool:
        """Is `path` or a folder above it (up to the repository root or `top`) ignored."""
        path = Path(os.path.abspath(path))
        repo = self._repo(path.parent)
        start = repo if repo is not None else Path(os.path.abspath(top))
        if path == start:
            return False
        try:
            parts = path.relative_to(start).parts
        except ValueError:
            return False
        current = start
        for index, part in enumerate(parts):
            current = current / part
            last = index == len(parts) - 1
            if self.ignored_entry(current, not last or current.is_dir(), top):
                return True
        return False


def discover(
    paths: Iterable[str],
    exclude: Sequence[str] = (),
    suffixes: Sequence[str] = SUFFIXES,
    root: Optional[Path] = None,
    respect_gitignore: bool = False,
) -> Iterator[tuple[Path, Optional[str]]]:
    """Yield (file, error): files named explicitly are always yielded; folders are walked.

    `respect_gitignore`: a walk skips what git ignores (a folder named explicitly is walked even
    when it is ignored, like an excluded one).
    """
    seen: set[str] = set()
    gitignore = GitIgnore() if respect_gitignore else None
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            yield path, "no such file or directory"
            continue
        if path.is_file() or (path.is_symlink() and not path.is_dir()):
            key = file_identity(path)
            if key not in seen:
                seen.add(key)
                yield path, None
            continue
        # A folder named explicitly is checked even if an exclude pattern covers it (as ruff does
        # for paths given on the command line): only patterns that do not cover it apply inside.
        active = [p for p in exclude if not path_excluded(path, [p], root)]
        # Likewise a folder named explicitly that git ignores: only the .gitignore files inside apply.
        named_ignored = gitignore is not None and gitignore.ignored(path, path)
        for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
            current = Path(dirpath)
            dirnames[:] = sorted(
                d for d in dirnames
                if d not in SKIP_DIRS and not d.endswith(".egg-info") and not path_excluded(current / d, active, root)
                and not (gitignore is not None and gitignore.ignored_entry(current / d, True, path, named_ignored))
            )
            for name in sorted(filenames):
                if not name.endswith(tuple(suffixes)):
                    continue
                file = current / name
                if path_excluded(file, active, root):
                    continue
                if gitignore is not None and gitignore.ignored_entry(file, False, path, named_ignored):
                    continue
                key = file_identity(file)
                if key in seen:
                    continue
                seen.add(key)
                yield file, None
