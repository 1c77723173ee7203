"""``python -m varmigrate.harness ...`` is ``varmigrate verify ...``."""

from .command import verify

verify(prog_name="varmigrate verify")
