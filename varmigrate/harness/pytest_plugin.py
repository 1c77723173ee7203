"""pytest plugin loaded into the child for ``-m pytest`` entries: reseeds before every test
(as pytest-randomly does with a fixed seed) and records each test's outcome."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: Any) -> None:
    from .execute import seed_everything

    seed_everything(int(os.environ.get("VARMIGRATE_SEED", "0")))


def pytest_runtest_logreport(report: Any) -> None:
    if report.when == "call" or report.outcome != "passed":
        out = os.environ.get("VARMIGRATE_RUN_DIR")
        if out:
            with open(os.path.join(out, "tests.jsonl"), "a", encoding="utf-8") as f:
                f.write(json.dumps({"test": report.nodeid, "when": report.when,
                                    "outcome": report.outcome}) + "\n")
