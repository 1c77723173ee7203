"""`[tool.varmigrate.verify] entry-points` and the entry-point syntax."""

from __future__ import annotations

from pathlib import Path

import pytest

from varmigrate.config import ConfigError, load_config
from varmigrate.prove.runner import entry_name, parse_entry


def _cfg(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    return path


def test_entry_points_are_read(tmp_path: Path) -> None:
    s = load_config(_cfg(tmp_path, '[tool.varmigrate.verify]\nentry-points = ["train.py --epochs 1", "-m pytest -q"]\n'))
    assert s.verify_entry_points == ["train.py --epochs 1", "-m pytest -q"]


@pytest.mark.parametrize("text, match", [
    ('[tool.varmigrate.verify]\nentry-point = ["a.py"]\n', "unknown key `entry-point`"),
    ('[tool.varmigrate.verify]\nentry-points = "a.py"\n', "must be a list of strings"),
    ('[tool.varmigrate]\nverify = 1\n', "must be a table"),
])
def test_bad_verify_tables_name_the_key(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(_cfg(tmp_path, text))


def test_entry_syntax() -> None:
    assert parse_entry("train.py --epochs 1") == ["train.py", "--epochs", "1"]
    assert parse_entry("-m pytest 'tests/test model.py'") == ["-m", "pytest", "tests/test model.py"]
    assert entry_name(["-m", "pytest", "tests/test model.py"]) == "-m pytest 'tests/test model.py'"
    for bad in ("", "-m"):
        with pytest.raises(ValueError):
            parse_entry(bad)
