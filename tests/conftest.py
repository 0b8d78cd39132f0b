"""Shared fixtures of the repository's own checks."""

import os
import signal
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from kata.core.layout import REPO_ROOT, clone_checkout
from kata.instructor.checks import RepositoryRuns

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


def _guarded_state() -> tuple:
    """What a guarded call changes while it runs and must leave as it found: the stacks of
    torch's function and dispatch modes, and the trace and profile functions."""
    import torch

    return (torch._C._len_torch_function_stack(), torch._C._len_torch_dispatch_stack(),
            sys.gettrace(), sys.getprofile())


@pytest.fixture(autouse=True)
def guards_never_outlive_their_call(request):
    """After every test, the guards have let go of everything (issue 21: a guard left on by
    one test once failed correct code in a later one): this fails the test that leaked."""
    from kata.harness.guards import left_on

    before = _guarded_state()
    yield
    after = _guarded_state()
    assert after == before, (f"{request.node.nodeid} left the guards' state changed: torch "
                             f"function/dispatch modes, trace and profile were {before}, "
                             f"are {after}")
    still = left_on()
    assert still is None, f"{request.node.nodeid} left a guard on: {still}"


def _boxes() -> bool:
    from kata.runs import sandbox

    return sandbox.availability() is None


@pytest.fixture(scope="session")
def grade_options() -> list[str]:
    """What ``kata grade`` needs here: nothing where a box can be built; ``--unsandboxed``
    where none can (macOS, a container without user namespaces, ``KATA_SANDBOX=off``: CI runs
    the graded-mode and grading tests that way too), said on purpose, as an instructor must."""
    return [] if _boxes() else ["--unsandboxed"]


@pytest.fixture(scope="session")
def graded_mode() -> list[str]:
    """pytest's options for the graded mode here: boxed where a box can be built, else
    unboxed on purpose (see ``grade_options``)."""
    return ["--learner-process", *([] if _boxes() else ["--learner-unboxed"])]
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


def _with_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="session")
def with_ctrl_c():
    """``preexec_fn`` for a command a test then sends Ctrl-C (SIGINT): started as from a
    terminal, where SIGINT ends a command. A shell that runs this suite in the background
    has it ignored, and an ignored signal stays ignored in every program started below."""
    return _with_ctrl_c
