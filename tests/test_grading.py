"""``kata release`` and ``kata verify``, and what ``kata grade`` refuses before grading."""

import os
import subprocess
import sys

from kata import release
from kata.manifest import REPO_ROOT, load_manifest


def kata(root, *args):
    return subprocess.run([sys.executable, "-m", "kata", *args], cwd=root, capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")})


def test_a_release_holds_no_answers_passes_its_checks_and_catches_an_edited_test(tmp_path):
    target = tmp_path / "learner"
    done = kata(REPO_ROOT, "release", str(target))
    assert done.returncode == 0, done.stderr
    files = {path.relative_to(target).as_posix() for path in target.rglob("*") if path.is_file()}
    assert not any(name.startswith(("solutions/", "tests/catalog/")) for name in files)
    assert {release.SUMS, release.WORKFLOW.as_posix(), "conftest.py", "pyproject.toml"} <= files
    workflow = (target / release.WORKFLOW).read_text()
    assert workflow.index(f"sha256sum --check --quiet {release.SUMS}") < workflow.index("pip install")
    for entry in load_manifest().katas:
        assert f"kata grade . --only {entry.number:02d}" in workflow
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
