"""The graded mode, the boxed side: ``python -m kata.harness.boxed_side --tree TREE
--channel SOCKET`` (started by ``kata.harness.remote.RemoteCode``, in a box).

It connects to the tests' process, then serves its requests one at a time: import the
test module that holds the scenario (an instructor's file), run the scenario beside the
learner's guarded module (``kata.harness.loader.GuardedModule``, from ``TREE``), and send
back the result as plain data, with what the call printed, or the exception it raised, over
the wire (``kata.harness.wire``). It never judges: the tests' process does.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import socket
import sys
import traceback
from pathlib import Path
from types import FunctionType, TracebackType

import torch

from kata.core.manifest import load_manifest
from kata.harness import wire
from kata.harness.boundary import plain
from kata.harness.loader import GuardedModule, import_from_path, use_tree


class CodeServer:
    """The learner's code of one tree, and the scenarios that run beside it."""

    def __init__(self, tree: Path):
        self.tree = Path(tree).resolve()
        self.modules: dict[str, GuardedModule] = {}
        use_tree(self.tree)

    def answer(self, request: dict) -> dict:
        """What the tests' process gets for ``request``: ``value`` or ``error``, and what
        the call printed."""
        printed, warned = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(warned):
                local = self.module(request["kata"])
                scenario = _scenario(request["module"], request["file"], request["function"])
                reply = {"value": plain(scenario(local, *request["args"], **request["kwargs"]))}
        except BaseException as error:  # noqa: BLE001 - the learner's SystemExit is an answer too
            reply = {"error": self.described(error)}
        reply["stdout"] = _tail(printed.getvalue())
        reply["stderr"] = _tail(warned.getvalue())
        return reply

    def module(self, folder: str) -> GuardedModule:
        if folder not in self.modules:
            self.modules[folder] = GuardedModule(load_manifest().kata(folder), self.tree)
        return self.modules[folder]

    def described(self, error: BaseException) -> dict:
        """``error`` as it crosses: class name, the nearest class the tests' process knows,
        message, and the learner's line it came from."""
        try:
            message = str(error)
        except Exception:  # noqa: BLE001 - a learner's __str__ may itself be broken
            message = f"<{type(error).__name__} whose message could not be printed>"
        return {"type": type(error).__name__, "base": wire.nearest_known(type(error)).__name__,
                "message": _tail(message), "raised_at": self.raised_at(error.__traceback__)}

    def raised_at(self, trace: TracebackType | None) -> str | None:
        """``matmul.py:12:  return a @ b``: the last line of the tree's kata modules in
        ``trace`` (what the failure report points at), None when there is none."""
        for frame in reversed(traceback.extract_tb(trace)):
            path = Path(frame.filename)
            if path.suffix == ".py" and path.parent.parent == self.tree \
                    and not path.name.startswith("test_"):
                return f"{path.name}:{frame.lineno}:  {(frame.line or '').strip()}"
        return None


def _scenario(module: str, file: str, name: str) -> FunctionType:
    """The scenario function ``name`` of the harness module or test file that holds it."""
    if module.split(".")[0] == "kata":
        found = importlib.import_module(module)
    elif module in sys.modules and getattr(sys.modules[module], "__file__", None) == file:
        found = sys.modules[module]
    else:
        found = import_from_path(Path(file), module)
    return getattr(found, name)


def _tail(text: str) -> str:
    return text if len(text) <= wire.TEXT_LIMIT else \
        f"[... {len(text) - wire.TEXT_LIMIT} characters cut]\n" + text[-wire.TEXT_LIMIT:]


def serve(channel: socket.socket, side: CodeServer) -> None:
    """Answer requests until the tests' process closes the channel."""
    while True:
        try:
            request = wire.receive(channel)
            if not isinstance(request, dict):
                raise wire.NotAnAnswerError(f"a {type(request).__name__}, not a request")
            reply = side.answer(request)
        except wire.ChannelClosedError:
            return
        except wire.NotAnAnswerError as problem:  # an argument that cannot cross
            reply = {"error": side.described(TypeError(f"the test sent {problem}")),
                     "stdout": "", "stderr": ""}
        try:
            wire.send(channel, reply)
        except Exception as error:  # noqa: BLE001 - a result plain() let through, torch cannot save
            wire.send(channel, {"error": side.described(error), "stdout": "", "stderr": ""})


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m kata.harness.boxed_side", description=__doc__)
    parser.add_argument("--tree", type=Path, required=True, help="the tree under test")
    parser.add_argument("--channel", required=True, help="the socket of the tests' process")
    parser.add_argument("--threads", type=int, default=1, help="torch's thread count")
    options = parser.parse_args(arguments)
    torch.set_num_threads(options.threads)
    channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    channel.connect(options.channel)
    serve(channel, CodeServer(options.tree))


if __name__ == "__main__":
    main()
