"""The documentation states what the code does: kata READMEs name their rules, the README
lists every kata, and CI runs the README's test command."""

import argparse

import pytest

from kata.cli import build_parser
from kata.manifest import REPO_ROOT, load_manifest

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


def test_readme_lists_every_kata():
    assert [kata.folder for kata in MANIFEST.katas if f"`{kata.folder}`" in README] == \
        [kata.folder for kata in MANIFEST.katas]


def test_readme_shows_every_kata_command():
    commands = next(action for action in build_parser()._actions
                    if isinstance(action, argparse._SubParsersAction)).choices
    missing = [name for name in commands if f"kata {name}" not in README]
    assert not missing, f"the README does not show {missing}"


def test_ci_runs_the_readme_test_command():
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pytest --hypothesis-profile=ci" in README
    assert "python -m pytest --hypothesis-profile=ci" in ci
