"""The library behind the CLI: check and fix files, one file's failure never stopping the others.

`run` walks the paths, serves unchanged files from the cache, and checks or fixes the others in
worker processes (with each finding's fix as text edits when asked); `edit_map` collects those
edits, `add_noqa` writes a baseline. Import cost matters here: a pre-commit run on clean files
must not import libcst, so the engine is imported only for files that pass the prefilter
(`prefilter.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

# The public names of a run's results.
from . import collector
from .baseline import NoqaBaseline as NoqaBaseline
from .baseline import add_noqa as add_noqa
from .config import Settings
from .ftypes import Finding, SourceError
from .parallel import auto_jobs, run_parallel, terminate_gracefully
from .prefilter import may_have_findings, mentions_any_trigger
from .projects import ProjectRun, sees_project_torch
from .sources import SourceReadError, SourceText, atomic_write, decode_source, discover, read_source
from .syntax.nesting import nesting_error

if TYPE_CHECKING:
    from .analysis.facts import OutsideFacts
    from .cache import Cache
    from .edits import EditMap, EditWork, FileEdits
    from .policy import AppliedFix, FixPolicy


@dataclass
class FileOutcome:
    path: str
    findings: list[Finding] = field(default_factory=list)  # remaining after fix, or all for check
    fixed: list[Finding] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    old_text: Optional[str] = None
    new_text: Optional[str] = None
    # Not parsed: no selected rule's trigger word occurs (nothing to migrate), see prefilter.py.
    skipped: bool = False
    # fix: fixes beyond those `check` counted as fixable (findings that earlier fixes exposed)
    exposed: int = 0
    applied: list[AppliedFix] = field(default_factory=list)  # fix with a policy: each edit's origin
    # `--convert-py2`: what the conversion did and the divisions left to a person (kind "note")
    notes: list[SourceError] = field(default_factory=list)
    converted: bool = False  # the file is (check: would be) converted from Python 2
    # check with edits: each finding's fix as text edits, by position (None: not computed here)
    edits: Optional[FileEdits] = None
    # Project modules the file's analyses used (relative path -> digest: a cached result is stale
    # when one changed), and imports a fix kept because another module takes the name from here.
    dependencies: dict[str, str] = field(default_factory=dict)
    kept_for_importers: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.new_text is not None and self.new_text != self.old_text

    def diff(self) -> str:
        if not self.changed:
            return ""
        assert self.old_text is not None and self.new_text is not None
        import difflib

        return "".join(
            difflib.unified_diff(
                self.old_text.splitlines(keepends=True),
                self.new_text.splitlines(keepends=True),
                fromfile=f"a/{self.path}",
                tofile=f"b/{self.path}",
            )
        )


@dataclass
class RunReport:
    files: list[FileOutcome] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for outcome in self.files for f in outcome.findings]

    @property
    def fixed(self) -> list[Finding]:
        return [f for outcome in self.files for f in outcome.fixed]

    @property
    def errors(self) -> list[SourceError]:
        return [e for outcome in self.files for e in outcome.errors]

    @property
    def notes(self) -> list[SourceError]:
        return [n for outcome in self.files for n in outcome.notes]

    @property
    def converted_files(self) -> list[FileOutcome]:
        return [o for o in self.files if o.converted]

    @property
    def changed_files(self) -> list[FileOutcome]:
        return [o for o in self.files if o.changed]

    @property
    def skipped_files(self) -> list[FileOutcome]:
        """Files read but not parsed: nothing to migrate (no trigger word)."""
        return [o for o in self.files if o.skipped]


def internal_error(path: str, exc: BaseException) -> SourceError:
    import traceback

    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" ({Path(frame.filename).name}:{frame.lineno})" if frame else ""
    return SourceError(path, 1, 1, f"internal error: {type(exc).__name__}: {exc}{where}; file left unchanged", kind="internal")


def process_text(text: str, path: str, settings: Settings, fix: bool,
                 policy: Optional[FixPolicy] = None, edits: bool = False,
                 facts: Optional[OutsideFacts] = None) -> FileOutcome:
    """Check or fix one file's text. `policy` (fix only) chooses each finding's edit (`policy.py`);
    `edits` (check only): also each finding's fix as text edits, from the same lint. `facts`:
    the project index's view from this file (`projects.py`), if there is one."""
    outcome = FileOutcome(path=path, old_text=text)
    if path.endswith(".ipynb"):
        from .notebook import process_notebook

        notebook = process_notebook(text, path, settings, fix, policy, facts)
        outcome.skipped = notebook.skipped
        outcome.errors.extend(notebook.errors)
        outcome.notes, outcome.converted = notebook.notes, bool(notebook.notes)
        outcome.findings, outcome.fixed = notebook.findings, notebook.fixed
        outcome.exposed = notebook.exposed
        outcome.applied = notebook.applied
        outcome.new_text = notebook.source if fix else None
        return outcome
    to_original = None
    if settings.convert_py2:
        from .syntax.py2.outcome import prepare

        prepared = prepare(text, path, fix)
        outcome.errors.extend(prepared.errors)
        outcome.notes.extend(prepared.notes)
        outcome.converted = prepared.conversion is not None
        if prepared.errors:
            outcome.new_text = text if fix else None
            return outcome
        text = prepared.text
        to_original = prepared.to_original if prepared.conversion is not None and not fix else None
    if not may_have_findings(text) and not (facts is not None and sees_project_torch(text, facts)):
        # Same answer as the engine's prefilter, without importing it.
        outcome.new_text = text if fix else None
        outcome.skipped = not outcome.converted
        return outcome
    too_deep = nesting_error(text)
    if too_deep is not None:
        outcome.errors.append(SourceError(path, too_deep[0], 1, too_deep[1]))
        outcome.new_text = text if fix else None
        return outcome
    from .engine import fix_source, lint_source

    if fix:
        result = fix_source(text, path, settings, policy=policy, facts=facts)
        outcome.errors.extend(result.errors)
        outcome.fixed = result.fixed
        outcome.applied = result.applied
        outcome.findings = result.remaining
        outcome.new_text = result.source
        outcome.exposed = result.exposed
    else:
        lint = lint_source(text, path, settings, facts=facts)
        outcome.errors.extend(lint.errors)
        outcome.findings = lint.findings
        # the engine's own prefilter (trigger words of the selected rules only) passed it over
        outcome.skipped = lint.module is None and not lint.errors and not outcome.converted
        if to_original is not None:  # check reports the converted text's findings on the original's lines
            for finding in outcome.findings:
                finding.line, finding.end_line = to_original(finding.line), to_original(finding.end_line)
            for error in outcome.errors:
                error.line = to_original(error.line)
        # (Not for a converted file: its edits are those of the original text, computed later.)
        elif edits and lint.findings and not outcome.converted:
            from .edits import lint_edits

            try:
                outcome.edits = lint_edits(lint, text, settings.unsafe_fixes)
            except Exception:  # noqa: BLE001 - the findings are still reported, with `edits: null`
                outcome.edits = [None] * len(lint.findings)
    return outcome


def process_bytes(raw: bytes, path: str, settings: Settings, fix: bool, edits: bool = False) -> FileOutcome:
    """One file's bytes (standard input, an editor's buffer) as if read from `path`."""
    try:
        source = decode_source(raw)
    except SourceReadError as exc:
        return FileOutcome(path, errors=[SourceError(path, exc.line, exc.column, exc.message)])
    return process_text(source.text, path, settings.for_path(path), fix, edits=edits)


def process_source(path: Path, source: SourceText, settings: Settings, fix: bool, write: bool,
                   policy: Optional[FixPolicy] = None, edits: bool = False,
                   project: Optional[ProjectRun] = None) -> FileOutcome:
    """Check or fix one decoded file; writes (atomically) only a changed file without input errors
    (a notebook cell that does not parse blocks only its own cell)."""
    display = str(path)
    facts = project.facts_for(path) if project is not None else None
    try:
        outcome = process_text(source.text, display, settings, fix, policy, edits, facts)
        if facts is not None:
            outcome.dependencies, outcome.kept_for_importers = facts.dependencies(), sorted(facts.kept_names())
    except RecursionError:
        return FileOutcome(display, errors=[SourceError(display, 1, 1, "expressions are nested too deeply to process; file left unchanged")])
    except Exception as exc:  # a crash in one file never stops the others
        return FileOutcome(display, errors=[internal_error(display, exc)])
    if write and outcome.changed and not any(e.kind == "error" and e.cell is None for e in outcome.errors):
        assert outcome.new_text is not None
        try:
            atomic_write(path, source.encode(outcome.new_text))
        except OSError as exc:
            outcome.errors.append(SourceError(display, 0, 0, f"cannot write file: {exc.strerror or exc}; left unchanged", kind="io"))
            outcome.new_text = outcome.old_text
            outcome.fixed, outcome.exposed = [], 0
        except UnicodeEncodeError as exc:
            # A fix introduced a character the file's declared encoding cannot hold.
            outcome.errors.append(SourceError(display, 0, 0, f"cannot encode the fixed file as {source.encoding}: {exc.reason}; left unchanged"))
            outcome.new_text = outcome.old_text
            outcome.fixed, outcome.exposed = [], 0
    return outcome


def _strip(outcome: FileOutcome) -> FileOutcome:
    """Drop syntax trees and fix callables: they cannot cross process boundaries, and a whole
    tree's worth of nodes per file would dominate memory on a large run."""
    for finding in (*outcome.findings, *outcome.fixed):
        finding.stripped()
    return outcome


@dataclass(frozen=True)
class _Job:
    path: Path
    source: SourceText
    settings: Settings
    fix: bool
    write: bool
    policy: Optional[FixPolicy] = None
    edits: bool = False


# The run's project index: set by `run` before its workers fork, so they inherit it (with the
# summaries the parent already made) instead of receiving a copy with every job.
_PROJECT: Optional[ProjectRun] = None


def _do_job(job: _Job) -> FileOutcome:
    return _one_file(job, job.source, job.fix, job.edits, _PROJECT)


def _redo(job: _Job, text: str, project: ProjectRun) -> FileOutcome:
    """Fix a file again from `text` (what the run's first pass made of it)."""
    return _one_file(job, SourceText(text, job.source.encoding, job.source.bom), True, False, project)


def _one_file(job: _Job, source: SourceText, fix: bool, edits: bool, project: Optional[ProjectRun]) -> FileOutcome:
    with collector.within_file():
        return _strip(process_source(job.path, source, job.settings, fix, job.write, job.policy, edits, project))


def _crashed(job: _Job, exc: BaseException) -> FileOutcome:
    display = str(job.path)
    message = f"internal error: the worker process died on this file ({type(exc).__name__}); file left unchanged"
    return FileOutcome(display, errors=[SourceError(display, 1, 1, message, kind="internal")])


def _sort_key(outcome: FileOutcome) -> tuple[str, ...]:
    return Path(outcome.path).parts


def run(
    paths: Sequence[str],
    settings: Settings,
    fix: bool = False,
    write: bool = True,
    exclude: Iterable[str] = (),
    jobs: Optional[int] = None,
    cache: Optional[Cache] = None,
    progress: Optional[Callable[[FileOutcome], None]] = None,
    tune_gc: bool = False,
    policy: Optional[FixPolicy] = None,
    edits: bool = False,
) -> RunReport:
    """Check (or fix) every file under `paths`; outcomes are sorted by path.

    Folders are walked minus `exclude` and the configured excludes; each file gets its
    per-file-ignores. `jobs`: worker processes (None: automatic, 1 for a handful of files).
    `cache`: reuse `check` results of files whose bytes did not change (`fix` only skips the files
    the cache knows to be clean, and stores nothing).
    `progress` is called with each file's outcome as soon as it is known (not in path order).
    `tune_gc`: the process is ours (the CLI): set the garbage collector up for many trees.
    `policy` (fix only): chooses each finding's edit; outcomes then list every applied edit with
    the finding of the original text it belongs to (`policy.py`, used by `verify --apply`).
    `edits` (check only): compute each finding's fix as text edits where the file is linted
    (`edit_map` collects them, and computes those of cache hits).
    """
    global _PROJECT
    report = RunReport()
    pending: list[_Job] = []
    keys: dict[str, str] = {}
    use_cache = cache is not None and not settings.convert_py2  # the cache keeps no conversion notes
    # One project index per run, over the whole project (pre-commit passes only the staged files).
    project = ProjectRun(paths, settings, cache)

    def done(outcome: FileOutcome) -> None:
        report.files.append(outcome)
        if progress is not None:
            progress(outcome)

    with terminate_gracefully():
        for path, error in discover(paths, exclude=[*exclude, *settings.all_exclude], root=settings.root,
                                        respect_gitignore=settings.respect_gitignore):
            display = str(path)
            if error is not None:
                done(FileOutcome(display, errors=[SourceError(display, 0, 0, error, kind="io")]))
                continue
            file_settings = settings.for_path(display)
            try:
                raw = path.read_bytes()
            except OSError as exc:
                done(FileOutcome(display, errors=[SourceError(display, 0, 0, f"cannot read file: {exc.strerror or exc}", kind="io")]))
                continue
            key = None
            if use_cache:
                assert cache is not None
                from .cache import content_key

                key = content_key(raw)
                if file_settings is not settings:  # per-file-ignores: a different rule set
                    key += ":" + ",".join(sorted(file_settings.ignore))
                hit = cache.get(key, display)
                if hit is not None and not project.current(cache, key, path):
                    hit = None  # a module it imports changed: so may its facts
                if hit is not None and not fix:
                    done(FileOutcome(display, findings=hit[0], errors=hit[1], skipped=cache.was_skipped(key)))
                    continue
                if hit is not None and not hit[0] and not hit[1]:  # fix: known clean, nothing to do
                    done(FileOutcome(display, skipped=cache.was_skipped(key)))
                    continue
                if fix:
                    key = None  # fix reads the cache but never writes it
            try:
                source = decode_source(raw)
            except SourceReadError as exc:
                outcome = FileOutcome(display, errors=[SourceError(display, exc.line, exc.column, exc.message, kind=exc.kind)])
            else:
                if display.endswith(".ipynb") or settings.convert_py2 or may_have_findings(source.text) \
                        or project.sees_torch(path, source.text):
                    pending.append(_Job(path, source, file_settings, fix, write, policy, edits and not fix))
                    if key is not None:
                        keys[display] = key
                    continue
                outcome = FileOutcome(display, old_text=source.text, new_text=source.text if fix else None, skipped=True)
                if mentions_any_trigger(source.text):
                    key = None  # whether a module using torch imports it depends on other files
            done(outcome)
            if key is not None and cache is not None:
                cache.put(key, outcome.findings, outcome.errors, outcome.skipped)
        workers = auto_jobs(len(pending)) if jobs is None else max(1, jobs)
        if workers > 1 or (tune_gc and pending):
            from . import engine  # noqa: F401  (imported once here; forked workers inherit it)
        project.prepare((job.path, job.source.text) for job in pending)  # before the workers fork
        if tune_gc and pending:
            collector.tune()
        _PROJECT = project
        try:
            outcomes = run_parallel(_do_job, pending, workers, _crashed, progress=None if fix else done)
            if fix:  # an import kept for another module goes once the run rewrote its last use there
                by_path = {str(job.path): job for job in pending}
                outcomes = project.fix_across_modules(outcomes, lambda o, text: _redo(by_path[o.path], text, project))
                for outcome in outcomes:
                    done(outcome)
        finally:
            _PROJECT = None
        for outcome in outcomes:
            key = keys.get(outcome.path)
            if key is not None and cache is not None:
                cache.put(key, outcome.findings, outcome.errors, outcome.skipped, dependencies=outcome.dependencies)
    if cache is not None:
        project.save(cache)
        cache.save()
    report.files.sort(key=_sort_key)
    return report


# ------------------------------------------------------------------------------------------
# After a run: fix edits for the report (noqa baselines: baseline.py)
# ------------------------------------------------------------------------------------------
def source_text(outcome: FileOutcome) -> Optional[str]:
    """The text the outcome's findings refer to: after a fix, the fixed text."""
    if outcome.new_text is not None:
        return outcome.new_text
    if outcome.old_text is not None:
        return outcome.old_text
    try:  # a cache hit carries findings but not the text
        return read_source(Path(outcome.path)).text
    except SourceReadError:
        return None


def edit_map(report: RunReport, settings: Settings, jobs: Optional[int] = None) -> EditMap:
    """id(finding) -> its fix's text edits, for every finding of the report: those computed
    during the run (`run(edits=True)`), the others (cache hits, fixed files) computed now, in
    worker processes: each fix applied alone costs more than the check itself."""
    from .edits import parallel_edits

    edits: EditMap = {}
    work: list[EditWork] = []
    for outcome in report.files:
        if not outcome.findings or outcome.path.endswith(".ipynb"):
            continue
        if outcome.edits is not None:
            edits.update((id(f), e) for f, e in zip(outcome.findings, outcome.edits) if e is not None)
            continue
        text = source_text(outcome)
        if text is not None:
            work.append((text, outcome.path, settings, outcome.findings))
    if work:
        edits.update(parallel_edits(work, jobs))
    return edits
