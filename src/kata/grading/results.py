"""A learner's grade, as typed records: each test's, each kata's, and the learner's, with
their points; and how points are shared among a kata's tests.

The JSON form of a ``LearnerGrade`` (``to_json``) has the shape of Exercism's
``results.json`` version 3 (``status``, ``message`` only when the status is ``error``, and
``tests``, each with ``name``, ``status``, ``message``, ``output`` (its last 500 characters,
with a notice when cut), ``test_code`` and ``task_id``, the kata's number), with the target,
the points (per test, per kata and in all) and each kata's entry added;
``grade_results.schema.json`` beside this file is its exact shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kata.core.manifest import Kata
from kata.core.records import Diagnosis, FailureKind, KataState, TestRecord
from kata.runs.progress import KataProgress
from kata.runs.supervisor import stop_reason

SCHEMA = Path(__file__).with_name("grade_results.schema.json")
#: Exercism caps a test's output at 500 characters.
_OUTPUT_LIMIT = 500
#: Test points are whole multiples of 1/_QUANTA: exact in binary, fine enough for any kata.
_QUANTA = 256


def points_per_test(kata: Kata, tests: Sequence[TestRecord]) -> list[float]:
    """What each of ``tests`` (a graded run of ``kata``'s tests) is worth: the kata's points
    shared among its public names by their weights, each name's share split evenly among
    the tests marked with it (a test marked with two names gets a part of each). Names that
    no test here is marked with give their share to the others.

    >>> from kata.core.manifest import load_manifest
    >>> from kata.core.records import Outcome
    >>> run = [TestRecord(f"t{i}", "03_matmul", Outcome.PASSED, functions=(name,))
    ...        for i, name in enumerate(["matvec", "matmul", "matmul", "matmul_by_columns"])]
    >>> points_per_test(load_manifest().kata("03"), run)
    [2.5, 2.5, 2.5, 2.5]
    """
    marked = {name: sum(name in test.functions for test in tests) for name in kata.functions}
    weight = sum(kata.weight(name) for name, count in marked.items() if count)
    if not weight:
        return [0.0 for _ in tests]
    share = {name: kata.points * kata.weight(name) / weight / count
             for name, count in marked.items() if count}
    exact = [sum(share[name] for name in test.functions if name in share) for test in tests]
    # in whole 1/256ths of a point, largest remainders first: the shares add up to the kata's
    # points exactly, in binary floating point too (Classroom's reporter adds them up)
    quanta = [value * _QUANTA for value in exact]
    whole = [math.floor(value) for value in quanta]
    short = round(sum(quanta)) - sum(whole)
    for index in sorted(range(len(tests)), key=lambda i: whole[i] - quanta[i])[:short]:
        whole[index] += 1
    return [count / _QUANTA for count in whole]


def shown_points(points: float) -> str:
    """Points as a report shows them: to a hundredth at most (``8.33``, ``10``)."""
    return f"{points:.2f}".rstrip("0").rstrip(".")


def _tail(output: str) -> str:
    """The last characters of ``output`` that fit Exercism's 500, with a notice when cut."""
    if len(output) <= _OUTPUT_LIMIT:
        return output
    notice = f"[output truncated: the last {{}} of {len(output)} characters]\n"
    keep = _OUTPUT_LIMIT - len(notice.format(_OUTPUT_LIMIT))
    return notice.format(keep) + output[-keep:]


@dataclass(frozen=True)
class TestGrade:
    """One test of a learner's graded kata (or, where no test ran, the kata's run itself)."""

    __test__ = False  # a record, not a test class for pytest to collect

    #: ``kata folder::test name``
    name: str
    #: Exercism's: pass, fail or error (error: the code under test could not run at all)
    status: str
    message: str | None
    output: str
    test_code: str
    #: the kata's number
    task_id: int
    #: what it earned: its share when it passed, else 0
    points: float
    #: its share of the kata's points
    max_points: float
    kind: FailureKind | None = None
    #: the classic mistake its failure reproduced (its message names it too)
    diagnosis: Diagnosis | None = None

    def to_json(self) -> dict:
        return {"name": self.name, "status": self.status, "message": self.message,
                "output": self.output, "test_code": self.test_code, "task_id": self.task_id,
                "points": self.points, "max_points": self.max_points}


@dataclass(frozen=True)
class KataGrade:
    """One kata of a learner: its state, tests and points, and the integrity scan's flags."""

    kata: Kata
    state: KataState
    points: float
    passed: int
    total: int
    #: why a broken or stopped kata did not run
    message: str | None
    flags: tuple[str, ...]
    tests: tuple[TestGrade, ...]

    @property
    def max_points(self) -> float:
        return self.kata.points

    def to_json(self) -> dict:
        return {"kata": self.kata.folder, "state": self.state.value, "points": self.points,
                "max_points": self.max_points, "passed": self.passed, "total": self.total,
                "message": self.message, "flags": list(self.flags)}


@dataclass(frozen=True)
class LearnerGrade:
    """One learner's (one target's) grade."""

    target: str
    #: pass: every kata done; fail: some kata not done; error: nothing could be graded
    status: str
    message: str | None
    katas: tuple[KataGrade, ...]

    @property
    def points(self) -> float:
        return sum(kata.points for kata in self.katas)

    @property
    def max_points(self) -> float:
        return sum(kata.max_points for kata in self.katas)

    @property
    def tests(self) -> tuple[TestGrade, ...]:
        return tuple(test for kata in self.katas for test in kata.tests)

    def to_json(self) -> dict:
        """Exercism's ``results.json`` v3, with the target, points and katas added."""
        return {"version": 3, "status": self.status, "message": self.message,
                "target": self.target, "points": self.points, "max_points": self.max_points,
                "katas": [kata.to_json() for kata in self.katas],
                "tests": [test.to_json() for test in self.tests]}


def _test_status(test: TestRecord) -> str:
    if test.passed:
        return "pass"
    return "error" if test.kind in (FailureKind.NOT_IMPORTED, FailureKind.NOT_COLLECTED) else "fail"


def kata_grade(entry: KataProgress, flags: Sequence[str] = ()) -> KataGrade:
    """``entry`` (a graded run of one kata) as a grade, with ``flags`` from the integrity
    scan."""
    kata = entry.kata
    reason = entry.reason
    if entry.state is KataState.STOPPED and stop_reason(entry.output):  # say which cap
        reason = stop_reason(entry.output)
    worth = points_per_test(kata, entry.counted)
    tests = [TestGrade(f"{kata.folder}::{test.name}", status, None if status == "pass"
                       else test.message, _tail(test.output), test.test_code, kata.number,
                       points if status == "pass" else 0.0, points, test.kind, test.diagnosis)
             for test, points in zip(entry.counted, worth)
             for status in [_test_status(test)]]
    if not tests:  # no test reported: the kata's run itself is the entry
        tests = [TestGrade(kata.folder, "error", reason, _tail(entry.output), "", kata.number,
                           0.0, kata.points)]
    return KataGrade(kata, entry.state, sum(test.points for test in tests), entry.passed,
                     len(entry.counted), reason, tuple(flags), tuple(tests))


def learner_grade(target: str, katas: Sequence[KataGrade]) -> LearnerGrade:
    """A learner's grade from their katas' grades."""
    if katas and all(not kata.total for kata in katas):
        return LearnerGrade(target, "error", "no test could run: " + "; ".join(
            f"{kata.kata.folder}: {kata.message}" for kata in katas), tuple(katas))
    done = all(kata.state is KataState.DONE for kata in katas)
    return LearnerGrade(target, "pass" if done else "fail", None, tuple(katas))


def not_graded(target: str, problem: str) -> LearnerGrade:
    """The grade of a target that could not be graded at all (``problem`` says why)."""
    return LearnerGrade(target, "error", problem, ())
