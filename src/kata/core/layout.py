"""Where things are in a checkout of the repository, and what a checkout holds.

Two words for two things, everywhere in the harness:

- a **checkout** is a clone of the repository (``katas/``, ``solutions/``, ``src/``, the
  settings); the one the harness runs from is ``REPO_ROOT``, a learner's or an instructor's
  other ones are found from a working directory with ``find_checkout``;
- a **tree** is a folder laid out like ``katas/`` (``NN_name/module.py``): the learner's
  ``katas/``, ``solutions/``, a grading copy or a catalog round. ``Kata.path_in(tree)``
  names a kata's module in one.

>>> (REPO_ROOT / "katas").is_dir() and (REPO_ROOT / HARNESS).is_dir()
True
>>> find_checkout(REPO_ROOT / "katas" / "03_matmul") == REPO_ROOT
True
"""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path, PurePosixPath

from kata.core.errors import KataError

#: The ``kata`` package this code belongs to (in a checkout's ``src/``, or installed).
PACKAGE = Path(__file__).resolve().parents[1]
#: The checkout the harness runs from (src layout: src/kata/core/layout.py).
REPO_ROOT = PACKAGE.parents[1]
#: The harness's own folder in a checkout.
HARNESS = Path("src", "kata")
#: Where a learner's repository keeps each kata's untouched stub (``NN_name.py``), written by
#: ``kata release`` and summed like every instructor file: ``kata reset`` and ``kata spec``
#: read it where there is no solution to make the stub from.
RELEASED_STUBS = HARNESS / "learner" / "stubs"
#: What makes a folder a checkout: kata tests run with this conftest, which loads the plugin.
CONFTEST = "conftest.py"
#: The settings every kata run reads (pytest's, beside the conftest).
SETTINGS = ("conftest.py", "pyproject.toml")
#: What a learner's clone holds, as far as the ``kata`` command and the tests see it.
CLONED = ("katas", "solutions", "src", *SETTINGS, "README.md", ".gitignore")
#: The instructor's hidden tests, in a kata's folder beside its visible ones: ``kata grade``
#: runs them, ``kata release`` leaves them out, reports show learners no code of them.
HIDDEN_TESTS = "test_hidden_*.py"
#: Files and folders a copy never takes: caches, the ``kata`` command's memory, build output.
NOT_COPIED = ("__pycache__", "*.pyc", ".hypothesis", ".kata", "*.egg-info")


def is_hidden_test(name: str) -> bool:
    """Whether the test file ``name`` (a path, or a test's node id) is a hidden test.

    >>> is_hidden_test("katas/03_matmul/test_hidden_matmul.py::test_x[a]")
    True
    >>> is_hidden_test("katas/03_matmul/test_matmul.py::test_x[hidden]")
    False
    """
    return fnmatch.fnmatchcase(PurePosixPath(name.split("::", 1)[0]).name, HIDDEN_TESTS)


class NotACheckoutError(KataError):
    """No directory from here up holds ``katas/`` and the repository's ``conftest.py``."""


def find_checkout(start: Path) -> Path:
    """The checkout that holds ``start``: the nearest directory, from ``start`` up, with a
    ``katas/`` folder and the ``conftest.py`` that loads the harness."""
    for directory in (start, *start.parents):
        if (directory / "katas").is_dir() and (directory / CONFTEST).is_file():
            return directory
    raise NotACheckoutError(f"{start} is not inside a tensor-katas checkout (no katas/ folder "
                            f"with a conftest.py beside it, here or above); cd into your clone, "
                            f"or pass --root")


def clone_checkout(source: Path, target: Path) -> Path:
    """Copy the checkout at ``source`` to the new directory ``target`` as a learner's clone
    holds it (``CLONED``, without ``NOT_COPIED``); returns ``target``. The repository's
    tests edit such copies the way a learner would; the benchmark measures the learner's
    loop in one."""
    ignore = shutil.ignore_patterns(*NOT_COPIED)
    for name in CLONED:
        if (Path(source) / name).is_dir():
            shutil.copytree(Path(source) / name, Path(target) / name, ignore=ignore)
        elif (Path(source) / name).exists():
            shutil.copy2(Path(source) / name, Path(target) / name)
    return Path(target)
