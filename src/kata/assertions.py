"""Assertions that tell a learner exactly what went wrong: shape, then dtype, then values.

Each failure names the call, shows the expected result beside the actual one and points at
the first wrong position. The falsifying input itself is printed by hypothesis, and the
plugin adds the kata's hint.

>>> import torch
>>> assert_tensor(torch.tensor([1, 2]), torch.tensor([1, 2]), call="f(x)")
>>> assert_tensor(torch.tensor([[1, 2]]), torch.tensor([1, 2]), call="f(x)")
Traceback (most recent call last):
...
kata.assertions.Mismatch: f(x) returned the wrong shape: expected (2,), got (1, 2).
...
"""

from __future__ import annotations

import re
from contextlib import contextmanager

import torch


class Mismatch(AssertionError):
    """The learner's result differs from the oracle's."""


def _side_by_side(expected: object, actual: object) -> str:
    def block(label: str, value: object) -> str:
        text = repr(value).replace("\n", "\n" + " " * 12)
        return f"  {label:<9} {text}"
    return f"{block('expected:', expected)}\n{block('actual:', actual)}"


def _shape(t: torch.Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def assert_tensor(actual: object, expected: torch.Tensor, *, call: str,
                  dtype: torch.dtype | None = None, atol: float | torch.Tensor = 0.0,
                  rtol: float | torch.Tensor = 0.0) -> None:
    """Check that ``actual`` is a tensor like ``expected``: same shape, dtype, and values.

    ``expected`` may be computed in float64; ``dtype`` then says which dtype the learner's
    result must have (default: ``expected.dtype``). Values match when
    ``|actual - expected| <= atol + rtol * |expected|`` element-wise (``atol`` and ``rtol``
    may be tensors that broadcast against the result); infinities must match exactly and a NaN
    never matches.
    """
    dtype = dtype or expected.dtype
    if not isinstance(actual, torch.Tensor):
        raise Mismatch(f"{call} should return a torch.Tensor, but returned "
                       f"{type(actual).__name__}: {actual!r}")
    if _shape(actual) != _shape(expected):
        raise Mismatch(f"{call} returned the wrong shape: expected {_shape(expected)}, got "
                       f"{_shape(actual)}.\n" + _side_by_side(expected.to(dtype), actual))
    if actual.dtype != dtype:
        raise Mismatch(f"{call} returned the wrong dtype: expected {dtype}, got {actual.dtype}.\n"
                       + _side_by_side(expected.to(dtype), actual))
    got = actual.detach().cpu()
    want = expected.detach().cpu()
    if dtype.is_floating_point:
        got, want = got.double(), want.double()
        same_infinity = torch.isinf(want) & (got == want)
        close = (got - want).abs() <= torch.as_tensor(atol).double() + torch.as_tensor(rtol).double() * want.abs()
        wrong = ~(close | same_infinity)
    else:
        wrong = got != want
    if wrong.any():
        index = tuple(int(i) for i in wrong.nonzero()[0])
        bound = ""
        if dtype.is_floating_point:
            allowed = (torch.as_tensor(atol).double() + torch.as_tensor(rtol).double() * want.abs())
            bound = f" (allowed error {float(allowed.expand(want.shape)[index]):.3g})"
        raise Mismatch(
            f"{call} returned wrong values at {int(wrong.sum())} of {wrong.numel()} positions; "
            f"the first is at {list(index)}: expected {want[index].item()!r}, got "
            f"{got[index].item()!r}{bound}.\n" + _side_by_side(expected.to(dtype), actual))


def assert_value(actual: object, expected: object, *, call: str, rel: float = 0.0) -> None:
    """Check a plain Python value: its type, then its value (numbers within relative ``rel``).

    >>> assert_value((2, 3), (2, 3), call="broadcast_shape((2, 1), (3,))")
    """
    if type(actual) is not type(expected):
        raise Mismatch(f"{call} should return a Python {type(expected).__name__}, but returned "
                       f"{type(actual).__name__}: {actual!r}")
    if isinstance(expected, float):
        wrong = not abs(actual - expected) <= rel * abs(expected)
    else:
        wrong = actual != expected or (isinstance(expected, tuple) and any(
            type(a) is not type(e) for a, e in zip(actual, expected)))
    if wrong:
        raise Mismatch(f"{call} returned the wrong value.\n" + _side_by_side(expected, actual))


def assert_true(condition: bool | torch.Tensor, message: str) -> None:
    """Check a property; ``message`` says which property failed and on what."""
    if not bool(condition):
        raise Mismatch(message)


def _shape_pattern(shape: tuple[int, ...]) -> str:
    """A regex for a shape written as (2, 3), [2, 3], torch.Size([2, 3]) or 2 x 3."""
    numbers = r"\s*(?:,|x|×)\s*".join(str(n) for n in shape)
    return rf"(?<![\d.]){numbers}(?:,)?(?![\d.])" if shape else r"\(\)|\[\]"


@contextmanager
def raises_value_error(call: str, *, shapes: tuple[tuple[int, ...], ...] = (),
                       mentions: tuple[str, ...] = ()):
    """Expect a ValueError whose message names each of ``shapes`` and contains ``mentions``.

    >>> with raises_value_error("f(a, b)", shapes=((2, 3), (4,))):
    ...     raise ValueError("shapes (2, 3) and (4,) do not fit")
    """
    try:
        yield
    except ValueError as error:
        message = str(error)
        missing = [str(s) for s in shapes if not re.search(_shape_pattern(s), message)]
        missing += [m for m in mentions if not re.search(rf"(?<![\w.-]){re.escape(m)}(?![\w.])", message)]
        if missing:
            raise Mismatch(f"{call} raised ValueError, but its message should name "
                           f"{', '.join(missing)}; it said: {message!r}") from None
    except (NotImplementedError, AssertionError):
        raise
    except Exception as other:
        raise Mismatch(f"{call} should raise ValueError for this input, but raised "
                       f"{type(other).__name__}: {other}") from None
    else:
        raise Mismatch(f"{call} should raise ValueError for this input, but returned normally.")


@contextmanager
def shown_on_failure(picture: str):
    """Add ``picture`` (say, the shapes lined up) to the report of a check that fails inside.

    >>> with shown_on_failure("A  2 x 3"):
    ...     assert_value(1, 2, call="f()")
    Traceback (most recent call last):
    ...
    kata.assertions.Mismatch: f() returned the wrong value.
    ...
    """
    try:
        yield
    except NotImplementedError:
        raise  # nothing is written yet: the picture would only be noise
    except Exception as failure:
        failure.add_note(picture)
        raise
