"""The graded mode's channel: the tests' process (trusted) and the learner's side (a process
of its own, boxed where ``kata.sandbox`` can build a box) speak through one socket.

What runs where:

- the tests' process draws the inputs, computes the oracles and judges; it never imports a
  learner's module. It holds a ``LearnerProcess`` and sends it requests, "run the scenario
  ``module:function`` of kata ``NN`` with these arguments" (``impl.NAME(...)`` is the
  scenario ``kata.loader:call_public``);
- the learner's side (``python -m kata.learner_side``) imports the learner's modules through
  the loader, guards on, runs the scenario beside them and sends back plain data
  (``kata.loader.plain``), what it printed, or the exception it raised.

On the wire, each message is one frame: an 8-byte length, then ``torch.save``'s legacy
format. Both sides read with ``torch.load(weights_only=True)``: no pickle of the other side
is ever run, and only plain data can arrive (plus ``Foreign`` and ``LibraryFunction``, two
dataclasses of strings). An answer longer than ``ANSWER_LIMIT`` bytes is refused from its
length alone, before it is read. An exception crosses as its class's name, the nearest
builtin or harness class in its MRO, its message and the learner's line it came from; the
tests' process raises that class again (under the learner's class name), so a failure reads
as it does when the learner's code runs in the tests' process.

The learner's side cannot reach a verdict: nothing it writes on disk is read here, the
socket is its only channel to the tests' process, and the tests' process is made
non-dumpable (``protect_this_process``), so that even an unboxed learner's side running as
the same user can neither ptrace it nor write its memory through ``/proc``.
"""

from __future__ import annotations

import builtins
import functools
import io
import os
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

import kata
from kata import sandbox
from kata.assertions import Mismatch
from kata.guards import InputModified, RuleViolation
from kata.loader import Foreign, KataImportError, call_public, library_name
from kata.manifest import Kata
from kata.mnist_data import cache_dir, files_for_learners

#: The longest answer the tests' process reads, in bytes (kata 08 sends MNIST-sized tensors).
ANSWER_LIMIT = 1 << 30
#: Seconds a call may take before the learner's side counts as hung.
CALL_TIMEOUT = 300.0
#: Seconds the learner's side may take to start (Python, torch, the harness) on a busy machine.
START_TIMEOUT = 120.0
#: How often the learner's side may be started again after it stopped, in one session.
RESTARTS = 20
#: Characters of an exception's message, and of printed output, that cross per call.
TEXT_LIMIT = 20_000
_HEADER = struct.Struct(">Q")
#: The harness's exceptions that tests tell apart (the builtins cross by their own name).
HARNESS_EXCEPTIONS = {kind.__name__: kind for kind in
                      (KataImportError, RuleViolation, InputModified, Mismatch)}


@dataclass(frozen=True)
class LibraryFunction:
    """A function of torch or of ``operator`` (``torch.add``) on the wire, by its name."""

    module: str
    name: str


torch.serialization.add_safe_globals([Foreign, LibraryFunction])


class ChannelClosed(ConnectionError):
    """The other side closed the channel (its process ended)."""


class NotAnAnswer(ValueError):
    """What came over the channel is not a message of this protocol."""


# --- frames -------------------------------------------------------------------------------

def send(channel: socket.socket, value: object) -> None:
    """Send ``value`` (plain data) as one frame."""
    payload = io.BytesIO()
    torch.save(_to_wire(value), payload, _use_new_zipfile_serialization=False)
    channel.sendall(_HEADER.pack(payload.tell()) + payload.getbuffer())


def receive(channel: socket.socket, *, limit: int | None = None,
            deadline: float | None = None) -> object:
    """The next frame's value. Raises ``ChannelClosed`` when the channel ends,
    ``TimeoutError`` past ``deadline`` (a ``time.monotonic()`` value) and ``NotAnAnswer``
    for a frame over ``limit`` bytes or one that is not plain data."""
    (size,) = _HEADER.unpack(_read(channel, _HEADER.size, deadline))
    if limit is not None and size > limit:
        raise NotAnAnswer(f"an answer of {size} bytes, over the limit of {limit}")
    try:
        value = torch.load(io.BytesIO(_read(channel, size, deadline)), weights_only=True)
    except (ChannelClosed, TimeoutError):
        raise
    except Exception as error:
        raise NotAnAnswer(f"a frame that is not plain data ({type(error).__name__})") from None
    return _from_wire(value)


def _read(channel: socket.socket, size: int, deadline: float | None) -> bytes:
    """Exactly ``size`` bytes, however slowly they come, until ``deadline``."""
    data = bytearray()
    while len(data) < size:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            channel.settimeout(left)
        try:
            chunk = channel.recv(min(size - len(data), 1 << 20))
        except socket.timeout:
            raise TimeoutError from None
        if not chunk:
            raise ChannelClosed
        data += chunk
    return bytes(data)


def _to_wire(value: object) -> object:
    """``value`` with each function of torch or operator replaced by its name."""
    if isinstance(value, (tuple, list)):
        items = [_to_wire(item) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {key: _to_wire(item) for key, item in value.items()}
    if callable(value) and library_name(value):  # torch.add, operator.lt, torch.nn.Linear
        return LibraryFunction(value.__module__, value.__name__)
    return value


_PLAIN = (type(None), bool, int, float, str, torch.Size, torch.dtype, torch.device, Foreign)


def _from_wire(value: object) -> object:
    """The plain data that ``value`` (as loaded) stands for; ``NotAnAnswer`` for anything
    else (a tensor subclass, a ``Foreign`` of non-strings...)."""
    if type(value) in (torch.Tensor, torch.nn.Parameter):
        return value
    if type(value) in (tuple, list):
        items = [_from_wire(item) for item in value]
        return items if type(value) is list else tuple(items)
    if type(value) is dict and all(type(key) is str for key in value):
        return {key: _from_wire(item) for key, item in value.items()}
    if type(value) is LibraryFunction and value.module.split(".")[0] in ("torch", "operator",
                                                                          "_operator"):
        # from a module already loaded: a name never makes this process import anything
        function = getattr(sys.modules.get(value.module), value.name, None)
        if callable(function) and library_name(function):
            return function
    if type(value) in _PLAIN and (type(value) is not Foreign or
                                  (type(value.type_name) is str and type(value.text) is str)):
        return value
    raise NotAnAnswer(f"a value that is not plain data ({type(value).__name__})")


# --- exceptions ---------------------------------------------------------------------------

def nearest_known(kind: type) -> type:
    """The first class in ``kind``'s MRO that the tests' process can raise again: a harness
    exception or a builtin one."""
    return next(cls for cls in kind.__mro__
                if cls in HARNESS_EXCEPTIONS.values() or cls.__module__ == "builtins")


def raised_again(error: dict) -> Exception:
    """The exception that the learner's side described, as the tests' process raises it: of
    the learner's class name, a subclass of the nearest harness or builtin class (an
    exception that is not an ``Exception``, such as ``KeyboardInterrupt``, becomes a
    ``RuntimeError`` that says so)."""
    base = HARNESS_EXCEPTIONS.get(error["base"]) or getattr(builtins, error["base"], None)
    name, message = error["type"], error["message"]
    if not (isinstance(base, type) and issubclass(base, Exception)):
        base, name = RuntimeError, "RuntimeError"
        message = f"the learner's code raised {error['type']}: {message}"
    kind = base if name == base.__name__ or not name.isidentifier() else _learner_class(name, base)
    for candidate in kind.__mro__:  # UnicodeDecodeError and a few others want more arguments
        try:
            raised = candidate(message)
            break
        except TypeError:
            continue
    raised.raised_at = error["raised_at"]  # what the failure report points at (kata.plugin)
    return raised


@functools.cache
def _learner_class(name: str, base: type) -> type:
    """A stand-in for the learner's exception class ``name``: one class per name and base,
    so that hypothesis, replaying a failure, sees the same exception again."""
    return type(name, (base,), {"__module__": "learner"})


# --- the tests' side ----------------------------------------------------------------------

class LearnerSideStopped(AssertionError):
    """The learner's side ended its process, sent no answer in time, or sent something that
    is not an answer: the test that was running fails with this."""


class _NoAnswer(Exception):
    """Why a call got no answer (the message); ``LearnerProcess.run`` raises it again as
    ``LearnerSideStopped``."""


class LearnerProcess:
    """The learner's side of one tree, in a process of its own, started on first use.

    ``visible`` are the folders it may read besides the tree at ``root`` and the harness
    (the test modules' folders, where it finds the scenarios). A call that ends the process,
    hangs past ``timeout`` seconds or sends something that is not an answer fails with
    ``LearnerSideStopped``, and so does every later call of the same test (hypothesis would
    otherwise start a learner's side for each example it shrinks); the next test gets a fresh
    learner's side, ``RESTARTS`` times at most.
    """

    def __init__(self, root: Path, *, visible: Sequence[Path] = (), timeout: float = CALL_TIMEOUT,
                 box: bool = True):
        self.root = Path(root).resolve()
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
        return f"<learner's side of {self.root}>"

    def run(self, kata: Kata, function, args: tuple, kwargs: dict) -> object:
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
        raise LearnerSideStopped(self._stopped[1])

    def _answer(self, kata: Kata, function, args: tuple, kwargs: dict, label: str) -> object:
        if self._channel is None:
            self._start(label)
        request = {"kata": kata.folder, "module": function.__module__,
                   "file": str(Path(function.__code__.co_filename).resolve()),
                   "function": function.__name__, "args": args, "kwargs": kwargs}
        try:
            self._channel.settimeout(self.timeout)
            send(self._channel, request)
            answer = receive(self._channel, limit=ANSWER_LIMIT,
                             deadline=time.monotonic() + self.timeout)
            _check_answer(answer)
        except (OSError, TimeoutError, NotAnAnswer) as problem:
            raise _NoAnswer(self._why_stopped(problem, label)) from None
        sys.stdout.write(answer["stdout"])  # pytest captures it as the test's output
        sys.stderr.write(answer["stderr"])
        if "error" in answer:
            raise raised_again(answer["error"])
        return answer["value"]

    def _start(self, label: str) -> None:
        if self.starts > RESTARTS:
            raise _NoAnswer(f"the learner's side stopped {self.starts} times in this run; "
                            f"{label} was not run")
        self.starts += 1
        self.close()  # what is left of the learner's side before, if it stopped
        self._scratch = Path(tempfile.mkdtemp(prefix="kata-learner-"))
        handle, log = tempfile.mkstemp(prefix="kata-learner-", suffix=".log")
        self._log = Path(log)
        address = self._scratch / "channel"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(address))
            listener.listen(1)
            argv = [sys.executable, "-m", "kata.learner_side", "--root", str(self.root),
                    "--channel", str(address), "--threads", str(torch.get_num_threads())]
            self._process = subprocess.Popen(self._command(argv), stdin=subprocess.DEVNULL,
                                             stdout=handle, stderr=subprocess.STDOUT)
            os.close(handle)
            deadline = time.monotonic() + max(self.timeout, START_TIMEOUT)
            listener.settimeout(0.1)
            while self._channel is None:
                try:
                    connection, _ = listener.accept()
                except socket.timeout:
                    if self._process.poll() is not None or time.monotonic() > deadline:
                        raise _NoAnswer(self._why_stopped(
                            ChannelClosed() if self._process.poll() is not None
                            else TimeoutError(), label)) from None
                    continue
                if self._started_here(connection):
                    self._channel = connection
                else:  # another process of this user found the socket (no box around it)
                    connection.close()
        address.unlink()  # one connection, made: nothing else can connect

    def _started_here(self, connection: socket.socket) -> bool:
        """Whether the process at the other end of ``connection`` is one that this learner's
        side's command started (Linux; elsewhere, without a box, any process of this user
        could have connected)."""
        if not hasattr(socket, "SO_PEERCRED"):
            return True
        credentials = struct.Struct("3i")
        pid, _, _ = credentials.unpack(connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                             credentials.size))
        return pid in sandbox.descendants(self._process.pid)

    def _command(self, argv: list[str]) -> list[str]:
        """``argv`` in a box (``kata.sandbox``) that sees the tree, the harness, the test
        folders and MNIST (less the test labels) read-only and the scratch folder writable;
        without a box only where the instructor asked for that (``box=False``: the supervisor
        still caps it and kills all it starts)."""
        harness = Path(kata.__file__).resolve().parent
        visible = [self.root, harness, *self.visible]
        environment = {"PYTHONPATH": str(harness.parent), "PYTHONDONTWRITEBYTECODE": "1",
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
        return sandbox.boxed(argv, read_only=visible, scratch=self._scratch, env=environment,
                             memory_limit=_memory_limit(), chdir=here if shown else self._scratch,
                             box=self.box)

    def _why_stopped(self, problem: Exception, label: str) -> str:
        """Why ``label`` got no answer, in words; the process is ended first."""
        if isinstance(problem, TimeoutError):
            why = (f"the learner's code sent no answer in {self.timeout:g} s while running "
                   f"{label} (an endless loop, or code far slower than it should be?)")
        elif isinstance(problem, NotAnAnswer):
            why = f"the learner's side sent {problem} while running {label}"
        else:
            try:
                code = self._process.wait(timeout=10)
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


def _check_answer(answer: object) -> None:
    """``NotAnAnswer`` unless ``answer`` has the shape that the learner's side sends."""
    texts = isinstance(answer, dict) and all(type(answer.get(key)) is str
                                             for key in ("stdout", "stderr"))
    if texts and "value" in answer and len(answer) == 3:
        return
    error = answer.get("error") if texts and len(answer) == 3 else None
    if (isinstance(error, dict) and set(error) == {"type", "base", "message", "raised_at"}
            and all(type(error[key]) is str for key in ("type", "base", "message"))
            and type(error["raised_at"]) in (str, type(None))):
        return
    raise NotAnAnswer("a message that is not an answer")


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


def protect_this_process(on: bool = True) -> bool:
    """Make this process non-dumpable (Linux): processes of the same user, the learner's
    side among them, can then neither ptrace it nor read or write its memory through
    ``/proc``. Returns whether it was protected before (False elsewhere than Linux)."""
    if sys.platform != "linux":
        return False
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    pr_get_dumpable, pr_set_dumpable = 3, 4
    before = libc.prctl(pr_get_dumpable, 0, 0, 0, 0) == 0
    libc.prctl(pr_set_dumpable, 0 if on else 1, 0, 0, 0)
    return before
