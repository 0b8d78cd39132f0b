"""The repository a learner gets: ``kata release DIR``; and its check, ``kata verify``.

The release holds the katas (fresh stubs generated from the solutions, tests, READMEs), the
harness (``src/kata``), the pytest settings, the docs, CI, and the repository checks, but no
answers: no ``solutions/``, and no ``tests/catalog`` either (its alternatives are correct
solutions, and its mistakes and cheats only make sense beside them). A repository check that
reads the solutions or the catalog is replaced by a module that skips, saying why.

Everything in the release but the learner's kata modules belongs to the instructor. Their
SHA-256 sums are written to ``RELEASE.sha256`` (``sha256sum`` format), and the GitHub
Classroom workflow (``.github/workflows/classroom.yml``) grades only after an offline check
that every one of them is byte-for-byte as released and that no file was added (a
``conftest.py``, a ``pytest.ini``, a ``sitecustomize.py`` would all change how tests run).
The check first uses coreutils alone: the workflow holds the sum of ``RELEASE.sha256``
itself, and ``sha256sum --check`` covers every file it lists, this one included, before any
of the repository's Python runs. Then ``kata verify`` names added files. Its limit: a
learner who edits the workflow file itself changes what runs; Classroom shows such a
change to the instructor, and ``kata grade`` on the instructor's machine is unaffected.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kata.manifest import REPO_ROOT, load_manifest

SUMS = "RELEASE.sha256"
WORKFLOW = Path(".github", "workflows", "classroom.yml")
#: Parts of the checkout a learner's repository leaves out: the answers, and what only the
#: instructor's repository runs (its CI, the red team's recipes for forging verdicts).
_LEFT_OUT = ("solutions/", "tests/catalog/", "tests/redteam/", ".github/", ".ci/")
#: Words whose presence in a repository check means it reads what the release leaves out.
_NEEDS_ANSWERS = ("solutions", "catalog")
#: Folders never checked (git's, caches, the kata command's memory).
_NOT_CHECKED = {".git", ".kata", "__pycache__", ".pytest_cache", ".hypothesis"}
SKIPPED_CHECK = '''\
"""Left out of a learner's repository by `kata release`: these checks read the reference
solutions or the catalog of solutions, which a learner's repository does not contain."""

import pytest

pytest.skip("needs the reference solutions, which a learner's repository leaves out "
            "(kata release)", allow_module_level=True)
'''


class VerifyProblem(Exception):
    """Instructor-owned files of a released repository that differ from the release."""


def checkout_files(root: Path) -> list[str]:
    """The checkout's files, tracked or not, that git does not ignore (posix, relative)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=root, capture_output=True, check=True).stdout
    return sorted({name for name in listed.decode().split("\0")
                   if name and (root / name).is_file()})


def learner_modules() -> set[str]:
    """The files a learner edits: each kata's module."""
    return {f"katas/{kata.folder}/{kata.module}.py" for kata in load_manifest().katas}


def release(target: Path, checkout: Path = REPO_ROOT) -> list[str]:
    """Write the learner's repository into the empty or new folder ``target``; returns the
    repository checks that were replaced by a skip."""
    from kata.stubs import expected_stubs  # reads solutions/: only the instructor has them

    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} is not empty: release into a new folder")
    stubs = {path.relative_to(checkout).as_posix(): text
             for path, text in expected_stubs(checkout).items()}
    skipped = []
    for name in checkout_files(checkout):
        if name.startswith(_LEFT_OUT) or name in stubs:
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        data = (checkout / name).read_bytes()
        if name.startswith("tests/") and name.endswith(".py") and name != "tests/conftest.py" \
                and any(word.encode() in data for word in _NEEDS_ANSWERS):
            skipped.append(name)
            data = SKIPPED_CHECK.encode()
        destination.write_bytes(data)
        shutil.copymode(checkout / name, destination)
    for name, text in stubs.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_text(text, encoding="utf-8")
    sums = sums_text(target)
    (target / SUMS).write_text(sums, encoding="utf-8")
    (target / WORKFLOW).parent.mkdir(parents=True, exist_ok=True)
    (target / WORKFLOW).write_text(classroom_workflow(_sha256(sums.encode())), encoding="utf-8")
    return skipped


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _instructor_files(root: Path) -> list[str]:
    """Every file under ``root`` but the learner's modules, unchecked folders, the sums and
    the workflow that holds their sum (it cannot check itself: see the module's docstring)."""
    found = []
    for folder, directories, files in os.walk(root):
        directories[:] = sorted(d for d in directories if d not in _NOT_CHECKED
                                and not d.endswith(".egg-info"))
        for name in files:
            relative = Path(folder, name).relative_to(root).as_posix()
            if relative not in learner_modules() and relative not in (SUMS, WORKFLOW.as_posix()):
                found.append(relative)
    return sorted(found)


def sums_text(root: Path) -> str:
    """``sha256sum`` lines for every instructor-owned file under ``root``."""
    return "".join(f"{_sha256((root / name).read_bytes())}  {name}\n"
                   for name in _instructor_files(root))


def verify(root: Path) -> list[str]:
    """What differs from the release in the repository at ``root``: one line per changed,
    missing or added file (empty when all is as released)."""
    sums = root / SUMS
    if not sums.is_file():
        return [f"{SUMS} is missing: this is not a released repository (kata release DIR)"]
    expected = {}
    for line in sums.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        expected[name] = digest
    problems = []
    for name, digest in expected.items():
        path = root / name
        if not path.is_file():
            problems.append(f"{name}: missing (it belongs to the instructor; restore it)")
        elif _sha256(path.read_bytes()) != digest:
            problems.append(f"{name}: changed (it belongs to the instructor; only your kata "
                            f"modules may change)")
    for name in _instructor_files(root):
        if name not in expected:
            problems.append(f"{name}: added (only your kata modules may change; remove it)")
    return problems


def classroom_workflow(sums_digest: str) -> str:
    """The GitHub Classroom workflow of a released repository (``sums_digest`` is the
    SHA-256 of its ``RELEASE.sha256``). Each step needs only what the steps before it made:

    1. before any of the repository's Python runs, coreutils check that every instructor
       file is as released and that no bytecode was committed;
    2. the box is made possible (GitHub's ubuntu-24.04 runners restrict the unprivileged user
       namespaces it needs through AppArmor) and Python is set up;
    3. ``install.py`` installs the locked environment (the CPU build of torch);
    4. ``kata verify`` names any file added beside the instructor's, ``kata sandbox`` fails
       the run where no box can be built: learner code never runs unboxed;
    5. one step grades every kata (each in a fresh box, from a fresh copy of the instructor's
       files, so no kata's run can change what another's runs or checks), checking the sums
       before and after, and writes each kata's result with its points per test;
    6. Classroom's reporter adds the points up.
    """
    katas = load_manifest().katas
    from kata.grading import classroom_runner

    results = "".join(f"          {classroom_runner(kata).upper()}_RESULTS: "
                      f"\"${{{{ steps.grade.outputs.{classroom_runner(kata)} }}}}\"\n"
                      for kata in katas)
    runners = ",".join(classroom_runner(kata) for kata in katas)
    sums_check = (f"sha256sum --check --quiet {SUMS} || {{ echo \"::error::the files marked "
                  f"FAILED above belong to the instructor and were changed: put them back as "
                  f"released\"; exit 1; }}")
    return f"""\
# Written by `kata release` from src/kata/release.py and manifest.toml: edit those, not this file.
name: Autograding
on: [push, workflow_dispatch]
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  grade:
    runs-on: ubuntu-latest
    timeout-minutes: 40
    if: github.actor != 'github-classroom[bot]'
    steps:
      - uses: actions/checkout@v4
      # before any of the repository's code runs: coreutils check that every file of the
      # instructor's (tests, conftest.py, pyproject.toml, install.py, the harness) is as released
      - name: Instructor files as released
        run: |
          echo "{sums_digest}  {SUMS}" | sha256sum --check --quiet || {{ echo "::error::{SUMS} was changed: it must stay as released"; exit 1; }}
          {sums_check}
          # kata verify skips __pycache__ (a learner's working copy is full of them), but a
          # fresh checkout has none: one there was committed, and an unchecked-hash .pyc is
          # imported in place of the instructor's source (the harness, kata verify itself)
          if find . -path ./.git -prune -o \\( -name __pycache__ -o -name '*.pyc' \\) -print | grep .; then echo "::error::the bytecode listed above was committed: Python would run it instead of the instructor's files; remove it"; exit 1; fi
      # the box that learner code runs in needs an unprivileged user namespace, which Ubuntu
      # 23.10 and later (GitHub's ubuntu-24.04 runners) forbid through AppArmor by default
      - name: Let the grading box start
        run: |
          if [ -e /proc/sys/kernel/apparmor_restrict_unprivileged_userns ]; then sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0; fi
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      # the versions the instructor's CI tests with (constraints.txt), torch's CPU build
      - name: Install the locked environment
        run: python install.py --cpu --extras grade
      - name: No file added beside the instructor's
        run: kata verify
      - name: The box works here
        run: kata sandbox
      - name: Grade every kata
        id: grade
        run: |
          {sums_check}
          status=0
          kata grade . --classroom "$GITHUB_OUTPUT" || status=$?
          # 0: every kata passes; 1: graded, some tests fail (the report above says which)
          [ "$status" -le 1 ] || {{ echo "::error::grading stopped (exit status $status): see above"; exit 1; }}
          {sums_check}
      - name: Report
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{results}        with:
          runners: {runners}
"""


@dataclass(frozen=True)
class StepResult:
    """One step of a rehearsed workflow: its name, exit status and the tail of its output."""

    name: str
    status: int
    output: str


@dataclass(frozen=True)
class Rehearsal:
    """A workflow run, rehearsed: the steps that ran (it stops at the first that failed, as
    GitHub Actions does), and what Classroom's reporter would have added up."""

    steps: tuple[StepResult, ...]
    #: each runner's result as the reporter decodes it (kata-01 -> its JSON)
    results: dict[str, dict]
    points: float | None = None
    max_points: float | None = None

    @property
    def failed(self) -> StepResult | None:
        return next((step for step in self.steps if step.status != 0), None)


_EXPRESSION = re.compile(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}")


def rehearse_workflow(checkout: Path, python: Path, *, environment: dict[str, str] | None = None,
                      timeout: float = 1800) -> Rehearsal:
    """Run the Classroom workflow of the released repository checked out at ``checkout``,
    step by step and offline, the way a fresh GitHub runner runs it, to see each step's
    outcome before a class pushes:

    - ``actions/checkout`` is ``checkout`` itself (a clone the caller made);
    - ``actions/setup-python`` is the virtual environment whose interpreter is ``python``
      (made now, fresh, where it does not exist yet), first on ``PATH``;
    - a ``run:`` step runs in ``bash -eo pipefail`` with GitHub's variables
      (``GITHUB_OUTPUT``, ``GITHUB_ACTIONS``, ``CI``) and ``environment``, in the checkout;
    - Classroom's reporter decodes each runner's result and adds the scores up as it does.

    It stops at the first step that fails, as GitHub Actions does."""
    import yaml  # the test extra: only this rehearsal reads YAML

    workflow = yaml.safe_load((checkout / WORKFLOW).read_text(encoding="utf-8"))
    python = Path(python)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(python.parent.parent)], check=True)
    outputs: dict[str, dict[str, str]] = {}
    done: list[StepResult] = []
    with tempfile.TemporaryDirectory(prefix="kata-runner-") as runner:
        base = {"PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin", "HOME": runner,
                "LANG": "C.UTF-8", "CI": "true", "GITHUB_ACTIONS": "true",
                "RUNNER_TEMP": runner, **(environment or {})}
        for number, step in enumerate(workflow["jobs"]["grade"]["steps"]):
            uses = step.get("uses", "")
            name = step.get("name") or uses or step["run"].splitlines()[0]
            if uses.startswith(("actions/checkout@", "actions/setup-python@")):
                done.append(StepResult(name, 0, "rehearsed: the checkout and its Python"))
                continue
            if uses.startswith("classroom-resources/autograding-grading-reporter@"):
                return _report(step, outputs, tuple(done))
            output_file = Path(runner, f"output-{number}")
            output_file.touch()
            env = {**base, **step.get("env", {}), "GITHUB_OUTPUT": str(output_file)}
            ran = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                                  step["run"]], cwd=checkout, env=env, capture_output=True,
                                 text=True, timeout=timeout)
            done.append(StepResult(name, ran.returncode, (ran.stdout + ran.stderr)[-4000:]))
            outputs[step.get("id", str(number))] = dict(
                line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line)
            if ran.returncode != 0:
                break
    return Rehearsal(tuple(done), {})


def _report(step: dict, outputs: dict[str, dict[str, str]],
            done: tuple[StepResult, ...]) -> Rehearsal:
    """What Classroom's grading reporter makes of the runners' results: each test's score
    added up against each runner's maximum; the step fails where a runner failed."""
    results = {}
    for runner in step["with"]["runners"].split(","):
        value = _EXPRESSION.sub(lambda found: outputs.get(found[1], {}).get(found[2], ""),
                                step["env"][f"{runner.upper()}_RESULTS"])
        results[runner] = json.loads(base64.b64decode(value)) if value else {}
    missing = [runner for runner, result in results.items() if not result]
    failed = [runner for runner, result in results.items() if result.get("status") != "pass"]
    points = sum(test["score"] for result in results.values() for test in result.get("tests", ()))
    maximum = sum(result.get("max_score", 0) for result in results.values())
    said = (f"no result from {missing}" if missing else
            f"Points {points:g}/{maximum:g}" + (f"; not passing: {failed}" if failed else ""))
    reported = StepResult("Report", 1 if missing or failed else 0, said)
    return Rehearsal((*done, reported), results, points, maximum)


def main(argv: list[str] | None = None) -> int:
    """``release.py verify DIR``: the check the Classroom workflow runs."""
    parser = argparse.ArgumentParser(prog="release.py")
    parser.add_argument("command", choices=["verify"])
    parser.add_argument("root", type=Path)
    args = parser.parse_args(argv)
    problems = verify(args.root)
    for problem in problems:
        print(f"::error::{problem}" if os.environ.get("GITHUB_ACTIONS") else problem)
    if not problems:
        print("Every instructor file is as released.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
