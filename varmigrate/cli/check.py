"""`varmigrate check`: report the findings (or, with --fix, fix first), --add-noqa, --watch."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ..api import RunReport, edit_map
from ..api import add_noqa as add_noqa_comments
from ..config import Settings
from ..output import (
    TEXT_FORMATS,
    check_summary,
    converted_summary,
    files_summary,
    github,
    json_report,
    noqa_summary,
    sarif_report,
    statistics,
    statistics_legend,
    statistics_rows,
)
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
    wants_edits,
)
from .fix import fix_command, report_fix

# --watch: seconds between two looks at the files' modification times.
WATCH_INTERVAL = 0.5


@click.command()
@shared_options
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None,
    help="Count unsafe fixes as available ([*]) and, with --fix, apply them; overrides `unsafe-fixes` in the configuration.")
@click.option("--fix/--no-fix", "apply_fixes", default=False,
    help="Apply the safe fixes, then report what is left (ruff's check --fix: exit 0 when nothing is left).")
@click.option("--fix-only", is_flag=True, help="Apply the safe fixes and report nothing else (exit 0 unless --exit-non-zero-on-fix).")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="With --fix/--fix-only: exit 1 when a file was changed, even if nothing is left.")
@click.option("--add-noqa", is_flag=True, help="Add `# noqa: CODE` comments on every finding's line (baseline a codebase).")
@click.option("--watch", is_flag=True, help="Check, then check again each file that changes, until interrupted (Ctrl-C).")
def check(**opts: Any) -> None:
    """Report legacy autograd patterns in PATHS (default: the current folder).

    Exit status: 0 no findings, 1 findings, 2 errors (bad usage or configuration, a file that
    cannot be read, decoded or parsed). With --fix: 0 when nothing is left after fixing, 1 when
    findings remain (or, with --exit-non-zero-on-fix, when a file changed).
    """
    usage_checks(opts)
    ui = make_ui(opts)
    paths, stdin_filename = opts["paths"], opts["stdin_filename"]
    settings = resolve(anchor(paths, stdin_filename), opts, ui)
    if opts["show_settings"]:
        show_settings(settings, ui)
        sys.exit(0)
    if opts["show_files"]:
        sys.exit(show_files(paths or (".",), settings, ui))
    fixing = opts["apply_fixes"] or opts["fix_only"]
    if opts["watch"]:
        if stdin_filename is not None:
            raise click.UsageError("--watch reads files, not standard input")
        sys.exit(_watch(paths or (".",), settings, opts, ui, fixing))
    if fixing:
        sys.exit(fix_command(settings, opts, ui, check_style=True))
    if stdin_filename is not None:
        report = RunReport()
        if not (opts["force_exclude"] and settings.is_excluded(stdin_filename)):
            report.files.append(read_stdin(stdin_filename, settings, fix=False, edits=wants_edits(opts)))
    else:
        targets = explicit_paths(paths or (".",), settings, opts["force_exclude"])
        report = (run_files(targets, settings, opts, ui, "Checking", fix=False, cache=make_cache(opts, settings), edits=wants_edits(opts))
                  if targets else RunReport())
    if opts["add_noqa"] and stdin_filename is None:
        sys.exit(_add_noqa(report, ui))
    report_check(report, settings, opts, ui)
    sys.exit(_check_exit(report, opts))


def _check_exit(report: RunReport, opts: dict[str, Any]) -> int:
    if report.errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if (report.findings or report.converted_files) and not opts["exit_zero"] else 0


def report_check(report: RunReport, settings: Settings, opts: dict[str, Any], ui: Ui) -> None:
    findings, errors = report.findings, report.errors
    unsafe, fmt, output_file = settings.unsafe_fixes, opts["output_format"], opts["output_file"]
    files, skipped = len(report.files), len(report.skipped_files)
    if fmt in TEXT_FORMATS:
        print_errors(report, ui)
        print_notes(report, ui)
    if opts["show_statistics"]:
        if fmt == "json":
            emit(json.dumps(statistics_rows(findings, unsafe), indent=2), output_file, ui)
        else:
            emit(statistics(findings, unsafe), output_file, ui)
            ui.summary(statistics_legend(findings, unsafe) + "\n" + files_summary(files, skipped) if findings else files_summary(files, skipped))
    elif fmt in TEXT_FORMATS:
        edits = edit_map(report, settings, opts["jobs"]) if opts["show_fixes"] else {}
        lines = findings_text(report, findings, settings, opts, ui, edits)
        summary = check_summary(findings, errors, unsafe, files, skipped)
        if report.converted_files:
            summary += "\n" + converted_summary(len(report.converted_files), would=True)
        if output_file is not None:
            emit("\n".join([*lines, summary]), output_file, ui)
        else:
            if lines:
                ui.out("\n".join(lines))
            ui.summary(summary)
    elif fmt == "github":
        emit(github(findings, errors), output_file, ui)
    elif fmt == "json":
        emit(json_report(findings, errors, unsafe, edit_map(report, settings, opts["jobs"]), files,
                          settings.rule_url, skipped), output_file, ui)
    else:
        emit(sarif_report(findings, errors, unsafe, edit_map(report, settings, opts["jobs"]), settings.rule_url), output_file, ui)


def _add_noqa(report: RunReport, ui: Ui) -> int:
    print_errors(report, ui)
    done = add_noqa_comments(report)
    for error in done.errors:
        ui.err(f"{error.path}: error: {error.message}")
    ui.summary(noqa_summary(done.added, done.files, done.skipped))
    return EXIT_ERROR if report.errors or done.write_failed else 0


# ------------------------------------------------------------------------------------------
# --watch
# ------------------------------------------------------------------------------------------
def _snapshot(paths: Sequence[str], settings: Settings) -> dict[str, tuple[int, int]]:
    from ..sources import discover

    found: dict[str, tuple[int, int]] = {}
    for path, error in discover(paths, exclude=settings.all_exclude, root=settings.root,
                                respect_gitignore=settings.respect_gitignore):
        if error is None:
            try:
                info = path.stat()
            except OSError:
                continue
            found[str(path)] = (info.st_mtime_ns, info.st_size)
    return found


def _watch(paths: Sequence[str], settings: Settings, opts: dict[str, Any], ui: Ui, fixing: bool) -> int:
    """Check everything once, then, every WATCH_INTERVAL seconds, the files whose modification time
    or size changed (new files too), until Ctrl-C. Polling: no inotify, works on every platform."""
    def one_pass(targets: Sequence[str]) -> RunReport:
        if fixing:
            report = run_files(targets, settings, opts, ui, "Fixing", fix=True, write=True, cache=None)
            report_fix(report, settings, opts, ui, check_style=True)
        else:
            report = run_files(targets, settings, opts, ui, "Checking", fix=False, cache=None, edits=wants_edits(opts))
            report_check(report, settings, opts, ui)
        return report

    def ours(report: RunReport) -> None:
        """Files the pass itself rewrote (--fix) are not changes to react to."""
        for outcome in report.changed_files:
            try:
                info = Path(outcome.path).stat()
            except OSError:
                continue
            known[outcome.path] = (info.st_mtime_ns, info.st_size)

    targets = explicit_paths(paths, settings, opts["force_exclude"])
    ui.summary(f"[{time.strftime('%H:%M:%S')}] Starting: checking {', '.join(targets) or 'nothing'}")
    known = _snapshot(targets, settings)
    ours(one_pass(targets))
    ui.summary(f"[{time.strftime('%H:%M:%S')}] Watching for changes (Ctrl-C to stop)...")
    try:
        while True:
            time.sleep(WATCH_INTERVAL)
            now = _snapshot(targets, settings)
            changed = sorted(p for p, stamp in now.items() if known.get(p) != stamp)
            known = now
            if not changed:
                continue
            ui.summary(f"[{time.strftime('%H:%M:%S')}] {len(changed)} file{'s' if len(changed) != 1 else ''} changed: checking again")
            ours(one_pass(changed))
    except KeyboardInterrupt:
        ui.summary("Stopped watching.")
    return 0


