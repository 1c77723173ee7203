"""[tool.varmigrate] in pyproject.toml: discovery, keys, errors (exit 2), CLI precedence."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from varmigrate.cli import main
from varmigrate.config import ConfigError, Settings, find_config, load_config, resolve_settings

LEGACY = "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(3))\nif type(x) == Variable:\n    pass\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "sub" / "m.py").write_text(LEGACY)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.py").write_text(LEGACY)
    return tmp_path


def write_config(root: Path, body: str) -> Path:
    path = root / "pyproject.toml"
    path.write_text("[project]\nname = 'x'\n\n[tool.varmigrate]\n" + body)
    return path


def check(*args: str):
    return CliRunner().invoke(main, ["check", "--no-cache", *args])


def test_nearest_pyproject_with_our_table_wins(project: Path) -> None:
    write_config(project, "ignore = ['VM105']\n")
    (project / "pkg" / "pyproject.toml").write_text("[tool.black]\nline-length = 100\n")  # not ours
    found = find_config(["pkg/sub/m.py"])
    assert found is not None and found.resolve() == (project / "pyproject.toml").resolve()
    (project / "pkg" / "pyproject.toml").write_text("[tool.varmigrate]\nselect = ['VM105']\n")
    assert find_config(["pkg/sub"]).resolve() == (project / "pkg" / "pyproject.toml").resolve()
    assert find_config([], cwd=project / "tests").resolve() == (project / "pyproject.toml").resolve()


def test_keys_apply(project: Path) -> None:
    write_config(project, """
select = ["VM1"]
ignore = ["VM105"]
extend-select = ["VM901"]
extend-exclude = ["build_*"]
unsafe-fixes = true
[tool.varmigrate.per-file-ignores]
"tests/*" = ["VM101"]
""")
    settings = load_config(project / "pyproject.toml")
    assert settings.is_selected("VM101") and not settings.is_selected("VM105") and settings.is_selected("VM901")
    assert not settings.is_selected("VM201")
    assert settings.unsafe_fixes
    assert settings.for_path("tests/t.py").ignore == ["VM105", "VM101"]
    assert settings.for_path("pkg/sub/m.py") is settings
    assert settings.is_excluded("build_x/a.py") and not settings.is_excluded("pkg/a.py")


def test_per_file_ignores_through_the_cli(project: Path) -> None:
    write_config(project, "[tool.varmigrate.per-file-ignores]\n\"tests/*\" = [\"VM1\"]\n")
    result = check(".")
    assert "pkg/sub/m.py:3:5: VM101" in result.output
    assert "tests/t.py" not in result.output


def test_exclude_and_force_exclude(project: Path) -> None:
    write_config(project, "extend-exclude = [\"tests\"]\n")
    assert "tests/t.py" not in check(".").output
    # A file named explicitly is checked, unless --force-exclude (what pre-commit passes).
    assert "tests/t.py:3:5" in check("tests/t.py").output
    result = check("--force-exclude", "tests/t.py")
    assert "tests/t.py" not in result.output and result.exit_code == 0
    # So is a folder named explicitly, even one an exclude pattern covers (ruff does the same).
    assert "tests/t.py:3:5" in check("tests").output
    assert "tests/t.py" not in check("--force-exclude", "tests").output


def test_excludes_below_an_explicit_folder_still_apply(project: Path) -> None:
    write_config(project, "extend-exclude = [\"sub\"]\n")
    (project / "pkg" / "top.py").write_text(LEGACY)
    output = check("pkg").output
    assert "pkg/top.py:3:5" in output and "pkg/sub/m.py" not in output


def test_command_line_overrides_configuration(project: Path) -> None:
    write_config(project, "select = ['VM105']\nunsafe-fixes = true\n")
    assert "VM101" not in check("pkg").output
    assert "VM101" in check("--select", "VM101", "pkg").output
    assert "VM105 [*]" in check("pkg").output  # unsafe fix counts as available
    assert "VM105 [*]" not in check("--no-unsafe-fixes", "pkg").output
    settings = resolve_settings(["pkg"], select=["VM1"], ignore=["VM102"])
    assert settings.select == ["VM1"] and "VM102" in settings.ignore


def test_explicit_config_path(project: Path) -> None:
    other = project / "other.toml"
    other.write_text("[tool.varmigrate]\nselect = ['VM105']\n")
    write_config(project, "select = ['VM101']\n")
    result = check("--config", str(other), "pkg")
    assert "VM105" in result.output and "VM101" not in result.output


@pytest.mark.parametrize(
    "body, needle",
    [
        ("selct = ['VM1']\n", "unknown key `selct` in [tool.varmigrate] (did you mean `select`?)"),
        ("select = 'VM1'\n", "`select` must be a list of strings"),
        ("unsafe-fixes = 'yes'\n", "`unsafe-fixes` must be true or false"),
        ("ignore = ['E501']\n", "`ignore` has 'E501', which is not a varmigrate code"),
        ("per-file-ignores = ['x']\n", "`per-file-ignores` must be a table"),
        ("select = [\n", "invalid TOML"),
        ("unfixable = ['NOPE']\n", "`unfixable` has 'NOPE'"),
        ("extend-safe-fixes = 'VM105'\n", "`extend-safe-fixes` must be a list of strings"),
        ("extend-unsafe-fixes = ['X1']\n", "`extend-unsafe-fixes` has 'X1'"),
        ("docs-url = 3\n", "`docs-url` must be a URL string"),
    ],
)
def test_bad_configuration_exits_2_naming_key_and_file(project: Path, body: str, needle: str) -> None:
    path = write_config(project, body)
    with pytest.raises(ConfigError, match="pyproject.toml"):
        load_config(path)
    result = check("pkg")
    assert result.exit_code == 2
    assert needle in result.output
    assert str(path) in result.output


def test_default_settings_without_configuration(project: Path) -> None:
    settings = resolve_settings(["pkg"], cwd=project)
    assert settings.select == Settings().select and settings.config_path is None


FIX_OVERRIDES = (
    "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(3))\n"
    "if type(x) == Variable:\n    pass\n"
)


def fix(*args: str):
    return CliRunner().invoke(main, ["fix", *args])


def test_unfixable_reports_without_fixing(project: Path) -> None:
    (project / "m.py").write_text(FIX_OVERRIDES)
    write_config(project, "unfixable = ['VM101']\n")
    result = check("m.py")
    assert "m.py:3:5: VM101 `Variable" in result.output  # reported, no [*]
    assert fix("--unsafe-fixes", "m.py").exit_code == 1
    text = (project / "m.py").read_text()
    assert "Variable(torch.ones(3))" in text and "isinstance(x, torch.Tensor)" in text


def test_extend_safe_and_unsafe_fixes_swap_what_fix_applies(project: Path) -> None:
    (project / "m.py").write_text(FIX_OVERRIDES)
    write_config(project, "extend-safe-fixes = ['VM105']\nextend-unsafe-fixes = ['VM1']\n")
    result = check("m.py")
    assert "m.py:4:4: VM105 [*]" in result.output and "m.py:3:5: VM101 `Variable" in result.output
    fix("m.py")
    text = (project / "m.py").read_text()
    assert "Variable(torch.ones(3))" in text and "if isinstance(x, torch.Tensor):" in text


def test_the_more_specific_fix_override_wins(project: Path) -> None:
    (project / "m.py").write_text(FIX_OVERRIDES)
    write_config(project, "extend-unsafe-fixes = ['VM']\nextend-safe-fixes = ['VM101']\n")
    output = check("m.py").output
    assert "m.py:3:5: VM101 [*]" in output and "VM105 [*]" not in output


def test_rule_links_are_absolute_urls(project: Path) -> None:
    import json

    (project / "m.py").write_text(FIX_OVERRIDES)
    write_config(project, "")
    payload = json.loads(check("--output-format", "json", "m.py").output)
    url = payload["findings"][0]["url"]
    # Declared once, in pyproject.toml [project.urls] (read from the package metadata).
    assert url.startswith("https://") and url.endswith("/rules/VM101.md")
    write_config(project, "docs-url = 'https://docs.example.org/varmigrate/{code}.html'\n")
    payload = json.loads(check("--output-format", "json", "m.py").output)
    assert payload["findings"][0]["url"] == "https://docs.example.org/varmigrate/VM101.html"
    write_config(project, "docs-url = 'https://docs.example.org/vm/'\n")
    sarif = json.loads(check("--output-format", "sarif", "m.py").output)
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["VM105"]["helpUri"] == "https://docs.example.org/vm/rules/VM105.md"


def test_default_docs_url_is_the_one_in_pyproject() -> None:
    import sys

    from varmigrate import config

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    declared = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]["urls"]["Documentation"]
    assert config.default_docs_url() == declared
    assert config._read_docs_url() == declared
