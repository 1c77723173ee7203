"""`varmigrate fix` (and `check --fix` / `--fix-only`): rewrite the files, report what is left."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import click

from ..api import RunReport, edit_map
from ..config import Settings
from ..output import TEXT_FORMATS, fix_summary, fixed_summary, format_finding, github, json_report, sarif_report, statistics, statistics_rows
from .common import (
    EXIT_ERROR,
    EXIT_FINDINGS,
    Ui,
    anchor,
    emit,
    explicit_paths,
    findings_text,
    make_cache,
    make_ui,
    print_errors,
    print_notes,
    read_stdin,
    resolve,
    run_files,
    shared_options,
    show_files,
    show_settings,
    usage_checks,
)


# ------------------------------------------------------------------------------------------
# fix (and check --fix / --fix-only)
# ------------------------------------------------------------------------------------------
@click.command()
@shared_options
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, help="Also apply fixes that are equivalent only under a stated condition.")
@click.option("--diff", "show_diff", is_flag=True,
    help="Write nothing; print a unified diff of what would change (and, on stderr, only the summary).")
@click.option("--verify-with", "verify_with", multiple=True, metavar='"ENTRY [ARGS]"',
              help="Prove the fix first (repeatable): run ENTRY before/after on copies, keep back the fixes that "
                   "change gradients, and write only a proven result (`verify --root --apply`).")
def fix(**opts: Any) -> None:
    """Rewrite legacy autograd patterns in PATHS into tensor-native code.

    Exit status (the pre-commit convention): 0 when nothing changed and nothing is left, 1 when it
    changed a file or findings remain, 2 on errors (a file with an error is never written).
    `check --fix` has ruff's exit status instead. With --verify-with: 0 when the written (with --diff,
    shown) result is proven, 1 otherwise.
    """
    usage_checks(opts)
    ui = make_ui(opts)
    settings = resolve(anchor(opts["paths"], opts["stdin_filename"]), opts, ui)
    if opts["verify_with"]:
        sys.exit(_fix_proven(opts["paths"] or (".",), settings, opts["verify_with"], opts["show_diff"], opts["jobs"]))
    if opts["show_settings"]:
        show_settings(settings, ui)
        sys.exit(0)
    if opts["show_files"]:
        sys.exit(show_files(opts["paths"] or (".",), settings, ui))
    sys.exit(fix_command(settings, opts, ui, check_style=False))


def fix_command(settings: Settings, opts: dict[str, Any], ui: Ui, check_style: bool) -> int:
    show_diff = opts.get("show_diff", False)
    stdin_filename = opts["stdin_filename"]
    if stdin_filename is not None:
        return _fix_stdin(stdin_filename, settings, opts, ui, check_style)
    targets = explicit_paths(opts["paths"] or (".",), settings, opts["force_exclude"])
    report = (run_files(targets, settings, opts, ui, "Fixing", fix=True, write=not show_diff, cache=make_cache(opts, settings))
              if targets else RunReport())
    report_fix(report, settings, opts, ui, check_style)
    return _fix_exit(report, opts, check_style)


def report_fix(report: RunReport, settings: Settings, opts: dict[str, Any], ui: Ui, check_style: bool) -> None:
    fmt, output_file, show_diff = opts["output_format"], opts["output_file"], opts.get("show_diff", False)
    remaining, fixed, errors = report.findings, report.fixed, report.errors
    unsafe = settings.unsafe_fixes
    if fmt in TEXT_FORMATS or show_diff:
        print_errors(report, ui)
        print_notes(report, ui, err=show_diff)
    if show_diff:
        # The diff is the report: findings left would be at rows of a text that is not on disk.
        for outcome in report.changed_files:
            ui.out(outcome.diff(), nl=False)
        if opts["show_fixes"] and fixed:
            ui.summary(fixed_summary(fixed, would=True), err=True)
        ui.summary(_fix_summary(report, settings, would=True), err=True)
        return
    if opts["show_statistics"]:
        if fmt == "json":
            emit(json.dumps({"fixed": statistics_rows(fixed, unsafe), "remaining": statistics_rows(remaining, unsafe)}, indent=2), output_file, ui)
        else:
            body = statistics(fixed, unsafe)
            emit(body, output_file, ui)
            ui.summary(_fix_summary(report, settings))
        return
    if fmt in TEXT_FORMATS:
        if not opts.get("fix_only"):
            lines = findings_text(report, remaining, settings, opts, ui)
            if lines:
                emit("\n".join(lines), output_file, ui)
        if opts["show_fixes"] and fixed:
            ui.summary(fixed_summary(fixed))
        ui.summary(_fix_summary(report, settings, check_style=check_style))
    elif fmt == "github":
        emit(github(remaining, errors, fixed), output_file, ui)
    elif fmt == "json":
        emit(json_report(remaining, errors, unsafe, edit_map(report, settings, opts["jobs"]), len(report.files),
                          settings.rule_url, len(report.skipped_files), fixed), output_file, ui)
    else:
        emit(sarif_report(remaining, errors, unsafe, edit_map(report, settings, opts["jobs"]), settings.rule_url, fixed),
              output_file, ui)


def _fix_proven(paths: Sequence[str], settings: Settings, entries: Sequence[str], show_diff: bool,
                jobs: Optional[int]) -> int:
    """`fix --verify-with`: the proof of `verify --root --apply`, rooted at the project root."""
    from ..prove.command import run_proof
    from ..prove.runner import parse_entry

    root = (settings.root or Path.cwd()).resolve()
    argvs = []
    for text in entries:
        try:
            argv = parse_entry(text)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        if argv[0] != "-m":
            argv[0] = str(Path(argv[0]).resolve())
        argvs.append(argv)
    targets = [Path(p).resolve() for p in paths]
    outside = [str(p) for p in targets if p != root and root not in p.parents]
    if outside:
        raise click.UsageError(f"--verify-with proves a tree: {', '.join(outside)} is not inside {root}")
    return run_proof(root, argvs, settings, paths=targets, apply=not show_diff, report_dir=None, jobs=jobs,
                     show_diff=show_diff)


def _fix_summary(report: RunReport, settings: Settings, would: bool = False, check_style: bool = False) -> str:
    return fix_summary(len(report.fixed), len(report.changed_files), sum(o.exposed for o in report.files), report.findings,
                       settings.unsafe_fixes, would, check_style and not report.errors, len(report.converted_files))


def _fix_exit(report: RunReport, opts: dict[str, Any], check_style: bool) -> int:
    if report.errors:
        return EXIT_ERROR
    changed = bool(report.changed_files) and not opts.get("show_diff", False)
    if not check_style:  # `varmigrate fix`: the pre-commit convention
        return EXIT_FINDINGS if (report.changed_files or report.findings) and not opts["exit_zero"] else 0
    code = 0
    if report.findings and not opts["exit_zero"] and not opts.get("fix_only"):
        code = EXIT_FINDINGS
    if changed and opts.get("exit_non_zero_on_fix"):
        code = EXIT_FINDINGS
    return code


def _fix_stdin(name: str, settings: Settings, opts: dict[str, Any], ui: Ui, check_style: bool) -> int:
    """Editors: source on stdin, fixed source (or a diff) on stdout, findings on stderr."""
    if opts["force_exclude"] and settings.is_excluded(name):
        click.echo(sys.stdin.buffer.read().decode("utf-8", "surrogateescape"), nl=False)
        return 0
    outcome = read_stdin(name, settings, fix=True)
    report = RunReport(files=[outcome])
    print_errors(report, ui)
    print_notes(report, ui, err=True)
    if opts.get("show_diff"):
        click.echo(outcome.diff(), nl=False)
    elif outcome.new_text is not None:
        click.echo(outcome.new_text, nl=False)
    elif outcome.old_text is not None:
        click.echo(outcome.old_text, nl=False)
    if not opts.get("fix_only"):
        for finding in outcome.findings:
            ui.err(format_finding(finding, settings.unsafe_fixes))
    return _fix_exit(report, opts, check_style)


