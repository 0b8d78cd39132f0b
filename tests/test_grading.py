"""``kata release`` and ``kata verify``, and what ``kata grade`` refuses before grading."""

import json
import os
import signal
import subprocess
import sys
import time

from kata.core.layout import REPO_ROOT, is_hidden_test
from kata.core.manifest import load_manifest
from kata.instructor import classroom
from kata.instructor.release import checkout_files


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
                   or is_hidden_test(name) for name in files)
    assert any(is_hidden_test(name) for name in checkout_files(REPO_ROOT))  # kata 03 has some
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
        [sys.executable, "-m", "pytest", "tests/test_solutions_and_stubs.py",
         "tests/test_install.py", "-q", "-p", "no:cacheprovider", "-rs"],
        cwd=target, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(target / "src")})
    assert checks.returncode == 0, checks.stdout[-2000:]
    assert "needs the reference solutions" in checks.stdout
    # the release carries the mistakes the diagnosis needs, and it names them without the
    # solutions or the catalog: a learner's matvec summing the wrong axis
    right = "    return (m * c).sum(1, dtype=m.dtype)"
    solution = (REPO_ROOT / "solutions" / "03_matmul" / "matmul.py").read_text(encoding="utf-8")
    (target / "katas" / "03_matmul" / "matmul.py").write_text(
        solution.replace(right, right.replace("sum(1", "sum(0")), encoding="utf-8")
    diagnosed = subprocess.run(
        [sys.executable, "-m", "pytest", "katas/03_matmul", "-k", "matvec_matches", "-q", "-p",
         "no:cacheprovider"], cwd=target, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(target / "src")})
    assert "classic mistake: it sums over axis 0 instead of axis 1" in diagnosed.stdout, \
        diagnosed.stdout[-2000:]
    assert kata(target, "verify").returncode == 0
    test_file = target / "katas" / "03_matmul" / "test_matmul.py"
    test_file.write_text(test_file.read_text() + "\n# always pass\n")
    (target / "katas" / "01_broadcasting" / "conftest.py").write_text("# a hook\n")
    checked = kata(target, "verify")
    assert checked.returncode == 1
    assert "katas/03_matmul/test_matmul.py: changed" in checked.stdout
    assert "katas/01_broadcasting/conftest.py: added" in checked.stdout


def test_grade_refuses_bad_options_and_an_unwritable_result_before_grading(tmp_path):
    zero = kata(REPO_ROOT, "grade", "katas", "--workers", "0", "--only", "1")
    assert zero.returncode == 2 and "--workers 0" in zero.stderr
    unwritable = kata(REPO_ROOT, "grade", "katas", "--only", "1", "--json",
                      str(tmp_path / "no" / "such" / "grades.json"))
    assert unwritable.returncode == 2 and "cannot write the results" in unwritable.stderr
    negative = kata(REPO_ROOT, "grade", "katas", "--only", "1", "--seed=-1")
    assert negative.returncode == 2 and "--seed -1" in negative.stderr
    several = kata(REPO_ROOT, "grade", "katas", "solutions", "--only", "1", "--gradescope",
                   str(tmp_path / "results.json"))
    assert several.returncode == 2 and "give one target" in several.stderr
    roster = tmp_path / "roster.csv"
    roster.write_text("login\nalice\n")
    not_classroom = kata(REPO_ROOT, "grade", "katas", "--only", "1", "--roster", str(roster))
    assert not_classroom.returncode == 2 and "github_username" in not_classroom.stderr
    assert "Traceback" not in zero.stderr + unwritable.stderr + negative.stderr + several.stderr \
        + not_classroom.stderr


def test_ctrl_c_stops_every_box_and_writes_the_partial_results(tmp_path, grade_options, running,
                                                               with_ctrl_c):
    learner = tmp_path / "slow" / "katas" / "03_matmul"
    learner.mkdir(parents=True)
    (learner / "matmul.py").write_text(
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c',"
        " '# kata-ctrl-c-test\\nimport time; time.sleep(300)'],"
        " start_new_session=True)\n"
        "time.sleep(300)\n")
    report = tmp_path / "grades.json"
    grader = subprocess.Popen(
        [sys.executable, "-m", "kata", "grade", str(tmp_path / "slow"), "--only", "3",
         "--skip-allowlist",  # it imports subprocess: the box must stop it, not the allow-list
         "--json", str(report), *grade_options], cwd=REPO_ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")},
        preexec_fn=with_ctrl_c)
    deadline = time.monotonic() + 240
    while not running("kata-ctrl-c-test") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert running("kata-ctrl-c-test"), "the learner's code never started"
    grader.send_signal(signal.SIGINT)
    _, errors = grader.communicate(timeout=120)
    assert grader.returncode == 130, errors
    kata_ = json.loads(report.read_text())["learners"][0]["katas"][0]
    assert (kata_["state"], kata_["points"]) == ("stopped", 0)
    assert "interrupted" in kata_["message"]
    time.sleep(1)
    assert not running("kata-ctrl-c-test")


def test_gradescopes_autograder_grades_a_submission_with_your_tests_hidden_ones_included(
        tmp_path, grade_options):
    """``kata release --gradescope`` writes what Gradescope unpacks into /autograder/source;
    its ``run_autograder``, run here with AUTOGRADER pointing at a folder laid out like
    Gradescope's (a virtual environment that sees this Python's packages standing for the
    one setup.sh installs), grades the submission and writes results.json."""
    autograder = tmp_path / "autograder"
    source = autograder / "source"
    done = kata(REPO_ROOT, "release", "--gradescope", str(source))
    assert done.returncode == 0, done.stderr
    files = {path.relative_to(source).as_posix() for path in source.rglob("*") if path.is_file()}
    assert not any(name.startswith(("solutions/", "tests/catalog/", "tests/redteam/", ".ci/"))
                   for name in files)
    assert "katas/03_matmul/test_hidden_matmul.py" in files
    assert all(os.access(source / name, os.X_OK) for name in ("setup.sh", "run_autograder"))
    if grade_options:  # no box here: the instructor's line at the top of run_autograder
        script = source / "run_autograder"
        script.write_text(script.read_text().replace('UNSANDBOXED=""\n',
                                                     'UNSANDBOXED="--unsandboxed"\n', 1))
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(autograder / "venv")], check=True, timeout=120)
    kata_ = load_manifest().kata("01")
    submitted = autograder / "submission" / "katas" / kata_.folder / f"{kata_.module}.py"
    submitted.parent.mkdir(parents=True)
    submitted.write_text(kata_.path_in(REPO_ROOT / "solutions").read_text())
    graded = subprocess.run([str(source / "run_autograder"), "--only", "01"], capture_output=True,
                            text=True, timeout=600,
                            env={**os.environ, "AUTOGRADER": str(autograder),
                                 "PYTHONPATH": str(source / "src")})
    assert graded.returncode == 0, graded.stdout + graded.stderr
    results = json.loads((autograder / "results" / "results.json").read_text())
    assert results["score"] == kata_.points == sum(test["max_score"] for test in results["tests"])
    assert all(test["status"] == "passed" for test in results["tests"])


def test_the_warm_grader_forks_each_tests_side_and_grades_as_new_processes_do(tmp_path,
                                                                             monkeypatch):
    """``kata grade`` forks the tests' side of every run from one warm grader
    (``kata.grading.service.warm_grader``), and the grades are the very grades that new
    processes give, test by test, message by message: for the solutions, and for a learner
    whose ``fraction_less`` counts ties; the grader is gone once grading is done."""
    from kata.grading import service
    from kata.runs import sandbox, worker

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
                                                   time_limit=600, warm=warm, seed=1,
                                                   boxed=sandbox.availability() is None
                                                   ).grades]
    warm = graded(True)
    if sandbox.availability() is not None:  # unboxed, each run has a supervisor of its own
        assert forked == []
    else:
        assert len(forked) == 2 and all(home is not None for home in forked)
        assert not worker.is_up(forked[0].folder), "the grader stopped with the grading"
    assert warm == graded(False)
    assert warm[0][1] == kata_.points and 0 < warm[1][1] < kata_.points
