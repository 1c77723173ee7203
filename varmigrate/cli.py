"""Command line: a thin click layer over `varmigrate.api` (exit codes are bit flags, as in Fixit)."""

from __future__ import annotations

import sys
from typing import Optional, Sequence

import click

from . import __version__
from .api import RunReport, run
from .config import Settings
from .output import check_summary, format_error, format_finding, statistics

EXIT_FINDINGS = 1
EXIT_ERROR = 2


def _codes(values: Sequence[str]) -> list[str]:
    return [c.strip().upper() for v in values for c in v.split(",") if c.strip()]


def _settings(select: Sequence[str], ignore: Sequence[str], unsafe_fixes: bool) -> Settings:
    settings = Settings(unsafe_fixes=unsafe_fixes)
    if select:
        settings.select = _codes(select)
    if ignore:
        settings.ignore = _codes(ignore)
    return settings


def _print_errors(report: RunReport) -> None:
    for error in report.errors:
        click.echo(format_error(error), err=True)


select_option = click.option("--select", multiple=True, metavar="CODES", help="Only these codes or prefixes (comma-separated; repeatable).")
ignore_option = click.option("--ignore", multiple=True, metavar="CODES", help="Skip these codes or prefixes.")
paths_argument = click.argument("paths", nargs=-1, type=click.Path())
jobs_option = click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes (default: automatic; 1 for a few files).")
no_cache_option = click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
cache_dir_option = click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Cache folder (default: .varmigrate_cache in the project root, or $VARMIGRATE_CACHE_DIR).")


def _cache(no_cache: bool, cache_dir: Optional[str], settings: Settings):  # -> Optional[Cache]
    if no_cache:
        return None
    from pathlib import Path

    from .cache import Cache, default_cache_dir

    return Cache(Path(cache_dir) if cache_dir else default_cache_dir(), settings)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="varmigrate")
def main() -> None:
    """Migrate legacy (0.3-era) PyTorch autograd code and prove the gradients did not change."""


@main.command()
@paths_argument
@select_option
@ignore_option
@click.option("--statistics", "show_statistics", is_flag=True, help="Count findings per rule instead of listing them.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--show-fixes", is_flag=True, help="Show each finding's fix and its safety.")
@click.option("--unsafe-fixes", is_flag=True, help="Count unsafe fixes as available ([*]).")
@jobs_option
@no_cache_option
@cache_dir_option
def check(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    show_statistics: bool,
    exit_zero: bool,
    show_fixes: bool,
    unsafe_fixes: bool,
    jobs: Optional[int],
    no_cache: bool,
    cache_dir: Optional[str],
) -> None:
    """Report legacy autograd patterns in PATHS (default: the current folder)."""
    settings = _settings(select, ignore, unsafe_fixes)
    report = run(paths or (".",), settings, fix=False, jobs=jobs, cache=_cache(no_cache, cache_dir, settings))
    _print_errors(report)
    findings = report.findings
    if show_statistics:
        if findings:
            click.echo(statistics(findings, unsafe_fixes))
    else:
        for finding in findings:
            click.echo(format_finding(finding, unsafe_fixes, show_fixes))
    click.echo(check_summary(findings, report.errors, unsafe_fixes))
    code = 0
    if findings and not exit_zero:
        code |= EXIT_FINDINGS
    if report.errors:
        code = EXIT_ERROR
    sys.exit(code)


@main.command()
@paths_argument
@select_option
@ignore_option
@click.option("--unsafe-fixes", is_flag=True, help="Also apply fixes that are equivalent only under a stated condition.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print a unified diff of what would change.")
@jobs_option
def fix(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    unsafe_fixes: bool,
    show_diff: bool,
    jobs: Optional[int],
) -> None:
    """Rewrite legacy autograd patterns in PATHS into tensor-native code."""
    settings = _settings(select, ignore, unsafe_fixes)
    report = run(paths or (".",), settings, fix=True, write=not show_diff, jobs=jobs)
    _print_errors(report)
    if show_diff:
        for outcome in report.changed_files:
            click.echo(outcome.diff(), nl=False)
    remaining = report.findings
    for finding in remaining:
        click.echo(format_finding(finding, unsafe_fixes), err=show_diff)
    fixed = len(report.fixed)
    verb = "Would fix" if show_diff else "Fixed"
    summary = [f"{verb} {fixed} finding{'s' if fixed != 1 else ''} in {len(report.changed_files)} file{'s' if len(report.changed_files) != 1 else ''}."]
    if remaining:
        unsafe = sum(1 for f in remaining if f.edit_for(True) is not None and f.edit_for(unsafe_fixes) is None)
        summary.append(f"{len(remaining)} remaining" + (f" ({unsafe} fixable with --unsafe-fixes)" if unsafe else "") + ".")
    click.echo(" ".join(summary), err=show_diff)
    code = 0
    if report.changed_files or remaining:
        code |= EXIT_FINDINGS
    if report.errors:
        code = EXIT_ERROR
    sys.exit(code)


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="List every rule.")
def rule(code: Optional[str], show_all: bool) -> None:
    """Explain a rule (`varmigrate rule VM101`), or list them all (`--all`)."""
    from .docs import render_rule, rule_table
    from .registry import rule_by_code

    if show_all or code is None:
        click.echo(rule_table())
        return
    found = rule_by_code(code)
    if found is None:
        raise click.UsageError(f"unknown rule {code!r}; `varmigrate rule --all` lists them")
    click.echo(render_rule(found))


if __name__ == "__main__":  # pragma: no cover
    main()
