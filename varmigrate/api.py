"""The library behind the CLI: check and fix files, one file's failure never stopping the others.

Import cost matters here: a pre-commit run on clean files must not import libcst, so the engine
is imported only for files that pass the prefilter (`triggers.py`).
"""

from __future__ import annotations

import ast
import difflib
import re
import traceback
import warnings
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Optional, Sequence

from .config import Settings
from .parallel import auto_jobs, run_parallel, terminate_gracefully
from .sources import SourceError, SourceReadError, SourceText, atomic_write, decode_source, discover
from .triggers import may_have_findings

if TYPE_CHECKING:
    from .cache import Cache
    from .policy import AppliedFix, FixPolicy
    from .rule import Finding


@dataclass
class FileOutcome:
    path: str
    findings: list[Finding] = field(default_factory=list)  # remaining after fix, or all for check
    fixed: list[Finding] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    old_text: Optional[str] = None
    new_text: Optional[str] = None
    # Not parsed: no selected rule's trigger word occurs (nothing to migrate), see triggers.py.
    skipped: bool = False
    # fix: fixes beyond those `check` counted as fixable (findings that earlier fixes exposed)
    exposed: int = 0
    applied: list[AppliedFix] = field(default_factory=list)  # fix with a policy: each edit's origin
    # `--convert-py2`: what the conversion did and the divisions left to a person (kind "note")
    notes: list[SourceError] = field(default_factory=list)
    converted: bool = False  # the file is (check: would be) converted from Python 2

    @property
    def changed(self) -> bool:
        return self.new_text is not None and self.new_text != self.old_text

    def diff(self) -> str:
        if not self.changed:
            return ""
        assert self.old_text is not None and self.new_text is not None
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


def _internal_error(path: str, exc: BaseException) -> SourceError:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" ({Path(frame.filename).name}:{frame.lineno})" if frame else ""
    return SourceError(path, 1, 1, f"internal error: {type(exc).__name__}: {exc}{where}; file left unchanged", kind="internal")


# Beyond this naive bracket depth (or unary-operator run) CPython's own parser is asked first:
# libcst's parser takes many seconds on such input before its visitors hit the recursion limit.
_SUSPICIOUS_DEPTH = 50
# Runs of 50 prefix operators: each alternative is searched only when its word occurs 50
# times at all (one alternation regex over every file was ~1.3 ms of a check).
_UNARY_RUNS = (
    (("-", "+", "~"), re.compile(r"[-+~](?:\s*[-+~]){49}")),
    (("not",), re.compile(r"(?:\bnot\s+){50}")),
    (("await",), re.compile(r"(?:\bawait\s+){50}")),
    (("lambda",), re.compile(r"(?:\blambda\s*:\s*){50}")),
)


def _unary_run(text: str) -> bool:
    return any(sum(text.count(w) for w in words) >= 50 and pattern.search(text) for words, pattern in _UNARY_RUNS)


_NOT_BRACKETS = re.compile(r"[^()\[\]{}]+")
_DEPTH_STEP = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


def nesting_error(text: str) -> Optional[tuple[int, str]]:
    """(line, message) when `text` is nested too deeply to process, found in milliseconds."""
    # C-level passes only (a per-character Python loop was ~1.5 % of a check)
    deepest = max(accumulate(map(_DEPTH_STEP.__getitem__, _NOT_BRACKETS.sub("", text))), default=0)
    if deepest < _SUSPICIOUS_DEPTH and not _unary_run(text):
        return None
    try:
        with warnings.catch_warnings():  # only the nesting matters here, not the code's warnings
            warnings.simplefilter("ignore")
            compile(text, "<nesting check>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except RecursionError:
        return 1, "expressions are nested too deeply to process (Python's own parser gives up too); file left unchanged"
    except SyntaxError as exc:
        if "too many nested" in str(exc.msg) or "too complex" in str(exc.msg):
            return exc.lineno or 1, f"{exc.msg} (Python's own parser rejects it too); file left unchanged"
    except (ValueError, MemoryError):
        pass
    return None


def process_text(text: str, path: str, settings: Settings, fix: bool,
                 policy: Optional[FixPolicy] = None) -> FileOutcome:
    """Check or fix one file's text. `policy` (fix only) chooses each finding's edit (`policy.py`)."""
    outcome = FileOutcome(path=path, old_text=text)
    if path.endswith(".ipynb"):
        from .notebook import process_notebook

        notebook = process_notebook(text, path, settings, fix, policy)
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
    if not may_have_findings(text):
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
        result = fix_source(text, path, settings, policy=policy)
        outcome.errors.extend(result.errors)
        outcome.fixed = result.fixed
        outcome.applied = result.applied
        outcome.findings = result.remaining
        outcome.new_text = result.source
        outcome.exposed = result.exposed
    else:
        lint = lint_source(text, path, settings)
        outcome.errors.extend(lint.errors)
        outcome.findings = lint.findings
        # the engine's own prefilter (trigger words of the selected rules only) passed it over
        outcome.skipped = lint.module is None and not lint.errors and not outcome.converted
        if to_original is not None:  # check reports the converted text's findings on the original's lines
            for item in (*outcome.findings, *outcome.errors):
                item.line = to_original(item.line)
                if hasattr(item, "end_line"):
                    item.end_line = to_original(item.end_line)
    return outcome


def process_source(path: Path, source: SourceText, settings: Settings, fix: bool, write: bool,
                   policy: Optional[FixPolicy] = None) -> FileOutcome:
    """Check or fix one decoded file; writes (atomically) only a changed file without input errors."""
    display = str(path)
    try:
        outcome = process_text(source.text, display, settings, fix, policy)
    except RecursionError:
        return FileOutcome(display, errors=[SourceError(display, 1, 1, "expressions are nested too deeply to process; file left unchanged")])
    except Exception as exc:  # a crash in one file never stops the others
        return FileOutcome(display, errors=[_internal_error(display, exc)])
    if write and outcome.changed and not any(e.kind == "error" for e in outcome.errors):
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
        finding.node = None
        finding.fix_node = None
        finding.edits = [type(e)(None, e.safety, e.title, e.needs_torch) for e in finding.edits]  # type: ignore[arg-type]
    return outcome


@dataclass(frozen=True)
class _Job:
    path: Path
    source: SourceText
    settings: Settings
    fix: bool
    write: bool
    policy: Optional[FixPolicy] = None


def _do_job(job: _Job) -> FileOutcome:
    return _strip(process_source(job.path, job.source, job.settings, job.fix, job.write, job.policy))


def _crashed(job: _Job, exc: BaseException) -> FileOutcome:
    display = str(job.path)
    return FileOutcome(display, errors=[SourceError(display, 1, 1, f"internal error: the worker process died on this file ({type(exc).__name__}); file left unchanged", kind="internal")])


def _tune_gc() -> None:
    """A parse allocates ~50k nodes that die together when the file is done (no cycles hold
    them): collecting young objects every 700 allocations, and rescanning the imported modules
    in the full passes, cost ~7% of a check. Frozen objects are still freed normally when
    their reference count drops; only the collector skips them."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def _sort_key(outcome: FileOutcome) -> tuple[str, ...]:
    return Path(outcome.path).parts


def run(
    paths: Sequence[str],
    settings: Settings,
    fix: bool = False,
    write: bool = True,
    exclude: Iterable[str] = (),
    jobs: Optional[int] = None,
    cache: Optional["Cache"] = None,
    progress: Optional[Callable[[FileOutcome], None]] = None,
    tune_gc: bool = False,
    policy: Optional[FixPolicy] = None,
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
    """
    report = RunReport()
    pending: list[_Job] = []
    keys: dict[str, str] = {}
    use_cache = cache is not None and not settings.convert_py2  # the cache keeps no conversion notes

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
                if display.endswith(".ipynb") or settings.convert_py2 or may_have_findings(source.text):
                    pending.append(_Job(path, source, file_settings, fix, write, policy))
                    if key is not None:
                        keys[display] = key
                    continue
                outcome = FileOutcome(display, old_text=source.text, new_text=source.text if fix else None, skipped=True)
            done(outcome)
            if key is not None and cache is not None:
                cache.put(key, outcome.findings, outcome.errors, outcome.skipped)
        workers = auto_jobs(len(pending)) if jobs is None else max(1, jobs)
        if workers > 1 or (tune_gc and pending):
            from . import engine  # noqa: F401  (imported once here; forked workers inherit it)
        if tune_gc and pending:
            _tune_gc()
        for outcome in run_parallel(_do_job, pending, workers, _crashed, progress=done):
            key = keys.get(outcome.path)
            if key is not None and cache is not None:
                cache.put(key, outcome.findings, outcome.errors, outcome.skipped)
    if cache is not None:
        cache.save()
    report.files.sort(key=_sort_key)
    return report
