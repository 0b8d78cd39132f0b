"""Assertions that tell a learner exactly what went wrong: shape, then dtype, then values.

Each failure names the call, shows the expected result beside the actual one and points at
the first wrong position. The falsifying input itself is printed by hypothesis, and the
plugin adds the hint of the function that failed.

Values are the spec's business: the docstring says what a function returns (a tensor, "a
Python float", "a tuple of ints") and its example shows it. Every other demand (an error's
type or message, printed output, a type beyond that, an identity or a view) is a
*contract*: a sentence named in the manifest (``[katas.contracts]``), stated word for word
in the function's docstring, and checked only through the helpers below that take
``contract="function.key"`` (listed in ``kata.instructor.contracts.CONTRACT_HELPERS``). A
helper refuses a contract that the manifest does not hold, and
``kata.instructor.contracts.problems`` proves, without running anything, that the tests
demand nothing else.

>>> import torch
>>> assert_tensor(torch.tensor([1, 2]), torch.tensor([1, 2]), call="f(x)")
>>> assert_tensor(torch.tensor([[1, 2]]), torch.tensor([1, 2]), call="f(x)")
Traceback (most recent call last):
...
kata.core.errors.Mismatch: f(x) returned the wrong shape: expected (2,), got (1, 2).
...
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from kata.core.errors import KataError, Mismatch
from kata.core.manifest import Kata, load_manifest
from kata.core.records import Cause, Foreign

__all__ = ["Compared", "ContractError", "Mismatch", "assert_contract", "assert_mentions",
           "assert_tensor", "assert_true", "assert_type", "assert_value", "raises",
           "raises_value_error", "same_value", "shown_on_failure", "stated", "tensor_result",
           "type_name"]


class ContractError(KataError):
    """A kata test demands something that no contract of the manifest states: a fault of the
    test, never of the learner's code."""


def _calling_kata() -> Kata | None:
    """The kata whose test file (``katas/<folder>/test_*.py``) called a helper, if one did."""
    folders = {kata.folder: kata for kata in load_manifest().katas}
    frame: types.FrameType | None = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.name.startswith("test_") and path.parent.name in folders:
            return folders[path.parent.name]
        frame = frame.f_back
    return None


def stated(contract: str) -> str:
    """The sentence of ``contract``, from the manifest, for the kata whose test asks (any
    kata's when no kata test asks); ``ContractError`` when there is none.

    >>> stated("broadcast_shape.clash")[:37]
    'Raises ``ValueError`` naming the axis'
    >>> stated("broadcast_shape.shorter")
    Traceback (most recent call last):
    ...
    kata.assertions.ContractError: no contract 'broadcast_shape.shorter' in any kata of the manifest
    """
    try:
        return load_manifest().contract(contract, _calling_kata())
    except KeyError as error:
        raise ContractError(error.args[0]) from None


def _breach(message: str, contract: str) -> Mismatch:
    """A failure that quotes the docstring's sentence it enforces."""
    return Mismatch(f"{message}\n  (the docstring says: {stated(contract)})")


def type_name(value: object) -> str:
    """The type of a learner's result as a learner would write it: ``float``,
    ``numpy.ndarray`` (for a value that crossed the boundary as a ``Foreign``).

    >>> type_name(Foreign("numpy.ndarray", "array([0.])")), type_name(2.0)
    ('numpy.ndarray', 'float')
    """
    if isinstance(value, Foreign):
        return value.type_name
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" \
        else f"{kind.__module__}.{kind.__qualname__}"


def _side_by_side(summary: str, expected: object, actual: object, cause: Cause) -> Mismatch:
    """A ``Mismatch`` that says ``summary``, then shows ``expected`` above ``actual``; views
    that lay a failure out (the notebook's table) read the two values from its attributes,
    and the hint it shows is chosen by its ``cause``."""
    def block(label: str, text: str) -> str:
        return f"  {label:<9} " + text.replace("\n", "\n" + " " * 12)
    shown_expected, shown_actual = repr(expected), repr(actual)
    mismatch = Mismatch(f"{summary}\n{block('expected:', shown_expected)}\n"
                        f"{block('actual:', shown_actual)}")
    mismatch.summary, mismatch.expected, mismatch.actual = summary, shown_expected, shown_actual
    mismatch.cause = cause  # type: ignore[attr-defined]
    return mismatch


def _shape(t: torch.Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def tensor_result(actual: object, *, call: str) -> torch.Tensor:
    """``actual`` when it is a tensor, as the docstring promises; else a ``Mismatch`` that
    names what came back.

    >>> tensor_result(Foreign("numpy.ndarray", "array([0.])"), call="f(x)")
    Traceback (most recent call last):
    ...
    kata.core.errors.Mismatch: f(x) should return a torch.Tensor, but returned numpy.ndarray: ...
    """
    if not isinstance(actual, torch.Tensor):
        wrong_kind = Mismatch(f"{call} should return a torch.Tensor, but returned "
                              f"{type_name(actual)}: {actual!r}")
        wrong_kind.cause = Cause.KIND  # type: ignore[attr-defined]
        raise wrong_kind
    return actual


@dataclass(frozen=True)
class Compared:
    """What a failed check held, attached to its ``Mismatch`` as ``compared``: the learner's
    value, whether another value would have passed the same check, and whether another
    value is the learner's own within the check's tolerance. ``kata.harness.diagnosis``
    asks both of a cataloged mistake's result on the same input, to name the mistake that
    gives exactly what the learner's code gave."""

    actual: object
    accepts: Callable[[object], bool]
    reproduces: Callable[[object], bool]


def _compared(failure: Mismatch, compared: Compared) -> Mismatch:
    failure.compared = compared  # type: ignore[attr-defined]
    return failure


def _scalar(tolerance: float | torch.Tensor, shape: tuple[int, ...]) -> float | torch.Tensor:
    """A tolerance that applies to ``shape``: itself where it broadcasts to it, else its
    largest entry (a result of the wrong shape is compared as a whole)."""
    if not isinstance(tolerance, torch.Tensor):
        return tolerance
    try:
        torch.broadcast_shapes(tolerance.shape, shape)
    except RuntimeError:
        return float(tolerance.max()) if tolerance.numel() else 0.0
    return tolerance


def _tensor_mismatch(actual: object, expected: torch.Tensor, *, call: str, dtype: torch.dtype,
                     atol: float | torch.Tensor, rtol: float | torch.Tensor,
                     nan_matches: bool = False) -> Mismatch | None:
    """What ``assert_tensor`` raises for ``actual``, or None when it passes; with
    ``nan_matches``, a NaN matches a NaN where ``expected`` has one."""
    actual = tensor_result(actual, call=call)
    if _shape(actual) != _shape(expected):
        return _side_by_side(f"{call} returned the wrong shape: expected {_shape(expected)}, got "
                             f"{_shape(actual)}.", expected.to(dtype), actual, Cause.SHAPE)
    if actual.dtype != dtype:
        return _side_by_side(f"{call} returned the wrong dtype: expected {dtype}, got "
                             f"{actual.dtype}.", expected.to(dtype), actual, Cause.DTYPE)
    # torch's own methods, never the tensor's: an object that crossed may not be what it says
    got = torch.Tensor.cpu(torch.Tensor.detach(actual))
    want = torch.Tensor.cpu(torch.Tensor.detach(expected))
    if dtype.is_floating_point:
        got, want = got.double(), want.double()
        same = torch.isinf(want) & (got == want)
        if nan_matches:
            same |= torch.isnan(want) & torch.isnan(got)
        allowed = torch.as_tensor(atol).double() + torch.as_tensor(rtol).double() * want.abs()
        close = (got - want).abs() <= allowed
        wrong = ~(close | same)
    else:
        wrong = got != want
    if not wrong.any():
        return None
    index = tuple(int(i) for i in wrong.nonzero()[0])
    bound = ""
    if dtype.is_floating_point:
        bound = f" (allowed error {float(allowed.expand(want.shape)[index]):.3g})"
    return _side_by_side(
        f"{call} returned wrong values at {int(wrong.sum())} of {wrong.numel()} positions; "
        f"the first is at {list(index)}: expected {want[index].item()!r}, got "
        f"{got[index].item()!r}{bound}.", expected.to(dtype), actual, Cause.VALUES)


def _tensor_check(actual: object, expected: torch.Tensor, *, call: str, dtype: torch.dtype,
                  atol: float | torch.Tensor, rtol: float | torch.Tensor, nan_matches: bool = False
                  ) -> bool:
    """Whether ``actual`` passes ``assert_tensor``'s check (a result that is no tensor
    fails it)."""
    try:
        return _tensor_mismatch(actual, expected, call=call, dtype=dtype, atol=atol, rtol=rtol,
                                nan_matches=nan_matches) is None
    except Mismatch:
        return False


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

    def accepts(candidate: object) -> bool:
        return _tensor_check(candidate, expected, call=call, dtype=dtype, atol=atol, rtol=rtol)

    def reproduces(candidate: object) -> bool:
        if not isinstance(actual, torch.Tensor):
            return same_value(candidate, actual)
        shape = _shape(actual)
        return _tensor_check(candidate, actual, call=call, dtype=actual.dtype,
                             atol=_scalar(atol, shape), rtol=_scalar(rtol, shape), nan_matches=True)

    try:
        failure = _tensor_mismatch(actual, expected, call=call, dtype=dtype, atol=atol, rtol=rtol)
    except Mismatch as not_a_tensor:
        failure = not_a_tensor
    if failure is not None:
        raise _compared(failure, Compared(actual, accepts, reproduces))


def _same_kind(actual: object, expected: object) -> bool:
    """``actual`` is of ``expected``'s type or a subclass of it (``torch.Size`` is a tuple),
    never a bool standing for a number."""
    return isinstance(actual, type(expected)) and (
        isinstance(expected, bool) or not isinstance(actual, bool))


def same_value(candidate: object, reference: object, rel: float = 0.0) -> bool:
    """Whether ``candidate`` is ``reference``'s value: the same type, and equal (floats within
    ``rel`` of it, a NaN matching a NaN; tensors of the same shape and dtype, each entry
    within ``rel`` of the largest finite one), element by element in tuples and lists.

    >>> same_value((1, torch.tensor([1.0, float("nan")])), (1, torch.tensor([1.0, float("nan")])))
    True
    >>> same_value(1.0, 1, rel=0.5), same_value(1.0, 1.25, rel=0.5), same_value(1.0, 2.5, rel=0.5)
    (False, True, False)
    """
    if type(candidate) is not type(reference):
        return False
    if isinstance(reference, torch.Tensor):
        scale = 0.0
        if rel and reference.dtype.is_floating_point:
            finite = reference.detach()[torch.isfinite(reference.detach())]
            scale = float(finite.abs().max()) if finite.numel() else 0.0
        return _tensor_check(candidate, reference, call="", dtype=reference.dtype,
                             atol=rel * scale, rtol=rel, nan_matches=True)
    if isinstance(reference, float):
        return (candidate != candidate and reference != reference) or \
            abs(candidate - reference) <= rel * abs(reference)  # type: ignore[operator]
    if isinstance(reference, (tuple, list)):
        return len(candidate) == len(reference) and all(  # type: ignore[arg-type]
            same_value(c, r, rel) for c, r in zip(candidate, reference))  # type: ignore[call-overload]
    try:
        return bool(candidate == reference)
    except Exception:  # noqa: BLE001 -- a comparison with no single truth value is no match
        return False


def assert_value(actual: object, expected: object, *, call: str, rel: float = 0.0) -> None:
    """Check a plain Python value: its kind, then its value (numbers within relative ``rel``).

    The kind is the one the docstring names ("a Python float", "a tuple of ints"), so a
    subclass passes: ``torch.Size`` is a tuple, and its sizes are ints.

    >>> assert_value((2, 3), (2, 3), call="f(a, b)")
    >>> import torch
    >>> assert_value(torch.Size([2, 3]), (2, 3), call="f(a, b)")
    >>> assert_value([2, 3], (2, 3), call="f(a, b)")
    Traceback (most recent call last):
    ...
    kata.core.errors.Mismatch: f(a, b) should return a Python tuple, but returned list: [2, 3]
    """
    failure = _value_mismatch(actual, expected, call=call, rel=rel)
    if failure is not None:
        def accepts(candidate: object) -> bool:
            return _value_mismatch(candidate, expected, call=call, rel=rel) is None

        def reproduces(candidate: object) -> bool:
            return same_value(candidate, actual, rel)
        raise _compared(failure, Compared(actual, accepts, reproduces))


def _value_mismatch(actual: object, expected: object, *, call: str, rel: float) -> Mismatch | None:
    """What ``assert_value`` raises for ``actual``, or None when it passes."""
    if not _same_kind(actual, expected):
        wrong_kind = Mismatch(f"{call} should return a Python {type(expected).__name__}, but "
                              f"returned {type_name(actual)}: {actual!r}")
        wrong_kind.cause = Cause.KIND  # type: ignore[attr-defined]
        return wrong_kind
    # _same_kind made actual an instance of expected's type: a float, a tuple
    if isinstance(expected, float) and isinstance(actual, float):
        wrong = not abs(actual - expected) <= rel * abs(expected)
    else:
        wrong = actual != expected or (
            isinstance(expected, tuple) and isinstance(actual, tuple)
            and not all(_same_kind(a, e) for a, e in zip(actual, expected)))
    if wrong:
        return _side_by_side(f"{call} returned the wrong value.", expected, actual, Cause.VALUES)
    return None


def assert_true(condition: bool | torch.Tensor, message: str) -> None:
    """Check a property; ``message`` says which property failed and on what."""
    if not bool(condition):
        raise Mismatch(message)


def _shape_pattern(shape: tuple[int, ...]) -> str:
    """A regex for a shape written as (2, 3), [2, 3], torch.Size([2, 3]) or 2 x 3."""
    numbers = r"\s*(?:,|x|×)\s*".join(str(n) for n in shape)  # noqa: RUF001 - the times sign, too
    return rf"(?<![\d.]){numbers}(?:,)?(?![\d.])" if shape else r"\(\)|\[\]"


def _unnamed(message: str, shapes: tuple[tuple[int, ...], ...], mentions: tuple[str, ...]
             ) -> list[str]:
    """Which of ``shapes`` and ``mentions`` the message does not name."""
    missing = [str(s) for s in shapes if not re.search(_shape_pattern(s), message)]
    return missing + [m for m in mentions
                      if not re.search(rf"(?<![\w.-]){re.escape(m)}(?![\w.])", message)]


@contextmanager
def raises(error: type[Exception], call: str, *, contract: str,
           shapes: tuple[tuple[int, ...], ...] = (), mentions: tuple[str, ...] = ()
           ) -> Iterator[None]:
    """Expect ``error`` (or a subclass), as contract ``contract`` states, with a message that
    names each of ``shapes`` and contains each of ``mentions`` (as the contract must say).

    >>> with raises(TypeError, "f(a)", contract="outer.not_vectors"):
    ...     raise TypeError("anything")
    """
    stated(contract)
    try:
        yield
    except error as raised:
        missing = _unnamed(str(raised), shapes, mentions)
        if missing:
            raise _breach(f"{call} raised {error.__name__}, but its message should name "
                          f"{', '.join(missing)}; it said: {str(raised)!r}", contract) from None
    except (NotImplementedError, AssertionError):
        raise
    except Exception as other:  # noqa: BLE001 - any other error breaks the contract: say which
        raise _breach(f"{call} should raise {error.__name__} for this input, but raised "
                      f"{type(other).__name__}: {other}", contract) from None
    else:
        raise _breach(f"{call} should raise {error.__name__} for this input, but returned "
                      f"normally.", contract)


def raises_value_error(call: str, *, contract: str, shapes: tuple[tuple[int, ...], ...] = (),
                       mentions: tuple[str, ...] = ()) -> AbstractContextManager[None]:
    """``raises(ValueError, ...)``: the error a kata function raises for input it cannot take.

    >>> with raises_value_error("f(a, b)", contract="matmul.misfit", shapes=((2, 3), (4,))):
    ...     raise ValueError("shapes (2, 3) and (4,) do not fit")
    """
    return raises(ValueError, call, contract=contract, shapes=shapes, mentions=mentions)


def assert_type(actual: object, expected: type | tuple[type, ...], *, call: str,
                contract: str) -> None:
    """Check that ``actual`` is an instance of ``expected`` (subclasses pass), as contract
    ``contract`` states.

    >>> assert_type((1, 2), tuple, call="grid(1, 2)", contract="grid.pair")
    """
    stated(contract)
    if not isinstance(actual, expected):
        names = " or ".join(t.__name__ for t in
                            (expected if isinstance(expected, tuple) else (expected,)))
        raise _breach(f"{call} should return a {names}, but returned {type_name(actual)}: "
                      f"{actual!r}", contract)


def assert_contract(condition: bool | torch.Tensor, message: str, *, contract: str) -> None:
    """Check a property that contract ``contract`` states and a scenario observed (a view
    shares its input's memory, a stride is 0...); ``message`` says what was seen."""
    stated(contract)
    if not bool(condition):
        raise _breach(message, contract)


def assert_mentions(text: str, mentions: tuple[str, ...], *, call: str, what: str,
                    contract: str) -> None:
    """Check that ``text`` (printed output, a message: ``what`` says which) names each of
    ``mentions`` as a word of its own, as contract ``contract`` states."""
    stated(contract)
    missing = _unnamed(text, (), mentions)
    if missing:
        raise _breach(f"{call}: {what} should name {', '.join(missing)}; it was: {text!r}",
                      contract)


@contextmanager
def shown_on_failure(picture: str) -> Iterator[None]:
    """Add ``picture`` (say, the shapes lined up) to the report of a check that fails inside.

    >>> with shown_on_failure("A  2 x 3"):
    ...     assert_value(1, 2, call="f()")
    Traceback (most recent call last):
    ...
    kata.core.errors.Mismatch: f() returned the wrong value.
    ...
    """
    try:
        yield
    except NotImplementedError:
        raise  # nothing is written yet: the picture would only be noise
    except Exception as failure:
        failure.add_note(picture)
        # for views that draw: any exception may carry the pictures, so mypy knows no such field
        failure.pictures = (  # type: ignore[attr-defined]
            *getattr(failure, "pictures", ()), picture)
        raise
