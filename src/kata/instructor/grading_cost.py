"""What the sandbox costs a grade: each kata of the reference solutions graded boxed and
unboxed (``KATA_SANDBOX=off``), alternately, in the same run: ``kata bench --grading``.

Both ways run in graded mode (the learner's code in a process of its own, under the
sandbox's supervisor); the difference is the bubblewrap box around the learner's side.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence

from kata.core.errors import KataError
from kata.core.layout import REPO_ROOT
from kata.core.manifest import Kata
from kata.grading import service
from kata.runs import sandbox


def _graded_seconds(kata: Kata, boxed: bool) -> float:
    previous = os.environ.pop("KATA_SANDBOX", None)
    if not boxed:
        os.environ["KATA_SANDBOX"] = "off"
    sandbox.availability.cache_clear()
    try:
        started = time.perf_counter()
        grade, = service.grade_targets([str(REPO_ROOT / "solutions")], REPO_ROOT, [kata],
                                        workers=1, time_limit=600, boxed=boxed).grades
        seconds = time.perf_counter() - started
    finally:
        os.environ.pop("KATA_SANDBOX", None)
        if previous is not None:
            os.environ["KATA_SANDBOX"] = previous
        sandbox.availability.cache_clear()
    if grade.points != grade.max_points:
        raise KataError(f"{kata.folder}: the solutions did not earn every point "
                        f"({'boxed' if boxed else 'unboxed'}): "
                        f"{[result.to_json() for result in grade.katas]}")
    return seconds


def sandbox_cost(katas: Sequence[Kata], repeats: int) -> list[dict]:
    """Per kata, the median seconds of a grade boxed and unboxed, taken in turns."""
    rows = []
    for kata in katas:
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(repeats):
            for boxed in (True, False):
                times[boxed].append(_graded_seconds(kata, boxed))
        boxed_s, unboxed_s = statistics.median(times[True]), statistics.median(times[False])
        rows.append({"kata": kata.folder, "boxed_s": boxed_s, "unboxed_s": unboxed_s,
                     "ratio": boxed_s / unboxed_s})
    return rows


def table(rows: list[dict], repeats: int) -> str:
    why_not = sandbox.availability()
    lines = [f"Grading cost of the sandbox (kata grade of the solutions, one kata, medians of "
             f"{repeats}, boxed and unboxed in turns):" if why_not is None else
             f"No box can be built here ({why_not}): nothing to compare.",
             f"  {'kata':<20} {'boxed':>8} {'unboxed':>8} {'boxed / unboxed':>16}"]
    for row in rows:
        lines.append(f"  {row['kata']:<20} {row['boxed_s']:>7.2f}s {row['unboxed_s']:>7.2f}s "
                     f"{row['ratio']:>16.2f}")
    return "\n".join(lines)
