"""The ``kata`` command, end to end: each test runs it in a subprocess on a temporary copy of
the repository, edited the way a learner would edit it."""

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time

import jsonschema
import pytest

from kata import pictures
from kata.core.layout import REPO_ROOT
from kata.core.manifest import load_manifest
from kata.grading.results import SCHEMA

MANIFEST = load_manifest()


def _environment(root):
    return {**os.environ, "PYTHONPATH": str(root / "src"), "PYTHONDONTWRITEBYTECODE": "1"}


def kata(root, *args, stdin="", timeout=300):
    """Run ``kata ARGS`` in ``root``; the finished process, its output as text."""
    return subprocess.run([sys.executable, "-m", "kata", *args], cwd=root, input=stdin,
                          capture_output=True, text=True, timeout=timeout, env=_environment(root))


def _solve(root, *numbers):
    for number in numbers:
        kata_ = MANIFEST.kata(str(number))
        shutil.copy2(kata_.path_in(root / "solutions"), kata_.path_in(root / "katas"))


def _board_line(output, kata_):
    return next(line for line in output.splitlines() if line.strip().startswith(kata_))


def test_the_board_of_a_fresh_clone_shows_0_of_8_and_points_at_kata_01(checkout):
    done = kata(checkout)
    assert done.returncode == 0, done.stderr
    assert "0/8 done" in done.stdout
    for entry in MANIFEST.katas:
        assert "not started" in _board_line(done.stdout, entry.folder)
    assert "Now: 01_broadcasting" in done.stdout
    assert "katas/01_broadcasting/README.md" in done.stdout
    assert "kata hint 01" in done.stdout
    assert "NotImplementedError: kata 01_broadcasting: fraction_less()" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_the_board_after_kata_01_with_a_syntax_error_and_an_endless_loop(checkout):
    _solve(checkout, 1)
    matmul = MANIFEST.kata("03").path_in(checkout / "katas")
    matmul.write_text(matmul.read_text() + "\ndef oops(:\n")
    broken_line = len(matmul.read_text().splitlines())
    exam = MANIFEST.kata("08").path_in(checkout / "katas")
    exam.write_text(exam.read_text() + "\nwhile True:\n    pass\n")
    for _ in range(2):
        assert kata(checkout, "hint", "2").returncode == 0
    limit = 20
    started = time.monotonic()
    done = kata(checkout, "--time-limit", str(limit))
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "1/8 done" in done.stdout
    assert "done" in _board_line(done.stdout, "01_broadcasting")
    assert "Now: 02_outer_ops" in done.stdout
    assert f"SyntaxError at line {broken_line}" in _board_line(done.stdout, "03_matmul")
    assert "broken" in _board_line(done.stdout, "03_matmul")
    assert f"timed out after {limit} s" in _board_line(done.stdout, "08_mnist")
    # the current kata's first failing test is outer's, whose first two hints were shown: the
    # board shows the second
    assert f"Hint 2 of {len(MANIFEST.kata('02').hints['outer'])} for outer:" in done.stdout
    # the loop was stopped at its limit; the other katas ran beside it, not after it
    assert elapsed < limit + 45, f"the board took {elapsed:.0f} s"


def test_hints_come_one_more_at_a_time_for_each_function_and_stop_at_the_last(checkout):
    hints = MANIFEST.kata("02").hints
    count = len(hints["outer"])
    outputs = [kata(checkout, "hint", "02_outer_ops").stdout for _ in range(count + 1)]
    assert f"Hint 1 of {count} for outer:" in outputs[0] and f"Hint 2 of {count}" not in outputs[0]
    assert all(hint in outputs[count - 1] for hint in hints["outer"])
    assert "(new)" in outputs[count - 1]
    # outer's hints are all shown: the next goes to the next function with hints left
    assert f"Hint 1 of {len(hints['outer_product'])} for outer_product:" in outputs[count]
    assert "for outer:" not in outputs[count]
    named = kata(checkout, "hint", "02", "outer").stdout
    assert "That was the last hint for outer" in named and "(new)" not in named
    assert f"Hint 1 of {len(hints['pairwise_distances'])} for pairwise_distances" in kata(
        checkout, "hint", "02", "pairwise_distances").stdout
    state = json.loads((checkout / ".kata" / "state.json").read_text())
    assert state["hints_shown"] == {"02_outer_ops": {"outer": count, "outer_product": 1,
                                                     "pairwise_distances": 1}}
    wrong = kata(checkout, "hint", "02", "outer_prod")
    assert wrong.returncode == 2 and "its functions are: outer, outer_product" in wrong.stderr


def test_a_bad_kata_name_gets_the_list_of_valid_ones(checkout):
    done = kata(checkout, "hint", "99")
    assert done.returncode == 2
    assert "01_broadcasting, 02_outer_ops" in done.stderr and "Traceback" not in done.stderr


def test_reset_asks_first_and_keeps_a_backup(checkout):
    module = MANIFEST.kata("03").path_in(checkout / "katas")
    stub = module.read_text()
    mine = stub + "\n# my work in progress\n"
    module.write_text(mine)
    declined = kata(checkout, "reset", "3", stdin="n\n")
    assert "[y/N]" in declined.stdout and "Nothing changed" in declined.stdout
    assert module.read_text() == mine and not (checkout / ".kata" / "backups").exists()
    accepted = kata(checkout, "reset", "03", stdin="y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert module.read_text() == stub
    backups = list((checkout / ".kata" / "backups" / "03_matmul").iterdir())
    assert [backup.read_text() for backup in backups] == [mine]
    assert backups[0].name in accepted.stdout
    assert "already the untouched stub" in kata(checkout, "reset", "3").stdout


def _git(root, *args):
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})
    return done.stdout


def _repository_state(root):
    return (_git(root, "status", "--porcelain", "--untracked-files=all"),
            _git(root, "for-each-ref", "--format=%(refname) %(objectname)"),
            _git(root, "rev-parse", "HEAD"), _git(root, "symbolic-ref", "HEAD"))


def test_grade_a_branch_with_the_instructors_tests_and_leave_git_untouched(checkout, tmp_path,
                                                                             grade_options):
    _git(checkout, "init", "-q", "-b", "main")
    _git(checkout, "add", "-A")
    _git(checkout, "commit", "-q", "-m", "course")
    _git(checkout, "checkout", "-q", "-b", "learner")
    _solve(checkout, 1, 2, 3)
    softmax_tests = checkout / "katas" / "04_softmax" / "test_softmax.py"
    softmax_tests.write_text("def test_everything_is_fine():\n    pass\n")  # a learner's "fix"
    _git(checkout, "commit", "-q", "-am", "katas 01-03, and kata 04 'passing'")
    _git(checkout, "checkout", "-q", "main")
    before = _repository_state(checkout)

    report, table = tmp_path / "grades.json", tmp_path / "grades.md"
    first_four = [option for number in (1, 2, 3, 4) for option in ("--only", str(number))]
    done = kata(checkout, "grade", "learner", str(checkout / "solutions"), "--json", str(report),
                "--markdown", str(table), *first_four, *grade_options)  # two processes a kata

    assert _repository_state(checkout) == before
    assert done.returncode == 1  # not every target passed
    results = json.loads(report.read_text())
    jsonschema.validate(results, json.loads(SCHEMA.read_text()))
    learner, reference = results["learners"]
    worth = [load_manifest().kata(str(number)).points for number in (1, 2, 3, 4)]
    assert (learner["target"], learner["points"], learner["max_points"]) == \
        ("learner", sum(worth[:3]), sum(worth))
    assert learner["status"] == "fail"
    states = {entry["kata"]: entry["state"] for entry in learner["katas"]}
    assert [k for k, state in states.items() if state == "done"] == \
        ["01_broadcasting", "02_outer_ops", "03_matmul"]
    assert states["04_softmax"] == "not started"  # graded with the instructor's tests
    assert not any("test_everything_is_fine" in test["name"] for test in learner["tests"])
    softmax = next(entry for entry in results["katas"] if entry["kata"] == "04_softmax")
    assert softmax["tests_code"]
    assert all("def test_" in code for code in softmax["tests_code"].values())
    assert (reference["points"], reference["status"]) == (sum(worth), "pass")
    markdown = table.read_text()
    assert f"## `learner`: {sum(worth[:3]):g}/{sum(worth):g} points" in markdown
    assert f"## `{checkout / 'solutions'}`: {sum(worth):g}/{sum(worth):g} points" in markdown
    assert "| `04_softmax` | not started | 0/" in markdown


def test_grade_reports_a_target_that_is_neither_a_directory_nor_a_ref(checkout, tmp_path,
                                                                       grade_options):
    report = tmp_path / "grades.json"
    done = kata(checkout, "grade", "no-such-branch", "--json", str(report), "--only", "1",
                *grade_options)
    results = json.loads(report.read_text())
    jsonschema.validate(results, json.loads(SCHEMA.read_text()))
    assert results["learners"][0]["status"] == "error" and done.returncode == 2
    assert "neither a directory nor a git ref" in results["learners"][0]["message"]


def _lines(process):
    """A queue of the process's output lines, read as they come."""
    lines = queue.Queue()

    def read():
        for line in process.stdout:
            lines.put(line)
    threading.Thread(target=read, daemon=True).start()
    return lines


def _wait_for(lines, text, seconds=120):
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=1))
        except queue.Empty:
            continue
        if text in seen[-1]:
            return "".join(seen)
    raise AssertionError(f"no {text!r} within {seconds} s; the output was:\n{''.join(seen)}")


def test_watch_reruns_on_save_and_by_key_and_does_not_advance_by_itself(checkout):
    process = subprocess.Popen([sys.executable, "-m", "kata", "watch", "1", "--poll", "0.2"],
                               cwd=checkout, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, env=_environment(checkout))
    try:
        lines = _lines(process)
        assert "01_broadcasting: not started" in _wait_for(lines, "Watching katas/01_broadcasting")
        _solve(checkout, 1)  # a save
        passed = _wait_for(lines, "Watching katas/01_broadcasting")
        assert "01_broadcasting: done" in passed and "n+Enter: next kata" in passed
        process.stdin.write("\n")  # Enter: rerun by hand; still the same kata
        process.stdin.flush()
        assert "01_broadcasting: done" in _wait_for(lines, "Watching katas/01_broadcasting")
        process.stdin.write("n\n")
        process.stdin.flush()
        assert "02_outer_ops: not started" in _wait_for(lines, "Watching katas/02_outer_ops")
        process.stdin.write("q\n")
        process.stdin.flush()
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()


def test_run_shows_a_failure_in_short_form_with_the_shapes_drawn(checkout):
    solution = MANIFEST.kata("01").path_in(checkout / "solutions").read_text()
    # broadcast_shape that compares from the left: a classic mistake
    wrong = solution.replace("def broadcast_shape(*shapes):",
                             "def broadcast_shape(*shapes):\n"
                             "    shapes = [s[::-1] for s in shapes]",
                             1)
    assert wrong != solution
    MANIFEST.kata("01").path_in(checkout / "katas").write_text(wrong)
    done = kata(checkout, "run", "1")
    assert done.returncode == 1
    assert "01_broadcasting: failing" in done.stdout
    assert "test_broadcast_shape_matches_numpy" in done.stdout
    assert "lined up from the right" in done.stdout and "Result" in done.stdout
    assert "Traceback" not in done.stdout


def test_check_proves_one_kata_sound_as_a_table():
    # the learner profile: the same checks at 200 examples are tests/'s own, under ci
    done = kata(REPO_ROOT, "check", "02", "--workers", "2", "--profile", "learner", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    for row in ("solutions pass every test", "stubs fail every test with NotImplementedError",
                "cataloged mistakes rejected", "cataloged alternatives accepted",
                "hints guide without the solution's lines",
                "mistakes named and explained, shipped as generated"):
        assert row in done.stdout
    # the diagnosis, measured: how many failing tests it named rightly, none named wrongly
    assert re.search(r"diagnosis of cataloged mistakes' failures +\d+ right, \d+ silent, 0 wrong",
                     done.stdout)
    assert re.search(r"diagnosis of independent wrong code's failures +\d+ right, \d+ silent, 0 "
                     r"wrong", done.stdout)
    assert "The repository is sound." in done.stdout


def test_mnist_shows_digits_and_records_the_loss_curve(checkout):
    done = kata(checkout, "mnist", "--solutions", "--count", "3", "--device", "cpu")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test accuracy 0.9" in done.stdout and "predicted" in done.stdout \
        and "true" in done.stdout
    run = json.loads((checkout / ".kata" / "last_run.json").read_text())
    assert len(run["train_loss"]) == 938  # 60,000 images in batches of 64, the last one partial
    curve = kata(checkout, "curve")
    assert curve.returncode == 0 and "batch 1 to 938" in curve.stdout


def test_mnist_on_unfinished_katas_says_what_to_do(checkout):
    done = kata(checkout, "mnist", "--device", "cpu")
    assert done.returncode == 1
    assert "needs katas 05-08 working" in done.stdout \
        and "Traceback" not in done.stdout + done.stderr


def test_curve_without_a_run_says_how_to_make_one(checkout):
    done = kata(checkout, "curve")
    assert done.returncode == 1 and "kata mnist" in done.stdout


def test_outside_a_checkout_the_command_says_so(tmp_path):
    done = subprocess.run([sys.executable, "-m", "kata", "hint"], cwd=tmp_path, capture_output=True,
                          text=True, env=_environment(REPO_ROOT))
    assert done.returncode == 2 and "not inside a tensor-katas checkout" in done.stderr


def test_digits_are_drawn_with_their_labels():
    image = [0.0] * 784
    for row in range(4, 24):
        image[row * 28 + 14] = 1.0  # a vertical stroke: a one
    text = pictures.digits([image, image], [1, 7], [1, 1])
    lines = text.splitlines()
    assert len(lines) == 15 and "@" in lines[5]
    assert "predicted 1, true 1" in lines[14] and "predicted 7, true 1  WRONG" in lines[14]


def test_the_png_curve_needs_the_plot_extra_or_draws(tmp_path):
    target = tmp_path / "curve.png"
    try:
        pictures.loss_curve_png([2.0, 1.0, 0.5], target)
    except RuntimeError as missing:
        assert 'pip install -e ".[plot]"' in str(missing)
    else:
        assert target.read_bytes().startswith(b"\x89PNG")


def test_the_kata_command_is_installed_by_pyproject():
    assert 'kata = "kata.cli:main"' in (REPO_ROOT / "pyproject.toml").read_text()


def test_kata_bench_hands_its_options_to_the_benchmark(monkeypatch):
    from kata import cli
    from kata.instructor import bench

    seen = []
    monkeypatch.setattr(bench, "main", lambda argv: seen.append(argv) or 0)
    assert cli.main(["--root", str(REPO_ROOT), "bench", "--tiny", "--device", "cpu"]) == 0
    assert seen == [["--tiny", "--device", "cpu"]]


@pytest.mark.parametrize("code, expected, unchecked", [
    ("_hog = [0] * (1 << 31)", "does not import: MemoryError at line", False),  # 16 GiB > 1 GiB
    ("raise SystemExit(3)", "does not import: SystemExit at line", False),
    # no module within the allow-list can reach os._exit; a crash in a library ends the
    # process all the same, so the run must still say so: the allow-list is off for this one
    ("import os\nos._exit(3)", "ended with exit code 3", True),
], ids=["eats memory", "exits", "ends the interpreter"])
def test_run_reports_code_that_eats_memory_or_ends_the_interpreter(checkout, code, expected,
                                                                   unchecked, monkeypatch):
    if unchecked:
        monkeypatch.setenv("PYTEST_ADDOPTS", "--learner-unchecked")
    module = MANIFEST.kata("02").path_in(checkout / "katas")
    module.write_text(module.read_text() + "\n" + code + "\n")
    done = kata(checkout, "run", "2", "--memory-limit", "1")
    assert done.returncode == 1 and expected in done.stdout, done.stdout + done.stderr
    assert done.stdout.count(expected) == 1, "the reason is said once"
    assert "Traceback" not in done.stdout and not done.stdout.strip().splitlines()[1].endswith(":")
