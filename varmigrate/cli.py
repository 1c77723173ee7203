"""Command line: a thin click layer over `varmigrate.api` (exit codes are bit flags, as in Fixit).

Options follow ruff's names and meanings. Nothing here may import libcst at module level: a
pre-commit run on clean files never needs it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Optional, Sequence

import click

from . import __version__
from .api import FileOutcome, RunReport, process_text, run
from .config import ConfigError, Settings, check_codes, resolve_settings
from .output import (
    OUTPUT_FORMATS,
    TEXT_FORMATS,
    check_summary,
    files_summary,
    fix_edits,
    fixed_summary,
    format_error,
    format_note,
    format_finding,
    format_full,
    github,
    json_report,
    sarif_report,
    statistics,
    statistics_rows,
)

if TYPE_CHECKING:
    from .cache import Cache
    from .rule import Finding

EXIT_FINDINGS = 1
EXIT_ERROR = 2
# Below this many files a progress bar is noise.
PROGRESS_MIN_FILES = 20
# --watch: seconds between two looks at the files' modification times.
WATCH_INTERVAL = 0.5


def _codes(values: Sequence[str]) -> list[str]:
    return [c.strip().upper() for v in values for c in v.split(",") if c.strip()]


def _globs(values: Sequence[str]) -> list[str]:
    return [p for v in values for p in v.split(",") if p]


def _per_file_ignores(values: Sequence[str]) -> dict[str, list[str]]:
    """`--per-file-ignores GLOB:CODES` (repeatable), as ruff spells it."""
    table: dict[str, list[str]] = {}
    for value in values:
        glob, sep, codes = value.rpartition(":")
        if not sep or not glob or not codes.strip():
            raise ConfigError(f"invalid value for `--per-file-ignores`: {value!r}, expected GLOB:CODES (e.g. 'tests/*:VM2,VM101')")
        table.setdefault(glob, []).extend(_codes([codes]))
    return table


# ------------------------------------------------------------------------------------------
# What to print, and where (ruff's -q / --silent / -v, colour on a terminal)
# ------------------------------------------------------------------------------------------
def use_colour(stream: IO[str]) -> bool:
    """NO_COLOR (set and not empty) turns colour off, FORCE_COLOR turns it on, else a terminal."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class Ui:
    quiet: bool = False  # findings only: no summary
    silent: bool = False  # nothing at all: the exit code tells
    verbose: bool = False  # also what was read and how (stderr)
    colour: bool = False

    def out(self, text: str, nl: bool = True) -> None:
        if not self.silent:
            click.echo(text, nl=nl, color=self.colour)

    def summary(self, text: str, err: bool = False) -> None:
        if text and not (self.quiet or self.silent):
            click.echo(text, err=err, color=self.colour)

    def err(self, text: str) -> None:
        if not self.silent:
            click.echo(text, err=True, color=self.colour)

    def debug(self, text: str) -> None:
        if self.verbose and not self.silent:
            click.echo(f"varmigrate: {text}", err=True)


def _ui(opts: dict[str, Any]) -> Ui:
    to_file = opts.get("output_file") is not None
    return Ui(quiet=opts["quiet"], silent=opts["silent"], verbose=opts["verbose"],
              colour=not to_file and use_colour(sys.stdout))


def _settings(paths: Sequence[str], opts: dict[str, Any], ui: Ui) -> Settings:
    """Configuration file, then the command line; a bad file or option ends the run with exit 2."""
    try:
        settings = resolve_settings(
            paths,
            opts["config"],
            select=_codes(opts["select"]),
            extend_select=_codes(opts["extend_select"]),
            ignore=[*_codes(opts["ignore"]), *check_codes(_codes(opts["extend_ignore"]), "--extend-ignore")],
            extend_exclude=_globs(opts["extend_exclude"]),
            exclude=_globs(opts["exclude"]) if opts["exclude"] else None,
            per_file_ignores=_per_file_ignores(opts["per_file_ignores"]),
            unsafe_fixes=opts["unsafe_fixes"],
            respect_gitignore=opts["respect_gitignore"],
            convert_py2=opts.get("convert_py2"),
        )
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    ui.debug(f"configuration: {settings.config_path or 'none found (defaults)'}")
    return settings


def _print_errors(report: RunReport, ui: Ui) -> None:
    for error in report.errors:
        ui.err(format_error(error, ui.colour))


def _print_notes(report: RunReport, ui: Ui, err: bool = False) -> None:
    """`--convert-py2`: what was (or would be) converted, and the divisions left to a person."""
    for note in report.notes:
        (ui.err if err else ui.out)(format_note(note, ui.colour))


def _converted_summary(report: RunReport, would: bool) -> str:
    n = len(report.converted_files)
    if not n:
        return ""
    if would:
        return f"{n} file{'s' if n != 1 else ''} would be converted from Python 2 (`varmigrate fix --convert-py2`)."
    return f"Converted {n} file{'s' if n != 1 else ''} from Python 2."


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


def _progress(paths: Sequence[str], settings: Settings, forced: Optional[bool], label: str, ui: Ui) -> Optional[_Progress]:
    stream = sys.stderr
    if ui.silent or ui.quiet or forced is False or (forced is None and not (stream.isatty() and not os.environ.get("CI"))):
        return None
    from .sources import discover

    total = sum(1 for _ in discover(paths, exclude=settings.all_exclude, root=settings.root,
                                      respect_gitignore=settings.respect_gitignore))
    if forced is None and total < PROGRESS_MIN_FILES:
        return None
    return _Progress(total, stream, label)


def _run(paths: Sequence[str], settings: Settings, opts: dict[str, Any], ui: Ui, label: str, **kwargs: Any) -> RunReport:
    bar = _progress(paths, settings, opts["progress_flag"], label, ui)

    def seen(outcome: FileOutcome) -> None:
        if bar is not None:
            bar(outcome)
        if ui.verbose:
            state = "error" if outcome.errors else ("not parsed (nothing to migrate)" if outcome.skipped else "checked")
            ui.debug(f"{outcome.path}: {state}")

    try:
        return run(paths, settings, progress=seen, tune_gc=True, jobs=opts["jobs"], **kwargs)
    finally:
        if bar is not None:
            bar.close()


def _cache(opts: dict[str, Any], settings: Settings) -> Optional[Cache]:
    if opts["no_cache"]:
        return None
    from .cache import Cache, default_cache_dir

    return Cache(Path(opts["cache_dir"]) if opts["cache_dir"] else default_cache_dir(), settings)


def _stdin(stdin_filename: str, settings: Settings, fix: bool) -> FileOutcome:
    from .sources import SourceError, SourceReadError, decode_source

    raw = sys.stdin.buffer.read()
    try:
        source = decode_source(raw)
    except SourceReadError as exc:
        return FileOutcome(stdin_filename, errors=[SourceError(stdin_filename, exc.line, exc.column, exc.message)])
    return process_text(source.text, stdin_filename, settings.for_path(stdin_filename), fix)


def _source_text(outcome: FileOutcome) -> Optional[str]:
    """The text the outcome's findings refer to: after a fix, the fixed text."""
    if outcome.new_text is not None:
        return outcome.new_text
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


def _source_lines(report: RunReport) -> Callable[[Finding], Optional[list[str]]]:
    """For `--output-format full`: the lines a finding's rows refer to (its cell's, in a notebook)."""
    texts = {o.path: o for o in report.files}
    memo: dict[tuple[str, Optional[int]], Optional[list[str]]] = {}

    def lines(finding: Finding) -> Optional[list[str]]:
        key = (finding.path, finding.cell)
        if key not in memo:
            outcome = texts.get(finding.path)
            text = _source_text(outcome) if outcome is not None else None
            if text is not None and finding.cell is not None:
                from .notebook import NotebookError, _cell_source, load

                try:
                    cells = load(text)[1]
                    text = _cell_source(cells[finding.cell - 1])
                except (NotebookError, IndexError):
                    text = None
            memo[key] = text.splitlines(keepends=True) if text is not None else None
        return memo[key]

    return lines


def _emit(text: str, output_file: Optional[str], ui: Ui) -> None:
    if output_file is None:
        if text:
            ui.out(text)
        return
    Path(output_file).parent.mkdir(parents=True, exist_ok=True)
    Path(output_file).write_text(text + ("\n" if text else ""), encoding="utf-8")


def _findings_text(report: RunReport, findings: Sequence[Finding], settings: Settings, opts: dict[str, Any],
                   ui: Ui, edits: Optional[dict[int, Any]] = None) -> list[str]:
    unsafe, show_fixes = settings.unsafe_fixes, opts["show_fixes"]
    colour = ui.colour and opts["output_file"] is None
    edits = edits or {}
    if opts["output_format"] == "full":
        lines = _source_lines(report)
        return [format_full(f, lines(f), unsafe, show_fixes, edits.get(id(f)), colour) for f in findings]
    return [format_finding(f, unsafe, show_fixes, edits.get(id(f)), colour) for f in findings]


# ------------------------------------------------------------------------------------------
# Options shared by check and fix
# ------------------------------------------------------------------------------------------
_FORMAT_HELP = ("How to print the findings: concise (one line each; `text` is its old name), full (also the source "
                "line with a caret, like ruff), json, sarif, github (workflow annotations).")


def _shared(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.argument("paths", nargs=-1, type=click.Path()),
        click.option("--select", multiple=True, metavar="CODES", help="Only these codes or prefixes (comma-separated; repeatable). Replaces the configured `select`. An unknown code is an error."),
        click.option("--extend-select", multiple=True, metavar="CODES", help="Add these codes or prefixes to the selection."),
        click.option("--ignore", multiple=True, metavar="CODES", help="Skip these codes or prefixes (added to the configured `ignore`)."),
        click.option("--extend-ignore", multiple=True, metavar="CODES", help="Same as --ignore (ruff's spelling)."),
        click.option("--per-file-ignores", multiple=True, metavar="GLOB:CODES", help="Skip these codes in files matching GLOB, e.g. 'tests/*:VM2' (repeatable; added to the configured table)."),
        click.option("--exclude", multiple=True, metavar="GLOBS", help="Skip files and folders matching these globs; replaces the configured `exclude`."),
        click.option("--extend-exclude", multiple=True, metavar="GLOBS", help="Also skip files and folders matching these globs."),
        click.option("--respect-gitignore/--no-respect-gitignore", "respect_gitignore", default=None, help="Skip files that git ignores (.gitignore files, .git/info/exclude); default: on, or `respect-gitignore` in the configuration."),
        click.option("--convert-py2/--no-convert-py2", "convert_py2", default=None, help="Convert Python 2 files to Python 3 first (needs varmigrate[py2]; see docs/python2.md); overrides `convert-py2` in the configuration."),
        click.option("--force-exclude", is_flag=True, help="Apply excludes to files named on the command line too (for pre-commit)."),
        click.option("--config", "config", type=click.Path(dir_okay=False), default=None, help="Use this pyproject.toml instead of the nearest one."),
        click.option("--stdin-filename", metavar="NAME", default=None, help="Read the source from standard input and report it as NAME (for editors)."),
        click.option("--statistics", "show_statistics", is_flag=True, help="Count per rule (count, code, [*] all fixable / [-] some / [ ] none, name) instead of listing; fix: the fixes applied. Text or json."),
        click.option("--output-format", type=click.Choice(OUTPUT_FORMATS), default="concise", envvar="VARMIGRATE_OUTPUT_FORMAT", show_default=True, help=_FORMAT_HELP),
        click.option("-o", "--output-file", type=click.Path(dir_okay=False), default=None, help="Write the report to this file instead of standard output."),
        click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings (errors still exit 2)."),
        click.option("--show-fixes", is_flag=True, help="check: show each finding's fix, its safety, its edit and the alternatives; fix: list what was fixed."),
        click.option("--show-settings", is_flag=True, help="Print the settings that apply (configuration file, then the command line) and exit."),
        click.option("--show-files", is_flag=True, help="List the files that would be read, and which of them would be parsed, and exit."),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the cache."),
        click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Cache folder (default: .varmigrate_cache in the project root, or $VARMIGRATE_CACHE_DIR)."),
        click.option("-q", "--quiet", is_flag=True, help="Print findings and errors only: no summary."),
        click.option("--silent", is_flag=True, help="Print nothing; the exit code still tells."),
        click.option("-v", "--verbose", is_flag=True, help="Also say which configuration applies and what happened to each file (on stderr)."),
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


def _usage_checks(opts: dict[str, Any]) -> None:
    fmt = opts["output_format"]
    if opts["show_statistics"] and fmt in ("sarif", "github"):
        raise click.UsageError(f"--statistics prints text or json, not {fmt}: drop one of them")
    if opts["quiet"] and opts["verbose"]:
        raise click.UsageError("--quiet and --verbose contradict each other")


def _show_settings(settings: Settings, ui: Ui) -> None:
    fields = dataclasses.asdict(settings)
    fields["docs_url"] = settings.docs_url or None
    lines = [f"# varmigrate {__version__}: settings from {settings.config_path or 'the defaults'} and the command line"]
    for name, value in fields.items():
        key = name.replace("_", "-")
        lines.append(f"{key} = {json.dumps(value, default=str)}")
    lines.append(f"# rule links: {settings.rule_url('VM101')}")
    ui.out("\n".join(lines))


def _show_files(paths: Sequence[str], settings: Settings, ui: Ui) -> int:
    """Each file that a run would read, and whether it would be parsed (the prefilter's answer)."""
    from .sources import SourceReadError, discover, read_source
    from .triggers import may_have_findings

    parsed = skipped = 0
    for path, error in discover(paths, exclude=settings.all_exclude, root=settings.root,
                                respect_gitignore=settings.respect_gitignore):
        if error is not None:
            ui.out(f"{path}\terror: {error}")
            continue
        try:
            text = read_source(path).text
        except SourceReadError as exc:
            ui.out(f"{path}\terror: {exc.message}")
            continue
        if str(path).endswith(".ipynb") or may_have_findings(text):
            parsed += 1
            ui.out(f"{path}\tparsed")
        else:
            skipped += 1
            ui.out(f"{path}\tnot parsed: no PyTorch autograd usage (nothing to migrate)")
    ui.summary(files_summary(parsed + skipped, skipped), err=True)
    return 0


def _anchor(paths: Sequence[str], stdin_filename: Optional[str]) -> Sequence[str]:
    return paths or ((stdin_filename,) if stdin_filename else ())


@main.command()
@_shared
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, help="Count unsafe fixes as available ([*]) and, with --fix, apply them; overrides `unsafe-fixes` in the configuration.")
@click.option("--fix/--no-fix", "apply_fixes", default=False, help="Apply the safe fixes, then report what is left (ruff's check --fix: exit 0 when nothing is left).")
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
    _usage_checks(opts)
    ui = _ui(opts)
    paths, stdin_filename = opts["paths"], opts["stdin_filename"]
    settings = _settings(_anchor(paths, stdin_filename), opts, ui)
    if opts["show_settings"]:
        _show_settings(settings, ui)
        sys.exit(0)
    if opts["show_files"]:
        sys.exit(_show_files(paths or (".",), settings, ui))
    fixing = opts["apply_fixes"] or opts["fix_only"]
    if opts["watch"]:
        if stdin_filename is not None:
            raise click.UsageError("--watch reads files, not standard input")
        sys.exit(_watch(paths or (".",), settings, opts, ui, fixing))
    if fixing:
        sys.exit(_fix_command(settings, opts, ui, check_style=True))
    if stdin_filename is not None:
        report = RunReport()
        if not (opts["force_exclude"] and settings.is_excluded(stdin_filename)):
            report.files.append(_stdin(stdin_filename, settings, fix=False))
    else:
        targets = _explicit_paths(paths or (".",), settings, opts["force_exclude"])
        report = _run(targets, settings, opts, ui, "Checking", fix=False, cache=_cache(opts, settings)) if targets else RunReport()
    if opts["add_noqa"] and stdin_filename is None:
        sys.exit(_add_noqa(report, ui))
    _report_check(report, settings, opts, ui)
    sys.exit(_check_exit(report, opts))


def _check_exit(report: RunReport, opts: dict[str, Any]) -> int:
    if report.errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if (report.findings or report.converted_files) and not opts["exit_zero"] else 0


def _report_check(report: RunReport, settings: Settings, opts: dict[str, Any], ui: Ui) -> None:
    findings, errors = report.findings, report.errors
    unsafe, fmt, output_file = settings.unsafe_fixes, opts["output_format"], opts["output_file"]
    files, skipped = len(report.files), len(report.skipped_files)
    if fmt in TEXT_FORMATS:
        _print_errors(report, ui)
        _print_notes(report, ui)
    if opts["show_statistics"]:
        if fmt == "json":
            _emit(json.dumps(statistics_rows(findings, unsafe), indent=2), output_file, ui)
        else:
            _emit(statistics(findings, unsafe), output_file, ui)
            ui.summary(_statistics_legend(findings, unsafe) + "\n" + files_summary(files, skipped) if findings else files_summary(files, skipped))
    elif fmt in TEXT_FORMATS:
        edits = _all_edits(report, settings, opts["jobs"]) if opts["show_fixes"] else {}
        lines = _findings_text(report, findings, settings, opts, ui, edits)
        summary = check_summary(findings, errors, unsafe, files, skipped)
        if report.converted_files:
            summary += "\n" + _converted_summary(report, would=True)
        if output_file is not None:
            _emit("\n".join([*lines, summary]), output_file, ui)
        else:
            if lines:
                ui.out("\n".join(lines))
            ui.summary(summary)
    elif fmt == "github":
        _emit(github(findings, errors), output_file, ui)
    elif fmt == "json":
        _emit(json_report(findings, errors, unsafe, _all_edits(report, settings, opts["jobs"]), files,
                          settings.rule_url, skipped), output_file, ui)
    else:
        _emit(sarif_report(findings, errors, unsafe, _all_edits(report, settings, opts["jobs"]), settings.rule_url), output_file, ui)


def _statistics_legend(findings: Sequence[Finding], unsafe: bool) -> str:
    legend = "[*] `varmigrate fix` fixes all of them, [-] some of them, [ ] none"
    if not unsafe and any(f.edit_for(True) is not None and f.edit_for(False) is None for f in findings):
        legend += " (`--unsafe-fixes` fixes more: review the conditions in each rule's Fix safety first)"
    return legend + "."


def _add_noqa(report: RunReport, ui: Ui) -> int:
    from .sources import SourceReadError, atomic_write, read_source
    from .suppressions import add_noqa

    _print_errors(report, ui)
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
            ui.err(f"{path}: error: {exc.message}")
            continue
        new, added, missed = add_noqa(source.text, findings)
        skipped += missed
        if added:
            try:
                atomic_write(path, source.encode(new))
            except OSError as exc:
                ui.err(f"{path}: error: cannot write file: {exc.strerror or exc}; left unchanged")
                failed = True
                continue
            total, files = total + added, files + 1
    ui.summary(f"Added {total} noqa directive{'s' if total != 1 else ''} in {files} file{'s' if files != 1 else ''}.")
    if skipped:
        ui.summary(f"{skipped} finding{'s' if skipped != 1 else ''} could not take a noqa comment (the line ends inside a "
                   "multi-line string or continues with a backslash): review them by hand.")
    return EXIT_ERROR if report.errors or failed else 0


# ------------------------------------------------------------------------------------------
# fix (and check --fix / --fix-only)
# ------------------------------------------------------------------------------------------
@main.command()
@_shared
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, help="Also apply fixes that are equivalent only under a stated condition.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print a unified diff of what would change (and, on stderr, only the summary).")
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
    _usage_checks(opts)
    ui = _ui(opts)
    settings = _settings(_anchor(opts["paths"], opts["stdin_filename"]), opts, ui)
    if opts["verify_with"]:
        sys.exit(_fix_proven(opts["paths"] or (".",), settings, opts["verify_with"], opts["show_diff"], opts["jobs"]))
    if opts["show_settings"]:
        _show_settings(settings, ui)
        sys.exit(0)
    if opts["show_files"]:
        sys.exit(_show_files(opts["paths"] or (".",), settings, ui))
    sys.exit(_fix_command(settings, opts, ui, check_style=False))


def _fix_command(settings: Settings, opts: dict[str, Any], ui: Ui, check_style: bool) -> int:
    show_diff = opts.get("show_diff", False)
    stdin_filename = opts["stdin_filename"]
    if stdin_filename is not None:
        return _fix_stdin(stdin_filename, settings, opts, ui, check_style)
    targets = _explicit_paths(opts["paths"] or (".",), settings, opts["force_exclude"])
    report = (_run(targets, settings, opts, ui, "Fixing", fix=True, write=not show_diff, cache=_cache(opts, settings))
              if targets else RunReport())
    _report_fix(report, settings, opts, ui, check_style)
    return _fix_exit(report, opts, check_style)


def _report_fix(report: RunReport, settings: Settings, opts: dict[str, Any], ui: Ui, check_style: bool) -> None:
    fmt, output_file, show_diff = opts["output_format"], opts["output_file"], opts.get("show_diff", False)
    remaining, fixed, errors = report.findings, report.fixed, report.errors
    unsafe = settings.unsafe_fixes
    if fmt in TEXT_FORMATS or show_diff:
        _print_errors(report, ui)
        _print_notes(report, ui, err=show_diff)
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
            _emit(json.dumps({"fixed": statistics_rows(fixed, unsafe), "remaining": statistics_rows(remaining, unsafe)}, indent=2), output_file, ui)
        else:
            body = statistics(fixed, unsafe)
            _emit(body, output_file, ui)
            ui.summary(_fix_summary(report, settings))
        return
    if fmt in TEXT_FORMATS:
        if not opts.get("fix_only"):
            lines = _findings_text(report, remaining, settings, opts, ui)
            if lines:
                _emit("\n".join(lines), output_file, ui)
        if opts["show_fixes"] and fixed:
            ui.summary(fixed_summary(fixed))
        ui.summary(_fix_summary(report, settings, check_style=check_style))
    elif fmt == "github":
        _emit(github(remaining, errors, fixed), output_file, ui)
    elif fmt == "json":
        _emit(json_report(remaining, errors, unsafe, _all_edits(report, settings, opts["jobs"]), len(report.files),
                          settings.rule_url, len(report.skipped_files), fixed), output_file, ui)
    else:
        _emit(sarif_report(remaining, errors, unsafe, _all_edits(report, settings, opts["jobs"]), settings.rule_url, fixed),
              output_file, ui)


def _fix_proven(paths: Sequence[str], settings: Settings, entries: Sequence[str], show_diff: bool,
                jobs: Optional[int]) -> int:
    """`fix --verify-with`: the proof of `verify --root --apply`, rooted at the project root."""
    from .prove.command import run_proof
    from .prove.runner import parse_entry

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
    remaining = report.findings
    fixed, changed = len(report.fixed), len(report.changed_files)
    exposed = sum(o.exposed for o in report.files)
    verb = "Would fix" if would else "Fixed"
    summary = [f"{verb} {fixed} finding{'s' if fixed != 1 else ''} in {changed} file{'s' if changed != 1 else ''}"]
    if exposed:
        summary[0] += (f" ({exposed} more than `check` counted as fixable: a fix can expose another finding, e.g. "
                       "`Variable(x, volatile=True)` loses `volatile=`, then its wrapper)")
    summary[0] += "."
    if remaining:
        unsafe = sum(1 for f in remaining if f.edit_for(True) is not None and f.edit_for(settings.unsafe_fixes) is None)
        summary.append(f"{len(remaining)} remaining" + (f" ({unsafe} fixable with --unsafe-fixes)" if unsafe else "") + ".")
    elif check_style and not report.errors:
        summary.append("Nothing left to migrate.")
    if report.converted_files:
        summary.append(_converted_summary(report, would))
    return " ".join(summary)


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
    outcome = _stdin(name, settings, fix=True)
    report = RunReport(files=[outcome])
    _print_errors(report, ui)
    _print_notes(report, ui, err=True)
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


# ------------------------------------------------------------------------------------------
# --watch
# ------------------------------------------------------------------------------------------
def _snapshot(paths: Sequence[str], settings: Settings) -> dict[str, tuple[int, int]]:
    from .sources import discover

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
            report = _run(targets, settings, opts, ui, "Fixing", fix=True, write=True, cache=None)
            _report_fix(report, settings, opts, ui, check_style=True)
        else:
            report = _run(targets, settings, opts, ui, "Checking", fix=False, cache=None)
            _report_check(report, settings, opts, ui)
        return report

    def ours(report: RunReport) -> None:
        """Files the pass itself rewrote (--fix) are not changes to react to."""
        for outcome in report.changed_files:
            try:
                info = Path(outcome.path).stat()
            except OSError:
                continue
            known[outcome.path] = (info.st_mtime_ns, info.st_size)

    targets = _explicit_paths(paths, settings, opts["force_exclude"])
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


# The command modules import only click; torch is imported when `verify` runs.
from .prove.command import verify  # noqa: E402

main.add_command(verify)


if __name__ == "__main__":  # pragma: no cover
    main()
