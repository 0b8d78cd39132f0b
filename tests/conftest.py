"""Shared fixtures of the repository's own checks."""

import shutil

import pytest

from kata.checks import RepositoryRuns
from kata.manifest import REPO_ROOT

#: what a learner's clone holds, as far as the kata command and the tests see it
CLONED = ["katas", "solutions", "src", "conftest.py", "pyproject.toml", "README.md", ".gitignore"]


@pytest.fixture(scope="session")
def repository_runs(tmp_path_factory, pytestconfig) -> RepositoryRuns:
    """Every pytest run the checks read, started together and shared by all checks."""
    return RepositoryRuns(tmp_path_factory.mktemp("runs"),
                          profile=pytestconfig.getoption("hypothesis_profile", None))


@pytest.fixture
def checkout(tmp_path):
    """A fresh copy of the repository, as a learner's clone holds it: a test may edit it the
    way a learner would, and the real katas/ is never touched."""
    root = tmp_path / "clone"
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", ".kata", "*.egg-info")
    for name in CLONED:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=ignore)
        else:
            shutil.copy2(source, root / name)
    return root
