"""What the commands share: option parsing, settings, what to print and where, running over paths.

Nothing here may import libcst at module level: a pre-commit run on clean files never needs it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Optional

import click

from .. import __version__
from ..api import FileOutcome, RunReport, process_bytes, run, source_text
from ..config import ConfigError, Settings, check_codes, resolve_settings
from ..output import OUTPUT_FORMATS, TEXT_FORMATS, files_summary, format_error, format_finding, format_full, format_note

if TYPE_CHECKING:
    from ..cache import Cache
    from ..edits import EditMap
    from ..ftypes import Finding

EXIT_FINDINGS = 1
EXIT_ERROR = 2
# Below this many files a progress bar is noise.
PROGRESS_MIN_FILES = 20


def split_codes(values: Sequence[str]) -> list[str]:
    return [c.strip().upper() for v in values for c in v.split(",") if c.strip()]


def split_globs(values: Sequence[str]) -> list[str]:
    return [p for v in values for p in v.split(",") if p]


def parse_per_file_ignores(values: Sequence[str]) -> dict[str, list[str]]:
    """`--per-file-ignores GLOB:CODES` (repeatable), as ruff spells it."""
    table: dict[str, list[str]] = {}
    for value in values:
        glob, sep, codes = value.rpartition(":")
        if not sep or not glob or not codes.strip():
            raise ConfigError(f"invalid value for `--per-file-ignores`: {value!r}, expected GLOB:CODES (e.g. 'tests/*:VM2,VM101')")
        table.setdefault(glob, []).extend(split_codes([codes]))
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


def make_ui(opts: dict[str, Any]) -> Ui:
    to_file = opts.get("output_file") is not None
    return Ui(quiet=opts["quiet"], silent=opts["silent"], verbose=opts["verbose"],
              colour=not to_file and use_colour(sys.stdout))


def resolve(paths: Sequence[str], opts: dict[str, Any], ui: Ui) -> Settings:
    """Configuration file, then the command line; a bad file or option ends the run with exit 2."""
    try:
        settings = resolve_settings(
            paths,
            opts["config"],
            select=split_codes(opts["select"]),
            extend_select=split_codes(opts["extend_select"]),
            ignore=[*split_codes(opts["ignore"]), *check_codes(split_codes(opts["extend_ignore"]), "--extend-ignore")],
            extend_exclude=split_globs(opts["extend_exclude"]),
            exclude=split_globs(opts["exclude"]) if opts["exclude"] else None,
            per_file_ignores=parse_per_file_ignores(opts["per_file_ignores"]),
            unsafe_fixes=opts["unsafe_fixes"],
            respect_gitignore=opts["respect_gitignore"],
            convert_py2=opts.get("convert_py2"),
        )
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    ui.debug(f"configuration: {settings.config_path or 'none found (defaults)'}")
    return settings


def print_errors(report: RunReport, ui: Ui) -> None:
    for error in report.errors:
        ui.err(format_error(error, ui.colour))


def print_notes(report: RunReport, ui: Ui, err: bool = False) -> None:
    """`--convert-py2`: what was (or would be) converted, and the divisions left to a person."""
    for note in report.notes:
        (ui.err if err else ui.out)(format_note(note, ui.colour))


def explicit_paths(paths: Sequence[str], settings: Settings, force_exclude: bool) -> list[str]:
    """ruff's --force-exclude: excludes apply to paths named on the command line (pre-commit)."""
    if not force_exclude:
        return list(paths)
    return [p for p in paths if not settings.is_excluded(p)]


class Progress:
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


def progress_bar(paths: Sequence[str], settings: Settings, forced: Optional[bool], label: str, ui: Ui) -> Optional[Progress]:
    stream = sys.stderr
    if ui.silent or ui.quiet or forced is False or (forced is None and not (stream.isatty() and not os.environ.get("CI"))):
        return None
    from ..sources import discover

    total = sum(1 for _ in discover(paths, exclude=settings.all_exclude, root=settings.root,
                                      respect_gitignore=settings.respect_gitignore))
    if forced is None and total < PROGRESS_MIN_FILES:
        return None
    return Progress(total, stream, label)


def run_files(paths: Sequence[str], settings: Settings, opts: dict[str, Any], ui: Ui, label: str, **kwargs: Any) -> RunReport:
    bar = progress_bar(paths, settings, opts["progress_flag"], label, ui)

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


def make_cache(opts: dict[str, Any], settings: Settings) -> Optional[Cache]:
    if opts["no_cache"]:
        return None
    from ..cache import Cache, default_cache_dir

    return Cache(Path(opts["cache_dir"]) if opts["cache_dir"] else default_cache_dir(), settings)


def read_stdin(name: str, settings: Settings, fix: bool, edits: bool = False) -> FileOutcome:
    return process_bytes(sys.stdin.buffer.read(), name, settings, fix, edits)


def wants_edits(opts: dict[str, Any]) -> bool:
    """Whether the report shows each finding's fix as text edits (computed where files are linted)."""
    if opts["show_statistics"] or opts.get("add_noqa"):
        return False
    return opts["output_format"] in ("json", "sarif") or (opts["output_format"] in TEXT_FORMATS and opts["show_fixes"])


def source_lines(report: RunReport) -> Callable[[Finding], Optional[list[str]]]:
    """For `--output-format full`: the lines a finding's rows refer to (its cell's, in a notebook)."""
    texts = {o.path: o for o in report.files}
    memo: dict[tuple[str, Optional[int]], Optional[list[str]]] = {}

    def lines(finding: Finding) -> Optional[list[str]]:
        key = (finding.path, finding.cell)
        if key not in memo:
            outcome = texts.get(finding.path)
            text = source_text(outcome) if outcome is not None else None
            if text is not None and finding.cell is not None:
                from ..notebook import NotebookError, _cell_source, load

                try:
                    cells = load(text)[1]
                    text = _cell_source(cells[finding.cell - 1])
                except (NotebookError, IndexError):
                    text = None
            memo[key] = text.splitlines(keepends=True) if text is not None else None
        return memo[key]

    return lines


def emit(text: str, output_file: Optional[str], ui: Ui) -> None:
    if output_file is None:
        if text:
            ui.out(text)
        return
    Path(output_file).parent.mkdir(parents=True, exist_ok=True)
    Path(output_file).write_text(text + ("\n" if text else ""), encoding="utf-8")


def findings_text(report: RunReport, findings: Sequence[Finding], settings: Settings, opts: dict[str, Any],
                   ui: Ui, edits: Optional[EditMap] = None) -> list[str]:
    unsafe, show_fixes = settings.unsafe_fixes, opts["show_fixes"]
    colour = ui.colour and opts["output_file"] is None
    edits = edits or {}
    if opts["output_format"] == "full":
        lines = source_lines(report)
        return [format_full(f, lines(f), unsafe, show_fixes, edits.get(id(f)), colour) for f in findings]
    return [format_finding(f, unsafe, show_fixes, edits.get(id(f)), colour) for f in findings]


# ------------------------------------------------------------------------------------------
# Options shared by check and fix
# ------------------------------------------------------------------------------------------
FORMAT_HELP = ("How to print the findings: concise (one line each; `text` is its old name), full (also the source "
                "line with a caret, like ruff), json, sarif, github (workflow annotations).")


def shared_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.argument("paths", nargs=-1, type=click.Path()),
        click.option("--select", multiple=True, metavar="CODES",
            help="Only these codes or prefixes (comma-separated; repeatable). Replaces the configured `select`. An unknown code is an error."),
        click.option("--extend-select", multiple=True, metavar="CODES", help="Add these codes or prefixes to the selection."),
        click.option("--ignore", multiple=True, metavar="CODES", help="Skip these codes or prefixes (added to the configured `ignore`)."),
        click.option("--extend-ignore", multiple=True, metavar="CODES", help="Same as --ignore (ruff's spelling)."),
        click.option("--per-file-ignores", multiple=True, metavar="GLOB:CODES",
            help="Skip these codes in files matching GLOB, e.g. 'tests/*:VM2' (repeatable; added to the configured table)."),
        click.option("--exclude", multiple=True, metavar="GLOBS",
            help="Skip files and folders matching these globs; replaces the configured `exclude`."),
        click.option("--extend-exclude", multiple=True, metavar="GLOBS", help="Also skip files and folders matching these globs."),
        click.option("--respect-gitignore/--no-respect-gitignore", "respect_gitignore", default=None,
            help="Skip files that git ignores (.gitignore files, .git/info/exclude); default: on, or `respect-gitignore` in the configuration."),
        click.option("--convert-py2/--no-convert-py2", "convert_py2", default=None,
            help=("Convert Python 2 files to Python 3 first (needs varmigrate[py2]; see docs/python2.md); "
                  "overrides `convert-py2` in the configuration.")),
        click.option("--force-exclude", is_flag=True, help="Apply excludes to files named on the command line too (for pre-commit)."),
        click.option("--config", "config", type=click.Path(dir_okay=False), default=None, help="Use this pyproject.toml instead of the nearest one."),
        click.option("--stdin-filename", metavar="NAME", default=None,
            help="Read the source from standard input and report it as NAME (for editors)."),
        click.option("--statistics", "show_statistics", is_flag=True,
            help=("Count per rule (count, code, [*] all fixable / [-] some / [ ] none, name) instead of listing; "
                  "fix: the fixes applied. Text or json.")),
        click.option("--output-format", type=click.Choice(OUTPUT_FORMATS), default="concise", envvar="VARMIGRATE_OUTPUT_FORMAT",
            show_default=True, help=FORMAT_HELP),
        click.option("-o", "--output-file", type=click.Path(dir_okay=False), default=None,
            help="Write the report to this file instead of standard output."),
        click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings (errors still exit 2)."),
        click.option("--show-fixes", is_flag=True,
            help="check: show each finding's fix, its safety, its edit and the alternatives; fix: list what was fixed."),
        click.option("--show-settings", is_flag=True, help="Print the settings that apply (configuration file, then the command line) and exit."),
        click.option("--show-files", is_flag=True, help="List the files that would be read, and which of them would be parsed, and exit."),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the cache."),
        click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
            help="Cache folder (default: .varmigrate_cache in the project root, or $VARMIGRATE_CACHE_DIR)."),
        click.option("-q", "--quiet", is_flag=True, help="Print findings and errors only: no summary."),
        click.option("--silent", is_flag=True, help="Print nothing; the exit code still tells."),
        click.option("-v", "--verbose", is_flag=True, help="Also say which configuration applies and what happened to each file (on stderr)."),
        click.option("--progress/--no-progress", "progress_flag", default=None,
            help="Progress bar on stderr (default: only on a terminal, for many files, never in CI)."),
        click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes (default: automatic; 1 for a few files)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def usage_checks(opts: dict[str, Any]) -> None:
    fmt = opts["output_format"]
    if opts["show_statistics"] and fmt in ("sarif", "github"):
        raise click.UsageError(f"--statistics prints text or json, not {fmt}: drop one of them")
    if opts["quiet"] and opts["verbose"]:
        raise click.UsageError("--quiet and --verbose contradict each other")


def show_settings(settings: Settings, ui: Ui) -> None:
    fields = dataclasses.asdict(settings)
    fields["docs_url"] = settings.docs_url or None
    lines = [f"# varmigrate {__version__}: settings from {settings.config_path or 'the defaults'} and the command line"]
    for name, value in fields.items():
        key = name.replace("_", "-")
        lines.append(f"{key} = {json.dumps(value, default=str)}")
    lines.append(f"# rule links: {settings.rule_url('VM101')}")
    ui.out("\n".join(lines))


def show_files(paths: Sequence[str], settings: Settings, ui: Ui) -> int:
    """Each file that a run would read, and whether it would be parsed (the prefilter's answer)."""
    from ..prefilter import may_have_findings
    from ..sources import SourceReadError, discover, read_source

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


def anchor(paths: Sequence[str], stdin_filename: Optional[str]) -> Sequence[str]:
    return paths or ((stdin_filename,) if stdin_filename else ())

