"""What grading writes for the instructor: the JSON (``--json``), the Markdown
(``--markdown``, also printed) and GitHub Classroom's step outputs (``--classroom``), each
from the same ``Gradebook`` (``kata.grading.results``). The gradebook's own formats, the
CSV and Gradescope's results, are ``kata.grading.gradebook``'s.

Everything a learner controls (a message their code raised, what it printed, a test's
parameters, a file or folder name, a flag quoting their code) reaches the Markdown only as a
code span or a fenced code block, fenced by more backticks than it holds, on one line or
between fences: a Markdown renderer shows it as text, never as a tag, link, image or table
row (``code_span``, ``code_block``). Control characters and the bidirectional overrides
that make code read otherwise than it runs are replaced by U+FFFD first.
"""

from __future__ import annotations

import base64
import json
import re
import tempfile
from pathlib import Path

from kata.core.manifest import Kata
from kata.core.records import KataState
from kata.grading.results import (
    Gradebook,
    KataGrade,
    KataSummary,
    LearnerGrade,
    TestGrade,
    shown_points,
)
from kata.grading.targets import Identity
from kata.runs import sandbox
from kata.runs.limits import GRADING_EXAMPLES

#: Characters of a failure's message that a Classroom result carries (step outputs are small).
_CLASSROOM_MESSAGE = 2000
#: Characters of a message or reason the Markdown shows (the JSON has them whole).
_MARKDOWN_MESSAGE = 1500
#: Characters of a name shown in a code span.
_MARKDOWN_NAME = 200
#: C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides and
#: isolates ("Trojan Source"): replaced before anything learner-controlled is written.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: What Markdown reads as markup (emphasis, links, images, code, HTML, tables, entities,
#: headings, lists, autolinks): escaped with a backslash in plain text.
_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>&~^@:])")


def clean(text: str) -> str:
    """``text`` with line ends made ``\\n`` and unsafe characters replaced by U+FFFD."""
    return _UNSAFE.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f" [... {len(text) - limit} more characters]"


def code_span(text: str, limit: int = _MARKDOWN_NAME) -> str:
    """``text`` as a Markdown code span, shown literally whatever it holds: on one line,
    fenced by one backtick more than its longest run of them, padded with a space each side
    where a renderer would otherwise eat a backtick or a space of it.

    >>> print(code_span("a `b` <img src=x>"), code_span("`x`"))
    ``a `b` <img src=x>`` `` `x` ``
    """
    text = " ".join(_cut(clean(text), limit).split("\n"))
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ")):
        text = f" {text} "
    return f"{fence}{text}{fence}"


def code_block(text: str, limit: int = _MARKDOWN_MESSAGE) -> str:
    """``text`` as a fenced Markdown code block, shown literally whatever it holds: fenced
    by more backticks than any run of them in it (at least three)."""
    text = _cut(clean(text).strip("\n"), limit)
    fence = "`" * max(3, max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    return f"{fence}\n{text}\n{fence}"


def plain(text: str) -> str:
    r"""``text`` (one line) as Markdown text, every character that could be markup escaped
    with a backslash: for names from the roster, and sentences that quote them.

    >>> print(plain("Ann <b>*O'Hara*</b>"))
    Ann \<b\>\*O'Hara\*\</b\>
    """
    return _MARKUP.sub(r"\\\1", " ".join(clean(text).split()))


def sandbox_note(boxed: bool) -> dict:
    """What the reports say about the box: used, or why not (``boxed``: whether grading ran
    learner code in boxes)."""
    if boxed:
        return {"used": True, "why_not": None}
    why_not = sandbox.availability() or "a box could be built, but"
    return {"used": False, "why_not": f"{why_not}; graded with --unsandboxed, as the "
                                      f"instructor asked"}


def grading_note(book: Gradebook) -> dict:
    """How the examples were drawn: the profile, how many a test, the seed."""
    return {"profile": "grading", "examples": GRADING_EXAMPLES, "seed": book.seed}


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


def json_document(book: Gradebook) -> str:
    """``{"version": 3, "sandbox", "grading", "katas", "roster", "learners"}``: how the
    class was graded, each kata across the class (with its tests' code, once), whom the
    roster could not match, and every learner's grade."""
    return json.dumps({"version": 3, "sandbox": sandbox_note(book.boxed),
                       "grading": grading_note(book),
                       "katas": [summary.to_json() for summary in book.summaries()],
                       "roster": book.roster.to_json() if book.roster else None,
                       "learners": [grade.to_json() for grade in book.grades]}, indent=1)


def markdown(book: Gradebook) -> str:
    """The instructor's report: how the class was graded (the box, the seed), the class at
    a glance, whom the roster could not match, then each learner: a table of their katas,
    each failing test's message, what grading ignored, and the allow-list's findings."""
    note = sandbox_note(book.boxed)
    parts = ["# Grades\n",
             "Learner code ran in a sandbox (bubblewrap)." if note["used"] else
             f"**Learner code ran UNSANDBOXED**: {plain(note['why_not'])}.",
             f"\nExamples: the `grading` profile, {GRADING_EXAMPLES} a test, from seed "
             f"{book.seed} (`kata grade --seed {book.seed}` draws the same ones again).\n"]
    if any(grade.katas for grade in book.grades):
        parts.append("## The class at a glance\n")
        parts += [_kata_summary(summary) for summary in book.summaries()]
    if book.roster is not None:
        parts.append(_roster_section(book))
    parts += [_learner_section(grade) for grade in book.grades]
    return "\n".join(parts)


def _kata_summary(summary: KataSummary) -> str:
    done = summary.states.get(KataState.DONE.value, 0)
    lines = [f"### `{summary.kata.folder}`: {done} of {summary.learners} learners done\n",
             "States: " + ", ".join(f"{state} {count}" for state, count in summary.states.items())
             + "." + (f" Wall time of a learner's run: mean {summary.mean_seconds:.1f} s, "
                      f"max {summary.max_seconds:.1f} s." if summary.seconds else "") + "\n",
             "| function | learners passing |", "| --- | ---: |"]
    lines += [f"| `{function}` | {count}/{summary.learners} |"
              for function, count in summary.passing.items()]
    failure = summary.most_common_failure
    if failure:
        lines.append(f"\nMost common failure: `{failure.test}`, for "
                     f"{_count(failure.learners, 'learner')}: {code_span(failure.message)}")
    if summary.mistakes:
        lines.append("\nClassic mistakes diagnosed:\n")
        lines += [f"- `{mistake.function}`: {plain(mistake.mistake)} "
                  f"({_count(mistake.learners, 'learner')})" for mistake in summary.mistakes]
    return "\n".join(lines) + "\n"


def _roster_section(book: Gradebook) -> str:
    roster = book.roster
    assert roster is not None
    lines = ["## Roster\n"]
    if roster.unmatched:
        lines.append("Targets no roster row matches (graded; name them in the gradebook "
                     "yourself):\n")
        lines += [f"- {code_span(target)}: {plain(why)}" for target, why in roster.unmatched]
    if roster.without_target:
        lines.append("\nRoster rows without a target (nothing graded):\n")
        lines += [f"- {_identity(identity)}" for identity in roster.without_target]
    if not roster.unmatched and not roster.without_target:
        lines.append("Every target matches one roster row, and every row a target.")
    return "\n".join(lines) + "\n"


def _identity(identity: Identity) -> str:
    shown = [plain(identity.name) or plain(identity.identifier) or "(no name)"]
    if identity.github_username:
        shown.append(code_span(identity.github_username))
    if identity.identifier and identity.name:
        shown.append(plain(identity.identifier))
    return ", ".join(shown)


def _learner_section(grade: LearnerGrade) -> str:
    who = f" ({_identity(grade.identity)})" if grade.identity else ""
    parts = [f"## {code_span(grade.target)}{who}: {shown_points(grade.points)}/"
             f"{shown_points(grade.max_points)} points\n"]
    if grade.status == "error" and not grade.katas:
        parts.append("Not graded:\n\n" + code_block(grade.message or "") + "\n")
        return "\n".join(parts)
    parts.append("| kata | state | tests passed | points | seconds |\n"
                 "| --- | --- | ---: | ---: | ---: |")
    parts += [f"| `{kata.kata.folder}` | {kata.state.value} | {kata.passed}/{kata.total} | "
              f"{shown_points(kata.points)}/{shown_points(kata.max_points)} | {kata.seconds:.1f} |"
              for kata in grade.katas]
    for kata in grade.katas:
        parts += _kata_failures(kata)
    if grade.ignored:
        parts.append("\nIgnored (they differ from yours; grading used yours):\n")
        parts += [f"- {code_span(ignored.path)} ({ignored.change})" for ignored in grade.ignored]
    flagged = [(kata.kata.folder, flag) for kata in grade.katas for flag in kata.flags]
    if flagged:
        parts.append("\nBeyond the allow-list: these lines name what kata code may not, so "
                     "the kata's code is refused (unless graded with --skip-allowlist):\n")
        parts += [f"- `{kata}` {code_span(flag)}" for kata, flag in flagged]
    return "\n".join(parts) + "\n"


def _kata_failures(kata: KataGrade) -> list[str]:
    """``kata``'s failures: why it did not run, or each failing test with its message; the
    failures that say nothing of the input (a stub's, a module that does not import) once."""
    if not kata.total:
        return [f"\n`{kata.kata.folder}` did not run:\n", code_block(kata.message or "")]
    failed = [test for test in kata.tests if test.status != "pass"]
    parts = []
    for kind in dict.fromkeys(test.kind for test in failed if test.kind and test.kind.quiet):
        alike = [test for test in failed if test.kind is kind]
        parts += [f"\n`{kata.kata.folder}`: {_count(len(alike), 'test')} "
                  f"fail{'s' if len(alike) == 1 else ''} as {kind.value}, the first with:\n",
                  code_block(alike[0].message or "")]
    for test in failed:
        if not (test.kind and test.kind.quiet):
            parts += _failure(test)
    return parts


def _failure(test: TestGrade) -> list[str]:
    said = [f"\n{code_span(test.name)}" + (" (hidden test)" if test.hidden else "")
            + (f": {test.kind.value}" if test.kind else "")
            + f", 0/{shown_points(test.max_points)} points"]
    if test.diagnosis:
        said.append(f"\nDiagnosed: `{test.diagnosis.function}` {plain(test.diagnosis.mistake)}")
    if test.message:
        said += ["", code_block(test.message)]
    return said


def _count(number: int, noun: str) -> str:
    """``3 learners``, ``1 test``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


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
