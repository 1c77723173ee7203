"""Command line: a thin click layer over `varmigrate.api` (exit codes are bit flags, as in Fixit).

Options follow ruff's names. Nothing here may import libcst at module level: a pre-commit run on
clean files never needs it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Optional, Sequence

import click

from . import __version__
from .api import FileOutcome, RunReport, process_text, run
from .config import ConfigError, Settings, resolve_settings
from .output import (
    OUTPUT_FORMATS,
    check_summary,
    fix_edits,
    fixed_summary,
    format_error,
    format_finding,
    github,
    json_report,
    sarif_report,
    statistics,
    statistics_rows,
)

if TYPE_CHECKING:
    from .rule import Finding

EXIT_FINDINGS = 1
EXIT_ERROR = 2
# Below this many files a progress bar is noise.
PROGRESS_MIN_FILES = 20


def _codes(values: Sequence[str]) -> list[str]:
    return [c.strip().upper() for v in values for c in v.split(",") if c.strip()]


def _settings(
    paths: Sequence[str],
    config: Optional[str],
    select: Sequence[str] = (),
    extend_select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    extend_exclude: Sequence[str] = (),
    unsafe_fixes: Optional[bool] = None,
    respect_gitignore: Optional[bool] = None,
) -> Settings:
    """Configuration file, then the command line; a bad file ends the run with exit 2."""
    try:
        return resolve_settings(
            paths,
            config,
            select=_codes(select),
            extend_select=_codes(extend_select),
            ignore=_codes(ignore),
            extend_exclude=[p for v in extend_exclude for p in v.split(",") if p],
            unsafe_fixes=unsafe_fixes,
            respect_gitignore=respect_gitignore,
        )
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)


def _print_errors(report: RunReport) -> None:
    for error in report.errors:
        click.echo(format_error(error), err=True)


def _explicit_paths(paths: Sequence[str], settings: Settings, force_exclude: bool) -> list[str]:
    """ruff's --force-exclude: excludes apply to paths named on the command line (pre-commit)."""
    if not force_exclude:
        return list(paths)
    return [p for p in paths if not settings.is_excluded(p)]


class _Progress:
    """`[####......] 12/80 files` on stderr, redrawn in place; only for a terminal unless forced."""

    def __init__(self, total: int, stream: IO[str], label: str) -> None:
        self.total, self.stream, self.label, self.done = total, stream, label, 0

    def __call__(self, outcome: FileOutcome) -> None:
        self.done += 1
        width = 30
        filled = width * self.done // max(self.total, 1)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} files")
        self.stream.flush()

    def close(self) -> None:
        if self.done:
            self.stream.write("\r" + " " * (len(self.label) + 50) + "\r")
            self.stream.flush()


def _progress(paths: Sequence[str], settings: Settings, forced: Optional[bool], label: str) -> Optional[_Progress]:
    stream = sys.stderr
    if forced is False or (forced is None and not (stream.isatty() and not os.environ.get("CI"))):
        return None
    from .sources import discover

    total = sum(1 for _ in discover(paths, exclude=settings.all_exclude, root=settings.root,
                                      respect_gitignore=settings.respect_gitignore))
    if forced is None and total < PROGRESS_MIN_FILES:
        return None
    return _Progress(total, stream, label)


def _run(paths: Sequence[str], settings: Settings, progress_flag: Optional[bool], label: str, **kwargs: Any) -> RunReport:
    bar = _progress(paths, settings, progress_flag, label)
    try:
        return run(paths, settings, progress=bar, tune_gc=True, **kwargs)
    finally:
        if bar is not None:
            bar.close()


def _cache(no_cache: bool, cache_dir: Optional[str], settings: Settings):  # -> Optional[Cache]
    if no_cache:
        return None
    from .cache import Cache, default_cache_dir

    return Cache(Path(cache_dir) if cache_dir else default_cache_dir(), settings)


def _stdin(stdin_filename: str, settings: Settings, fix: bool) -> FileOutcome:
    from .sources import SourceError, SourceReadError, decode_source

    raw = sys.stdin.buffer.read()
    try:
        source = decode_source(raw)
    except SourceReadError as exc:
        return FileOutcome(stdin_filename, errors=[SourceError(stdin_filename, exc.line, exc.column, exc.message)])
    return process_text(source.text, stdin_filename, settings.for_path(stdin_filename), fix)


def _source_text(outcome: FileOutcome) -> Optional[str]:
    if outcome.old_text is not None:
        return outcome.old_text
    from .sources import SourceReadError, read_source

    try:  # a cache hit carries findings but not the text
        return read_source(Path(outcome.path)).text
    except SourceReadError:
        return None


def _all_edits(report: RunReport, settings: Settings, jobs: Optional[int] = None) -> dict[int, Any]:
    """id(finding) -> its fix's text edits. Each fix is applied alone to its file, which costs
    far more than the check itself: spread over worker processes like the check."""
    work: list[tuple[str, str, Settings, list[Finding]]] = []
    for outcome in report.files:
        if outcome.findings and not outcome.path.endswith(".ipynb"):
            text = _source_text(outcome)
            if text is not None:
                work.append((text, outcome.path, settings, outcome.findings))
    from .parallel import auto_jobs, run_parallel

    workers = auto_jobs(len(work)) if jobs is None else max(1, jobs)
    if workers > 1:
        from . import engine  # noqa: F401  (imported once here; forked workers inherit it)
    results = run_parallel(_file_edits, work, workers, lambda item, exc: [None] * len(item[3]))
    edits: dict[int, Any] = {}
    for (_, _, _, findings), found in zip(work, results):
        edits.update((id(f), e) for f, e in zip(findings, found) if e is not None)
    return edits


def _file_edits(item: tuple[str, str, Settings, list[Finding]]) -> list[Any]:
    # By position, not id(): the findings cross a process boundary.
    text, path, settings, findings = item
    try:
        found = fix_edits(text, path, settings, findings)
    except Exception:  # noqa: BLE001 - the findings are still reported, with `edits: null`
        return [None] * len(findings)
    return [found.get(id(f)) for f in findings]


def _emit(text: str, output_file: Optional[str]) -> None:
    if output_file is None:
        if text:
            click.echo(text)
        return
    Path(output_file).parent.mkdir(parents=True, exist_ok=True)
    Path(output_file).write_text(text + ("\n" if text else ""), encoding="utf-8")


# ------------------------------------------------------------------------------------------
# Options shared by check and fix
# ------------------------------------------------------------------------------------------
def _shared(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.argument("paths", nargs=-1, type=click.Path()),
        click.option("--select", multiple=True, metavar="CODES", help="Only these codes or prefixes (comma-separated; repeatable). Replaces the configured `select`."),
        click.option("--extend-select", multiple=True, metavar="CODES", help="Add these codes or prefixes to the selection."),
        click.option("--ignore", multiple=True, metavar="CODES", help="Skip these codes or prefixes."),
        click.option("--extend-exclude", multiple=True, metavar="GLOBS", help="Also skip files and folders matching these globs."),
        click.option("--respect-gitignore/--no-respect-gitignore", "respect_gitignore", default=None, help="Skip files that git ignores (.gitignore files, .git/info/exclude); default: on, or `respect-gitignore` in the configuration."),
        click.option("--force-exclude", is_flag=True, help="Apply excludes to files named on the command line too (for pre-commit)."),
        click.option("--config", "config", type=click.Path(dir_okay=False), default=None, help="Use this pyproject.toml instead of the nearest one."),
        click.option("--stdin-filename", metavar="NAME", default=None, help="Read the source from standard input and report it as NAME (for editors)."),
        click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings (errors still exit 2)."),
        click.option("--show-fixes", is_flag=True, help="check: show each finding's fix and its edit; fix: list what was fixed."),
        click.option("--progress/--no-progress", "progress_flag", default=None, help="Progress bar on stderr (default: only on a terminal, for many files, never in CI)."),
        click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes (default: automatic; 1 for a few files)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="varmigrate")
def main() -> None:
    """Migrate legacy (0.3-era) PyTorch autograd code and prove the gradients did not change."""


@main.command()
@_shared
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, help="Count unsafe fixes as available ([*]); overrides `unsafe-fixes` in the configuration.")
@click.option("--statistics", "show_statistics", is_flag=True, help="Count findings per rule (code, count, fixable) instead of listing them.")
@click.option("--output-format", type=click.Choice(OUTPUT_FORMATS), default="text", envvar="VARMIGRATE_OUTPUT_FORMAT", show_default=True, help="How to print findings.")
@click.option("-o", "--output-file", type=click.Path(dir_okay=False), default=None, help="Write the report to this file instead of standard output.")
@click.option("--add-noqa", is_flag=True, help="Add `# noqa: CODE` comments on every finding's line (baseline a codebase).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Cache folder (default: .varmigrate_cache in the project root, or $VARMIGRATE_CACHE_DIR).")
def check(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    extend_exclude: tuple[str, ...],
    respect_gitignore: Optional[bool],
    force_exclude: bool,
    config: Optional[str],
    stdin_filename: Optional[str],
    exit_zero: bool,
    show_fixes: bool,
    progress_flag: Optional[bool],
    jobs: Optional[int],
    unsafe_fixes: Optional[bool],
    show_statistics: bool,
    output_format: str,
    output_file: Optional[str],
    add_noqa: bool,
    no_cache: bool,
    cache_dir: Optional[str],
) -> None:
    """Report legacy autograd patterns in PATHS (default: the current folder)."""
    anchor = paths or ((stdin_filename,) if stdin_filename else ())
    settings = _settings(anchor, config, select, extend_select, ignore, extend_exclude, unsafe_fixes, respect_gitignore)
    if stdin_filename is not None:
        report = RunReport()
        if not (force_exclude and settings.is_excluded(stdin_filename)):
            report.files.append(_stdin(stdin_filename, settings, fix=False))
    else:
        targets = _explicit_paths(paths or (".",), settings, force_exclude)
        report = _run(targets, settings, progress_flag, "Checking", fix=False, jobs=jobs,
                      cache=_cache(no_cache, cache_dir, settings)) if targets else RunReport()
    if add_noqa and stdin_filename is None:
        sys.exit(_add_noqa(report))
    findings, errors = report.findings, report.errors
    unsafe = settings.unsafe_fixes
    if output_format == "text":
        _print_errors(report)
    if show_statistics:
        rows = statistics_rows(findings, unsafe)
        if output_format == "json":
            import json

            _emit(json.dumps(rows, indent=2), output_file)
        else:
            _emit(statistics(findings, unsafe), output_file)
    elif output_format == "text":
        edits = _all_edits(report, settings, jobs) if show_fixes else {}
        lines = [format_finding(f, unsafe, show_fixes, edits.get(id(f))) for f in findings]
        lines.append(check_summary(findings, errors, unsafe))
        _emit("\n".join(lines), output_file)
    elif output_format == "github":
        _emit(github(findings, errors), output_file)
    elif output_format == "json":
        _emit(json_report(findings, errors, unsafe, _all_edits(report, settings, jobs), len(report.files),
                          settings.rule_url), output_file)
    else:
        _emit(sarif_report(findings, errors, unsafe, _all_edits(report, settings, jobs), settings.rule_url), output_file)
    code = 0
    if findings and not exit_zero:
        code |= EXIT_FINDINGS
    if errors:
        code = EXIT_ERROR
    sys.exit(code)


def _add_noqa(report: RunReport) -> int:
    from .sources import SourceReadError, atomic_write, read_source
    from .suppressions import add_noqa

    _print_errors(report)
    total, files, skipped = 0, 0, 0
    failed = False
    for outcome in report.files:
        # unused-noqa findings are what a baseline must not freeze.
        findings = [f for f in outcome.findings if f.code != "VM901"]
        if not findings or outcome.path.endswith(".ipynb"):
            continue
        path = Path(outcome.path)
        try:
            source = read_source(path)
        except SourceReadError as exc:
            click.echo(f"{path}: error: {exc.message}", err=True)
            continue
        new, added, missed = add_noqa(source.text, findings)
        skipped += missed
        if added:
            try:
                atomic_write(path, source.encode(new))
            except OSError as exc:
                click.echo(f"{path}: error: cannot write file: {exc.strerror or exc}; left unchanged", err=True)
                failed = True
                continue
            total, files = total + added, files + 1
    click.echo(f"Added {total} noqa directive{'s' if total != 1 else ''} in {files} file{'s' if files != 1 else ''}.")
    if skipped:
        click.echo(f"{skipped} finding{'s' if skipped != 1 else ''} could not take a noqa comment (the line ends inside a "
                   "multi-line string or continues with a backslash): review them by hand.")
    return EXIT_ERROR if report.errors or failed else 0


@main.command()
@_shared
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, help="Also apply fixes that are equivalent only under a stated condition.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print a unified diff of what would change.")
def fix(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    extend_exclude: tuple[str, ...],
    respect_gitignore: Optional[bool],
    force_exclude: bool,
    config: Optional[str],
    stdin_filename: Optional[str],
    exit_zero: bool,
    show_fixes: bool,
    progress_flag: Optional[bool],
    jobs: Optional[int],
    unsafe_fixes: Optional[bool],
    show_diff: bool,
) -> None:
    """Rewrite legacy autograd patterns in PATHS into tensor-native code.

    Exits 1 when it changed something or findings remain (the pre-commit convention), 2 on errors.
    """
    anchor = paths or ((stdin_filename,) if stdin_filename else ())
    settings = _settings(anchor, config, select, extend_select, ignore, extend_exclude, unsafe_fixes, respect_gitignore)
    if stdin_filename is not None:
        sys.exit(_fix_stdin(stdin_filename, settings, force_exclude, show_diff, exit_zero))
    targets = _explicit_paths(paths or (".",), settings, force_exclude)
    report = _run(targets, settings, progress_flag, "Fixing", fix=True, write=not show_diff, jobs=jobs) if targets else RunReport()
    _print_errors(report)
    if show_diff:
        for outcome in report.changed_files:
            click.echo(outcome.diff(), nl=False)
    remaining = report.findings
    for finding in remaining:
        click.echo(format_finding(finding, settings.unsafe_fixes), err=show_diff)
    if show_fixes and report.fixed:
        click.echo(fixed_summary(report.fixed), err=show_diff)
    click.echo(_fix_summary(report, settings, show_diff), err=show_diff)
    sys.exit(_fix_exit(report, exit_zero))


def _fix_summary(report: RunReport, settings: Settings, show_diff: bool) -> str:
    remaining = report.findings
    fixed, changed = len(report.fixed), len(report.changed_files)
    verb = "Would fix" if show_diff else "Fixed"
    summary = [f"{verb} {fixed} finding{'s' if fixed != 1 else ''} in {changed} file{'s' if changed != 1 else ''}."]
    if remaining:
        unsafe = sum(1 for f in remaining if f.edit_for(True) is not None and f.edit_for(settings.unsafe_fixes) is None)
        summary.append(f"{len(remaining)} remaining" + (f" ({unsafe} fixable with --unsafe-fixes)" if unsafe else "") + ".")
    return " ".join(summary)


def _fix_exit(report: RunReport, exit_zero: bool) -> int:
    if report.errors:
        return EXIT_ERROR
    if (report.changed_files or report.findings) and not exit_zero:
        return EXIT_FINDINGS
    return 0


def _fix_stdin(name: str, settings: Settings, force_exclude: bool, show_diff: bool, exit_zero: bool) -> int:
    """Editors: source on stdin, fixed source (or a diff) on stdout, findings on stderr."""
    if force_exclude and settings.is_excluded(name):
        click.echo(sys.stdin.buffer.read().decode("utf-8", "surrogateescape"), nl=False)
        return 0
    outcome = _stdin(name, settings, fix=True)
    report = RunReport(files=[outcome])
    _print_errors(report)
    if show_diff:
        click.echo(outcome.diff(), nl=False)
    elif outcome.new_text is not None:
        click.echo(outcome.new_text, nl=False)
    elif outcome.old_text is not None:
        click.echo(outcome.old_text, nl=False)
    for finding in outcome.findings:
        click.echo(format_finding(finding, settings.unsafe_fixes), err=True)
    return _fix_exit(report, exit_zero)


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="List every rule (code, name, fix safety, message).")
def rule(code: Optional[str], show_all: bool) -> None:
    """Explain a rule (`varmigrate rule VM101`), or list them all (`--all`)."""
    from .docs import render_rule, rule_table
    from .registry import rule_by_code

    if show_all or code is None:
        click.echo(rule_table(markdown=False))
        return
    found = rule_by_code(code)
    if found is None:
        raise click.UsageError(f"unknown rule {code!r}; `varmigrate rule --all` lists them")
    click.echo(render_rule(found), nl=False)


@main.command()
def server() -> None:
    """Run the language server (LSP over stdio) for editors: diagnostics, quick fixes, fix all.

    Needs the `server` extra (`pip install "varmigrate[server]"`); see docs/editors.md.
    """
    try:
        from .server import serve
    except ModuleNotFoundError as exc:  # pygls is optional
        if (exc.name or "").split(".")[0] not in ("pygls", "lsprotocol"):
            raise
        raise click.ClickException(f"{exc}; install the server extra: pip install \"varmigrate[server]\"") from None
    serve()


# The harness command module imports only click; torch is imported when `verify` runs.
from .harness.command import verify  # noqa: E402

main.add_command(verify)


if __name__ == "__main__":  # pragma: no cover
    main()
