"""The graded mode, the tests' side: the code under test runs in a process of its own, in a
box where ``kata.runs.sandbox`` can build one, and this process never imports it.

What runs where:

- the tests' process draws the inputs, computes the oracles and judges; it never imports a
  learner's module. It holds a ``RemoteCode`` and sends it requests, "run the scenario
  ``module:function`` of kata ``NN`` with these arguments" (``impl.NAME(...)`` is the
  scenario ``kata.harness.boundary:call_public``), over the wire (``kata.harness.wire``);
- the boxed side (``python -m kata.harness.boxed_side``) imports the learner's modules
  through the loader, guards on, runs the scenario beside them and sends back plain data
  (``kata.harness.boundary.plain``), what it printed, or the exception it raised.

The boxed side cannot reach a verdict: nothing it writes on disk is read here, the socket is
its only channel to the tests' process, and the tests' process is made non-dumpable
(``kata.core.processes.set_dumpable``), so that even an unboxed side running as the same user
can neither ptrace it nor write its memory through ``/proc``.
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from kata.core.errors import CodeStopped, KataError
from kata.core.layout import PACKAGE
from kata.core.manifest import Kata
from kata.core.processes import descendants, python_path
from kata.harness.boundary import call_public
from kata.harness.wire import (
    ANSWER_LIMIT,
    ChannelClosedError,
    NotAnAnswerError,
    check_answer,
    raised_again,
    receive,
    send,
)
from kata.mnist_data import cache_dir, files_for_learners
from kata.runs import sandbox
from kata.runs.limits import CALL_TIMEOUT, START_TIMEOUT

#: How often the boxed side may be started again after it stopped, in one session.
RESTARTS = 20


class _NoAnswer(KataError):
    """Why a call got no answer (the message); ``RemoteCode.run`` raises it again as
    ``CodeStopped``."""


class RemoteCode:
    """The code under test of one tree, in a process of its own (the boxed side), started on
    first use.

    ``visible`` are the folders it may read besides ``tree`` and the harness
    (the test modules' folders, where it finds the scenarios). A call that ends the process,
    hangs past ``timeout`` seconds or sends something that is not an answer fails with
    ``CodeStopped``, and so does every later call of the same test (hypothesis would
    otherwise start a learner's side for each example it shrinks); the next test gets a fresh
    learner's side, ``RESTARTS`` times at most.
    """

    def __init__(self, tree: Path, *, visible: Sequence[Path] = (), timeout: float = CALL_TIMEOUT,
                 box: bool = True):
        self.tree = Path(tree).resolve()
        #: False only where the instructor chose to grade without a box (``--learner-unboxed``)
        self.box = box
        self.visible = [Path(path).resolve() for path in visible]
        self.timeout = timeout
        self.starts = 0
        self._stopped: tuple[str, str] | None = None  # (the test it stopped in, why)
        self._channel: socket.socket | None = None
        self._process: subprocess.Popen | None = None
        self._scratch: Path | None = None  # the box's writable folder
        self._log: Path | None = None  # the supervisor's output, outside the box

    def __repr__(self) -> str:
        return f"<the code under test in {self.tree}, in a process of its own>"

    def run(self, kata: Kata, function: Callable[..., object], args: tuple, kwargs: dict
            ) -> object:
        """``function(local, *args, **kwargs)`` on the learner's side, where ``local`` is
        ``kata``'s guarded module: its result as plain data."""
        label = (f"{kata.module}.{args[0]}()" if function is call_public
                 else f"the scenario {function.__name__}()")
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
        if self._stopped is None or not test or self._stopped[0] != test:
            try:
                return self._answer(kata, function, args, kwargs, label)
            except _NoAnswer as stopped:
                self._stopped = (test, str(stopped))
        # one place raises it, so hypothesis sees the same failure each time it replays
        raise CodeStopped(self._stopped[1])

    def _answer(self, kata: Kata, function: Callable[..., object], args: tuple, kwargs: dict,
                label: str) -> object:
        channel = self._start(label) if self._channel is None else self._channel
        request = {"kata": kata.folder, "module": function.__module__,
                   "file": str(Path(function.__code__.co_filename).resolve()),
                   "function": function.__name__, "args": args, "kwargs": kwargs}
        try:
            channel.settimeout(self.timeout)
            send(channel, request)
            answer = check_answer(receive(channel, limit=ANSWER_LIMIT,
                                          deadline=time.monotonic() + self.timeout))
        except (OSError, TimeoutError, NotAnAnswerError) as problem:
            raise _NoAnswer(self._why_stopped(problem, label)) from None
        sys.stdout.write(answer["stdout"])  # pytest captures it as the test's output
        sys.stderr.write(answer["stderr"])
        if "error" in answer:
            raise raised_again(answer["error"])
        return answer["value"]

    def _start(self, label: str) -> socket.socket:
        """Start the learner's side and connect to it: the channel to it."""
        if self.starts > RESTARTS:
            raise _NoAnswer(f"the learner's side stopped {self.starts} times in this run; "
                            f"{label} was not run")
        self.starts += 1
        self.close()  # what is left of the learner's side before, if it stopped
        scratch = self._scratch = Path(tempfile.mkdtemp(prefix="kata-learner-"))
        handle, log = tempfile.mkstemp(prefix="kata-learner-", suffix=".log")
        self._log = Path(log)
        address = scratch / "channel"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(address))
            listener.listen(1)
            argv = [sys.executable, "-m", "kata.harness.boxed_side", "--tree", str(self.tree),
                    "--channel", str(address), "--threads", str(torch.get_num_threads())]
            process = self._process = subprocess.Popen(
                self._command(argv), stdin=subprocess.DEVNULL, stdout=handle,
                stderr=subprocess.STDOUT)
            os.close(handle)
            deadline = time.monotonic() + max(self.timeout, START_TIMEOUT)
            listener.settimeout(0.1)
            while self._channel is None:
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise _NoAnswer(self._why_stopped(
                            ChannelClosedError() if process.poll() is not None
                            else TimeoutError(), label)) from None
                    continue
                if self._started_here(connection, process):
                    self._channel = connection
                else:  # another process of this user found the socket (no box around it)
                    connection.close()
        address.unlink()  # one connection, made: nothing else can connect
        return self._channel

    def _started_here(self, connection: socket.socket, process: subprocess.Popen) -> bool:
        """Whether the process at the other end of ``connection`` is one that ``process``,
        this learner's side's command, started (Linux; elsewhere, without a box, any process
        of this user could have connected)."""
        if not hasattr(socket, "SO_PEERCRED"):
            return True
        credentials = struct.Struct("3i")
        pid, _, _ = credentials.unpack(connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                             credentials.size))
        return pid in descendants(process.pid)

    def _command(self, argv: list[str]) -> list[str]:
        """``argv`` in a box (``kata.runs.sandbox``) that sees the tree, the harness, the test
        folders and MNIST (less the test labels) read-only and the scratch folder writable;
        without a box only where the instructor asked for that (``box=False``: the supervisor
        still caps it and kills all it starts)."""
        scratch = self._scratch
        assert scratch is not None, "_start makes the scratch folder before the command"
        harness = PACKAGE
        visible = [self.tree, harness, *self.visible]
        environment = {"PYTHONPATH": python_path(harness.parent), "PYTHONDONTWRITEBYTECODE": "1",
                       **{key: os.environ[key] for key in
                          ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
                          if key in os.environ}}
        data = Path(os.environ.get("MNIST_DIR") or cache_dir())  # the final exam's scenarios
        if data.is_dir():  # all of MNIST but the test labels: the answers stay on this side
            visible += [path.resolve() for path in files_for_learners(data)]
            environment["MNIST_DIR"] = str(data.resolve())
        # the working directory stays where it is (messages show paths relative to it) if the
        # box shows it: when it is a visible folder, inside one or above one
        here = Path.cwd().resolve()
        shown = any(here == path or here in path.parents or path in here.parents
                    for path in visible)
        return sandbox.boxed(argv, read_only=visible, scratch=scratch, env=environment,
                             memory_limit=_memory_limit(), chdir=here if shown else scratch,
                             box=self.box)

    def _why_stopped(self, problem: Exception, label: str) -> str:
        """Why ``label`` got no answer, in words; the process is ended first."""
        if isinstance(problem, TimeoutError):
            why = (f"the learner's code sent no answer in {self.timeout:g} s while running "
                   f"{label} (an endless loop, or code far slower than it should be?)")
        elif isinstance(problem, NotAnAnswerError):
            why = f"the learner's side sent {problem} while running {label}"
        else:
            try:
                code = self._process.wait(timeout=10) if self._process is not None else None
            except subprocess.TimeoutExpired:
                code = None
            why = (f"the learner's code ended its process (exit code {code}) while running "
                   f"{label}")
        self._end()
        return why + _last_lines(self._log)

    def close(self) -> None:
        """End the learner's side now (its supervisor kills every process it started)."""
        self._end()
        if self._log is not None:
            self._log.unlink(missing_ok=True)
            self._log = None

    def _end(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


def _last_lines(log: Path | None, count: int = 6) -> str:
    """The last lines the learner's process printed outside any call, to show with why it
    stopped."""
    if log is None or not log.exists():
        return ""
    with open(log, "rb") as output:
        output.seek(max(0, output.seek(0, os.SEEK_END) - 4000))
        lines = output.read().decode(errors="replace").strip().splitlines()[-count:]
    return "\nIts last output:\n  " + "\n  ".join(lines) if lines else ""


def _memory_limit() -> int | None:
    """This process's data limit (the runner's), which the learner's side inherits, as the
    cap for the box's processes together."""
    soft, _ = resource.getrlimit(resource.RLIMIT_DATA)
    return None if soft == resource.RLIM_INFINITY else soft
