"""What a grade costs: ``kata bench --grading``, measured beside the floor
(``python -c "import torch"``) in the same run.

- **A class**: ``learners`` copies of the reference solutions graded, every kata of each
  in its own box, the way ``kata grade`` grades a class (``kata.grading.service``), with the
  warm grader (the tests' side of each kata forked from one pre-imported worker) and
  without it (a new supervised interpreter for the tests' side of each kata), in turns: the
  wall time of the whole class, and per kata graded.
- **The checks**: each kata graded as ``kata grade`` grades (the allow-list read before the
  learner's code runs, the box with its seccomp filter around the learner's side), without
  the allow-list (``--skip-allowlist``), and unboxed (``KATA_SANDBOX=off``), in turns; all
  three run in graded mode (the learner's code in a process of its own, under the sandbox's
  supervisor). Beside them, the allow-list's reading of each kata's modules alone: the first
  reading in a process (which builds the maps of the allowed libraries) and a later one.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

from kata.core.errors import KataError
from kata.core.layout import REPO_ROOT
from kata.core.manifest import Kata
from kata.grading import service
from kata.harness import allowlist
from kata.runs import sandbox
from kata.runs.threads import usable_cores


def _graded_seconds(katas: Sequence[Kata], learners: int, *, boxed: bool = True,
                    warm: bool = True, checked: bool = True) -> float:
    """Seconds to grade ``learners`` copies of the solutions on ``katas``, all cores busy;
    ``KataError`` unless every copy earned every point."""
    previous = os.environ.pop("KATA_SANDBOX", None)
    if not boxed:
        os.environ["KATA_SANDBOX"] = "off"
    sandbox.availability.cache_clear()
    try:
        started = time.perf_counter()
        grades = service.grade_targets([str(REPO_ROOT / "solutions")] * learners, REPO_ROOT,
                                       katas, workers=usable_cores(), time_limit=600,
                                       boxed=boxed, warm=warm, checked=checked).grades
        seconds = time.perf_counter() - started
    finally:
        os.environ.pop("KATA_SANDBOX", None)
        if previous is not None:
            os.environ["KATA_SANDBOX"] = previous
        sandbox.availability.cache_clear()
    for grade in grades:
        if grade.points != grade.max_points:
            way = (f"{'boxed' if boxed else 'unboxed'}, {'warm' if warm else 'cold'}, "
                   f"{'checked' if checked else 'unchecked'}")
            raise KataError(f"the solutions did not earn every point ({way}): {grade.to_json()}")
    return seconds


def _floor() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    return time.perf_counter() - started


def class_cost(katas: Sequence[Kata], learners: int, repeats: int) -> dict:
    """A class of ``learners`` graded on ``katas`` with the warm grader and without, in
    turns, ``repeats`` times, each beside the floor: medians in seconds, and per kata."""
    times: dict[str, list[float]] = {"floor": [], "warm": [], "cold": []}
    for _ in range(repeats):
        times["floor"].append(_floor())
        for warm in (True, False):
            times["warm" if warm else "cold"].append(_graded_seconds(katas, learners, warm=warm))
    result = {name: statistics.median(seconds) for name, seconds in times.items()}
    graded = learners * len(katas)
    return {**result, "learners": learners, "katas": [kata.folder for kata in katas],
            "cores": usable_cores(), "repeats": repeats,
            "per_kata": {way: result[way] / graded for way in ("warm", "cold")}}


def class_table(cost: dict) -> str:
    floor = cost["floor"]
    graded = cost["learners"] * len(cost["katas"])
    lines = [f"A class graded: {cost['learners']} learners x {len(cost['katas'])} katas (the "
             f"reference solutions) on {cost['cores']} cores, medians of {cost['repeats']}, "
             f"beside the floor (python -c \"import torch\", {floor:.2f} s):",
             f"  {'grader':<44} {'class':>8} {'per kata':>9} {'x floor':>8}"]
    for way, label in (("warm", "warm grader (tests' side forked)"),
                       ("cold", "a new interpreter per kata's tests' side")):
        per_kata = cost[way] / graded
        lines.append(f"  {label:<44} {cost[way]:>7.1f}s {per_kata:>8.2f}s "
                     f"{per_kata / floor:>8.2f}")
    lines.append("  (either way, each kata's learner side starts a new interpreter in a fresh box)")
    return "\n".join(lines)


#: the ways a kata is graded for ``sandbox_cost``: (key, boxed, checked by the allow-list)
_WAYS = (("graded_s", True, True), ("unchecked_s", True, False), ("unboxed_s", False, True))


def _reading_seconds(kata: Kata) -> float:
    started = time.perf_counter()
    allowlist.refusal(kata, REPO_ROOT / "solutions")
    return time.perf_counter() - started


def sandbox_cost(katas: Sequence[Kata], repeats: int) -> list[dict]:
    """Per kata, the median seconds of a grade as ``kata grade`` grades, without the
    allow-list and unboxed, taken in turns; and the allow-list's reading of its modules,
    first in this process (it builds the libraries' maps then) and once more."""
    rows = []
    for kata in katas:
        times: dict[str, list[float]] = {key: [] for key, _, _ in _WAYS}
        for _ in range(repeats):
            for key, boxed, checked in _WAYS:
                times[key].append(_graded_seconds([kata], 1, boxed=boxed, checked=checked))
        row: dict = {"kata": kata.folder, "first_reading_s": _reading_seconds(kata),
                     "reading_s": _reading_seconds(kata)}
        row.update({key: statistics.median(seconds) for key, seconds in times.items()})
        rows.append(row)
    return rows


def table(rows: list[dict], repeats: int) -> str:
    why_not = sandbox.availability()
    lines = [f"Grading cost of the checks (kata grade of the solutions, one kata, medians of "
             f"{repeats}, the three ways in turns; the allow-list's reading alone, in ms):"
             if why_not is None else
             f"No box can be built here ({why_not}): nothing to compare.",
             f"  {'kata':<18} {'graded':>8} {'no allow-list':>14} {'unboxed':>8} "
             f"{'x no allow-list':>16} {'x unboxed':>10} {'reading':>8} {'first':>7}"]
    for row in rows:
        lines.append(f"  {row['kata']:<18} {row['graded_s']:>7.2f}s {row['unchecked_s']:>13.2f}s "
                     f"{row['unboxed_s']:>7.2f}s {row['graded_s'] / row['unchecked_s']:>16.2f} "
                     f"{row['graded_s'] / row['unboxed_s']:>10.2f} "
                     f"{row['reading_s'] * 1000:>7.1f} {row['first_reading_s'] * 1000:>7.0f}")
    lines.append("  (graded: as kata grade grades, the allow-list read first and the learner's "
                 "side in the box with its seccomp filter)")
    return "\n".join(lines)
