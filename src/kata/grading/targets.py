"""Grading targets: where a learner's kata modules come from, and the grading tree they are
laid into.

A target is a directory (a learner's clone, or any tree laid out like ``katas/``) or a git
ref of the instructor's checkout (a learner's branch), never silently one for the other:
when a name is both, grading refuses and says to write ``./NAME`` or ``refs/heads/NAME``.
Only the learner's kata modules are taken from it, and only as plain files inside the target
(a symbolic link is refused: it could lead to ``solutions/``). They are laid into a fresh
copy of the checkout's kata folders (tests and all), settings and harness,
one copy per target, so a learner who edited a test file changes nothing. A git ref is read
with ``git ls-tree`` and ``git cat-file``, which touch neither the working tree, nor the
index, nor any branch.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from kata.core.errors import KataError
from kata.core.layout import HARNESS, NOT_COPIED, SETTINGS
from kata.core.manifest import Kata, load_manifest


class TargetError(KataError):
    """A target that cannot be graded: neither a directory nor a git ref of the checkout,
    or both."""


class ModuleRefusedError(KataError):
    """A learner's kata module that grading will not run (a symbolic link, say)."""


Reader = Callable[[Kata], bytes | None]


def module_reader(target: str, checkout: Path) -> Reader:
    """A function that returns the learner's module of a kata from ``target`` (None when
    the target has no such file; ``ModuleRefusedError`` when it is not a plain file inside it)."""
    as_path = target in (".", "..") or target.startswith(("./", "../", "/", "~"))
    directory = Path(target).expanduser()
    ref = None if as_path else _commit(target, checkout)
    if directory.is_dir() and ref is not None:
        raise TargetError(f"{target!r} is both a directory and a git ref of {checkout}: write "
                            f"./{target} for the directory or refs/heads/{target} for the branch")
    if directory.is_dir():
        return _directory_reader(directory)
    if ref is None:
        raise TargetError(f"{target!r} is neither a directory nor a git ref of {checkout}")
    return _ref_reader(ref, checkout)


def _commit(target: str, checkout: Path) -> str | None:
    if target.startswith("-"):
        return None
    found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{target}^{{commit}}"],
                           cwd=checkout, capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else None


def _directory_reader(directory: Path) -> Reader:
    katas = directory / "katas" if (directory / "katas").is_dir() else directory
    top = directory.resolve()

    def read_file(kata: Kata) -> bytes | None:
        path = kata.path_in(katas)
        shown = f"{kata.folder}/{kata.module}.py"
        if path.is_symlink() or (path.exists() and top not in path.resolve().parents):
            raise ModuleRefusedError(f"{shown} is a symbolic link, or leads out of the target: "
                                f"only plain files are graded")
        return path.read_bytes() if path.is_file() else None
    return read_file


def _ref_reader(commit: str, checkout: Path) -> Reader:
    def read_blob(kata: Kata) -> bytes | None:
        path = f"katas/{kata.folder}/{kata.module}.py"
        listed = subprocess.run(["git", "ls-tree", commit, "--", path], cwd=checkout,
                                capture_output=True, text=True).stdout.split()
        if not listed:
            return None
        mode, kind, blob = listed[:3]
        if (mode != "100644" and mode != "100755") or kind != "blob":
            raise ModuleRefusedError(f"{path} is not a plain file in {commit[:12]} (mode {mode}): "
                                f"only plain files are graded")
        return subprocess.run(["git", "cat-file", "blob", blob], cwd=checkout,
                              capture_output=True, check=True).stdout
    return read_blob


def grading_tree(tree: Path, checkout: Path, read: Reader, katas: Sequence[Kata]
                 ) -> dict[str, str]:
    """Fill the empty folder ``tree`` with a copy of ``checkout``'s settings, harness and
    kata folders (tests and all; nothing else of ``katas/``), with the learner's modules
    where the stubs were. Returns why each refused module (by kata folder) of ``katas``
    was refused."""
    ignore = shutil.ignore_patterns(*NOT_COPIED)
    for name in SETTINGS:
        shutil.copy2(checkout / name, tree / name)
    shutil.copytree(checkout / HARNESS, tree / HARNESS, ignore=ignore)
    refused = {}
    for kata in load_manifest().katas:
        shutil.copytree(checkout / "katas" / kata.folder, tree / "katas" / kata.folder,
                        ignore=ignore)
        module = kata.path_in(tree / "katas")
        module.unlink()
        try:
            learner = read(kata)
        except ModuleRefusedError as problem:
            refused[kata.folder] = str(problem)
            continue
        if learner is not None:
            module.write_bytes(learner)
    return {folder: why for folder, why in refused.items() if folder in {k.folder for k in katas}}
