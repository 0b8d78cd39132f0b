"""The boundary between kata tests and the code under test: what a test holds of the
learner's code (the ``impl`` fixture, a ``CodeUnderTest``), and the plain data that crosses.

A kata test never holds a learner's object. ``impl.matvec(m, c)`` and
``impl.scenario(function, ...)`` send plain data (``plain``) to where the learner's code
runs and get plain data back: by default a copy in the same process, through the guarded
module (``kata.harness.loader.GuardedModule``); in the graded mode a process of its own
(``kata.harness.remote.RemoteCode``), and the tests cannot tell the difference.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import torch

from kata.core.errors import CodeRefused
from kata.core.records import Foreign
from kata.harness.diagnosis import log_call
from kata.harness.loader import GuardedModule

if TYPE_CHECKING:
    from kata.harness.remote import RemoteCode

_SCALARS = (bool, int, float, str)
_DESCRIPTORS = (torch.dtype, torch.device, torch.Size)


def plain(value: object, memo: dict | None = None) -> object:
    """``value`` as plain data, copied: None, numbers, strings, tensors (strides kept),
    ``torch.Size``/dtype/device, and tuples, lists and str-keyed dicts of those. Anything else
    becomes a ``Foreign`` that names its type. A tensor that is part of an autograd graph
    crosses detached, keeping ``requires_grad``: the graph stays on the learner's side.

    >>> plain((torch.ones(2), [1, "a"], {"k": None}))
    (tensor([1., 1.]), [1, 'a'], {'k': None})
    >>> import numpy
    >>> plain(numpy.zeros(2))
    array([0., 0.])
    >>> type(plain(numpy.zeros(2))).__name__
    'Foreign'
    """
    memo = {} if memo is None else memo
    if value is None or type(value) in _SCALARS or isinstance(value, _DESCRIPTORS):
        return value
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return type(value).__mro__[-2](value)  # numpy's float64 is a float: cross as one
    if isinstance(value, torch.Tensor):
        # one fresh tensor per original, so that two references stay one tensor in the copy
        fresh = memo.setdefault(("fresh tensor", id(value)), fresh_tensor(value))
        return copy.deepcopy(fresh, memo)
    if isinstance(value, (tuple, list)):
        items = [plain(item, memo) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict) and all(type(key) is str for key in value):
        return {key: plain(item, memo) for key, item in value.items()}
    if callable(value) and library_name(value):
        return value  # torch.add, operator.lt: a test may hand the learner an operation
    kind = type(value)
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a learner's __repr__ may itself be broken
        text = f"<{kind.__qualname__} object>"
    return Foreign(f"{kind.__module__}.{kind.__qualname__}", text[:500])


def fresh_tensor(value: torch.Tensor) -> torch.Tensor:
    """A new plain ``torch.Tensor`` object (a ``Parameter`` stays one) over ``value``'s data,
    detached, its ``requires_grad`` kept: no subclass, whose methods would stay the learner's,
    and no instance attributes (a ``detach`` in a tensor's own ``__dict__`` shadows torch's
    method, and survives ``torch.load(weights_only=True)``). Made with torch's own functions,
    so nothing of ``value``'s is called.

    >>> t = torch.ones(2)
    >>> t.__dict__["detach"] = lambda: torch.zeros(0)
    >>> fresh_tensor(t).detach(), type(fresh_tensor(torch.nn.Parameter(t))).__name__
    (tensor([1., 1.]), 'Parameter')
    """
    kind = torch.nn.Parameter if type(value) is torch.nn.Parameter else torch.Tensor
    # requires_grad is a data descriptor of torch's C type: an instance attribute cannot
    # shadow it
    return torch.Tensor._make_subclass(kind, torch.Tensor.detach(value), value.requires_grad)


def library_name(function: object) -> str | None:
    """``torch.add`` for a function of torch or of Python's operator module, else None."""
    module = getattr(function, "__module__", None) or ""
    name = getattr(function, "__name__", "")
    if module.split(".")[0] in ("torch", "operator", "_operator") and name:
        return f"{module}.{name}"
    return None


class CodeUnderTest:
    """What a kata test holds of the learner's code (the ``impl`` fixture): calls and
    scenarios whose arguments and results cross a boundary as plain data (see ``plain``).

    - ``impl.matvec(m, c)`` calls a public function of the kata;
    - ``impl.scenario(build_and_train, seed=3)`` runs ``build_and_train(local, seed=3)``
      beside the learner's code, where ``local`` reaches the kata's public functions and
      classes (guarded), and returns what it returns, as plain data.

    The tests judge the plain data they get back; they never hold a learner's object. By
    default the boundary is a copy in the same process; with ``remote`` (the graded mode, a
    ``kata.harness.remote.RemoteCode``) the code under test runs in a process of its own and
    this process never imports it, and the tests cannot tell the difference.
    """

    def __init__(self, local: GuardedModule, remote: RemoteCode | None = None,
                 refused: str | None = None):
        self._local = local
        self._remote = remote
        #: why the code may not run at all (``kata.harness.allowlist.refusal``), or None
        self._refused = refused

    def __repr__(self) -> str:
        return repr(self._local)

    def __getattr__(self, name: str) -> Callable[..., object]:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._local.kata.functions:
            raise AttributeError(f"{self._local.kata.module} has no public name {name!r} in the "
                                 f"manifest")

        def call(*args: object, **kwargs: object) -> object:
            result = self.scenario(call_public, name, *args, **kwargs)
            log_call(self._local.kata.folder, name, args, kwargs, result)  # for a diagnosis
            return result
        call.__name__ = call.__qualname__ = name
        return call

    def fails_alike(self, names: Iterable[str]) -> bool:
        """Whether every call of each of ``names`` fails the same way whatever its input
        (the module does not import, or each is still the stub's: see
        ``GuardedModule.fails_alike``), or the module is refused (each call raises
        ``CodeRefused``; it is never imported). Otherwise known only where the code runs in
        this process: False in the graded mode, which never imports it here."""
        names = list(names)
        if not names:
            return False
        if self._refused is not None:
            return True
        return self._remote is None and all(map(self._local.fails_alike, names))

    def scenario(self, function: Callable[..., object], *args: object, **kwargs: object
                 ) -> object:
        """``function(local, *args, **kwargs)`` run beside the learner's code; its result as
        plain data. ``function`` is a module-level function (the graded mode finds it by
        module and name)."""
        if "<locals>" in function.__qualname__ or function.__qualname__ != function.__name__:
            raise TypeError(f"a scenario must be a module-level function, not "
                            f"{function.__qualname__}")
        if self._refused is not None:
            raise CodeRefused(self._refused)
        memo: dict = {}
        sent_args = tuple(plain(arg, memo) for arg in args)
        sent_kwargs = {key: plain(value, memo) for key, value in kwargs.items()}
        if self._remote is not None:
            return self._remote.run(self._local.kata, function, sent_args, sent_kwargs)
        return plain(function(self._local, *sent_args, **sent_kwargs))


def call_public(local: GuardedModule, name: str, *args: object, **kwargs: object) -> object:
    """The scenario behind ``impl.NAME(...)``: call one public function."""
    return getattr(local, name)(*args, **kwargs)
