"""Run katas' tests in a fresh pytest process and read back each test's outcome.

Each run is its own process (a new one, or a fork of the warm worker), so the code under
test never leaks between runs, and a learner's module that hangs or crashes cannot take the
caller down with it.

>>> run = run_katas(["01_broadcasting"], solutions=True)           # doctest: +SKIP
>>> {test.outcome.value for test in run.of("01_broadcasting")}    # doctest: +SKIP
{'passed'}
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kata.core.errors import KataError
from kata.core.layout import HARNESS, REPO_ROOT
from kata.core.processes import descendants, kill_all, limit_data, python_path
from kata.core.records import RunRecord, TestRecord
from kata.runs.supervisor import DISK_LIMIT, PROCESS_LIMIT

if TYPE_CHECKING:
    from kata.runs.worker import Home

#: The bytes of a run's output kept (its tail): a run's report is read from its record; the
#: output is for a person to read, and a run may print without end.
OUTPUT_KEPT = 256 << 10


class Box(Protocol):
    """How a supervised run starts (grading's, ``kata.grading.service.box_for``): the
    command that runs ``command`` under the supervisor (and in a box, where it boxes it),
    with ``scratch`` as the run's scratch folder, and the whole environment its tests'
    process gets there (a run forked from a warm worker gets it as it is)."""

    def __call__(self, command: list[str], scratch: Path) -> list[str]: ...

    def environment(self, scratch: Path) -> dict[str, str]: ...

#: Seconds a supervised run gets to end its whole tree once asked (its supervisor polls ten
#: times a second; a busy machine may take longer to schedule it).
_END_GRACE = 30


@dataclass(frozen=True)
class Run:
    """What one pytest process reported, and what it printed."""

    exitstatus: int
    tests: tuple[TestRecord, ...]
    output: str

    def of(self, kata: str) -> list[TestRecord]:
        return [test for test in self.tests if test.kata == kata]


class RunStoppedError(KataError):
    """The pytest process ended before writing its report: it ran past its time limit, was
    killed, or the code under test ended the interpreter (``os._exit``). The message says
    which, in words a learner can act on; ``output`` is what the process printed."""

    def __init__(self, reason: str, output: str = ""):
        super().__init__(reason)
        self.output = output


def run_katas(katas: Sequence[str], *, solutions: bool = False, impl: Path | None = None,
              extra_args: Sequence[str] = (), environment: dict[str, str] | None = None,
              timeout: float = 600, memory_limit: int | None = None,
              checkout: Path = REPO_ROOT, warm: bool | Home = False, box: Box | None = None,
              cancelled: threading.Event | None = None, nice: int = 0) -> Run:
    """Run the tests of ``katas`` (folder names) against the learner's code, the solutions
    (``solutions=True``) or the tree at ``impl``, in a new process in ``checkout``, with
    ``environment`` added to this process's.

    The process gets ``timeout`` seconds and, where the system allows it, ``memory_limit``
    bytes of data; past either, or if it dies, ``RunStoppedError`` says why (and, past the time
    limit, which test was running). With ``warm``, the process is a fork of the checkout's
    warm worker (kata.runs.worker), or of the worker ``warm`` names (a ``Home``: grading's),
    a plain new process where no worker can be had. A warm run ends once ``cancelled`` is
    set (``kata.runs.worker.RunCancelledError``), and runs at a lower priority with ``nice``.

    ``box`` (grading) turns the command into one that runs it under the supervisor (see
    ``kata.runs.sandbox``); it is given the run's fresh scratch folder, where the report is written
    and read back only once every process of the run has ended. A warm run with a ``box``
    gets the box's environment, nothing of this process's.
    """
    with tempfile.TemporaryDirectory() as scratch:
        report, running = Path(scratch) / "report.json", Path(scratch) / "running"
        arguments = [*(f"katas/{kata}" for kata in katas), "--kata-json", str(report),
                     "--kata-running", str(running), "-q", "-p", "no:cacheprovider", *extra_args]
        if solutions:
            arguments.append("--solutions")
        if impl is not None:
            arguments += ["--impl", str(impl)]
        env = {**os.environ, "PYTHONPATH": python_path(checkout / HARNESS.parent,
                                                      inherited=os.environ.get("PYTHONPATH")),
               **(environment or {})}
        returncode, output = None, ""
        if warm:
            caps = None
            if box is not None:  # what the supervisor would give it and hold it to
                env = box.environment(Path(scratch))
                caps = {"memory": memory_limit or 0, "processes": PROCESS_LIMIT,
                        "disk": DISK_LIMIT, "scratch": scratch}
            home = None if warm is True else warm
            returncode, output = _run_forked(checkout, arguments, env, timeout, memory_limit,
                                             Path(scratch) / "output", running, cancelled, nice,
                                             home, caps)
        if returncode is None:
            returncode, output = _run_process(checkout, arguments, env, timeout, memory_limit,
                                              running, box)
        if not report.exists():
            raise RunStoppedError(_why_stopped(returncode), output)
        try:
            record = RunRecord.from_json(report.read_text(encoding="utf-8", errors="replace"))
        except (ValueError, KeyError, TypeError) as error:  # code under test wrote over it
            raise RunStoppedError(f"the test report is unreadable ({type(error).__name__}: "
                                  f"{error})", output) from None
    return Run(record.exitstatus, record.tests, output)


def _run_process(checkout: Path, arguments: list[str], env: dict[str, str], timeout: float,
                 memory_limit: int | None, running: Path, box: Box | None = None
                 ) -> tuple[int, str]:
    """``python -m pytest ARGUMENTS`` in a new process (in ``box``, if given): its exit code
    and output. Past ``timeout``, or when this thread is interrupted, the whole tree of the
    run's processes ends before this returns (``_end_tree``)."""
    command = [sys.executable, "-m", "pytest", *arguments]
    if box is not None:
        command = box(command, running.parent)
    process = subprocess.Popen(command, cwd=checkout, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env,
                               preexec_fn=functools.partial(limit_data, memory_limit))
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RunStoppedError(_timed_out(timeout, running),
                              _end_tree(process, supervised=box is not None)) from None
    except BaseException:  # Ctrl-C: nothing of the run may outlive it either
        _end_tree(process, supervised=box is not None)
        raise
    return process.returncode, stdout + stderr


def _end_tree(process: subprocess.Popen, *, supervised: bool) -> str:
    """End ``process`` and every process below it; returns what it printed.

    A supervised run (``kata.runs.supervisor``) is asked with SIGTERM: the supervisor kills
    every process it started or adopted (it is their subreaper, so a detached one is still
    below it), prints its output's tail and exits. A SIGKILL would end the supervisor alone
    and leave the tests' process and the learner's box running, orphaned. Only where it does
    not end within ``_END_GRACE`` seconds, and for an unsupervised run, is the tree killed
    from here, from the leaves' side of ``/proc`` first."""
    if supervised:
        process.terminate()
        try:
            stdout, stderr = process.communicate(timeout=_END_GRACE)
            return stdout + stderr
        except subprocess.TimeoutExpired:
            pass
    for _ in range(3):  # a process may fork while we look
        kill_all(descendants(process.pid))
    process.kill()
    try:  # a detached process that escaped the kill may hold the pipes open: wait no longer
        stdout, stderr = process.communicate(timeout=_END_GRACE)
    except subprocess.TimeoutExpired as held:
        process.wait()
        stdout, stderr = _text(held.stdout), _text(held.stderr)
    return stdout + stderr


def _run_forked(checkout: Path, arguments: list[str], env: dict[str, str], timeout: float,
                memory_limit: int | None, output: Path, running: Path,
                cancelled: threading.Event | None, nice: int, home: Home | None,
                caps: dict | None) -> tuple[int | None, str]:
    """The same run in a fork of the warm worker: its exit code and output; (None, "")
    when no worker can be had."""
    from kata.runs import worker  # the client side only: it imports neither torch nor pytest

    try:
        returncode = worker.run_forked(checkout, arguments, environment=env, timeout=timeout,
                                       memory_limit=memory_limit, output=output,
                                       cancelled=cancelled, nice=nice, home=home, caps=caps)
    except worker.WorkerUnavailableError:
        return None, ""
    printed = _tail(output)
    if returncode is None:
        raise RunStoppedError(_timed_out(timeout, running), printed)
    return returncode, printed


def _tail(output: Path) -> str:
    """The last ``OUTPUT_KEPT`` bytes a forked run printed into ``output``."""
    if not output.exists():
        return ""
    with open(output, "rb") as printed:
        printed.seek(max(0, printed.seek(0, os.SEEK_END) - OUTPUT_KEPT))
        return printed.read().decode(errors="replace")


def _timed_out(timeout: float, running: Path) -> str:
    """Why a run stopped at its time limit, naming the test that was running if one was."""
    test = running.read_text(encoding="utf-8").strip() if running.exists() else ""
    where = f" in {test}" if test else ""
    return (f"timed out after {timeout:g} s{where} (an endless loop, or code far slower "
            f"than it should be?)")


def _why_stopped(returncode: int) -> str:
    if returncode < 0:
        name = signal.Signals(-returncode).name
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"the test process was killed by {name}{hint} before it finished"
    return (f"the test process ended with exit code {returncode} before it finished "
            f"(does the code call os._exit or quit the interpreter some other way?)")




def _text(output: bytes | str | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""
