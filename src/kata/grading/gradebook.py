"""Grades into a gradebook: a CSV with a row per learner (``kata grade --csv``), and
Gradescope's ``results.json`` for one submission (``kata grade --gradescope``).

The CSV has a row per target, named by GitHub Classroom's roster where one was given
(``kata.grading.targets.match_roster``), then a row per roster learner without a target;
a column per kata with its points, the total and the maximum. A cell that a spreadsheet
would read as a formula (it begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return: a learner may name a folder so) is written with a leading ``'``.

Gradescope's results are what its autograder reads from ``/autograder/results/results.json``
and shows the learner: the score, each test with its share of the points, ``passed`` or
``failed``, and as output the failure's message and what the test printed, as plain text
(``output_format`` ``text``: Gradescope shows it as it is, never as HTML or Markdown). A
hidden test's result is ``after_published``: the learner sees it once you publish the
grades, and no test's code is ever in it. The autograder's own output (stdout) is hidden
from learners.
"""

from __future__ import annotations

import csv
import io

from kata.core.records import KataState
from kata.grading.reports import clean, grading_note, sandbox_note
from kata.grading.results import Gradebook, LearnerGrade, TestGrade, shown_points
from kata.grading.targets import ROSTER_COLUMNS, Identity

#: How a CSV row of a roster learner without a target says so.
NO_SUBMISSION = "no target"
#: What a spreadsheet reads as the start of a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Characters of a test's output that Gradescope shows a learner.
_GRADESCOPE_OUTPUT = 8000


def _cell(value: str) -> str:
    """A text cell that no spreadsheet reads as a formula."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def csv_document(book: Gradebook) -> str:
    """The gradebook CSV: a header, a row per target (its roster columns empty where no
    roster row matched), a row per roster learner without a target; each row the points of
    every kata, the total and the maximum."""
    katas = [kata.folder for kata in book.katas]
    maximum = sum(kata.points for kata in book.katas)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*ROSTER_COLUMNS, "target", "status", *katas, "total", "max_points"])
    for grade in book.grades:
        points = {kata.kata.folder: shown_points(kata.points) for kata in grade.katas}
        writer.writerow([*_identity_cells(grade.identity), _cell(grade.target), grade.status,
                         *(points.get(folder, "") for folder in katas),
                         shown_points(grade.points) if grade.katas else "", shown_points(maximum)])
    for identity in (book.roster.without_target if book.roster else ()):
        writer.writerow([*_identity_cells(identity), "", NO_SUBMISSION, *("" for _ in katas), "",
                         shown_points(maximum)])
    return out.getvalue()


def _identity_cells(identity: Identity | None) -> list[str]:
    return [_cell(getattr(identity, column)) if identity else "" for column in ROSTER_COLUMNS]


def gradescope_results(grade: LearnerGrade, book: Gradebook) -> dict:
    """One submission's ``results.json`` as Gradescope's autograder reads it: the score,
    the seconds, a summary for the learner, and every test (numbered ``kata.test``)."""
    tests = []
    for kata in grade.katas:
        tests += [_gradescope_test(test, f"{kata.kata.number}.{index}")
                  for index, test in enumerate(kata.tests, 1)]
    return {"score": grade.points, "execution_time": round(grade.seconds),
            "output": _summary(grade, book), "output_format": "text",
            "test_output_format": "text", "test_name_format": "text",
            "visibility": "visible", "stdout_visibility": "hidden",
            "extra_data": {"target": clean(grade.target), "seed": book.seed,
                           "sandbox": sandbox_note(book.boxed)["used"]},
            "tests": tests}


def _gradescope_test(test: TestGrade, number: str) -> dict:
    output = "\n\n".join(part for part in (test.message or "", test.output) if part)
    if len(output) > _GRADESCOPE_OUTPUT:
        output = output[:_GRADESCOPE_OUTPUT] + f"\n[... {len(output) - _GRADESCOPE_OUTPUT} " \
                                               f"more characters]"
    return {"name": clean(test.name), "number": number, "score": test.points,
            "max_score": test.max_points, "status": "passed" if test.status == "pass" else "failed",
            "output": clean(output), "output_format": "text",
            "visibility": "after_published" if test.hidden else "visible"}


def _summary(grade: LearnerGrade, book: Gradebook) -> str:
    """What the learner reads above the tests: each kata's state and points, what grading
    ignored, and how the examples were drawn."""
    if not grade.katas:
        return f"Not graded: {clean(grade.message or '')}"
    lines = [f"{kata.kata.folder}: {kata.state.value}, {kata.passed}/{kata.total} tests pass, "
             f"{shown_points(kata.points)}/{shown_points(kata.max_points)} points"
             + (f" ({clean(kata.message)})" if kata.message and kata.state is not KataState.DONE
                else "") for kata in grade.katas]
    if any(test.hidden for test in grade.tests):
        lines.append("Hidden tests' results show once the grades are published.")
    if grade.ignored:
        lines.append("Graded with the course's files, not these of yours: "
                     + ", ".join(clean(ignored.path) for ignored in grade.ignored) + ".")
    note = grading_note(book)
    lines.append(f"Each test drew {note['examples']} examples, from seed {note['seed']}.")
    return "\n".join(lines)
