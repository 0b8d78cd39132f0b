"""A copy of a checkout as a learner's clone holds it: what the ``kata`` command and the tests
see, without caches, the ``.kata/`` memory or build files. The repository's tests edit such
copies the way a learner would; the benchmark measures the learner's loop in one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

#: what a learner's clone holds, as far as the kata command and the tests see it
CLONED = ("katas", "solutions", "src", "conftest.py", "pyproject.toml", "README.md", ".gitignore")


def clone_checkout(source: Path, target: Path) -> Path:
    """Copy the checkout at ``source`` to the new directory ``target``; returns ``target``."""
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", ".kata", "*.egg-info")
    for name in CLONED:
        if (Path(source) / name).is_dir():
            shutil.copytree(Path(source) / name, Path(target) / name, ignore=ignore)
        elif (Path(source) / name).exists():
            shutil.copy2(Path(source) / name, Path(target) / name)
    return Path(target)
