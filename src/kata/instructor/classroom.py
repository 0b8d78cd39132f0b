"""The GitHub Classroom workflow of a released repository: what it runs, step by step, and a
rehearsal that runs those steps offline before a class pushes.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kata.core.manifest import load_manifest
from kata.grading.reports import classroom_runner

#: Where a released repository keeps its Classroom workflow.
WORKFLOW = Path(".github", "workflows", "classroom.yml")
#: The file of sums the workflow checks (written by ``kata release``).
SUMS = "RELEASE.sha256"


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

    results = "".join(f"          {classroom_runner(kata).upper()}_RESULTS: "
                      f"\"${{{{ steps.grade.outputs.{classroom_runner(kata)} }}}}\"\n"
                      for kata in katas)
    runners = ",".join(classroom_runner(kata) for kata in katas)
    sums_check = (f"sha256sum --check --quiet {SUMS} || {{ echo \"::error::the files marked "
                  f"FAILED above belong to the instructor and were changed: put them back as "
                  f"released\"; exit 1; }}")
    sums_as_released = (f"echo \"{sums_digest}  {SUMS}\" | sha256sum --check --quiet || "
                        f"{{ echo \"::error::{SUMS} was changed: it must stay as released\"; "
                        f"exit 1; }}")
    no_bytecode = ("if find . -path ./.git -prune -o \\( -name __pycache__ -o -name '*.pyc' \\) "
                   "-print | grep .; then echo \"::error::the bytecode listed above was "
                   "committed: Python would run it instead of the instructor's files; remove "
                   "it\"; exit 1; fi")
    user_namespaces = ("if [ -e /proc/sys/kernel/apparmor_restrict_unprivileged_userns ]; then "
                       "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0; fi")
    graded_or_stopped = ('[ "$status" -le 1 ] || { echo "::error::grading stopped (exit status '
                         '$status): see above"; exit 1; }')
    return f"""\
# Written by `kata release` from src/kata/instructor/release.py and manifest.toml: edit those, \
not this file.
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
          {sums_as_released}
          {sums_check}
          # kata verify skips __pycache__ (a learner's working copy is full of them), but a
          # fresh checkout has none: one there was committed, and an unchecked-hash .pyc is
          # imported in place of the instructor's source (the harness, kata verify itself)
          {no_bytecode}
      # the box that learner code runs in needs an unprivileged user namespace, which Ubuntu
      # 23.10 and later (GitHub's ubuntu-24.04 runners) forbid through AppArmor by default
      - name: Let the grading box start
        run: |
          {user_namespaces}
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
          {graded_or_stopped}
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
