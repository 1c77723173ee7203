import sys
from pathlib import Path

import pytest

# bench/targets.py is imported by the tests of its table and for its generated script shapes
# (one definition of the dense volatile script for the bench and the tests).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

# tests/fixtures holds the programs and trees the tests run in children (one of the proof's
# trees has a `-m pytest` entry point, test_agent.py): never tests of this suite.  Collected, it
# ran first, in the suite's own process, and imported torch (and its native threads) into it.
collect_ignore_glob = ["fixtures/*"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-fixtures",
        action="store_true",
        help="Rewrite .after.py and .check.txt fixtures from the current output (review with git diff).",
    )


@pytest.fixture
def update_fixtures(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-fixtures"))
