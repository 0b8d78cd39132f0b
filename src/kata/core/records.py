"""The typed records that cross rooms and processes: a test's outcome, a run of tests, a
kata's state, and a value that crossed the boundary to the learner's code.

Each has one serializer (``to_json``/``from_json``): the pytest plugin writes a run's record
(``--kata-json``), the runner reads it back, the board keeps it, and reports read its
fields. Nothing is passed as text to parse or as a class name to compare: a failure's kind
is a ``FailureKind``, a kata's state a ``KataState``.

>>> test = TestRecord("katas/03_matmul/test_matmul.py::test_x[a]", "03_matmul", Outcome.FAILED,
...                   FailureKind.MISMATCH, "Mismatch", "matvec(m, c) returned ...", ("matvec",))
>>> RunRecord("katas", 1, (test,)) == RunRecord.from_json(RunRecord("katas", 1, (test,)).to_json())
True
>>> test.name, test.function, test.kind.value
('test_x[a]', 'test_x', 'wrong result')
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """How a test ended, in pytest's words."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"


class FailureKind(StrEnum):
    """Why a test did not pass, as the harness knows it (the plugin decides, from the
    exception's class, never from its name)."""

    #: the function is still the stub's
    NOT_IMPLEMENTED = "not implemented"
    #: the module under test is missing, does not import, or lacks a public name
    NOT_IMPORTED = "not imported"
    #: the module under test names what kata code may not (the allow-list): it did not run
    REFUSED = "refused"
    #: the test file itself did not collect
    NOT_COLLECTED = "not collected"
    #: MNIST could not be had for the final exam
    MNIST_MISSING = "MNIST missing"
    #: the learner's code broke one of the lesson's rules
    RULE = "rule broken"
    #: the learner's code changed a tensor it was given
    INPUT_MODIFIED = "input modified"
    #: the learner's result differs from the oracle's
    MISMATCH = "wrong result"
    #: the learner's code, in a process of its own, stopped or sent no answer
    CODE_STOPPED = "code stopped"
    #: the learner's code raised an exception of its own
    RAISED = "raised"

    @property
    def quiet(self) -> bool:
        """Whether the failure says nothing about the input: a stub, or a module that does
        not import, fails every example alike."""
        return self in (FailureKind.NOT_IMPLEMENTED, FailureKind.NOT_IMPORTED,
                        FailureKind.NOT_COLLECTED, FailureKind.REFUSED)


class KataState(StrEnum):
    """Where a learner stands on one kata (``kata.runs.progress.classify`` decides)."""

    DONE = "done"
    FAILING = "failing"
    NOT_STARTED = "not started"
    BROKEN = "broken"
    STOPPED = "stopped"
    NEEDS_MNIST = "needs MNIST"
    #: the board's last verdict, from before an earlier kata it uses changed: not run again
    #: by the board (the final exam trains for a minute), the learner's next run checks it
    OUTDATED = "to re-check"

    @property
    def ran(self) -> bool:
        """Whether the kata's tests ran (otherwise the progress has a reason instead)."""
        return self in (KataState.DONE, KataState.FAILING, KataState.NOT_STARTED)


class Cause(StrEnum):
    """What a failed check was about, where the harness knows it (``kata.assertions`` says,
    or the failure's kind does): a failure shows its function's hint for that cause where
    the manifest has one (``[katas.hints_by_cause]``), not the next step of its hints."""

    SHAPE = "shape"
    DTYPE = "dtype"
    VALUES = "values"
    #: a result of the wrong kind (a tensor where the docstring promises a float)
    KIND = "kind"
    #: the code changed a tensor it was given
    INPUT = "input"

    @property
    def words(self) -> str:
        """The cause as a hint names it: ``Hint for matvec's wrong dtype: ...``."""
        return {"kind": "wrong kind of result", "input": "changed input"}.get(
            self.value, f"wrong {self.value}")


@dataclass(frozen=True)
class FailureDetail:
    """A failure's parts, for views that lay them out (a table of expected against actual,
    a picture): what the short report prints as one text."""

    #: the first lines: what went wrong (``matvec(m, c) returned the wrong shape: ...``)
    summary: str
    #: the expected and the actual value as they print, where the failure compared values
    expected: str | None = None
    actual: str | None = None
    #: pictures the test drew for this failure (the shapes lined up from the right)
    pictures: tuple[str, ...] = ()
    #: the rest: the falsifying example, where the learner's line was...
    notes: tuple[str, ...] = ()
    #: what the failed check was about, where the harness knows it
    cause: Cause | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FailureDetail:
        return cls(**{**data, "pictures": tuple(data["pictures"]), "notes": tuple(data["notes"]),
                      "cause": Cause(data["cause"]) if data.get("cause") else None})


#: The width a diagnosis's explanation is wrapped to: two lines of it at most (the catalog
#: checks that each explanation fits).
EXPLANATION_WIDTH = 92


@dataclass(frozen=True)
class Diagnosis:
    """A cataloged classic mistake that reproduces the learner's failing result exactly, on
    the same input, within the test's tolerance: what a failure can name beside its values
    (``Your matvec(m, c) gives what summing over axis 0 instead of axis 1 gives.``)."""

    #: the public function the mistake is of
    function: str
    #: the mistake's name, one line, for a learner (the catalog is its one source)
    mistake: str
    #: why it goes wrong, in two lines at most
    explanation: str

    @property
    def text(self) -> str:
        """What a failure says under its values, in every view (pytest's report, ``kata run``,
        the notebook, a grade's message).

        >>> found = Diagnosis("matvec", "sums over the wrong axis",
        ...                   "Row i's products lie along axis 1.")
        >>> print(found.text)
        Your matvec gave the same result as a classic mistake: it sums over the wrong axis.
          Row i's products lie along axis 1.
        """
        return (f"Your {self.function} gave the same result as a classic mistake: it "
                f"{self.mistake}.\n" + textwrap.fill(self.explanation, width=EXPLANATION_WIDTH,
                                                     initial_indent="  ", subsequent_indent="  "))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TestRecord:
    """One test's result."""

    __test__ = False  # a record, not a test class for pytest to collect

    nodeid: str
    kata: str | None
    outcome: Outcome
    kind: FailureKind | None = None
    #: the class of the exception it ended with, as the learner would name it (for display)
    exception: str | None = None
    message: str | None = None
    #: the public functions of the kata that the test is marked with
    functions: tuple[str, ...] = ()
    #: marked gpu: skipped, by design, where there is no CUDA
    gpu: bool = False
    #: what the test printed
    output: str = ""
    #: the test function's source
    test_code: str = ""
    #: the failure's parts, where the harness knows them
    detail: FailureDetail | None = None
    #: the classic mistake the failure reproduces, where one does (and none is named else)
    diagnosis: Diagnosis | None = None

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED

    @property
    def skipped_without_gpu(self) -> bool:
        """A gpu test skipped, by design, because this machine has no CUDA."""
        return self.gpu and self.outcome is Outcome.SKIPPED

    @property
    def name(self) -> str:
        """The test's name without its file: ``test_matmul_matches_torch[...]``."""
        return self.nodeid.rsplit("::", 1)[-1]

    @property
    def function(self) -> str:
        """The test function's name, without parameters: ``test_matmul_matches_torch``."""
        return self.name.split("[", 1)[0]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TestRecord:
        return cls(**{**data, "outcome": Outcome(data["outcome"]),
                      "kind": FailureKind(data["kind"]) if data.get("kind") else None,
                      "functions": tuple(data["functions"]),
                      "detail": FailureDetail.from_dict(data["detail"]) if data.get("detail")
                      else None,
                      "diagnosis": Diagnosis(**data["diagnosis"]) if data.get("diagnosis")
                      else None})


@dataclass(frozen=True)
class RunRecord:
    """What one pytest run of kata tests reported (``--kata-json``)."""

    #: the tree whose code was tested
    code_under_test: str
    exitstatus: int
    tests: tuple[TestRecord, ...]

    def to_json(self) -> str:
        return json.dumps({"code_under_test": self.code_under_test,
                           "exitstatus": self.exitstatus,
                           "tests": [test.to_dict() for test in self.tests]}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        """The record in ``text``; ``ValueError`` (or ``KeyError``/``TypeError``) when it is
        not one."""
        data = json.loads(text)
        return cls(str(data["code_under_test"]), int(data["exitstatus"]),
                   tuple(TestRecord.from_dict(test) for test in data["tests"]))


@dataclass(frozen=True)
class Foreign:
    """Stands for a value that is not plain data (a numpy array, a learner's object...) after
    it crossed the boundary to the learner's code: the test sees its type and how it
    printed, never the object."""

    type_name: str
    text: str

    def __repr__(self) -> str:
        return self.text
