"""The graded mode's wire: how the tests' process (trusted) and the boxed side, where the
learner's code runs, speak through one socket.

Each message is one frame: an 8-byte length, then ``torch.save``'s legacy format. Both sides
read with ``torch.load(weights_only=True)``: no pickle of the other side is ever run, and
only plain data can arrive (plus ``Foreign`` and ``LibraryFunction``, two dataclasses of
strings). An answer longer than ``ANSWER_LIMIT`` bytes is refused from its length alone,
before it is read. An exception crosses as its class's name, the nearest builtin or harness
class in its MRO, its message and the learner's line it came from; the tests' process raises
that class again (under the learner's class name), so a failure reads as it does when the
learner's code runs in the tests' process.
"""

from __future__ import annotations

import builtins
import functools
import io
import socket
import struct
import sys
import time
from dataclasses import dataclass
from typing import NotRequired, TypedDict, cast

import torch

from kata.core.errors import FAILURES, KataError
from kata.core.records import Foreign
from kata.harness.boundary import fresh_tensor, library_name

#: The longest answer the tests' process reads, in bytes (kata 08 sends MNIST-sized tensors).
ANSWER_LIMIT = 1 << 30
#: Characters of an exception's message, and of printed output, that cross per call.
TEXT_LIMIT = 20_000
_HEADER = struct.Struct(">Q")
#: The harness's exceptions that tests tell apart (the builtins cross by their own name).
HARNESS_EXCEPTIONS = {kind.__name__: kind for kind in FAILURES}


@dataclass(frozen=True)
class LibraryFunction:
    """A function of torch or of ``operator`` (``torch.add``) on the wire, by its name."""

    module: str
    name: str


torch.serialization.add_safe_globals([Foreign, LibraryFunction])


class Answer(TypedDict):
    """What the learner's side sends for one request (``check_answer`` checks the shape):
    the call's ``value`` (plain data) or its ``error`` (as ``raised_again`` reads it), and
    what the call printed."""

    value: NotRequired[object]
    error: NotRequired[dict[str, str | None]]
    stdout: str
    stderr: str


class ChannelClosedError(KataError, ConnectionError):
    """The other side closed the channel (its process ended)."""


class NotAnAnswerError(KataError, ValueError):
    """What came over the channel is not a message of this protocol."""


# --- frames -------------------------------------------------------------------------------

def send(channel: socket.socket, value: object) -> None:
    """Send ``value`` (plain data) as one frame."""
    payload = io.BytesIO()
    torch.save(_to_wire(value), payload, _use_new_zipfile_serialization=False)
    channel.sendall(_HEADER.pack(payload.tell()) + payload.getbuffer())


def receive(channel: socket.socket, *, limit: int | None = None,
            deadline: float | None = None) -> object:
    """The next frame's value. Raises ``ChannelClosedError`` when the channel ends,
    ``TimeoutError`` past ``deadline`` (a ``time.monotonic()`` value) and ``NotAnAnswerError``
    for a frame over ``limit`` bytes or one that is not plain data."""
    (size,) = _HEADER.unpack(_read(channel, _HEADER.size, deadline))
    if limit is not None and size > limit:
        raise NotAnAnswerError(f"an answer of {size} bytes, over the limit of {limit}")
    try:
        value = torch.load(io.BytesIO(_read(channel, size, deadline)), weights_only=True)
    except (ChannelClosedError, TimeoutError):
        raise
    except Exception as error:  # noqa: BLE001 - whatever torch.load makes of the bytes, refused
        raise NotAnAnswerError(f"a frame that is not plain data ({type(error).__name__})") from None
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
        except TimeoutError:
            raise TimeoutError from None
        if not chunk:
            raise ChannelClosedError
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
        # library_name found a __name__, which a callable need not have
        return LibraryFunction(value.__module__, value.__name__)  # type: ignore[attr-defined]
    return value


_PLAIN = (type(None), bool, int, float, str, torch.Size, torch.dtype, torch.device, Foreign)


def _from_wire(value: object) -> object:
    """The plain data that ``value`` (as loaded) stands for; ``NotAnAnswerError`` for anything
    else (a tensor subclass, a ``Foreign`` of non-strings...)."""
    if type(value) is torch.Tensor or type(value) is torch.nn.Parameter:
        return fresh_tensor(value)  # what was loaded may carry attributes that lie
    if type(value) is tuple or type(value) is list:
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
    raise NotAnAnswerError(f"a value that is not plain data ({type(value).__name__})")


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
    kind = base
    if name != base.__name__ and name.isidentifier():
        # a class is hashable, but mypy does not take type[X] for Hashable (python/mypy#11470)
        kind = _learner_class(name, base)  # type: ignore[arg-type]
    for candidate in kind.__mro__:  # UnicodeDecodeError and a few others want more arguments
        try:
            raised = candidate(message)
            break
        except TypeError:
            continue
    raised.raised_at = error["raised_at"]  # what the failure report points at (kata.harness.plugin)
    return raised


@functools.cache
def _learner_class(name: str, base: type) -> type:
    """A stand-in for the learner's exception class ``name``: one class per name and base,
    so that hypothesis, replaying a failure, sees the same exception again."""
    return type(name, (base,), {"__module__": "learner"})


def check_answer(answer: object) -> Answer:
    """``answer``, if it has the shape that the learner's side sends (an ``Answer``);
    ``NotAnAnswerError`` otherwise."""
    if isinstance(answer, dict) and len(answer) == 3 \
            and all(type(answer.get(key)) is str for key in ("stdout", "stderr")):
        error = answer.get("error")
        if "value" in answer or (
                isinstance(error, dict) and set(error) == {"type", "base", "message", "raised_at"}
                and all(type(error[key]) is str for key in ("type", "base", "message"))
                and type(error["raised_at"]) in (str, type(None))):
            return cast(Answer, answer)  # its shape is checked: the keys and their types
    raise NotAnAnswerError("a message that is not an answer")
