"""What grading writes: the JSON (``--json``), the Markdown (``--markdown``), and GitHub
Classroom's step outputs (``--classroom``), each from the same ``LearnerGrade`` records.
"""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

from kata.core.manifest import Kata
from kata.core.records import KataState
from kata.grading.results import LearnerGrade, shown_points
from kata.runs import sandbox

#: Characters of a failure's message that a Classroom result carries (step outputs are small).
_CLASSROOM_MESSAGE = 2000


def sandbox_note(boxed: bool) -> dict:
    """What the reports say about the box: used, or why not (``boxed``: whether grading ran
    learner code in boxes)."""
    if boxed:
        return {"used": True, "why_not": None}
    why_not = sandbox.availability() or "a box could be built, but"
    return {"used": False, "why_not": f"{why_not}; graded with --unsandboxed, as the "
                                      f"instructor asked"}


def check_writable(path: Path) -> None:
    """Fail now, before any grading, if the results could not be written to ``path``."""
    path = Path(path)
    if path.is_dir():
        raise OSError(f"{path} is a directory; give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OSError(f"{folder} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".kata-check-"):
            pass
    except OSError as error:
        raise OSError(f"cannot write into {folder}: {error.strerror}") from None


def json_document(grades: Sequence[LearnerGrade], *, boxed: bool) -> str:
    """``{"version": 3, "sandbox": ..., "learners": [...]}``: every learner's grade."""
    return json.dumps({"version": 3, "sandbox": sandbox_note(boxed),
                       "learners": [grade.to_json() for grade in grades]}, indent=1)


def markdown(grades: Sequence[LearnerGrade], *, boxed: bool) -> str:
    """A table per learner: each kata's state, tests and points; first, whether the learner
    code ran in a box."""
    note = sandbox_note(boxed)
    parts = ["Learner code ran in a sandbox (bubblewrap).\n" if note["used"] else
             f"**Learner code ran UNSANDBOXED**: {note['why_not']}.\n"]
    for grade in grades:
        parts.append(f"## {grade.target}: {shown_points(grade.points)}/"
                     f"{shown_points(grade.max_points)} points\n")
        if grade.status == "error" and not grade.katas:
            parts.append(f"Not graded: {grade.message}\n")
            continue
        parts.append("| kata | state | tests passed | points |\n| --- | --- | --- | --- |")
        for kata in grade.katas:
            state = kata.state.value + (f": {kata.message}" if kata.message else "")
            state = " ".join(state.replace("|", "\\|").split())
            parts.append(f"| `{kata.kata.folder}` | {state} | {kata.passed}/{kata.total} | "
                         f"{shown_points(kata.points)}/{shown_points(kata.max_points)} |")
        flagged = [(kata.kata.folder, flag) for kata in grade.katas for flag in kata.flags]
        if flagged:
            parts.append("\nBeyond the allow-list: these lines name what kata code may not, so "
                         "the kata's code is refused (unless graded with --skip-allowlist):\n")
            parts += [f"- `{kata}` {flag}" for kata, flag in flagged]
        parts.append("")
    return "\n".join(parts)


def classroom_runner(kata: Kata) -> str:
    """The name of ``kata``'s runner in GitHub Classroom's reporter, and of the grading
    step's output that holds its result: ``kata-03``."""
    return f"kata-{kata.number:02d}"


def classroom_outputs(grade: LearnerGrade) -> dict[str, str]:
    """One learner's grade as GitHub Classroom's grading reporter reads it: per kata, the
    output ``kata-NN`` of the grading step, base64 of ``{"version": 1, "status", "max_score",
    "tests": [{"name", "status", "score", "message", ...}]}``, the format its graders write.
    The reporter adds up every test's ``score`` against every kata's ``max_score``, so each
    test carries its share of the kata's points (``kata.grading.results.points_per_test``)."""
    outputs = {}
    for kata in grade.katas:
        status = ("pass" if kata.state is KataState.DONE else "fail" if kata.total else "error")
        body = {"version": 1, "status": status, "max_score": kata.max_points,
                "tests": [{"name": test.name.split("::", 1)[-1], "status": test.status,
                           "score": test.points, "line_no": 0, "execution_time": "",
                           "message": (test.message or "")[:_CLASSROOM_MESSAGE],
                           "test_code": "", "filename": f"katas/{kata.kata.folder}/"}
                          for test in kata.tests]}
        outputs[classroom_runner(kata.kata)] = base64.b64encode(json.dumps(body).encode()).decode()
    return outputs


def write_classroom_outputs(grade: LearnerGrade, path: Path) -> None:
    """Append ``classroom_outputs(grade)`` to the step-output file at ``path``
    (``$GITHUB_OUTPUT``), one ``name=value`` line each."""
    with open(path, "a", encoding="utf-8") as outputs:
        for name, value in classroom_outputs(grade).items():
            outputs.write(f"{name}={value}\n")
