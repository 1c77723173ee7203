"""The shape of bench/targets.py's table (issue 15), on tiny inputs; no timed assertion."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import targets  # bench/targets.py (tests/conftest.py puts bench/ on the path)


def test_graded_rows_and_table() -> None:
    rows = [
        targets.graded("a", 1.6, 1.2),
        targets.graded("b", 1.5, 2.0),
        targets.graded("c", 1.2, 1.0, lower_bound=True),
        targets.graded("d", 4.0, 1.0, extra_miss=True),
        targets.Row("e", None, None, targets.SKIP, "not installed"),
    ]
    assert [r.status for r in rows] == ["PASS", "MISS", "MISS", "MISS", "SKIP"]
    table = targets.format_table(rows).splitlines()
    assert table[0] == "| target | limit | measured | status | detail |"
    assert len(table) == 2 + len(rows)
    assert table[2] == "| a | <= 1.6 | 1.20 | PASS |  |"
    assert table[4] == "| c | <= 1.2 | >= 1.00 | MISS |  |"
    assert table[6] == "| e | - | - | SKIP | not installed |"
    assert all(line.count("|") == 6 for line in table)


def test_inputs(tmp_path: Path) -> None:
    script = targets.volatile_script(100)
    assert script.count("volatile=True") == 2 * ((100 - targets.VOLATILE_HEADER.count("\n")) // 9)
    compile(script, "script.py", "exec")
    (tmp_path / "legacy_0001.py").write_text("from __future__ import print_function\n" + targets.LEGACY_TINY)
    (tmp_path / "clean.py").write_text(targets.CLEAN_TINY)
    (tmp_path / "nb.ipynb").write_text(
        '{"cells": [{"cell_type": "code", "source": ["%matplotlib inline\\n", "import torch\\n"]},'
        ' {"cell_type": "code", "source": "x = Variable(t, volatile=True)\\n"},'
        ' {"cell_type": "markdown", "source": "Variable"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 2}'
    )
    texts = targets.parsed_texts(tmp_path)
    assert len(texts) == 3  # the legacy module and both code cells; the clean file is never parsed
    assert not any(t.startswith("%") for t in texts)
    typical = targets.typical_file(tmp_path, 30)
    assert typical.count("\n") >= 30 and typical.count("from __future__") == 1
    compile(typical, "typical.py", "exec")


def test_import_trace() -> None:
    trace = "import time: self [us] | cumulative | imported package\nimport time:    10 |   20 |   libcst._nodes\n"
    assert targets.imports_libcst(trace)
    assert not targets.imports_libcst("import time:    10 |   20 |   click\n")


def test_verify_rows_without_the_speed_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "targets_verify", None)  # an import of it raises ImportError
    rows = targets.verify_rows()
    assert [r.limit for r in rows] == [1.6, 0.15]
    assert all(r.status == targets.SKIP and r.detail == "not measured here" for r in rows)


def test_pre_commit_rows_measure_both_cases(tmp_path: Path) -> None:
    rows = targets.pre_commit_rows(tmp_path, repeat=1, timeout=120)
    assert [r.limit for r in rows] == [2.5, 4.0]
    for row in rows:
        assert row.status in ("PASS", "MISS") and row.ratio is not None and row.ratio > 0
        assert "libcst not imported" in row.detail  # neither case may import libcst
