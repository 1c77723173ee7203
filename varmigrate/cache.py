"""The `check` cache (ruff's `.ruff_cache`): findings per file, keyed by content.

One JSON file per (varmigrate version, rule code fingerprint, settings) holds
`sha256(file bytes) -> findings`; a file whose bytes are unchanged is not parsed again. Only
outcomes that depend on the bytes alone are stored: findings and syntax/encoding errors, never I/O
or internal errors. Everything here is stdlib so that a fully cached run never imports libcst when
there is nothing to report.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from . import __version__
from .ftypes import SourceError
from .sources import atomic_write

if TYPE_CHECKING:
    from .config import Settings
    from .ftypes import Finding

CACHE_DIR_NAME = ".varmigrate_cache"
CACHE_ENV = "VARMIGRATE_CACHE_DIR"
_FORMAT = 1
# Entries not used for this long are dropped when the cache is saved.
_MAX_AGE_SECONDS = 30 * 24 * 3600
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by varmigrate.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def project_root(start: Optional[Path] = None) -> Path:
    """The nearest folder holding pyproject.toml, setup.cfg or .git (else the current folder)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).exists() for marker in ("pyproject.toml", "setup.cfg", ".git")):
            return folder
    return here


def default_cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else project_root() / CACHE_DIR_NAME


def _code_fingerprint() -> str:
    """Size and mtime of every module of the package and its subpackages: editing a rule or the
    engine invalidates the cache even when the version number did not change (development installs)."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
        relative = Path(folder).relative_to(package).as_posix()
        for name in sorted(files):
            if name.endswith(".py"):
                try:
                    info = os.stat(os.path.join(folder, name))
                except OSError:
                    continue
                digest.update(f"{relative}/{name}:{info.st_size}:{info.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def settings_key(settings: Settings) -> str:
    payload = json.dumps(
        {
            "format": _FORMAT,
            "version": __version__,
            "code": _code_fingerprint(),
            # Every setting: whatever a future option changes, a stale entry cannot be served.
            "settings": dataclasses.asdict(settings),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def content_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _finding_to_json(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "cell": finding.cell,
        "edits": [[e.safety.value, e.title, e.needs_torch] for e in finding.edits],
    }


def _finding_from_json(data: dict[str, Any], path: str) -> Finding:
    from .ftypes import Edit, Finding, Safety

    edits = [Edit(None, Safety(safety), title, needs_torch) for safety, title, needs_torch in data["edits"]]
    return Finding(
        code=data["code"], name=data["name"], message=data["message"], path=path,
        line=data["line"], column=data["column"], end_line=data["end_line"], end_column=data["end_column"],
        cell=data["cell"], edits=edits,
    )


class Cache:
    """Load once, look up and store per file, save once (atomically) at the end of the run."""

    def __init__(self, directory: Path, settings: Settings) -> None:
        self.directory = Path(directory)
        self.file = self.directory / f"check-{settings_key(settings)}.json"
        self._entries: dict[str, dict[str, Any]] = {}
        self._project: list[dict[str, Any]] = []
        self._dirty = False
        self._now = int(time.time())
        try:
            with open(self.file, encoding="utf-8") as handle:
                loaded = json.load(handle)
            if isinstance(loaded, dict) and loaded.get("format") == _FORMAT:
                self._entries = loaded.get("entries", {})
                project = loaded.get("project", [])
                self._project = project if isinstance(project, list) else []
        except (OSError, ValueError):
            pass  # missing or corrupt: start empty

    def get(self, key: str, path: str) -> Optional[tuple[list[Finding], list[SourceError]]]:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._now - entry.get("t", 0) > 24 * 3600:  # refresh the age at most daily
            entry["t"] = self._now
            self._dirty = True
        findings = [_finding_from_json(f, path) for f in entry["findings"]]
        errors = [SourceError(path, e["line"], e["column"], e["message"], e["kind"], e.get("cell")) for e in entry["errors"]]
        return findings, errors

    def dependencies(self, key: str) -> dict[str, str]:
        """The project modules (relative path -> digest) the entry's findings depended on."""
        deps = self._entries.get(key, {}).get("deps", {})
        return deps if isinstance(deps, dict) else {}

    def project_summaries(self) -> list[dict[str, Any]]:
        """The project index's module summaries of the last runs (analysis/project.py)."""
        return list(self._project)

    def set_project_summaries(self, summaries: list[dict[str, Any]]) -> None:
        if summaries != self._project[: len(summaries)]:
            # This run's modules, then those of earlier runs it did not need (by digest).
            known = {s.get("digest") for s in summaries}
            self._project = [*summaries, *(s for s in self._project if s.get("digest") not in known)][:5000]
            self._dirty = True

    def was_skipped(self, key: str) -> bool:
        """The file was not parsed (no trigger word) when its entry was stored."""
        return bool(self._entries.get(key, {}).get("skipped", False))

    def put(self, key: str, findings: Sequence[Finding], errors: Sequence[SourceError], skipped: bool = False,
            dependencies: Optional[dict[str, str]] = None) -> None:
        if any(e.kind != "error" for e in errors):
            return  # I/O trouble or our own bug: must be retried next time
        self._entries[key] = {
            "t": self._now,
            "skipped": skipped,
            "deps": dict(dependencies or {}),
            "findings": [_finding_to_json(f) for f in findings],
            "errors": [{"line": e.line, "column": e.column, "message": e.message, "kind": e.kind, "cell": e.cell} for e in errors],
        }
        self._dirty = True

    def save(self) -> None:
        """Best effort: a cache that cannot be written only makes the next run slower."""
        if not self._dirty:
            return
        cutoff = self._now - _MAX_AGE_SECONDS
        entries = {k: v for k, v in self._entries.items() if v.get("t", 0) >= cutoff}
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tag = self.directory / "CACHEDIR.TAG"
            if not tag.exists():
                tag.write_text(_CACHEDIR_TAG, encoding="utf-8")
            ignore = self.directory / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Automatically created by varmigrate.\n*\n", encoding="utf-8")
            data = json.dumps({"format": _FORMAT, "entries": entries, "project": self._project},
                              separators=(",", ":")).encode()
            atomic_write(self.file, data)
        except OSError:
            pass
        self._dirty = False
