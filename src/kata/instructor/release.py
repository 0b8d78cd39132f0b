"""The repository a learner gets: ``kata release DIR``; and its check, ``kata verify``.

The release holds the katas (fresh stubs generated from the solutions, tests, READMEs), the
harness (``src/kata``), the pytest settings, the docs, CI, and the repository checks, but no
answers: no ``solutions/``, and no ``tests/catalog`` either (its alternatives are correct
solutions, and its mistakes and cheats only make sense beside them), and none of the
instructor's hidden tests (``kata.core.layout.HIDDEN_TESTS``: only ``kata grade`` runs
them). A repository check that reads the solutions or the catalog is replaced by a module
that skips, saying why.

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
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from kata.core.layout import RELEASED_STUBS, REPO_ROOT, is_hidden_test
from kata.core.manifest import load_manifest
from kata.instructor.classroom import SUMS, WORKFLOW, classroom_workflow

#: Parts of the checkout a learner's repository leaves out: the answers, and what only the
#: instructor's repository runs (its CI, the red team's recipes for forging verdicts, the
#: benchmarks).
LEFT_OUT = ("solutions/", "tests/catalog/", "tests/redteam/", ".github/", ".ci/",
            "src/kata/instructor/bench.py", "src/kata/instructor/grading_cost.py",
            "tests/test_bench.py")
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


def checkout_files(root: Path) -> list[str]:
    """The checkout's files, tracked or not, that git does not ignore (posix, relative)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"],
                            cwd=root, capture_output=True, check=True).stdout
    return sorted({name for name in listed.decode().split("\0")
                   if name and (root / name).is_file()})


def learner_modules() -> set[str]:
    """The files a learner edits: each kata's module."""
    return {f"katas/{kata.folder}/{kata.module}.py" for kata in load_manifest().katas}


def release(target: Path, checkout: Path = REPO_ROOT) -> list[str]:
    """Write the learner's repository into the empty or new folder ``target``; returns the
    repository checks that were replaced by a skip."""
    skipped = copy_course(target, checkout, hidden=False)
    sums = sums_text(target)
    (target / SUMS).write_text(sums, encoding="utf-8")
    (target / WORKFLOW).parent.mkdir(parents=True, exist_ok=True)
    (target / WORKFLOW).write_text(classroom_workflow(_sha256(sums.encode())),
                                  encoding="utf-8")
    return skipped


def copy_course(target: Path, checkout: Path, *, hidden: bool) -> list[str]:
    """Write the course without its answers into the empty or new folder ``target``: every
    file of ``checkout`` but what a release leaves out, the stubs fresh from the solutions,
    and the hidden tests only where ``hidden`` (Gradescope's autograder, which is the
    instructor's). Returns the repository checks that were replaced by a skip."""
    from kata.core.stubs import expected_stubs  # reads solutions/: only the instructor has them

    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} is not empty: release into a new folder")
    stubs = {path.relative_to(checkout).as_posix(): text
             for path, text in expected_stubs(checkout).items()}
    skipped = []
    for name in checkout_files(checkout):
        if name.startswith(LEFT_OUT) or name in stubs or (is_hidden_test(name) and not hidden):
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
    # the untouched stubs again, as instructor files (summed): kata reset and kata spec read
    # them where there is no solution to make them from
    (target / RELEASED_STUBS).mkdir(parents=True, exist_ok=True)
    for kata in load_manifest().katas:
        (target / RELEASED_STUBS / f"{kata.folder}.py").write_text(
            stubs[f"katas/{kata.folder}/{kata.module}.py"], encoding="utf-8")
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
