"""-j N: same output as -j 1, in path order; one file's failure (even a dead worker) stops nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from varmigrate import api
from varmigrate.api import run
from varmigrate.cli import main
from varmigrate.config import Settings
from varmigrate.parallel import auto_jobs, run_parallel

LEGACY = "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones({n}))\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for i in range(24):
        folder = tmp_path / ("b" if i % 2 else "a") / f"d{i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"m{i:02d}.py").write_text(LEGACY.format(n=i))
    (tmp_path / "a" / "broken.py").write_text("import torch\nfrom torch.autograd import Variable\nx = (\n")
    (tmp_path / "clean.py").write_text("print(1)\n")
    return tmp_path


def _summary(report: api.RunReport) -> list[tuple]:
    return [(o.path, [(f.line, f.column, f.code, f.message) for f in o.findings], [(e.line, e.message) for e in o.errors]) for o in report.files]


def test_parallel_matches_serial_and_is_sorted(tree: Path) -> None:
    serial = run([str(tree)], Settings(), jobs=1)
    parallel = run([str(tree)], Settings(), jobs=2)
    assert _summary(parallel) == _summary(serial)
    paths = [Path(o.path).parts for o in serial.files]
    assert paths == sorted(paths)
    assert len(serial.findings) == 24 and len(serial.errors) == 1


def test_parallel_fix_writes_every_file(tree: Path) -> None:
    report = run([str(tree)], Settings(), fix=True, jobs=2)
    assert len(report.changed_files) == 24
    for path in tree.rglob("m*.py"):
        assert "Variable" not in path.read_text()


_REAL_DO_JOB = api._do_job


def _explode_on_m05(job: api._Job) -> api.FileOutcome:
    if job.path.name == "m05.py":
        os._exit(9)  # a worker dying outright (segfault, OOM kill)
    return _REAL_DO_JOB(job)


def test_dead_worker_costs_only_its_file(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "_do_job", _explode_on_m05)
    report = run([str(tree)], Settings(), jobs=2)
    crashed = [o for o in report.files if any("worker process died" in e.message for e in o.errors)]
    assert [Path(o.path).name for o in crashed] == ["m05.py"]
    assert len(report.findings) == 23


def test_exception_in_one_file_is_reported(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = api.process_text

    def flaky(text: str, path: str, settings: Settings, fix: bool, policy: object = None, edits: bool = False,
              facts: object = None) -> api.FileOutcome:
        if path.endswith("m07.py"):
            raise ValueError("rule bug")
        return real(text, path, settings, fix, edits=edits, facts=facts)  # type: ignore[arg-type]

    monkeypatch.setattr(api, "process_text", flaky)
    for jobs in (1, 2):
        report = run([str(tree)], Settings(), jobs=jobs)
        bad = [o for o in report.files if o.errors and o.errors[0].kind == "internal"]
        assert [Path(o.path).name for o in bad] == ["m07.py"]
        assert "ValueError: rule bug" in bad[0].errors[0].message
        assert len(report.findings) == 23


def test_run_parallel_keeps_order_and_reports_progress() -> None:
    seen: list[int] = []
    assert run_parallel(abs, list(range(-40, 0)), 2, lambda item, exc: -1, progress=seen.append) == list(range(40, 0, -1))
    assert sorted(seen) == list(range(1, 41))


def test_auto_jobs() -> None:
    assert auto_jobs(0) == auto_jobs(3) == 1
    assert 1 <= auto_jobs(500) <= (os.cpu_count() or 1)


def test_cli_jobs_output_identical(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    runner = CliRunner()
    one = runner.invoke(main, ["check", "--no-cache", "-j", "1", "."])
    two = runner.invoke(main, ["check", "--no-cache", "-j", "2", "."])
    assert one.exit_code == two.exit_code == 2
    assert one.output == two.output
    assert runner.invoke(main, ["check", "-j", "0", "."]).exit_code == 2  # usage error
