"""Shared fixtures of the repository's own checks."""

import pytest

from kata.checks import RepositoryRuns


@pytest.fixture(scope="session")
def repository_runs(tmp_path_factory, pytestconfig) -> RepositoryRuns:
    """Every pytest run the checks read, started together and shared by all checks."""
    return RepositoryRuns(tmp_path_factory.mktemp("runs"),
                          profile=pytestconfig.getoption("hypothesis_profile", None))
