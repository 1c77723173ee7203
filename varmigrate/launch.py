"""The `varmigrate` entry point: a pre-commit run over clean files answers without importing click.

pre-commit runs `varmigrate check --force-exclude FILE...` on every commit, and most files name no
legacy autograd pattern. click costs about half of such a run's imports, so the command lines of
that shape (`check`, files named one by one, a few flags that change nothing in a clean file's
report) are first looked at here: when every file is ruled out by the prefilter (the test `api.run`
applies, with the same settings and excludes), it prints the summary the CLI would print: such files
are read and never parsed, so there is nothing to look up or store in the cache.
Anything else (another command or option, a folder, a notebook, a file that passes the prefilter or
cannot be read, an error of any kind) goes to the click CLI, which does the whole job itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

# Flags that leave a clean file's report as it is (and how they change the run).
_FLAGS = {"--force-exclude", "--no-cache", "-q", "--quiet", "--exit-zero"}


def clean_run(argv: Sequence[str]) -> Optional[int]:
    """The exit status of `varmigrate check` over files with nothing to migrate, after printing
    its report; None (nothing printed, nothing written) when the click CLI must run instead."""
    if len(argv) < 2 or argv[0] != "check" or os.environ.get("VARMIGRATE_OUTPUT_FORMAT"):
        return None
    flags = {a for a in argv[1:] if a.startswith("-")}
    paths = [a for a in argv[1:] if not a.startswith("-")]
    if not flags <= _FLAGS or not paths or any(not os.path.isfile(p) or p.endswith(".ipynb") for p in paths):
        return None
    from .config import ConfigError, resolve_settings
    from .prefilter import ModuleMemo, may_have_findings, may_use_project_function, mentions_any_trigger
    from .sources import SourceReadError, decode_source

    try:
        settings = resolve_settings(paths, None)
    except ConfigError:
        return None
    if settings.convert_py2:
        return None
    root = settings.root if settings.config_path is not None else None
    targets = [p for p in paths if not settings.is_excluded(p)] if "--force-exclude" in flags else paths
    if not targets or (len(targets) >= 20 and sys.stderr.isatty() and not os.environ.get("CI")):
        return None  # (the CLI's progress bar)
    memo = ModuleMemo()
    for path in targets:
        try:
            text = decode_source(Path(path).read_bytes()).text
            if may_have_findings(text) or mentions_any_trigger(text) or may_use_project_function(path, text, root, memo):
                return None
        except (OSError, SourceReadError):
            return None
    # Every target is ruled out: the report is the one `api.run` gives such files (read, none
    # parsed, nothing found), without importing the engine's driver, the cache or the formatters.
    from .output.text import check_summary
    from .sources import file_identity

    if not flags & {"-q", "--quiet"}:
        files = len({file_identity(Path(p)) for p in targets})
        print(check_summary([], [], settings.unsafe_fixes, files, files))
    return 0


def main() -> None:
    status = clean_run(sys.argv[1:])
    if status is not None:
        sys.exit(status)
    from .cli import main as cli

    cli()
