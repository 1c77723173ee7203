"""The check cache: hits skip parsing, any change of content, settings or version misses."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from varmigrate import api
from varmigrate import cache as cache_module
from varmigrate.api import run
from varmigrate.cache import Cache
from varmigrate.cli import main
from varmigrate.config import Settings

LEGACY = "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(3))\n"
BROKEN = "import torch\nfrom torch.autograd import Variable\nprint Variable\n"


def _lines(report: api.RunReport) -> list[tuple]:
    return [(f.path, f.line, f.column, f.code, f.message, f.fix_safety, f.fix_title) for f in report.findings] + [
        (e.path, e.line, e.column, e.message, e.kind) for e in report.errors
    ]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "a.py").write_text(LEGACY)
    (tmp_path / "b.py").write_text(BROKEN)
    (tmp_path / "c.py").write_text("print('clean')\n")
    return tmp_path


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from varmigrate import engine

    parsed: list[str] = []
    real = engine.lint_source

    def spy(text, path, settings, *args, **kwargs):  # type: ignore[no-untyped-def]
        parsed.append(path)
        return real(text, path, settings, *args, **kwargs)

    monkeypatch.setattr(engine, "lint_source", spy)
    return parsed


def test_second_run_is_served_from_cache(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = _count_parses(monkeypatch)
    settings = Settings()
    cold = run([str(tree)], settings, cache=Cache(tmp_path / "cache", settings), jobs=1)
    assert sorted(Path(p).name for p in parsed) == ["a.py", "b.py"]
    parsed.clear()
    warm = run([str(tree)], settings, cache=Cache(tmp_path / "cache", settings), jobs=1)
    assert parsed == []
    assert _lines(warm) == _lines(cold)
    assert any(e.message.startswith("SyntaxError") or "Python 2" in e.message for e in warm.errors)
    # The cache folder marks itself as such for backup tools and git.
    assert (tmp_path / "cache" / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (tmp_path / "cache" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_changed_content_settings_or_code_miss(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = _count_parses(monkeypatch)
    settings = Settings()
    run([str(tree)], settings, cache=Cache(tmp_path / "cache", settings), jobs=1)
    parsed.clear()
    (tree / "a.py").write_text(LEGACY + "y = Variable(torch.zeros(2))\n")
    report = run([str(tree)], settings, cache=Cache(tmp_path / "cache", settings), jobs=1)
    assert [Path(p).name for p in parsed] == ["a.py"]
    assert [f.line for f in report.findings if f.code == "VM101"] == [3, 4]
    parsed.clear()
    other = Settings(select=["VM101"])
    only = run([str(tree)], other, cache=Cache(tmp_path / "cache", other), jobs=1)
    assert sorted(Path(p).name for p in parsed) == ["a.py", "b.py"]
    assert {f.code for f in only.findings} == {"VM101"}
    parsed.clear()
    monkeypatch.setattr(cache_module, "__version__", "999")
    run([str(tree)], settings, cache=Cache(tmp_path / "cache", settings), jobs=1)
    assert sorted(Path(p).name for p in parsed) == ["a.py", "b.py"]


def test_io_errors_are_never_cached(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    store = Cache(tmp_path / "cache", settings)
    real_put = store.put
    stored: list[list[str]] = []

    def put(key, findings, errors, skipped=False, dependencies=None):  # type: ignore[no-untyped-def]
        stored.append([e.kind for e in errors])
        real_put(key, findings, errors, skipped, dependencies)

    monkeypatch.setattr(store, "put", put)
    # An internal error (a crash in a rule) and an I/O error must be retried next time.
    monkeypatch.setattr(api, "process_text", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    report = run([str(tree)], settings, cache=store, jobs=1)
    assert {e.kind for e in report.errors} == {"internal"}
    store.save()
    fresh = Cache(tmp_path / "cache", settings)
    assert fresh._entries == {k: v for k, v in fresh._entries.items() if not v["errors"]}
    assert all(not any(k == "internal" for k in kinds) for kinds in [[e["kind"] for e in v["errors"]] for v in fresh._entries.values()])


def test_corrupt_or_unwritable_cache_is_harmless(tree: Path, tmp_path: Path) -> None:
    settings = Settings()
    folder = tmp_path / "cache"
    store = Cache(folder, settings)
    run([str(tree)], settings, cache=store, jobs=1)
    store.file.write_text("{not json")
    again = run([str(tree)], settings, cache=Cache(folder, settings), jobs=1)
    assert [f.code for f in again.findings] == ["VM101"] * len(again.findings) and again.findings
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("")
    report = run([str(tree)], settings, cache=Cache(blocker / "cache", settings), jobs=1)
    assert report.findings  # the run still works; only the cache is skipped


def test_cli_cache_options(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    runner = CliRunner()
    first = runner.invoke(main, ["check", "--cache-dir", str(tmp_path / "cc"), "a.py"])
    assert first.exit_code == 1 and "VM101" in first.output
    assert list((tmp_path / "cc").glob("check-*.json"))
    second = runner.invoke(main, ["check", "--cache-dir", str(tmp_path / "cc"), "a.py"])
    assert second.output == first.output
    runner.invoke(main, ["check", "--no-cache", "a.py"])
    assert not (tree / ".varmigrate_cache").exists()
    # Default location: the project root (here: the folder with pyproject.toml).
    (tree / "pyproject.toml").write_text("")
    sub = tree / "pkg"
    sub.mkdir()
    (sub / "m.py").write_text(LEGACY)
    monkeypatch.chdir(sub)
    monkeypatch.delenv("VARMIGRATE_CACHE_DIR", raising=False)
    runner.invoke(main, ["check", "m.py"])
    assert (tree / ".varmigrate_cache" / "CACHEDIR.TAG").exists()


def test_notebook_findings_keep_their_cell_from_the_cache(tmp_path: Path) -> None:
    import json

    notebook = {
        "cells": [
            {"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {}, "outputs": [],
             "source": ["import torch\n", "from torch.autograd import Variable"]},
            {"cell_type": "code", "execution_count": 2, "id": "b", "metadata": {}, "outputs": [],
             "source": ["%matplotlib inline\n", "x = Variable(torch.ones(3))\n"]},
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(notebook, indent=1) + "\n")
    settings = Settings()
    cold = run([str(path)], settings, cache=Cache(tmp_path / "cache", settings), jobs=1)
    warm = run([str(path)], settings, cache=Cache(tmp_path / "cache", settings), jobs=1)
    assert [(f.cell, f.line, f.code) for f in cold.findings] == [(2, 2, "VM101")]
    assert [(f.cell, f.line, f.code) for f in warm.findings] == [(2, 2, "VM101")]
