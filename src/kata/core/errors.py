"""One root for every exception the harness raises, and the failures of learner code that
every room of it knows.

``KataError`` is the root: ``except KataError`` catches whatever the harness itself raises,
and nothing a learner's code raises of its own accord. Each room defines its own errors
below it (``kata.runs.sandbox.BoxUnavailableError``, ``kata.grading.targets.TargetError``...),
named ``...Error``.

A *failure* is different: the learner's code did something a kata test rejects. Failures are
``AssertionError``\\ s, so that pytest reports a failed test rather than an error, and they are
defined here because they cross rooms: the harness raises them in the learner's process, the
graded mode carries them to the tests' process (``kata.harness.wire``), and runs record their
kind (``kata.core.records.FailureKind``), never their class name as text.

>>> issubclass(Mismatch, KataFailure) and issubclass(KataFailure, (KataError, AssertionError))
True
"""

from __future__ import annotations


class KataError(Exception):
    """The root of every exception that the harness raises."""


class KataFailure(KataError, AssertionError):
    """The learner's code failed a kata test; the message says how, for the learner."""


class Mismatch(KataFailure):
    """The learner's result differs from the oracle's (``kata.assertions``). One that shows
    the two values side by side also has them as attributes, for views that lay them out:
    ``summary`` (what differs), ``expected`` and ``actual`` (each value as its repr)."""

    summary: str
    expected: str
    actual: str


class RuleViolation(KataFailure):
    """Learner code broke one of the lesson's rules; the message says which rule and why
    (``kata.harness.guards``)."""


class InputModified(KataFailure):
    """Learner code changed a tensor it was given, in place: the caller's data is gone."""


class KataImportError(KataFailure):
    """The module under test is missing, does not import, or lacks a public function."""


class CodeRefused(KataFailure):
    """The code under test names what kata code may not (the allow-list of
    ``kata.harness.allowlist``): it is not run, and the message says which line and why."""


class CodeStopped(KataFailure):
    """The code under test, running in a process of its own (the graded mode), ended that
    process, sent no answer in time, or sent something that is not an answer."""


#: Every failure class, for code that carries failures between processes by name.
FAILURES = (Mismatch, RuleViolation, InputModified, KataImportError, CodeRefused, CodeStopped)
