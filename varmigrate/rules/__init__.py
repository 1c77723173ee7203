"""One rule per module; discovered by `varmigrate.registry`."""
