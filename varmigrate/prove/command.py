"""`varmigrate verify` with proofs: the harness's command plus ``--entry``, ``--apply`` and
``--rollback``; codebase mode (``--root DIR``) runs `session.prove`.  `fix --verify-with`
calls `run_proof` too: one code path, two spellings.

Importing this module imports only click and the harness's command module (no libcst, no
torch); everything else is imported when a proof runs.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..harness.command import verify as harness_verify

if TYPE_CHECKING:
    from ..harness.pairs import Options
    from .session import Outcome

_EPILOG = """\b
Modes:
  varmigrate verify BEFORE.py AFTER.py            two scripts (or two .ipynb notebooks)
  varmigrate verify --fixtures DIR                every DIR/*/before.py + after.py pair
  varmigrate verify --pairs BEFORE_DIR AFTER_DIR  same-named scripts of two trees
  varmigrate verify --root DIR [--unsafe-fixes] [--apply] -- ENTRY [ARGS]
                                                  fix a copy of DIR, run ENTRY before/after; if a
                                                  run differs, find the fixes that did it, keep
                                                  them back, re-verify; --apply writes the
                                                  proven tree into DIR
\b
Entry points: `-- ENTRY [ARGS]`, any number of `--entry "train.py --epochs 1"` /
`--entry "-m pytest tests/test_model.py"`, else `[tool.varmigrate.verify] entry-points`.
\b
Exit status: 0 when every pair (in codebase mode: every entry point of the final tree) is
IDENTICAL or EQUAL, 1 otherwise, 2 on usage errors.
"""


def run_proof(root: Path, entries: Sequence[list[str]], settings: Any, *, paths: Sequence[Path] | None = None,
              apply: bool, report_dir: Path | None, timeout: float = 120.0, device: str = "auto",
              jobs: int | None = None, seed: int = 0, executor: str = "fork", show_diff: bool = False,
              reference: str = "0.3", echo: Callable[[str], None] = click.echo) -> int:
    """Prove (and with `apply`, write) the fix of `root` (or of `paths` in it); the exit status."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise click.UsageError("proving a fix runs the program: it needs torch (pip install 'varmigrate[verify]')")
    from ..harness.api import start_executor
    from ..harness.pairs import Options
    from ..harness.worker import default_jobs
    from .apply import ApplyError
    from .session import prove

    root = root.resolve()
    fixed_entries = []
    for argv in entries:
        if argv[0] != "-m" and Path(argv[0]).is_absolute():
            try:
                argv = [str(Path(argv[0]).resolve().relative_to(root)), *argv[1:]]
            except ValueError:
                raise click.UsageError(f"entry point {argv[0]} is not inside {root}") from None
        if argv[0] != "-m" and not (root / argv[0]).exists():
            raise click.UsageError(f"entry point {argv[0]} not found under {root}")
        fixed_entries.append(argv)
    opts = Options(timeout=timeout, device=device, seed=seed, jobs=jobs or default_jobs(), executor=executor,
                   reference=reference)
    early = start_executor(executor)
    # the runs' folder outlives the proof until the report has read the final tree's source lines
    with tempfile.TemporaryDirectory(prefix="varmigrate-prove-") as work:
        try:
            out = prove(root, fixed_entries, settings, opts, early, paths=paths, apply=apply and not show_diff,
                        echo=echo, work=Path(work))
        except ApplyError as exc:
            echo(f"error: {exc}")
            return 1
        return _finish(out, opts, executor, apply, report_dir, show_diff, echo)


def _finish(out: Outcome, opts: Options, executor: str, apply: bool, report_dir: Path | None, show_diff: bool,
            echo: Callable[[str], None]) -> int:
    """Print the proof, write the report; the exit status."""
    from .evidence import sentence
    from .session import describe

    for r in out.final:
        d = r.decision
        events = d.diff.compared if d.diff else 0
        color = "green" if d.ok else ("yellow" if d.verdict in ("CLOSE", "INCONCLUSIVE") else "red")
        hits = sum(r.runs["before"].summary.get("shim_hits", {}).values())
        mapped = sum(r.runs["after"].summary.get("device_hits", {}).values())
        extra = (f"  shim×{hits}" if hits else "") + (f"  cuda→cpu×{mapped}" if mapped else "")
        echo(f"{click.style(f'{d.verdict:<14}', fg=color, bold=True)} {r.pair.name}  {events:>4} events{extra}"
             + ("" if d.ok else f"\n{'':<15}{d.reason}"))
    for kb in out.kept_back:
        c = kb.candidate
        ev = sentence(kb.evidence[0]) if kb.evidence else ""
        if kb.partners:
            ev += ("; only together with " + ", ".join(f"{p.location} {p.code}" for p in kb.partners)
                   + " (kept: harmless alone)")
        echo(f"kept back {c.location} {c.code}: {kb.action} ({kb.now}); {ev}")
    echo(describe(out) + (f"; {out.probes} probe(s), target <= {out.target}" if out.probes else "")
         + f" in {out.seconds:.1f}s")
    for err in out.fix_errors:
        echo(f"fix: {err}")
    if report_dir is None and apply and out.written:
        report_dir = out.root / ".varmigrate" / "report"
    # the patch of the proven tree: what --apply wrote (or, without it, would write)
    patch = out.patch if out.proven else ""
    patch_path = report_dir / "apply.patch" if report_dir is not None and patch else None
    if show_diff:
        click.echo(patch, nl=False)
    if out.written:
        echo(f"written: {len(out.written)} file(s)" + (f"; patch: {patch_path}" if patch_path else ""))
    elif apply and not show_diff:
        echo("nothing written: " + ("the fixed tree equals the tree" if out.proven else "the tree is not proven"))
    if report_dir is not None:
        from . import report

        rep = report.build(out, opts, executor, apply, patch_path)
        written = report.write(rep, report_dir, patch)
        echo("report: " + ", ".join(str(p) for p in written))
    return 0 if out.proven else 1


def _callback(paths: tuple[str, ...], entry: tuple[str, ...], apply: bool, rollback: bool, **kw: Any) -> None:
    root: Path | None = kw["root"]
    if root is None:
        if entry or apply or rollback:
            raise click.UsageError("--entry, --apply and --rollback need --root DIR")
        assert harness_verify.callback is not None
        harness_verify.callback(paths=paths, **kw)
        return
    from ..config import ConfigError, resolve_settings
    from .apply import ApplyError, recover
    from .runner import parse_entry

    if rollback:
        try:
            rec = recover(root.resolve(), rollback=True)
        except ApplyError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(rec.describe() or f"no interrupted apply in {root}")
        sys.exit(0)
    try:
        settings = resolve_settings([str(root)], None, select=_codes(kw["select"]), ignore=_codes(kw["ignore"]),
                                    unsafe_fixes=True if kw["unsafe_fixes"] else None)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        entries = ([list(paths)] if paths else []) + [parse_entry(e) for e in entry]
        if not entries:
            entries = [parse_entry(e) for e in settings.verify_entry_points]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if not entries:
        raise click.UsageError("codebase mode needs an entry point: `-- ENTRY [ARGS]`, `--entry \"...\"`, or "
                               "[tool.varmigrate.verify] entry-points in pyproject.toml")
    sys.exit(run_proof(root, entries, settings, apply=apply, report_dir=kw["report_dir"], timeout=kw["timeout"],
                       device=kw["device"], jobs=kw["jobs"], seed=kw["seed"], executor=kw["executor"],
                       reference=kw["reference"]))


def _codes(value: str | None) -> list[str]:
    return [c.strip().upper() for c in (value or "").split(",") if c.strip()]


verify = click.Command(
    "verify",
    callback=_callback,
    params=[*harness_verify.params,
            click.Option(["--entry"], multiple=True, metavar="\"ENTRY [ARGS]\"",
                         help="Codebase mode: an entry point to run (repeatable): `train.py --epochs 1`, "
                              "`-m pytest tests/test_model.py`."),
            click.Option(["--apply"], is_flag=True,
                         help="Codebase mode: write the proven tree into DIR (only when every entry point is "
                              "IDENTICAL or EQUAL; a journal makes the write recoverable)."),
            click.Option(["--rollback"], is_flag=True,
                         help="Codebase mode: undo an interrupted --apply in DIR instead of completing it.")],
    help=harness_verify.help,
    epilog=_EPILOG,
    short_help=harness_verify.short_help,
    context_settings=harness_verify.context_settings,
)
