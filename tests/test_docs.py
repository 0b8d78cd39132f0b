"""The documentation states what the code does: kata READMEs name their rules, the README
lists every kata, its sample failure is real output, and CI runs the README's test command."""

import argparse
import os
import re
import subprocess
import sys

import pytest

from kata.cli import build_parser
from kata.core.layout import REPO_ROOT
from kata.core.manifest import load_manifest

MANIFEST = load_manifest()
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("kata", MANIFEST.katas, ids=lambda kata: kata.folder)
def test_kata_readme_names_its_rules_and_how_to_run_it(kata):
    text = (REPO_ROOT / "katas" / kata.folder / "README.md").read_text(encoding="utf-8")
    rules = {rule for rules in kata.functions.values() for rule in rules}
    missing = [rule for rule in sorted(rules) if f"`{rule}`" not in text]
    assert not missing, f"{kata.folder}/README.md does not explain {missing}"
    assert f"pytest katas/{kata.folder}" in text
    unnamed = [used for used in kata.uses if f"`{used}`" not in text]
    assert not unnamed, f"{kata.folder}/README.md should say that it uses {unnamed}"


@pytest.mark.parametrize("kata", MANIFEST.katas, ids=lambda kata: kata.folder)
def test_kata_readme_links_the_moment_of_the_lesson_that_teaches_it(kata):
    text = (REPO_ROOT / "katas" / kata.folder / "README.md").read_text(encoding="utf-8")
    lead = text.split("## ", 1)[0]  # before the first section: the first thing a learner reads
    assert "**In the lesson:**" in lead and "course18.fast.ai/lessonsml1/lessonml9.html" in lead
    assert re.search(r"\[\d+(:\d\d)+\]\(https://youtu\.be/PGC0UxakTvM\?t=\d+\)", lead), \
        f"{kata.folder}/README.md should link the video at the moment the lesson teaches it"


def test_readme_lists_every_kata():
    assert [kata.folder for kata in MANIFEST.katas if f"`{kata.folder}`" in README] == \
        [kata.folder for kata in MANIFEST.katas]


def test_readme_shows_every_kata_command():
    commands = next(action for action in build_parser()._actions
                    if isinstance(action, argparse._SubParsersAction)).choices
    missing = [name for name in commands if f"kata {name}" not in README]
    assert not missing, f"the README does not show {missing}"


@pytest.mark.skipif(not (REPO_ROOT / ".ci" / "run").exists(),
                    reason="the instructor's CI, which a learner's repository leaves out")
def test_ci_runs_the_readme_test_command():
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pytest --hypothesis-profile=ci" in README
    assert "python -m pytest --hypothesis-profile=ci" in ci


def test_readme_sample_failure_is_what_a_run_prints_today(tmp_path):
    """The README's sample failure is real: the mistake it names (matvec summing over the
    wrong axis), run now, prints exactly that block. One pytest process: a few seconds."""
    sample = re.search(r"A failure reads like this.*?\n```\n(.*?)```", README, re.S)[1]
    right = "    return (m * c).sum(1, dtype=m.dtype)"
    solution = (REPO_ROOT / "solutions" / "03_matmul" / "matmul.py").read_text(encoding="utf-8")
    assert right in solution
    tree = tmp_path / "katas" / "03_matmul"
    tree.mkdir(parents=True)
    (tree / "matmul.py").write_text(solution.replace(right, right.replace("sum(1", "sum(0")))
    # --rootdir: a checkout with no `kata hint` state, so the hint is the first
    done = subprocess.run(
        [sys.executable, "-m", "pytest",
         "katas/03_matmul/test_matmul.py::test_matvec_matches_loop_spec",
         "--impl", str(tmp_path / "katas"), "--rootdir", str(tmp_path), "-p", "no:cacheprovider"],
        cwd=REPO_ROOT, capture_output=True, text=True,
        env={**os.environ, "COLUMNS": "80", "PYTHONPATH": str(REPO_ROOT / "src")})
    end = "(--tb=long shows the full traceback)\n"
    start = done.stdout.find(" test_matvec_matches_loop_spec _")
    assert start >= 0 and end in done.stdout, done.stdout + done.stderr
    start = done.stdout.rfind("\n", 0, start) + 1
    assert done.stdout[start:done.stdout.index(end) + len(end)] == sample
