"""Command line: a thin click layer over `varmigrate.api` (exit codes are bit flags, as in Fixit).

Options follow ruff's names and meanings. `check.py` and `fix.py` hold the two main commands,
`common.py` what they share (the options, settings, printing); nothing here may import libcst at
module level: a pre-commit run on clean files never needs it.
"""

from __future__ import annotations

import importlib
from typing import Optional

import click

from .. import __version__
from .check import check
from .fix import fix


class _Commands(click.Group):
    """A group whose heavier commands are imported when named (or listed): `check` in a pre-commit
    run does not import `verify`'s modules (the harness command imports the thread-pool machinery)."""

    lazy = {"verify": ("..prove.command", "verify")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, attribute = self.lazy[cmd_name]
            self.add_command(getattr(importlib.import_module(module, __package__), attribute))
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="varmigrate")
def main() -> None:
    """Migrate legacy (0.3-era) PyTorch autograd code and prove the gradients did not change."""


main.add_command(check)
main.add_command(fix)


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="List every rule (code, name, fix safety, message).")
def rule(code: Optional[str], show_all: bool) -> None:
    """Explain a rule (`varmigrate rule VM101`), or list them all (`--all`)."""
    from ..docs import render_rule, rule_table
    from ..registry import rule_by_code

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
        from ..server import serve
    except ModuleNotFoundError as exc:  # pygls is optional
        if (exc.name or "").split(".")[0] not in ("pygls", "lsprotocol"):
            raise
        raise click.ClickException(f"{exc}; install the server extra: pip install \"varmigrate[server]\"") from None
    serve()

