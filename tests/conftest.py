"""Shared fixtures of the repository's own checks."""

import os
from pathlib import Path

import pytest

from kata.instructor.checks import RepositoryRuns
from kata.core.layout import clone_checkout
from kata.core.layout import REPO_ROOT

# Tests run the kata command in many copies of the checkout, each with its own warm worker
# (kata.runs.worker): those end 20 s after their last run, not after the 10 minutes a learner gets.
os.environ.setdefault("KATA_WORKER_IDLE", "20")


@pytest.fixture(scope="session")
def repository_runs(tmp_path_factory, pytestconfig) -> RepositoryRuns:
    """Every pytest run the checks read, started together and shared by all checks."""
    return RepositoryRuns(tmp_path_factory.mktemp("runs"),
                          profile=pytestconfig.getoption("hypothesis_profile", None))


@pytest.fixture(scope="session", autouse=True)
def start_repository_runs_early(request):
    """When this session has tests that read the repository's runs, start them with its
    first test: they take minutes on two processes, and the rest of the suite runs beside
    them instead of before them."""
    if any("repository_runs" in item.fixturenames for item in request.session.items):
        request.getfixturevalue("repository_runs")


@pytest.fixture
def checkout(tmp_path):
    """A fresh copy of the repository, as a learner's clone holds it: a test may edit it the
    way a learner would, and the real katas/ is never touched."""
    return clone_checkout(REPO_ROOT, tmp_path / "clone")


def _running(marker: str) -> bool:
    """Whether a process with ``marker`` in its command line exists (Linux's ``/proc``)."""
    for process in Path("/proc").iterdir():
        try:
            if process.name.isdigit() and marker.encode() in (process / "cmdline").read_bytes():
                return True
        except OSError:  # it ended while we looked
            pass
    return False


@pytest.fixture(scope="session")
def running():
    """``running(marker)``: whether a process whose command line holds ``marker`` exists, to
    see that the learner code a test started has started, and that none of it outlived the
    command that ran it."""
    return _running
