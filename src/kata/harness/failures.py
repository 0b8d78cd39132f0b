"""What a failed kata test says: its kind (``kata.core.records.FailureKind``, from the
exception's class), and its summary in a few lines (the message, the falsifying input, the
learner's line it came from), which pytest prints with the hints and every tool shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kata.core.errors import (
    CodeRefused,
    CodeStopped,
    InputModified,
    KataImportError,
    Mismatch,
    RuleViolation,
)
from kata.core.manifest import load_manifest
from kata.core.records import Cause, Diagnosis, FailureDetail, FailureKind
from kata.mnist_data import MnistUnavailableError


def _learner_line(excinfo: pytest.ExceptionInfo, tree: Path) -> str:
    """Where in the code under test (this kata's module, or an earlier kata's that it uses)
    the exception came from, with that line of code."""
    if getattr(excinfo.value, "raised_at", None):  # the graded mode: the learner's side saw it
        return f"\n  raised at {excinfo.value.raised_at}"
    for entry in reversed(excinfo.traceback):
        path = Path(entry.path)
        if path.suffix == ".py" and path.parent.parent == tree \
                and not path.name.startswith("test_"):
            source = str(entry.statement).strip()
            return f"\n  raised at {path.name}:{entry.lineno + 1}:  {source}"
    return ""


#: The failure classes of the harness and the kind each one is (the first that matches).
_KINDS: tuple[tuple[type[BaseException], FailureKind], ...] = (
    (NotImplementedError, FailureKind.NOT_IMPLEMENTED),
    (KataImportError, FailureKind.NOT_IMPORTED),
    (CodeRefused, FailureKind.REFUSED),
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


def failure_detail(excinfo: pytest.ExceptionInfo, tree: Path, explanations: RuleExplanations,
                   nodeid: str) -> FailureDetail:
    """The parts of a failure that views lay out: the summary (a rule's reason said once per
    run, see ``RuleExplanations``), the expected and actual values (where a ``Mismatch``
    compared them), the pictures the test drew, and the other notes (the falsifying
    example)."""
    error = excinfo.value
    pictures = tuple(getattr(error, "pictures", ()))
    notes = () if failure_kind(error).quiet else tuple(
        note for note in getattr(error, "__notes__", []) if note not in pictures)
    if isinstance(error, Mismatch) and hasattr(error, "expected"):
        return FailureDetail(error.summary, error.expected, error.actual, pictures, notes,
                             failure_cause(error))
    summary = explanations.once(failure_summary(excinfo, tree), nodeid)
    summary = summary.split("\n".join(notes), 1)[0].rstrip() if notes else summary
    return FailureDetail(summary, pictures=pictures, notes=notes, cause=failure_cause(error))


class RuleExplanations:
    """Says why a rule exists once per run: the first failure that breaks a rule carries the
    rule's reason (the manifest's ``why``, a paragraph for ``no_loops``), each later one
    points back to it instead of repeating it."""

    def __init__(self) -> None:
        self.first: dict[str, str] = {}  # rule name -> the test that explained it

    def once(self, text: str, nodeid: str) -> str:
        """``text`` (a failure's summary, of the test ``nodeid``) with the reasons already
        given under an earlier test of this run replaced by a pointer to that test."""
        for rule in load_manifest().rules.values():
            why = f"Why the rule: {rule.why}"
            if why in text and self.first.setdefault(rule.name, nodeid) != nodeid:
                earlier = self.first[rule.name].rsplit("::", 1)[-1]
                text = text.replace(why, f"Why the rule: said under {earlier}, the first test "
                                         f"of this run that broke it (kata spec says it too).")
        return text

