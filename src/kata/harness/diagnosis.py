"""Name the classic mistake behind a failure: a cataloged mistake that, on the same input,
gives exactly what the learner's function gave.

A kata test calls the learner's function through ``impl.NAME(...)``
(``kata.harness.boundary``), which logs each call here (``log_call``: the test's own
arguments and the result that came back, the latest few dozen of the test). When a check of
``kata.assertions`` fails, its ``Mismatch`` carries what it compared (``Compared``): the
learner's value, and the check itself. ``diagnose`` finds the logged call whose result is
that very value, runs each shipped mistake of that function (``kata.harness.mistakes``,
generated from the catalog) on copies of the same arguments in this process, and names
the first, in the catalog's order, whose result

- reproduces the learner's value: the same comparison the test made, with the learner's
  value in the place of the expected one (shape, dtype, values within the test's
  tolerance, a NaN where the learner has a NaN),
- fails the test, as the learner's value did, and
- agrees with what the learner's function returned on every other input the test gave it
  lately (hypothesis's examples before the one shown, each within a relative 1e-5). The
  example shown is shrunk to the simplest that fails, often all zeros or a single entry,
  where two different slips can give the same result; the other examples tell them apart.

Otherwise it names nothing: it never suggests a mistake the learner's result does not
reproduce. The mistakes are the instructor's code, never the learner's, so this runs in the
tests' process in the graded mode too, where the inputs and the result already are.
"""

from __future__ import annotations

import base64
import functools
import warnings
import zlib
from collections import deque
from collections.abc import Callable
from typing import cast

import torch

from kata.core.records import Diagnosis

#: How many of the latest calls are kept: the one a failed check got its value from, and
#: the examples before it, which tell a mistake that only looks alike on the last input apart
_KEPT = 32
#: How close a mistake's result must be to the learner's on those other inputs
_AGREEMENT = 1e-5
_calls: deque[tuple[str, str, tuple, dict, object]] = deque(maxlen=_KEPT)


def log_call(kata: str, function: str, args: tuple, kwargs: dict, result: object) -> None:
    """Keep one call of the learner's ``function`` (of the kata folder ``kata``): the test's
    arguments and the result it got back."""
    _calls.append((kata, function, args, kwargs, result))


def forget_calls() -> None:
    """Drop the logged calls (a test is over)."""
    _calls.clear()


@functools.cache
def _mistakes(kata: str, function: str) -> tuple[tuple[str, str, Callable], ...]:
    """The shipped mistakes of ``function``, ranked: (name, explanation, the function)."""
    from kata.harness import mistakes  # only a failure needs them

    found = []
    for folder, replaced, name, explanation, packed in mistakes.MISTAKES:
        if (folder, replaced) == (kata, function):
            namespace: dict = {}
            exec(mistakes.IMPORTS[folder], namespace)  # the instructor's code, never a learner's
            exec(zlib.decompress(base64.b64decode(packed)).decode("utf-8"), namespace)
            found.append((name, explanation, namespace[function]))
    return tuple(found)


def _result_of(mistake: Callable, args: tuple, kwargs: dict) -> tuple[bool, object]:
    """(True, what ``mistake`` returns for copies of the arguments, as plain data), or
    (False, None) when it raises. It draws no random number the tests would miss."""
    from kata.harness.boundary import plain  # which logs its calls here

    copies_of_args, copies_of_kwargs = cast(tuple, plain((args, kwargs)))
    try:
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return True, plain(mistake(*copies_of_args, **copies_of_kwargs))
    except Exception:  # noqa: BLE001 -- a mistake that cannot take the input gives no result
        return False, None


def diagnose(error: BaseException) -> Diagnosis | None:
    """The cataloged mistake that gives exactly what the learner's code gave in the check
    ``error`` failed, where one does."""
    compared = getattr(error, "compared", None)
    if compared is None:
        return None
    calls = [call for call in _calls if call[-1] is compared.actual]
    if len(calls) != 1:  # none, or a value several calls returned (a constant): no telling which
        return None
    failing = calls[0]
    kata, function, args, kwargs, _ = failing
    others = [call for call in _calls if call[:2] == (kata, function) and call is not failing]
    for name, explanation, mistake in _mistakes(kata, function):
        if _explains(mistake, compared, args, kwargs, others):
            return Diagnosis(function, name, explanation)
    return None


def _explains(mistake: Callable, compared, args: tuple, kwargs: dict, others: list) -> bool:
    """Whether ``mistake`` gives what the learner's function gave: on the failing input
    within the failed check's tolerance (and failing that check too), and on the other
    inputs in ``others``."""
    from kata.assertions import same_value  # a diagnosis runs only after a failed check

    ran, result = _result_of(mistake, args, kwargs)
    try:
        if not (ran and compared.reproduces(result) and not compared.accepts(result)):
            return False
        for _, _, other_args, other_kwargs, learners in others:
            ran, result = _result_of(mistake, other_args, other_kwargs)
            if not (ran and same_value(result, learners, _AGREEMENT)):
                return False
    except Exception:  # noqa: BLE001 -- a comparison that cannot be made is no match
        return False
    return True
