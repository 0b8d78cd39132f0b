"""A learner's grade, as typed records: each test's, each kata's, and the learner's, with
their points; how points are shared among a kata's tests; and a whole ``kata grade`` as a
``Gradebook``: every learner's grade, how they were graded (the box, the seed), whom each
grade is of (the roster), and the class at a glance (``KataSummary``).

The JSON form of a ``LearnerGrade`` (``to_json``) has the shape of Exercism's
``results.json`` version 3 (``status``, ``message`` only when the status is ``error``, and
``tests``, each with ``name``, ``status``, ``message``, ``output`` (its last 500 characters,
with a notice when cut) and ``task_id``, the kata's number), with the target, the learner,
the points (per test, per kata and in all), each kata's entry and what was ignored added.
Exercism's ``test_code`` is not repeated for every learner: the document holds each test's
code once, per kata (``KataSummary.tests_code``). ``grade_results.schema.json`` beside this
file is the document's exact shape.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kata.core.layout import is_hidden_test
from kata.core.manifest import Kata
from kata.core.records import Diagnosis, FailureKind, KataState, TestRecord
from kata.grading.targets import Identity, IgnoredFile, RosterMatch
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
    #: the test function's source (the JSON holds it once per kata: ``KataSummary``)
    test_code: str
    #: the kata's number
    task_id: int
    #: what it earned: its share when it passed, else 0
    points: float
    #: its share of the kata's points
    max_points: float
    kind: FailureKind | None = None
    #: one of the instructor's hidden tests (``kata.core.layout.HIDDEN_TESTS``)
    hidden: bool = False
    #: the kata's public functions the test is marked with
    functions: tuple[str, ...] = ()
    #: the classic mistake its failure reproduces, where the harness named one
    diagnosis: Diagnosis | None = None

    @property
    def function(self) -> str:
        """The test function's name, without its kata or parameters."""
        return self.name.rsplit("::", 1)[-1].split("[", 1)[0]

    def to_json(self) -> dict:
        return {"name": self.name, "status": self.status, "message": self.message,
                "output": self.output, "task_id": self.task_id, "points": self.points,
                "max_points": self.max_points, "functions": list(self.functions),
                "hidden": self.hidden,
                "diagnosis": self.diagnosis.to_dict() if self.diagnosis else None}


@dataclass(frozen=True)
class KataGrade:
    """One kata of a learner: its state, tests and points, and what its module names beyond
    the allow-list (``flags``)."""

    kata: Kata
    state: KataState
    points: float
    passed: int
    total: int
    #: why a broken or stopped kata did not run
    message: str | None
    flags: tuple[str, ...]
    tests: tuple[TestGrade, ...]
    #: wall time of its graded run (0 where none ran)
    seconds: float = 0.0

    @property
    def max_points(self) -> float:
        return self.kata.points

    def to_json(self) -> dict:
        return {"kata": self.kata.folder, "state": self.state.value, "points": self.points,
                "max_points": self.max_points, "passed": self.passed, "total": self.total,
                "message": self.message, "flags": list(self.flags),
                "seconds": round(self.seconds, 2)}


@dataclass(frozen=True)
class LearnerGrade:
    """One learner's (one target's) grade."""

    target: str
    #: pass: every kata done; fail: some kata not done; error: nothing could be graded
    status: str
    message: str | None
    katas: tuple[KataGrade, ...]
    #: the target's files that grading did not use (an edited test, an added conftest.py)
    ignored: tuple[IgnoredFile, ...] = ()
    #: whom it is, where a roster says so (``Gradebook.with_roster``)
    identity: Identity | None = None

    @property
    def points(self) -> float:
        return sum(kata.points for kata in self.katas)

    @property
    def max_points(self) -> float:
        return sum(kata.max_points for kata in self.katas)

    @property
    def seconds(self) -> float:
        """The wall time of its katas' graded runs, added up."""
        return sum(kata.seconds for kata in self.katas)

    @property
    def tests(self) -> tuple[TestGrade, ...]:
        return tuple(test for kata in self.katas for test in kata.tests)

    def to_json(self) -> dict:
        """Exercism's ``results.json`` v3 (less ``test_code``), with the target, the
        learner, points, katas and what was ignored added."""
        return {"version": 3, "status": self.status, "message": self.message,
                "target": self.target,
                "learner": self.identity.to_json() if self.identity else None,
                "points": self.points, "max_points": self.max_points,
                "seconds": round(self.seconds, 2),
                "ignored": [ignored.to_json() for ignored in self.ignored],
                "katas": [kata.to_json() for kata in self.katas],
                "tests": [test.to_json() for test in self.tests]}


def _test_status(test: TestRecord) -> str:
    if test.passed:
        return "pass"
    return "error" if test.kind in (FailureKind.NOT_IMPORTED, FailureKind.NOT_COLLECTED,
                                    FailureKind.REFUSED) else "fail"


def kata_grade(entry: KataProgress, flags: Sequence[str] = (), seconds: float = 0.0) -> KataGrade:
    """``entry`` (a graded run of one kata, which took ``seconds``) as a grade, with
    ``flags``: what its module names beyond the allow-list."""
    kata = entry.kata
    reason = entry.reason
    if entry.state is KataState.STOPPED and stop_reason(entry.output):  # say which cap
        reason = stop_reason(entry.output)
    worth = points_per_test(kata, entry.counted)
    tests = [TestGrade(f"{kata.folder}::{test.name}", status, None if status == "pass"
                       else test.message, _tail(test.output), test.test_code, kata.number,
                       points if status == "pass" else 0.0, points, test.kind,
                       is_hidden_test(test.nodeid), test.functions, test.diagnosis)
             for test, points in zip(entry.counted, worth)
             for status in [_test_status(test)]]
    if not tests:  # no test reported: the kata's run itself is the entry
        tests = [TestGrade(kata.folder, "error", reason, _tail(entry.output), "", kata.number,
                           0.0, kata.points)]
    return KataGrade(kata, entry.state, sum(test.points for test in tests), entry.passed,
                     len(entry.counted), reason, tuple(flags), tuple(tests), seconds)


def learner_grade(target: str, katas: Sequence[KataGrade],
                  ignored: Sequence[IgnoredFile] = ()) -> LearnerGrade:
    """A learner's grade from their katas' grades (and the files grading ignored)."""
    if katas and all(not kata.total for kata in katas):
        return LearnerGrade(target, "error", "no test could run: " + "; ".join(
            f"{kata.kata.folder}: {kata.message}" for kata in katas), tuple(katas), tuple(ignored))
    done = all(kata.state is KataState.DONE for kata in katas)
    return LearnerGrade(target, "pass" if done else "fail", None, tuple(katas), tuple(ignored))


def not_graded(target: str, problem: str) -> LearnerGrade:
    """The grade of a target that could not be graded at all (``problem`` says why)."""
    return LearnerGrade(target, "error", problem, ())


def first_line(text: str | None) -> str:
    """The first line of a message that says something (empty when none does)."""
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


@dataclass(frozen=True)
class FailureCount:
    """A test that failed for several learners: how many, and the first line its failures
    most often began with."""

    #: the test function (``test_matmul_matches_torch``; its parametrized cases together)
    test: str
    message: str
    learners: int

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class MistakeCount:
    """How many learners made one diagnosed classic mistake (``TestGrade.diagnosis``)."""

    function: str
    mistake: str
    learners: int

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class KataSummary:
    """One kata across a class: how many learners were graded and where they stand, how
    many pass each public function, the most common failure, the diagnosed classic
    mistakes, the runs' wall time, and the tests' code (once, for every learner)."""

    kata: Kata
    learners: int
    states: dict[str, int]
    #: per public function: how many learners pass every test marked with it
    passing: dict[str, int]
    most_common_failure: FailureCount | None
    mistakes: tuple[MistakeCount, ...]
    seconds: tuple[float, ...]
    #: each test function's source, by name
    tests_code: dict[str, str]
    #: the hidden tests' functions
    hidden: tuple[str, ...]

    @property
    def mean_seconds(self) -> float | None:
        """The mean wall time of a learner's graded run (None where none ran)."""
        return statistics.fmean(self.seconds) if self.seconds else None

    @property
    def max_seconds(self) -> float | None:
        return max(self.seconds, default=None)

    def to_json(self) -> dict:
        return {"kata": self.kata.folder, "max_points": self.kata.points,
                "learners": self.learners, "states": self.states, "passing": self.passing,
                "most_common_failure": (self.most_common_failure.to_json()
                                        if self.most_common_failure else None),
                "mistakes": [mistake.to_json() for mistake in self.mistakes],
                "seconds": {"mean": self.mean_seconds and round(self.mean_seconds, 2),
                            "max": self.max_seconds and round(self.max_seconds, 2)},
                "hidden_tests": list(self.hidden), "tests_code": self.tests_code}


def kata_summary(kata: Kata, grades: Sequence[LearnerGrade]) -> KataSummary:
    """``kata`` across the learners of ``grades`` (those that could not be graded at all
    are not counted). A test that fails because the function is still the stub, or its
    module does not import, is not a failure to study: those learners count as not started
    or broken, and only the others' failures are tallied."""
    graded = [entry for grade in grades for entry in grade.katas if entry.kata == kata]
    ran = [entry for entry in graded if entry.total]
    failures: dict[str, list[str]] = {}
    mistakes: Counter[tuple[str, str]] = Counter()
    for entry in ran:
        failed = [test for test in entry.tests if test.status != "pass"
                  and not (test.kind and test.kind.quiet)]
        for function in dict.fromkeys(test.function for test in failed):  # once a learner
            failures.setdefault(function, []).append(
                first_line(next(test.message for test in failed if test.function == function)))
        mistakes.update({(test.diagnosis.function, test.diagnosis.mistake)
                         for test in entry.tests if test.diagnosis})
    most_common = None
    if failures:  # the first test in the run's order among those most learners fail
        test, lines = max(failures.items(), key=lambda item: len(item[1]))
        most_common = FailureCount(test, Counter(lines).most_common(1)[0][0], len(lines))
    tests = [test for entry in ran for test in entry.tests]
    return KataSummary(
        kata, len(graded), dict(Counter(entry.state.value for entry in graded)),
        {function: sum(_passes(entry, function) for entry in ran) for function in kata.functions},
        most_common,
        tuple(MistakeCount(function, mistake, count)
              for (function, mistake), count in mistakes.most_common()),
        tuple(entry.seconds for entry in graded if entry.seconds),
        {test.function: test.test_code for test in tests if test.test_code},
        tuple(dict.fromkeys(test.function for test in tests if test.hidden)))


def _passes(entry: KataGrade, function: str) -> bool:
    """Whether every test of ``entry`` marked with ``function`` passed (and one was)."""
    marked = [test for test in entry.tests if function in test.functions]
    return bool(marked) and all(test.status == "pass" for test in marked)


@dataclass(frozen=True)
class Gradebook:
    """One ``kata grade``: every target's grade, in the order given, and how they were
    graded: which katas, whether learner code ran in a box, the seed of the examples."""

    grades: tuple[LearnerGrade, ...]
    katas: tuple[Kata, ...]
    #: the seed every run drew its examples from (``kata grade --seed`` draws them again)
    seed: int
    boxed: bool
    #: whom each target is, where a roster was given
    roster: RosterMatch | None = None

    def summaries(self) -> list[KataSummary]:
        """The class at a glance, a summary per kata."""
        return [kata_summary(kata, self.grades) for kata in self.katas]

    def with_roster(self, roster: RosterMatch) -> Gradebook:
        """The same grades, each with its learner's identity from ``roster``."""
        return dataclasses.replace(self, roster=roster, grades=tuple(
            dataclasses.replace(grade, identity=roster.identities.get(grade.target))
            for grade in self.grades))
