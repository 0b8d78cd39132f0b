"""``kata release`` and ``kata verify``, and what ``kata grade`` refuses before grading."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kata.instructor import classroom
from kata.core.layout import REPO_ROOT
from kata.core.manifest import load_manifest


def kata(root, *args):
    return subprocess.run([sys.executable, "-m", "kata", *args], cwd=root, capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")})


def test_a_release_holds_no_answers_passes_its_checks_and_catches_an_edited_test(tmp_path):
    target = tmp_path / "learner"
    done = kata(REPO_ROOT, "release", str(target))
    assert done.returncode == 0, done.stderr
    files = {path.relative_to(target).as_posix() for path in target.rglob("*") if path.is_file()}
    assert not any(name.startswith(("solutions/", "tests/catalog/", "tests/redteam/", ".ci/"))
                   for name in files)
    assert {classroom.SUMS, classroom.WORKFLOW.as_posix(), "conftest.py", "pyproject.toml",
            "install.py", "constraints.txt"} <= files
    workflow = (target / classroom.WORKFLOW).read_text()
    assert workflow.index(f"sha256sum --check --quiet {classroom.SUMS}") < \
        workflow.index("run: python install.py") < workflow.index("run: kata verify")
    for entry in load_manifest().katas:
        assert f"KATA-{entry.number:02d}_RESULTS" in workflow
    skipped = target / "tests" / "test_solutions_and_stubs.py"
    assert "pytest.skip" in skipped.read_text()
    subprocess.run(["git", "init", "-q"], cwd=target, check=True)
    checks = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_solutions_and_stubs.py", "tests/test_install.py",
         "-q", "-p", "no:cacheprovider", "-rs"],
        cwd=target, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(target / "src")})
    assert checks.returncode == 0, checks.stdout[-2000:]
    assert "needs the reference solutions" in checks.stdout
    assert kata(target, "verify").returncode == 0
    test_file = target / "katas" / "03_matmul" / "test_matmul.py"
    test_file.write_text(test_file.read_text() + "\n# always pass\n")
    (target / "katas" / "01_broadcasting" / "conftest.py").write_text("# a hook\n")
    checked = kata(target, "verify")
    assert checked.returncode == 1
    assert "katas/03_matmul/test_matmul.py: changed" in checked.stdout
    assert "katas/01_broadcasting/conftest.py: added" in checked.stdout


def test_grade_refuses_zero_workers_and_an_unwritable_result_before_grading(tmp_path):
    zero = kata(REPO_ROOT, "grade", "katas", "--workers", "0", "--only", "1")
    assert zero.returncode == 2 and "--workers 0" in zero.stderr
    unwritable = kata(REPO_ROOT, "grade", "katas", "--only", "1", "--json",
                      str(tmp_path / "no" / "such" / "grades.json"))
    assert unwritable.returncode == 2 and "cannot write the results" in unwritable.stderr
    assert "Traceback" not in zero.stderr + unwritable.stderr


def test_ctrl_c_stops_every_box_and_writes_the_partial_results(tmp_path):
    learner = tmp_path / "slow" / "katas" / "03_matmul"
    learner.mkdir(parents=True)
    (learner / "matmul.py").write_text(
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', '# kata-ctrl-c-test\\nimport time; time.sleep(300)'],"
        " start_new_session=True)\n"
        "time.sleep(300)\n")
    report = tmp_path / "grades.json"
    grader = subprocess.Popen(
        [sys.executable, "-m", "kata", "grade", str(tmp_path / "slow"), "--only", "3",
         "--json", str(report)], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")})
    deadline = time.monotonic() + 240
    while not _running("kata-ctrl-c-test") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _running("kata-ctrl-c-test"), "the learner's code never started"
    grader.send_signal(signal.SIGINT)
    _, errors = grader.communicate(timeout=120)
    assert grader.returncode == 130, errors
    kata_ = json.loads(report.read_text())["learners"][0]["katas"][0]
    assert (kata_["state"], kata_["points"]) == ("stopped", 0)
    assert "interrupted" in kata_["message"]
    time.sleep(1)
    assert not _running("kata-ctrl-c-test")


def _running(marker: str) -> bool:
    for process in Path("/proc").iterdir():
        try:
            if process.name.isdigit() and marker.encode() in (process / "cmdline").read_bytes():
                return True
        except OSError:  # it ended while we looked
            pass
    return False


def test_the_warm_grader_forks_each_tests_side_and_grades_as_new_processes_do(tmp_path,
                                                                             monkeypatch):
    """``kata grade`` forks the tests' side of every run from one warm grader
    (``kata.grading.service.warm_grader``), and the grades are the very grades that new
    processes give, test by test, message by message: for the solutions, and for a learner
    whose ``fraction_less`` counts ties; the grader is gone once grading is done."""
    from kata.grading import service
    from kata.runs import worker

    kata_ = load_manifest().kata("01")
    module = kata_.path_in(tmp_path / "learner")
    module.parent.mkdir(parents=True)
    module.write_text(kata_.path_in(REPO_ROOT / "solutions").read_text()
                      .replace("return (a < b).double()", "return (a <= b).double()"))
    targets = [str(REPO_ROOT / "solutions"), str(tmp_path / "learner")]
    forked = []
    run_forked = worker.run_forked

    def counted(*args, **options):
        forked.append(options.get("home"))
        return run_forked(*args, **options)
    monkeypatch.setattr(worker, "run_forked", counted)

    def graded(warm):
        return [(grade.target, grade.points, [(test.name, test.status, test.message)
                                               for test in grade.tests])
                for grade in service.grade_targets(targets, REPO_ROOT, [kata_], workers=2,
                                                   time_limit=600, warm=warm)]
    warm = graded(True)
    assert len(forked) == 2 and all(home is not None for home in forked)
    assert not worker.is_up(forked[0].folder), "the grader stopped with the grading"
    assert warm == graded(False)
    assert warm[0][1] == kata_.points and 0 < warm[1][1] < kata_.points
