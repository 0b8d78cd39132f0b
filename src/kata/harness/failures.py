"""What a failed kata test says: its kind (``kata.core.records.FailureKind``, from the
exception's class), and its summary in a few lines (the message, the falsifying input, the
learner's line it came from), which pytest prints with the hints and every tool shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kata.core.errors import CodeStopped, InputModified, KataImportError, Mismatch, RuleViolation
from kata.core.records import Cause, Diagnosis, FailureDetail, FailureKind
from kata.mnist_data import MnistUnavailableError


def _learner_line(excinfo: pytest.ExceptionInfo, tree: Path) -> str:
    """Where in the code under test (this kata's module, or an earlier kata's that it uses)
    the exception came from, with that line of code."""
    if getattr(excinfo.value, "raised_at", None):  # the graded mode: the learner's side saw it
        return f"\n  raised at {excinfo.value.raised_at}"
    for entry in reversed(excinfo.traceback):
        path = Path(entry.path)
        if path.suffix == ".py" and path.parent.parent == tree and not path.name.startswith("test_"):
            source = str(entry.statement).strip()
            return f"\n  raised at {path.name}:{entry.lineno + 1}:  {source}"
    return ""


#: The failure classes of the harness and the kind each one is (the first that matches).
_KINDS: tuple[tuple[type[BaseException], FailureKind], ...] = (
    (NotImplementedError, FailureKind.NOT_IMPLEMENTED),
    (KataImportError, FailureKind.NOT_IMPORTED),
    (MnistUnavailableError, FailureKind.MNIST_MISSING),
    (RuleViolation, FailureKind.RULE),
    (InputModified, FailureKind.INPUT_MODIFIED),
    (Mismatch, FailureKind.MISMATCH),
    (CodeStopped, FailureKind.CODE_STOPPED),
)


def failure_kind(error: BaseException) -> FailureKind:
    """What kind of failure ``error`` is; an exception of the learner's own is ``RAISED``."""
    return next((kind for cls, kind in _KINDS if isinstance(error, cls)), FailureKind.RAISED)


def failure_cause(error: BaseException) -> Cause | None:
    """What the failed check was about, where the harness knows it: the check of
    ``kata.assertions`` says (shape, dtype, values, kind), and a changed input is one."""
    if isinstance(error, InputModified):
        return Cause.INPUT
    return getattr(error, "cause", None) if isinstance(error, Mismatch) else None


def failure_summary(excinfo: pytest.ExceptionInfo, tree: Path,
                    diagnosis: Diagnosis | None = None) -> str:
    """A failure in a few lines: the message, the classic mistake it reproduces (where
    ``kata.harness.diagnosis`` found one), the falsifying input, the place in the code under
    test. This is what tools (``kata``, grading) show for a failed test."""
    error = excinfo.value
    if isinstance(error, AssertionError) and type(error) is not AssertionError:
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}"
        if not isinstance(error, NotImplementedError):
            text += _learner_line(excinfo, Path(tree).resolve())
    # the input does not matter while the function is a stub or its module does not import
    notes = "" if failure_kind(error).quiet else "\n".join(getattr(error, "__notes__", []))
    named = diagnosis.text if diagnosis else ""
    return "\n".join(part for part in (text, named, notes) if part)


def short_failure(summary: str, hints: list[str]) -> str:
    """The report pytest prints: the summary, then the hints of the function that failed."""
    return "\n".join([summary, *hints, "(--tb=long shows the full traceback)"])


def failure_detail(excinfo: pytest.ExceptionInfo, tree: Path) -> FailureDetail:
    """The parts of a failure that views lay out: the summary, the expected and actual
    values (where a ``Mismatch`` compared them), the pictures the test drew, and the
    other notes (the falsifying example)."""
    error = excinfo.value
    pictures = tuple(getattr(error, "pictures", ()))
    notes = () if failure_kind(error).quiet else tuple(
        note for note in getattr(error, "__notes__", []) if note not in pictures)
    if isinstance(error, Mismatch) and hasattr(error, "expected"):
        return FailureDetail(error.summary, error.expected, error.actual, pictures, notes,
                             failure_cause(error))
    summary = failure_summary(excinfo, tree).split("\n".join(notes), 1)[0].rstrip() \
        if notes else failure_summary(excinfo, tree)
    return FailureDetail(summary, pictures=pictures, notes=notes, cause=failure_cause(error))
