"""Shared fixtures of the repository's own checks."""

import os
from concurrent.futures import Future, ThreadPoolExecutor

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


@pytest.fixture(scope="session")
def classroom_rehearsals(request, tmp_path_factory) -> Future:
    """The Classroom workflow rehearsed for the learners of tests/test_classroom.py (its
    ``rehearse_learners``), in a thread of its own: a fresh environment's install takes a
    minute and more, mostly on one core, and the rest of the suite runs beside it."""
    module = next(item.module for item in request.session.items
                  if "classroom_rehearsals" in item.fixturenames)
    pool = ThreadPoolExecutor(max_workers=1)
    rehearsals = pool.submit(module.rehearse_learners, tmp_path_factory.mktemp("classroom"))
    pool.shutdown(wait=False)
    return rehearsals


#: the session fixtures whose work takes minutes beside the tests: started with the first test
#: of a session that reads them, so that the rest of the suite runs beside them, not after
EARLY = ("repository_runs", "classroom_rehearsals")


@pytest.fixture(scope="session", autouse=True)
def start_long_work_early(request):
    for name in EARLY:
        if any(name in item.fixturenames for item in request.session.items):
            request.getfixturevalue(name)


@pytest.fixture
def checkout(tmp_path):
    """A fresh copy of the repository, as a learner's clone holds it: a test may edit it the
    way a learner would, and the real katas/ is never touched."""
    return clone_checkout(REPO_ROOT, tmp_path / "clone")
