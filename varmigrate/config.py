"""Settings: which rules run and which fixes apply. Loaded from `[tool.varmigrate]` and CLI flags.

The keys and their meaning follow ruff's (`select`, `extend-select`, `ignore`, `exclude`,
`extend-exclude`, `per-file-ignores`, `unsafe-fixes`, `unfixable`, `extend-safe-fixes`,
`extend-unsafe-fixes`, `respect-gitignore`): the nearest `pyproject.toml` that has a
`[tool.varmigrate]` table, walking up from the checked paths, applies; `--config PATH` overrides.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .sources import GitIgnore, glob_matches, path_candidates, path_excluded

# Every rule's code (generated from the rules: validating a selector needs no libcst import).
from .triggers import RULE_CODES as RULE_CODES

if TYPE_CHECKING:
    from .ftypes import Finding

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file and the key."""


def _matches(code: str, patterns: Sequence[str]) -> int:
    """Length of the longest pattern that is a prefix of code (0: none); `ALL` matches everything."""
    best = 0
    for pattern in patterns:
        pattern = pattern.strip().upper()
        if pattern == "ALL":
            best = max(best, 1)
        elif pattern and code.startswith(pattern):
            best = max(best, len(pattern) + 1)
    return best


@dataclass
class Settings:
    select: list[str] = field(default_factory=lambda: ["VM"])
    ignore: list[str] = field(default_factory=list)
    unsafe_fixes: bool = False
    # Convert Python 2 files to Python 3 before migrating them (docs/python2.md; needs fissix).
    convert_py2: bool = False
    extend_select: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    extend_exclude: list[str] = field(default_factory=list)
    # glob -> codes ignored in the files it matches (paths relative to `root`)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    # The folder exclude and per-file-ignores globs are relative to (the config file's folder).
    root: Optional[Path] = None
    config_path: Optional[Path] = None
    # Skip what git ignores when walking folders (and, with --force-exclude, named files).
    respect_gitignore: bool = True
    # ruff's fix overrides: codes whose fixes are never applied; whose unsafe fixes count as safe;
    # whose safe fixes count as unsafe (the more specific pattern wins, a tie makes the fix unsafe).
    unfixable: list[str] = field(default_factory=list)
    extend_safe_fixes: list[str] = field(default_factory=list)
    extend_unsafe_fixes: list[str] = field(default_factory=list)
    # Base of the rule pages in JSON `url` / SARIF `helpUri` (None: the project's documentation URL).
    docs_url: Optional[str] = None
    # [tool.varmigrate.verify] entry-points: what `verify --root` runs when no entry is given
    verify_entry_points: list[str] = field(default_factory=list)

    def is_selected(self, code: str) -> bool:
        # ruff's rule: the more specific of select/ignore wins.
        chosen = _matches(code, [*self.select, *self.extend_select])
        return chosen > 0 and chosen > _matches(code, self.ignore)

    @property
    def all_exclude(self) -> list[str]:
        return [*self.exclude, *self.extend_exclude]

    def ignores_for(self, path: str) -> list[str]:
        """Codes that `per-file-ignores` turns off for this file."""
        if not self.per_file_ignores:
            return []
        candidates = path_candidates(path, self.root)
        codes: list[str] = []
        for pattern, pattern_codes in self.per_file_ignores.items():
            if glob_matches(candidates, pattern):
                codes.extend(pattern_codes)
        return codes

    def for_path(self, path: str) -> Settings:
        """These settings with the file's per-file-ignores applied (self when none match)."""
        extra = self.ignores_for(path)
        if not extra:
            return self
        return dataclasses.replace(self, ignore=[*self.ignore, *extra])

    def is_excluded(self, path: str) -> bool:
        """Excluded by a glob or, with respect-gitignore, ignored by git (ruff's --force-exclude)."""
        if path_excluded(path, self.all_exclude, self.root):
            return True
        return self.respect_gitignore and GitIgnore().ignored(Path(path), self.root or Path.cwd())

    @property
    def overrides_fixes(self) -> bool:
        return bool(self.unfixable or self.extend_safe_fixes or self.extend_unsafe_fixes)

    def apply_fix_overrides(self, findings: Sequence[Finding]) -> None:
        """Rewrite the findings' fix candidates by `unfixable`, `extend-safe-fixes` and
        `extend-unsafe-fixes`; everything downstream (markers, fix, output) reads the result."""
        if not self.overrides_fixes:
            return
        from .ftypes import Safety

        for finding in findings:
            if _matches(finding.code, self.unfixable):
                finding.edits = []
                continue
            to_safe = _matches(finding.code, self.extend_safe_fixes)
            to_unsafe = _matches(finding.code, self.extend_unsafe_fixes)
            if not (to_safe or to_unsafe):
                continue
            wanted, other = (Safety.SAFE, Safety.UNSAFE) if to_safe > to_unsafe else (Safety.UNSAFE, Safety.SAFE)
            finding.edits = [dataclasses.replace(e, safety=wanted) if e.safety is other else e for e in finding.edits]

    def rule_url(self, code: str) -> str:
        """The rule's page: `docs-url` + `/rules/CODE.md` (or `docs-url` with `{code}` filled in)."""
        base = self.docs_url if self.docs_url is not None else default_docs_url()
        if "{code}" in base:
            return base.replace("{code}", code)
        return f"{base.rstrip('/')}/rules/{code}.md"


# Where the rule pages are when neither the metadata nor the source tree names the documentation.
_RELATIVE_DOCS = "docs"
_DOCS_URL: list[str] = []


def default_docs_url() -> str:
    """The `Documentation` URL of `[project.urls]` in pyproject.toml, declared there only: read
    from the installed package's metadata, else from the source tree's pyproject.toml, else the
    rule pages' path in the repository (`docs/rules/CODE.md`)."""
    if not _DOCS_URL:
        _DOCS_URL.append(_read_docs_url() or _RELATIVE_DOCS)
    return _DOCS_URL[0]


def _read_docs_url() -> Optional[str]:
    try:
        from importlib.metadata import PackageNotFoundError, metadata

        entries: list[str] = metadata("varmigrate").get_all("Project-URL") or []
        for entry in entries:
            label, _, found = entry.partition(",")
            if label.strip().lower() == "documentation" and found.strip():
                return found.strip()
    except (ImportError, PackageNotFoundError):
        pass
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    project = data.get("project", {})
    urls = project.get("urls", {}) if isinstance(project, dict) and project.get("name") == "varmigrate" else {}
    url = urls.get("Documentation") if isinstance(urls, dict) else None
    return url if isinstance(url, str) and url else None


# ------------------------------------------------------------------------------------------
# pyproject.toml
# ------------------------------------------------------------------------------------------
_CODE_KEYS = {"select", "ignore", "extend-select", "unfixable", "extend-safe-fixes", "extend-unsafe-fixes"}
_LIST_KEYS = _CODE_KEYS | {"exclude", "extend-exclude"}
_BOOL_KEYS = {"unsafe-fixes", "respect-gitignore", "convert-py2"}
_KEYS = _LIST_KEYS | _BOOL_KEYS | {"per-file-ignores", "docs-url", "verify"}
_VERIFY_KEYS = {"entry-points"}


def _has_table(path: Path) -> bool:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        # A broken pyproject.toml that mentions us is still ours: load_config reports it.
        try:
            return "[tool.varmigrate" in path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    return isinstance(data.get("tool"), dict) and "varmigrate" in data["tool"]


def find_config(paths: Iterable[str] = (), cwd: Optional[Path] = None) -> Optional[Path]:
    """The nearest pyproject.toml with a [tool.varmigrate] table above the first path (or cwd)."""
    cwd = cwd or Path.cwd()
    starts = [Path(p) for p in paths] or [cwd]
    for start in starts:
        start = Path(os.path.realpath(cwd / start)) if not start.is_absolute() else start  # realpath: no error on a symlink loop
        folder = start if start.is_dir() else start.parent
        for candidate in [folder, *folder.parents]:
            pyproject = candidate / "pyproject.toml"
            if pyproject.is_file() and _has_table(pyproject):
                return pyproject
    return None


def _string_list(value: Any, key: str, path: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: [tool.varmigrate] `{key}` must be a list of strings, got {_describe(value)}")
    return list(value)


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"[:80]




def unknown_code(code: str) -> Optional[str]:
    """Why `code` selects no rule, as "which ..." (None when it is ALL, or a code or prefix of a rule)."""
    code = code.strip().upper()
    if code == "ALL" or (code and any(c.startswith(code) for c in RULE_CODES)):
        return None
    if not (code.startswith("VM") and code[2:].isdigit()):
        return "which is not a varmigrate code or prefix (VM, VM1, VM101, ALL)"
    return "which matches no rule (`varmigrate rule --all` lists them)"


def _codes(values: Sequence[str], key: str, path: Path) -> list[str]:
    codes = [v.strip().upper() for v in values]
    for code in codes:
        problem = unknown_code(code)
        if problem is not None:
            raise ConfigError(f"{path}: [tool.varmigrate] `{key}` has {code!r}, {problem}")
    return codes


def check_codes(codes: Sequence[str], option: str) -> list[str]:
    """Codes given on the command line, validated as in the configuration (ConfigError names the option)."""
    result = [c.strip().upper() for c in codes if c.strip()]
    for code in result:
        problem = unknown_code(code)
        if problem is not None:
            raise ConfigError(f"invalid value for `{option}`: {code!r}, {problem}")
    return result


def load_config(path: Path, base: Optional[Settings] = None) -> Settings:
    """Settings from `path`'s [tool.varmigrate] table; ConfigError names the key and the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: configuration is not valid UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    tool = data.get("tool", {})
    table = tool.get("varmigrate", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.varmigrate] must be a table")
    settings = dataclasses.replace(base) if base is not None else Settings()
    settings.root = path.parent.resolve()
    settings.config_path = path
    for key, value in table.items():
        if key not in _KEYS:
            import difflib  # only for a bad key

            hint = difflib.get_close_matches(key.replace("_", "-"), sorted(_KEYS), n=1)
            suggestion = f" (did you mean `{hint[0]}`?)" if hint else ""
            raise ConfigError(f"{path}: unknown key `{key}` in [tool.varmigrate]{suggestion}; known keys: {', '.join(sorted(_KEYS))}")
        if key in _LIST_KEYS:
            values = _string_list(value, key, path)
            if key in _CODE_KEYS:
                values = _codes(values, key, path)
            setattr(settings, key.replace("-", "_"), values)
        elif key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: [tool.varmigrate] `{key}` must be true or false, got {_describe(value)}")
            setattr(settings, key.replace("-", "_"), value)
        elif key == "verify":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [tool.varmigrate] `verify` must be a table, got {_describe(value)}")
            for sub in value:
                if sub not in _VERIFY_KEYS:
                    raise ConfigError(f"{path}: unknown key `{sub}` in [tool.varmigrate.verify]; known keys: "
                                      + ", ".join(sorted(_VERIFY_KEYS)))
            settings.verify_entry_points = _string_list(value.get("entry-points", []), "verify.entry-points", path)
        elif key == "docs-url":
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{path}: [tool.varmigrate] `docs-url` must be a URL string, got {_describe(value)}")
            settings.docs_url = value.strip()
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [tool.varmigrate] `per-file-ignores` must be a table of glob = [codes], got {_describe(value)}")
            settings.per_file_ignores = {
                glob: _codes(_string_list(codes, f"per-file-ignores.{glob}", path), f"per-file-ignores.{glob}", path)
                for glob, codes in value.items()
            }
    return settings


def resolve_settings(
    paths: Sequence[str] = (),
    config: Optional[str] = None,
    *,
    select: Sequence[str] = (),
    extend_select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    extend_exclude: Sequence[str] = (),
    unsafe_fixes: Optional[bool] = None,
    respect_gitignore: Optional[bool] = None,
    convert_py2: Optional[bool] = None,
    cwd: Optional[Path] = None,
    exclude: Optional[Sequence[str]] = None,
    per_file_ignores: Optional[dict[str, list[str]]] = None,
) -> Settings:
    """Configuration file first, then the command line on top (ruff's precedence).

    Codes given here are validated like the configuration's (ConfigError names the option);
    `exclude` replaces the configured list, `per_file_ignores` is added to the configured table.
    """
    select = check_codes(select, "--select")
    extend_select = check_codes(extend_select, "--extend-select")
    ignore = check_codes(ignore, "--ignore")
    path = Path(config) if config else find_config(paths, cwd)
    settings = load_config(path) if path is not None else Settings(root=(cwd or Path.cwd()).resolve())
    if select:
        settings.select = list(select)
        # An explicit --select replaces the configured set, extend-select included (as in ruff).
        settings.extend_select = []
    if extend_select:
        settings.extend_select = [*settings.extend_select, *extend_select]
    if ignore:
        settings.ignore = [*settings.ignore, *ignore]
    if exclude is not None:
        settings.exclude = list(exclude)
    if extend_exclude:
        settings.extend_exclude = [*settings.extend_exclude, *extend_exclude]
    if per_file_ignores:
        merged = {k: list(v) for k, v in settings.per_file_ignores.items()}
        for pattern, codes in per_file_ignores.items():
            merged[pattern] = [*merged.get(pattern, []), *check_codes(codes, "--per-file-ignores")]
        settings.per_file_ignores = merged
    if unsafe_fixes is not None:
        settings.unsafe_fixes = unsafe_fixes
    if respect_gitignore is not None:
        settings.respect_gitignore = respect_gitignore
    if convert_py2 is not None:
        settings.convert_py2 = convert_py2
    return settings

