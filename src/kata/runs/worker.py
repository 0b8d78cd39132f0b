"""The warm worker: one Python per checkout that has torch, numpy, pytest, hypothesis and the
harness imported, and forks a fresh child for every kata run (the zygote pattern).

A run in a new process pays ``import torch`` and pytest's start-up each time, seconds in all;
a fork of an interpreter that has already paid them starts in milliseconds. Each child is a
copy of the worker as it was before any run, so nothing one run does (a global set, torch
monkeypatched) reaches the next; it imports the learner's modules itself, from the files as
they are now (the worker never imports learner code). The child runs pytest in-process with
the arguments a subprocess run would get, in its own process group, under the run's memory
limit; past the time limit, the worker kills the group.

- Only the learner's own commands (``kata``, ``kata run``, ``kata watch``) use it, through
  ``run_katas(..., warm=True)``; grading and ``kata check`` start plain processes.
- One worker per checkout and user: its socket lives in a private directory (mode 0700)
  named after the checkout's path, under ``$XDG_RUNTIME_DIR`` or ``/tmp/kata-UID``.
- The first run starts it; it ends after ``IDLE_SECONDS`` without runs, when its checkout
  is gone, when the harness it imported has changed (the next run starts a fresh one), or
  at once with ``kata stop``. It removes its socket, pid file and directory as it ends.
- The worker imports torch but never runs a torch operation, so torch's thread pool is
  first started in each child, with the thread count the plugin chooses there.

    python -m kata.runs.worker ROOT    # what the first run starts, detached
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
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
from pathlib import Path

from kata.core.errors import KataError
from kata.core.layout import HARNESS
from kata.core.processes import limit_data, python_path
from kata.runs.verdicts import harness_version

#: seconds without a run before the worker ends (``KATA_WORKER_IDLE`` overrides it)
IDLE_SECONDS = 600
#: seconds a client waits for a new worker to take runs (it imports torch on a busy machine)
START_SECONDS = 60
#: how often an idle worker looks at the clock and at its checkout
_CHECK_SECONDS = 2.0
#: harness modules the children use, imported once in the worker (never learner code): the
#: plugin (and, through it, the loader, the guards and the boundary) and the kata tests' API
_HARNESS = ("kata.harness.plugin", "kata.assertions", "kata.strategies", "kata.tolerances",
            "kata.oracles", "kata.mnist_data", "kata.pictures")


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


def run_forked(checkout: Path, args: Sequence[str], *, environment: dict[str, str], timeout: float,
               memory_limit: int | None, output: Path) -> int | None:
    """Run ``pytest ARGS`` in ``checkout`` in a fresh fork of the checkout's worker (started
    when there is none), with ``environment`` as its whole environment and its printed
    output going to the file ``output``. Returns the exit code (negative: killed by that
    signal), or None when it ran past ``timeout`` seconds and was killed.
    ``WorkerUnavailableError`` when no worker can be had: run it some other way then."""
    request = {"args": list(args), "environment": environment, "timeout": timeout,
               "memory_limit": memory_limit, "output": str(output),
               "harness": harness_version(checkout)}
    for _ in range(2):  # a worker with an older harness ends; the second try starts a new one
        with _connect(checkout, start=True) as connection:
            connection.sendall(json.dumps(request).encode() + b"\n")
            reply = _read_reply(connection)
        if reply.get("stale"):
            continue
        if "returncode" in reply:
            return reply["returncode"]
        if reply.get("timed_out"):
            return None
        raise WorkerUnavailableError(f"the worker answered {reply}")
    raise WorkerUnavailableError("the worker kept running an older harness")


def stop(checkout: Path) -> bool:
    """End the checkout's worker now, killing any run it has going; False when none ran."""
    try:
        pid_path = _pid_path(checkout, create=False)
        connection = _connect(checkout, start=False)
    except WorkerUnavailableError:
        return False
    with connection:
        connection.sendall(b'{"command": "stop"}\n')
        _read_reply(connection)
    deadline = time.monotonic() + 10
    while pid_path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # it removes its files as it ends
    return True


def _read_reply(connection: socket.socket) -> dict:
    line = connection.makefile("rb").readline()
    return json.loads(line) if line.strip() else {"ended": True}


def _try_connect(path: Path) -> socket.socket | None:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(path))
    except OSError:
        connection.close()
        return None
    return connection


def _connect(checkout: Path, *, start: bool) -> socket.socket:
    """A connection to the checkout's worker; with ``start``, one is started if needed."""
    path = _socket_path(checkout, create=start)
    connection = _try_connect(path)
    if connection is not None or not start:
        if connection is None:
            raise WorkerUnavailableError("no worker is running")
        return connection
    source = python_path(Path(checkout) / HARNESS.parent, inherited=os.environ.get("PYTHONPATH"))
    process = subprocess.Popen(
        [sys.executable, "-m", "kata.runs.worker", str(Path(checkout).resolve())], cwd=checkout,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, env={**os.environ, "PYTHONPATH": source})
    # this process is its parent until it exits: reap it then, so that it leaves no zombie
    threading.Thread(target=process.wait, daemon=True).start()
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
    for name in [*modules, *_HARNESS]:
        with contextlib.suppress(Exception):  # a plugin that fails here fails in the run too
            importlib.import_module(name)


class _Worker:
    """The serving loop: accepts runs, forks them, and supervises each in its own thread."""

    def __init__(self, checkout: Path, server: socket.socket, lock: int):
        self.checkout = checkout
        self.server = server
        self.lock = lock
        self.harness = harness_version(checkout)
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
            try:
                line = connection.makefile("rb").readline()
                request = json.loads(line)
            except (OSError, ValueError):
                connection.close()
                continue
            connection.settimeout(None)
            self.last_used = time.monotonic()
            if request.get("command") == "stop":
                self.kill_all()
                self.farewell = (connection, {"stopped": True})
                return
            if request.get("harness") != self.harness:
                self.farewell = (connection, {"stale": True})  # the client starts a fresh one
                return
            self.fork(request, connection)

    def fork(self, request: dict, connection: socket.socket) -> None:
        with self.guard:
            inherited = [self.server.fileno(), self.lock, *(c.fileno() for c in self.runs.values())]
            pid = os.fork()
            if pid == 0:
                _child(request, self.checkout, [*inherited, connection.fileno()])
            self.runs[pid] = connection
        threading.Thread(target=self.supervise, args=(pid, connection, request["timeout"]),
                         daemon=True).start()

    def supervise(self, pid: int, connection: socket.socket, timeout: float) -> None:
        """Wait for the child, its time limit or its client leaving; answer the client."""
        deadline = time.monotonic() + timeout
        ended = _child_ended(pid)
        waited = [connection] + ([ended] if ended is not None else [])
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    _kill_group(pid)
                    os.waitpid(pid, 0)
                    _reply(connection, {"timed_out": True})
                    return
                ready, _, _ = select.select(waited, [], [], min(remaining, 0.5 if ended else 0.05))
                if connection in ready and not connection.recv(1, socket.MSG_PEEK):
                    _kill_group(pid)  # the client is gone (Ctrl-C): nobody wants the result
                    os.waitpid(pid, 0)
                    return
                status = os.waitpid(pid, os.WNOHANG)
                if status[0] == pid:
                    _kill_group(pid)  # whatever the run left behind in its group
                    _reply(connection, {"returncode": os.waitstatus_to_exitcode(status[1])})
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


def _child_ended(pid: int) -> int | None:
    """A descriptor that ``select`` sees become readable when child ``pid`` ends (a pidfd,
    Linux 5.3 and later); None elsewhere, and the supervisor polls."""
    with contextlib.suppress(AttributeError, OSError):
        return os.pidfd_open(pid)
    return None


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _reply(connection: socket.socket, message: dict) -> None:
    with contextlib.suppress(OSError):  # a client that left does not stop the worker
        connection.sendall(json.dumps(message).encode() + b"\n")


def _child(request: dict, checkout: Path, inherited: list[int]) -> None:
    """A forked run: its own process group and limits, the client's environment, output to
    the run's file, pytest in-process; never returns into the worker's loop."""
    code = 70
    try:
        os.setsid()
        for descriptor in inherited:
            with contextlib.suppress(OSError):
                os.close(descriptor)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if request.get("memory_limit"):
            limit_data(int(request["memory_limit"]))
        os.environ.clear()
        os.environ.update(request["environment"])
        os.chdir(checkout)
        output = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        import pytest

        # the worker imported pytest's plugins before pytest could mark them for assertion
        # rewriting; they are libraries (and the harness), whose asserts need no rewriting
        quiet = ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
        code = int(pytest.main([*quiet, *request["args"]]))
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
    sys.exit(serve(Path(sys.argv[1])))
