"""Grade learners' work with the instructor's tests: ``kata grade TARGET...``.

A target is a directory (a learner's clone, or any tree laid out like ``katas/``) or a git
ref of the current checkout (a learner's branch). Only the learner's kata modules are taken
from it: they are laid into a temporary copy of the current checkout's tests, conftest and
harness, so a learner who edited a test file changes nothing. A git ref is read with
``git show``, which touches neither the working tree, nor the index, nor any branch. Each
kata runs in its own process, within the time and memory limits; all targets' katas share
one pool of processes.

The JSON (``--json FILE``) is ``{"version": 3, "learners": [result, ...]}``, where each
result has the shape of Exercism's ``results.json`` version 3 (``status``, ``message`` and
``tests``, each test with ``name``, ``status``, ``message``, ``output``, ``test_code`` and
``task_id``, the kata's number) with the target and the points, in total and per kata,
added. ``grade_results.schema.json`` beside this file is the exact shape.

``python -m kata.grading`` rewrites the GitHub Classroom workflow from the manifest.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kata.manifest import REPO_ROOT, Kata, load_manifest
from kata.progress import BROKEN, DONE, STOPPED, KataProgress, kata_progress

#: Points a kata earns when every one of its tests passes (and none when one fails).
POINTS_PER_KATA = 1
#: Exercism caps a test's output at 500 characters.
_OUTPUT_LIMIT = 500
SCHEMA = Path(__file__).with_name("grade_results.schema.json")
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "classroom.yml"


class TargetProblem(Exception):
    """A target that is neither a directory nor a git ref of the checkout."""


def module_reader(target: str, checkout: Path) -> Callable[[Kata], bytes | None]:
    """A function that returns the learner's module of a kata from ``target`` (None when
    the target has no such file)."""
    directory = Path(target)
    if directory.is_dir():
        katas = directory / "katas" if (directory / "katas").is_dir() else directory

        def read_file(kata: Kata) -> bytes | None:
            path = kata.path_in(katas)
            return path.read_bytes() if path.is_file() else None
        return read_file
    found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{target}^{{commit}}"],
                           cwd=checkout, capture_output=True, text=True)
    if found.returncode != 0:
        raise TargetProblem(f"{target!r} is neither a directory nor a git ref of {checkout}")
    commit = found.stdout.strip()

    def read_blob(kata: Kata) -> bytes | None:
        shown = subprocess.run(["git", "show", f"{commit}:katas/{kata.folder}/{kata.module}.py"],
                               cwd=checkout, capture_output=True)
        return shown.stdout if shown.returncode == 0 else None
    return read_blob


def grading_tree(scratch: Path, checkout: Path, read: Callable[[Kata], bytes | None]) -> Path:
    """A copy of ``checkout``'s tests, conftest, pytest settings and harness, with the
    learner's modules where the stubs were. Returns its root."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in ("conftest.py", "pyproject.toml"):
        shutil.copy2(checkout / name, scratch / name)
    shutil.copytree(checkout / "src" / "kata", scratch / "src" / "kata", ignore=ignore)
    for kata in load_manifest().katas:
        folder = scratch / "katas" / kata.folder
        shutil.copytree(checkout / "katas" / kata.folder, folder, ignore=ignore)
        module = kata.path_in(scratch / "katas")
        module.unlink()
        learner = read(kata)
        if learner is not None:
            module.write_bytes(learner)
    return scratch


def _test_status(test) -> str:
    if test.outcome == "passed":
        return "pass"
    return "error" if test.exception in ("KataImportError", "CollectionError") else "fail"


def result_of(target: str, entries: list[KataProgress]) -> dict:
    """One learner's result: Exercism's results.json v3, plus the target and the points."""
    tests, katas = [], []
    for entry in entries:
        kata = entry.kata
        points = POINTS_PER_KATA if entry.state == DONE else 0
        katas.append({"kata": kata.folder, "state": entry.state, "points": points,
                      "max_points": POINTS_PER_KATA, "passed": entry.passed,
                      "total": len(entry.counted), "message": entry.reason})
        if entry.state == STOPPED:  # no test reported: the kata's run itself is the entry
            tests.append({"name": kata.folder, "status": "error", "message": entry.reason,
                          "output": entry.output[-_OUTPUT_LIMIT:], "test_code": "",
                          "task_id": kata.number})
        for test in entry.counted:
            tests.append({"name": f"{kata.folder}::{test.name}", "status": _test_status(test),
                          "message": test.message, "output": test.output[-_OUTPUT_LIMIT:],
                          "test_code": test.test_code, "task_id": kata.number})
    done = sum(k["points"] for k in katas)
    status = "pass" if all(entry.state == DONE for entry in entries) else "fail"
    broken = [k["kata"] for k in katas if k["state"] in (BROKEN, STOPPED)]
    message = f"did not run: {', '.join(broken)}" if broken else None
    return {"version": 3, "status": status, "message": message, "target": target,
            "points": done, "max_points": POINTS_PER_KATA * len(katas), "katas": katas,
            "tests": tests}


def _unreadable(target: str, problem: str) -> dict:
    return {"version": 3, "status": "error", "message": problem, "target": target, "points": 0,
            "max_points": 0, "katas": [], "tests": []}


def grade_targets(targets: Sequence[str], checkout: Path, katas: Sequence[Kata], *, workers: int,
                  **limits) -> list[dict]:
    """Grade each target's ``katas`` with ``checkout``'s tests; one result per target."""
    with tempfile.TemporaryDirectory(prefix="kata-grade-") as scratch, \
            ThreadPoolExecutor(max_workers=workers) as pool:
        jobs: dict[str, list] = {}
        problems: dict[str, str] = {}
        for number, target in enumerate(targets):
            try:
                read = module_reader(target, checkout)
            except TargetProblem as problem:
                problems[target] = str(problem)
                continue
            tree = Path(scratch) / f"target-{number}"
            tree.mkdir()
            grading_tree(tree, checkout, read)
            jobs[target] = [pool.submit(kata_progress, kata, tree, **limits) for kata in katas]
        return [result_of(target, [job.result() for job in jobs[target]]) if target in jobs
                else _unreadable(target, problems[target]) for target in targets]


def write_json(results: list[dict], path: Path) -> None:
    path.write_text(json.dumps({"version": 3, "learners": results}, indent=1), encoding="utf-8")


def markdown(results: list[dict]) -> str:
    """A table per learner: each kata's state, tests and points."""
    parts = []
    for result in results:
        parts.append(f"## {result['target']}: {result['points']}/{result['max_points']} points\n")
        if result["status"] == "error":
            parts.append(f"Not graded: {result['message']}\n")
            continue
        parts.append("| kata | state | tests passed | points |\n| --- | --- | --- | --- |")
        for kata in result["katas"]:
            state = kata["state"] + (f": {kata['message']}" if kata["message"] else "")
            state = state.replace("|", "\\|")
            parts.append(f"| `{kata['kata']}` | {state} | {kata['passed']}/{kata['total']} | "
                         f"{kata['points']}/{kata['max_points']} |")
        parts.append("")
    return "\n".join(parts)


def classroom_workflow() -> str:
    """The GitHub Classroom workflow: one grading step per kata, worth its points, each
    running ``kata grade . --only KATA`` (the same grading code as everywhere else)."""
    katas = load_manifest().katas
    steps = []
    for kata in katas:
        steps.append(f"""\
      - name: {kata.folder}
        id: kata-{kata.number:02d}
        uses: classroom-resources/autograding-command-grader@v1
        with:
          test-name: {kata.folder}
          command: kata grade . --only {kata.number:02d}
          timeout: 10
          max-score: {POINTS_PER_KATA}
""")
    results = "".join(f"          KATA-{kata.number:02d}_RESULTS: \"${{{{steps.kata-{kata.number:02d}"
                      f".outputs.result}}}}\"\n" for kata in katas)
    runners = ",".join(f"kata-{kata.number:02d}" for kata in katas)
    return f"""\
# Written by `python -m kata.grading` from src/kata/manifest.toml: edit those, not this file.
name: Autograding
on: [push, workflow_dispatch]
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  grade:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      # the CPU build of torch: the default one on Linux is a CUDA build of several GB
      - run: python -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
      - run: python -m pip install -e ".[test]"
{"".join(steps)}      - name: Report
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{results}        with:
          runners: {runners}
"""


def main(argv: list[str] | None = None) -> int:
    WORKFLOW.parent.mkdir(parents=True, exist_ok=True)
    WORKFLOW.write_text(classroom_workflow(), encoding="utf-8")
    print(f"wrote {WORKFLOW.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
