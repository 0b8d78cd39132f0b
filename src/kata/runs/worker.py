"""The warm worker: one Python per checkout that has torch, numpy, pytest, hypothesis and the
harness imported, and forks a fresh child for every kata run (the zygote pattern).

A run in a new process pays ``import torch`` and pytest's start-up each time, seconds in all;
a fork of an interpreter that has already paid them starts in milliseconds. Each child is a
copy of the worker as it was before any run, so nothing one run does (a global set, torch
monkeypatched) reaches the next; it imports the learner's modules itself, from the files as
they are now (the worker never imports learner code). The child runs pytest in-process with
the arguments a subprocess run would get, in its own process group, under the run's memory
limit; past the time limit, the worker kills the group.

- The learner's own commands (``kata``, ``kata run``, ``kata watch``) use it, through
  ``run_katas(..., warm=True)``, and so does plain ``pytest katas/NN`` where this checkout
  has a worker up (``hand_over``, from ``kata.harness.handover``): the run gets the
  command's own standard streams (a terminal stays a terminal: width, colours), its
  working directory and environment, and its Ctrl-C; the command exits as the run did.
  Grading and ``kata check`` start plain processes.
- One worker per checkout and user: its socket lives in a private directory (mode 0700)
  named after the checkout's path, under ``$XDG_RUNTIME_DIR`` or ``/tmp/kata-UID``.
- The first run starts it; it ends after ``IDLE_SECONDS`` without runs, when its checkout
  is gone, when the harness it imported has changed (the next run starts a fresh one), or
  at once with ``kata stop``. It removes its socket, pid file and directory as it ends.
- The worker imports torch but never runs a torch operation, so torch's thread pool is
  first started in each child, with the thread count the plugin chooses there. It imports
  what a run would import on demand (``_ON_DEMAND``), so that a run imports only the
  learner's modules and the tests.
- The worker is not dumpable: code in a run, though it runs as the same user, can neither
  ptrace it nor write its memory through ``/proc``; each run is dumpable again.

    python -m kata.runs.worker ROOT    # what the first run starts, detached
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kata.core.errors import KataError
from kata.core.layout import HARNESS
from kata.core.processes import descendants, kill_all, limit_data, python_path, set_dumpable
from kata.runs.supervisor import STOPPED, over_a_cap
from kata.runs.verdicts import harness_version

#: seconds without a run before the worker ends (``KATA_WORKER_IDLE`` overrides it)
IDLE_SECONDS = 600
#: seconds a client waits for a new worker to take runs (it imports torch on a busy machine)
START_SECONDS = 60
#: how often an idle worker looks at the clock and at its checkout
_CHECK_SECONDS = 2.0
#: how often a supervised run's tree is measured against its caps (as the supervisor does)
_CAPS_POLL = 0.1
#: harness modules the children use, imported once in the worker (never learner code): the
#: plugin (and, through it, the loader, the guards and the boundary), plain pytest's door to
#: the worker, the graded mode's tests' side, and the kata tests' API
_HARNESS = ("kata.harness.plugin", "kata.harness.handover", "kata.harness.remote",
            "kata.assertions", "kata.strategies", "kata.tolerances", "kata.oracles",
            "kata.mnist_data", "kata.pictures")
#: what a run imports on demand, imported once here instead (tests/test_worker.py proves that
#: a forked run imports nothing new of torch): pytest's debugging, capture and faulthandler
#: plugins and its option parser import these while a run is configured; hypothesis seeds
#: numpy's generator before each example and imports flatmap on first use; printing a tensor
#: sets aside torch's dispatch modes, which imports torch's schema-checking mode; pytest
#: escapes test ids with the unicode_escape codec
_ON_DEMAND = ("pdb", "readline", "faulthandler", "_pytest._argcomplete", "numpy.random",
              "hypothesis.strategies._internal.flatmapped", "torch._subclasses.schema_check_mode",
              "encodings.unicode_escape")


@dataclass(frozen=True)
class Home:
    """A warm worker other than a checkout's own: the folder whose harness (``src/kata``)
    and settings it imports, which also names its private directory, and the whole
    environment it starts with. ``kata grade`` starts one from a copy of the instructor's
    harness, in a clean environment, to fork the tests' side of every graded run."""

    folder: Path
    environment: dict[str, str]


class WorkerUnavailableError(KataError):
    """No worker can run here (no fork, no private directory, or it did not start in time)."""


def private_directory(checkout: Path, *, create: bool = True) -> Path:
    """The worker's directory for ``checkout``, made private to this user
    (mode 0700) when missing (unless not ``create``); ``WorkerUnavailableError`` when it exists
    but is not private."""
    if not hasattr(os, "fork"):
        raise WorkerUnavailableError("this system cannot fork")
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK):
        base = Path(runtime) / "tensor-katas"
    else:
        base = Path(tempfile.gettempdir()) / f"kata-{os.getuid()}"
    digest = hashlib.sha256(str(Path(checkout).resolve()).encode()).hexdigest()[:24]
    directory = base / digest
    for path in (base, directory):
        if create:
            with contextlib.suppress(FileExistsError):
                path.mkdir(mode=0o700)
        elif not path.exists():
            raise WorkerUnavailableError("no worker has run for this checkout")
        status = path.lstat()
        if not path.is_dir() or path.is_symlink() or status.st_uid != os.getuid() \
                or status.st_mode & 0o077:
            raise WorkerUnavailableError(f"{path} is not a directory private to this user")
    return directory


def _socket_path(checkout: Path, *, create: bool = True) -> Path:
    return private_directory(checkout, create=create) / "worker.sock"


def _pid_path(checkout: Path, *, create: bool = True) -> Path:
    return private_directory(checkout, create=create) / "worker.pid"


# ---------------------------------------------------------------- the client side


class RunCancelledError(KataError):
    """The caller no longer wanted the run (its ``cancelled`` event was set): it was ended."""


def run_forked(checkout: Path, args: Sequence[str], *, environment: dict[str, str], timeout: float,
               memory_limit: int | None, output: Path, imports: Path | None = None,
               cancelled: threading.Event | None = None, nice: int = 0,
               home: Home | None = None, caps: dict | None = None) -> int | None:
    """Run ``pytest ARGS`` in ``checkout`` in a fresh fork of the checkout's worker (or of
    the worker of ``home``), started when there is none, with ``environment`` as its whole
    environment and its printed output going to the file ``output``. Returns the exit code
    (negative: killed by that signal), or None when it ran past ``timeout`` seconds and was
    killed. With ``imports``,
    the run writes there the names of the modules it imported (``kata bench`` shows them).
    Once ``cancelled`` is set the run is ended and ``RunCancelledError`` raised. ``nice``
    lowers its priority (``os.nice``), for a run that may wait for another. ``caps`` (a
    supervised run's: ``memory``, ``processes``, ``disk`` and its ``scratch``) are enforced
    on its whole tree as ``kata.runs.supervisor`` enforces them: past one, the tree is
    killed, the output ends with the supervisor's line and the exit code is SIGKILL's.
    ``WorkerUnavailableError`` when no worker can be had: run it some other way then."""
    request = {"args": list(args), "environment": environment, "timeout": timeout,
               "memory_limit": memory_limit, "cwd": str(Path(checkout).resolve()),
               "imports": str(imports) if imports else None, "nice": nice, "caps": caps}
    with open(os.devnull, "rb") as nothing, open(output, "wb") as printed:
        streams = (nothing.fileno(), printed.fileno(), printed.fileno())
        for _ in range(2):  # a worker with an older harness ends; the second try starts anew
            reply = _request(home.folder if home else checkout, request, streams, start=True,
                             cancelled=cancelled, environment=home.environment if home else None)
            if not reply.get("stale"):
                break
    if reply.get("cancelled"):
        raise RunCancelledError("the run was no longer wanted")
    if reply.get("stopped"):
        with open(output, "a", encoding="utf-8") as printed:
            printed.write(f"\n{STOPPED}{reply['stopped']}\n")
        return -signal.SIGKILL
    if "returncode" in reply:
        return reply["returncode"]
    if reply.get("timed_out"):
        return None
    raise WorkerUnavailableError(f"the worker answered {reply}")


def hand_over(checkout: Path, args: Sequence[str]) -> int | None:
    """Run ``pytest ARGS`` as this process would, in a fork of ``checkout``'s worker: in this
    process's working directory and environment, printing to its standard streams, without
    a time or memory limit, and interrupted when this process is (Ctrl-C, SIGTERM, SIGHUP
    reach the run, which reports them as pytest does). Returns the run's exit code
    (negative: killed by that signal); None where no worker is up, or the worker runs
    another harness or another Python: run it in this process then. Never starts a worker
    (``start_in_background`` does)."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTEST_VERSION"}
    request = {"args": list(args), "environment": environment, "timeout": None,
               "memory_limit": None, "cwd": os.getcwd(), "argv": list(sys.argv), "imports": None}
    try:
        reply = _request(checkout, {**request, "python": python_identity(checkout)}, (0, 1, 2),
                         start=False, forward_signals=True)
    except (WorkerUnavailableError, OSError):
        return None
    return reply.get("returncode")


def is_up(checkout: Path) -> bool:
    """Whether the checkout's worker takes runs right now."""
    try:
        _connect(checkout, start=False).close()
    except (WorkerUnavailableError, OSError):
        return False
    return True


def start_in_background(checkout: Path) -> None:
    """Start the checkout's worker, detached, for the runs to come; return at once."""
    with contextlib.suppress(WorkerUnavailableError, OSError):
        _start(checkout)


#: what a client may pass on to its run while it waits: the signals a terminal or a
#: process manager sends to end a command
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _request(checkout: Path, request: dict, streams: Sequence[int], *, start: bool,
             forward_signals: bool = False, cancelled: threading.Event | None = None,
             environment: dict[str, str] | None = None) -> dict:
    """Send ``request`` with the descriptors ``streams`` (the run's stdin, stdout, stderr)
    to the checkout's worker and wait for its answer; with ``forward_signals`` (main thread
    only), this process's Ctrl-C, SIGTERM and SIGHUP go to the run meanwhile. Once
    ``cancelled`` is set, the connection closes (the worker then ends the run) and the
    answer is ``{"cancelled": True}``. A worker started here gets ``environment``."""
    request = {**request, "harness": harness_version(checkout)}
    with _connect(checkout, start=start, environment=environment) as connection:
        socket.send_fds(connection, [b"\0"], list(streams))
        connection.sendall(json.dumps(request).encode() + b"\n")
        if cancelled is not None:
            while not select.select([connection], [], [], 0.05)[0]:
                if cancelled.is_set():
                    return {"cancelled": True}
        if not forward_signals:
            return _read_reply(connection)

        def forward(number, _frame):
            with contextlib.suppress(OSError):
                connection.sendall(json.dumps({"signal": number}).encode() + b"\n")
        previous = {number: signal.signal(number, forward) for number in _FORWARDED}
        try:
            return _read_reply(connection)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


def python_identity(checkout: Path) -> list[str]:
    """This interpreter and where it imports from, outside ``checkout`` (whose own ``src``
    each run puts first): plain pytest hands its run only to a worker of the same one (the
    ``kata`` command's runs get the environment the command gives them). The first entry of
    ``sys.path``, the script's folder, differs between ``pytest`` and ``python -m`` and is
    left out."""
    inside = str(Path(checkout).resolve())
    entries = [str(Path(entry).resolve()) if entry else os.getcwd() for entry in sys.path[1:]]
    return [sys.executable, *(entry for entry in entries
                             if entry != inside and not entry.startswith(inside + os.sep))]


def stop(checkout: Path) -> bool:
    """End the checkout's worker now, killing any run it has going; False when none ran."""
    try:
        pid_path = _pid_path(checkout, create=False)
        connection = _connect(checkout, start=False)
    except WorkerUnavailableError:
        return False
    with connection, contextlib.suppress(OSError):  # OSError: it was ending already
        connection.sendall(b'\0{"command": "stop"}\n')
        _read_reply(connection)
    deadline = time.monotonic() + 10
    while pid_path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # it removes its files as it ends
    return True


def _read_reply(connection: socket.socket) -> dict:
    line = connection.makefile("rb").readline()
    return json.loads(line) if line.strip() else {"ended": True}


def _read_line(connection: socket.socket) -> tuple[bytes, bytes]:
    """One line from ``connection`` (read a chunk at a time, never past what was sent), and
    what came after it."""
    received = b""
    while b"\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            raise ValueError("the client left before its request ended")
        received += chunk
    line, _, rest = received.partition(b"\n")
    return line, rest


def _try_connect(path: Path) -> socket.socket | None:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(path))
    except OSError:
        connection.close()
        return None
    return connection


def _start(checkout: Path, environment: dict[str, str] | None = None) -> subprocess.Popen:
    """Start the checkout's worker, detached (its own session, no terminal), with
    ``environment`` (by default this process's, the checkout's harness first on the path)."""
    private_directory(checkout)
    source = python_path(Path(checkout) / HARNESS.parent, inherited=os.environ.get("PYTHONPATH"))
    process = subprocess.Popen(
        [sys.executable, "-m", "kata.runs.worker", str(Path(checkout).resolve())], cwd=checkout,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=environment if environment is not None else {**os.environ, "PYTHONPATH": source})
    # this process is its parent until it exits: reap it then, so that it leaves no zombie
    threading.Thread(target=process.wait, daemon=True).start()
    return process


def _connect(checkout: Path, *, start: bool, environment: dict[str, str] | None = None
             ) -> socket.socket:
    """A connection to the checkout's worker; with ``start``, one is started if needed (with
    ``environment``: see ``_start``)."""
    path = _socket_path(checkout, create=start)
    connection = _try_connect(path)
    if connection is not None or not start:
        if connection is None:
            raise WorkerUnavailableError("no worker is running")
        return connection
    process = _start(checkout, environment)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        connection = _try_connect(path)
        if connection is not None:
            return connection
        if process.poll() not in (None, 0):  # 0: another client's worker won the race
            raise WorkerUnavailableError(
                f"the worker failed to start (exit code {process.returncode})")
        time.sleep(0.02)
    raise WorkerUnavailableError(f"the worker did not start within {START_SECONDS} s")


# ---------------------------------------------------------------- the worker side


def _preload() -> None:
    """Import what every run needs, without running a single torch operation (a fork after
    torch's thread pool started would inherit a pool whose threads are gone)."""
    import importlib
    import importlib.metadata

    import hypothesis.strategies  # noqa: F401
    import numpy  # noqa: F401
    import pytest  # noqa: F401
    import torch.nn.functional  # noqa: F401
    from _pytest.config import default_plugins

    modules = [f"_pytest.{name}" for name in default_plugins]
    modules += [entry.module for entry in importlib.metadata.entry_points(group="pytest11")]
    for name in [*modules, *_HARNESS, *_ON_DEMAND]:
        with contextlib.suppress(Exception):  # a plugin that fails here fails in the run too
            importlib.import_module(name)


class _Worker:
    """The serving loop: accepts runs, forks them, and supervises each in its own thread."""

    def __init__(self, checkout: Path, server: socket.socket, lock: int):
        self.checkout = checkout
        self.server = server
        self.lock = lock
        self.harness = harness_version(checkout)
        self.python = python_identity(checkout)
        self.idle = float(os.environ.get("KATA_WORKER_IDLE", IDLE_SECONDS))
        self.runs: dict[int, socket.socket] = {}  # child pid -> its client's connection
        self.guard = threading.Lock()
        self.last_used = time.monotonic()
        #: the last client's answer, sent once the socket is gone (so that it cannot reach
        #: this worker again)
        self.farewell: tuple[socket.socket, dict] | None = None

    def serve(self) -> None:
        self.server.settimeout(_CHECK_SECONDS)
        while True:
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                with self.guard:
                    busy = bool(self.runs)
                if not busy and time.monotonic() - self.last_used > self.idle:
                    return
                if not self.checkout.is_dir():
                    return
                continue
            connection.settimeout(10)
            streams: list[int] = []
            try:
                first, streams, _, _ = socket.recv_fds(connection, 1, 3)
                line, rest = _read_line(connection) if first else (b"", b"")
                request = json.loads(line) if first else {}
            except (OSError, ValueError):  # a client that left, or sent what is no request
                request = {}
            if not request:
                for descriptor in streams:
                    os.close(descriptor)
                connection.close()
                continue
            connection.settimeout(None)
            self.last_used = time.monotonic()
            if request.get("command") == "stop":
                self.kill_all()
                self.farewell = (connection, {"stopped": True})
                return
            if request.get("harness") != self.harness or len(streams) != 3:
                for descriptor in streams:
                    os.close(descriptor)
                self.farewell = (connection, {"stale": True})  # the client starts a fresh one
                return
            if request.get("python", self.python) != self.python:  # plain pytest of another env
                for descriptor in streams:
                    os.close(descriptor)
                _reply(connection, {"other_python": True})
                connection.close()
                continue
            self.fork(request, connection, streams, rest)

    def fork(self, request: dict, connection: socket.socket, streams: list[int],
             received: bytes) -> None:
        with self.guard:
            inherited = [self.server.fileno(), self.lock, *(c.fileno() for c in self.runs.values())]
            pid = os.fork()
            if pid == 0:
                _child(request, streams, [*inherited, connection.fileno()])
            self.runs[pid] = connection
        for descriptor in streams:  # the run has them now
            os.close(descriptor)
        threading.Thread(target=self.supervise,
                         args=(pid, connection, request.get("timeout"), received,
                               request.get("caps")),
                         daemon=True).start()

    def supervise(self, pid: int, connection: socket.socket, timeout: float | None,
                  received: bytes, caps: dict | None) -> None:
        """Wait for the child, its time limit (None: none) or its client leaving, pass on
        the signals the client forwards, and, with ``caps`` (a supervised run's), stop its
        whole tree past one of them, as ``kata.runs.supervisor`` does; answer the client."""
        deadline = None if timeout is None else time.monotonic() + timeout
        ended = _child_ended(pid)
        waited = [connection] + ([ended] if ended is not None else [])
        try:
            while True:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    _end_tree(pid)
                    _reply(connection, {"timed_out": True})
                    return
                poll = _CAPS_POLL if caps else 0.5 if ended else 0.05
                ready, _, _ = select.select(waited, [], [],
                                            poll if remaining is None else min(remaining, poll))
                if connection in ready:
                    chunk = connection.recv(4096)
                    if not chunk:
                        _end_tree(pid)  # the client is gone: nobody wants the result
                        return
                    received = _pass_signals(pid, received + chunk)
                status = os.waitpid(pid, os.WNOHANG)
                if status[0] == pid:
                    _kill_group(pid)  # whatever the run left behind in its group
                    _reply(connection, {"returncode": os.waitstatus_to_exitcode(status[1])})
                    return
                verdict = caps and over_a_cap(
                    [pid, *descendants(pid)], memory=caps["memory"], processes=caps["processes"],
                    disk=caps["disk"], scratch=Path(caps["scratch"]))
                if verdict:
                    _end_tree(pid)
                    _reply(connection, {"stopped": verdict})
                    return
        finally:
            if ended is not None:
                os.close(ended)
            with self.guard:
                self.runs.pop(pid, None)
            connection.close()
            self.last_used = time.monotonic()

    def kill_all(self) -> None:
        with self.guard:
            for pid in self.runs:
                _kill_group(pid)

    def finish(self) -> None:
        """Let the runs still going end and answer (their threads do that, each by its time
        limit at the latest)."""
        while True:
            with self.guard:
                if not self.runs:
                    return
            time.sleep(0.05)


def _pass_signals(pid: int, received: bytes) -> bytes:
    """Send run ``pid``'s process group each signal its client forwarded (one JSON line
    each, as a terminal sends Ctrl-C to a command's whole group); what is left of
    ``received`` after the last whole line."""
    *lines, rest = received.split(b"\n")
    for line in lines:
        with contextlib.suppress(ValueError, TypeError, KeyError):
            number = signal.Signals(json.loads(line)["signal"])
            if number in _FORWARDED:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, number)
    return rest


def _child_ended(pid: int) -> int | None:
    """A descriptor that ``select`` sees become readable when child ``pid`` ends (a pidfd,
    Linux 5.3 and later); None elsewhere, and the supervisor polls."""
    with contextlib.suppress(AttributeError, OSError):
        return os.pidfd_open(pid)
    return None


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _end_tree(pid: int) -> None:
    """Kill run ``pid``'s process group and every process below it (a box's processes
    are in sessions of their own), and reap the run."""
    for _ in range(3):  # a process may fork while we look
        kill_all(descendants(pid))
    _kill_group(pid)
    os.waitpid(pid, 0)


def _reply(connection: socket.socket, message: dict) -> None:
    with contextlib.suppress(OSError):  # a client that left does not stop the worker
        connection.sendall(json.dumps(message).encode() + b"\n")


#: True in a forked run: plain pytest in it never hands its run over again
IN_RUN = False


def _child(request: dict, streams: list[int], inherited: list[int]) -> None:
    """A forked run: its own process group and limits, the client's working directory,
    environment and standard streams, pytest in-process; never returns into the worker's
    loop."""
    global IN_RUN
    code = 70
    try:
        IN_RUN = True
        os.setsid()
        for descriptor in inherited:
            with contextlib.suppress(OSError):
                os.close(descriptor)
        set_dumpable(True)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if request.get("memory_limit"):
            limit_data(int(request["memory_limit"]))
        if request.get("nice"):
            os.nice(int(request["nice"]))
        os.environ.clear()
        os.environ.update(request["environment"])
        os.chdir(request["cwd"])
        _take_streams(streams)
        if request.get("argv"):
            sys.argv[:] = request["argv"]
        before = set(sys.modules)
        import pytest

        # the worker imported pytest's plugins before pytest could mark them for assertion
        # rewriting; they are libraries (and the harness), whose asserts need no rewriting
        quiet = ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
        try:
            code = int(pytest.main([*quiet, *request["args"]]))
        finally:
            if request.get("imports"):
                Path(request["imports"]).write_text("\n".join(sorted(set(sys.modules) - before)),
                                                    encoding="utf-8")
    except SystemExit as ended:
        code = ended.code if isinstance(ended.code, int) else 1
    except BaseException:  # noqa: BLE001 - reported in the run's output, never raised
        import traceback
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _take_streams(streams: list[int]) -> None:
    """Make the client's stdin, stdout and stderr this process's, Python's file objects
    included, buffered as a new interpreter buffers them (stdout line by line on a
    terminal, stderr always)."""
    for target, descriptor in enumerate(streams):
        os.dup2(descriptor, target)
        os.close(descriptor)
    for target, name in enumerate(("stdin", "stdout", "stderr")):
        old = getattr(sys, name)
        stream = io.TextIOWrapper(
            open(target, "rb" if target == 0 else "wb", closefd=False),
            encoding=old.encoding, errors=old.errors,
            line_buffering=target == 2 or (target == 1 and os.isatty(target)))
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def serve(checkout: Path) -> int:
    """Be the checkout's worker until idle, stopped or outdated; 0 when another worker
    already is (it took the lock first)."""
    import fcntl  # POSIX only, like fork: elsewhere no worker starts (private_directory says so)

    checkout = Path(checkout).resolve()
    socket_path, pid_path = _socket_path(checkout), _pid_path(checkout)
    lock = os.open(pid_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(lock)
        return 0 if error.errno in (errno.EAGAIN, errno.EACCES) else 1
    os.ftruncate(lock, 0)
    os.write(lock, f"{os.getpid()}\n".encode())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    set_dumpable(False)  # a run's code cannot write into the worker (each run is dumpable)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    worker = None
    try:
        _preload()
        import gc
        gc.freeze()  # the children share the imported modules' memory instead of copying it
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()  # left by a worker that was killed
        server.bind(str(socket_path))
        server.listen(64)
        worker = _Worker(checkout, server, lock)
        try:
            worker.serve()
        except BaseException:  # SIGTERM, Ctrl-C, a bug: no run outlives the worker
            worker.kill_all()
            raise
    finally:
        # first make room for a new worker (no socket, no lock), then let the runs end
        server.close()
        for path in (socket_path, pid_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        os.close(lock)
        with contextlib.suppress(OSError):
            socket_path.parent.rmdir()
        if worker is not None and worker.farewell is not None:
            _reply(*worker.farewell)
            worker.farewell[0].close()
        if worker is not None:
            worker.finish()
    return 0


if __name__ == "__main__":
    # serve as kata.runs.worker, not __main__: a forked run that imports the module by
    # name (kata.harness.handover asks IN_RUN) gets this one, not a second copy
    from kata.runs import worker

    sys.exit(worker.serve(Path(sys.argv[1])))
