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

What grading leaves out of a target is listed for the instructor (``ignored_files``): every
file of its graded kata folders (and its ``katas/`` and settings) that is not the learner's
module and differs from the checkout's, a test the learner edited, a ``conftest.py`` they
added. And a target is matched to a learner of GitHub Classroom's roster (``read_roster``,
``match_roster``) by its folder name, never by a guess.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kata.core.errors import KataError
from kata.core.layout import HARNESS, NOT_COPIED, SETTINGS
from kata.core.manifest import Kata, load_manifest


class TargetError(KataError):
    """A target that cannot be graded: neither a directory nor a git ref of the checkout,
    or both."""


class ModuleRefusedError(KataError):
    """A learner's kata module that grading will not run (a symbolic link, say)."""


Reader = Callable[[Kata], bytes | None]


def _resolved(target: str, checkout: Path) -> Path | str:
    """The directory ``target`` names, or the commit of the git ref it names;
    ``TargetError`` when it is neither, or both."""
    as_path = target in (".", "..") or target.startswith(("./", "../", "/", "~"))
    directory = Path(target).expanduser()
    ref = None if as_path else _commit(target, checkout)
    if directory.is_dir() and ref is not None:
        raise TargetError(f"{target!r} is both a directory and a git ref of {checkout}: write "
                            f"./{target} for the directory or refs/heads/{target} for the branch")
    if directory.is_dir():
        return directory
    if ref is None:
        raise TargetError(f"{target!r} is neither a directory nor a git ref of {checkout}")
    return ref


def module_reader(target: str, checkout: Path) -> Reader:
    """A function that returns the learner's module of a kata from ``target`` (None when
    the target has no such file; ``ModuleRefusedError`` when it is not a plain file inside it)."""
    found = _resolved(target, checkout)
    return _directory_reader(found) if isinstance(found, Path) else _ref_reader(found, checkout)


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


@dataclass(frozen=True)
class IgnoredFile:
    """A file of a target that grading did not use: ``changed`` (it differs from the
    checkout's file of that name) or ``added`` (the checkout has none)."""

    #: where it is, as in the checkout (``katas/03_matmul/test_matmul.py``)
    path: str
    change: str

    def to_json(self) -> dict:
        return {"path": self.path, "change": self.change}


def ignored_files(target: str, checkout: Path, katas: Sequence[Kata]) -> tuple[IgnoredFile, ...]:
    """What of ``target`` grading ignored: each file of its ``katas``' folders, of its
    ``katas/`` itself and its settings (``conftest.py``, ``pyproject.toml``) that is not a
    learner's module and is not byte for byte the checkout's. Caches are not listed, nor a
    file the target lacks."""
    found = _resolved(target, checkout)
    files = (_directory_files(found, katas) if isinstance(found, Path)
             else _ref_files(found, checkout, katas))
    modules = {f"katas/{kata.folder}/{kata.module}.py" for kata in katas}
    ignored = []
    for path, same in sorted(files):
        if path in modules or any(fnmatch.fnmatch(part, pattern) for pattern in NOT_COPIED
                                  for part in PurePosixPath(path).parts):
            continue
        if not (checkout / path).is_file():
            ignored.append(IgnoredFile(path, "added"))
        elif not same(checkout / path):
            ignored.append(IgnoredFile(path, "changed"))
    return tuple(ignored)


#: A target's file: its path as in the checkout, and whether a checkout file is the same.
_Listed = tuple[str, Callable[[Path], bool]]


def _directory_files(directory: Path, katas: Sequence[Kata]) -> Iterator[_Listed]:
    """The files of a learner's clone, or of a tree laid out like ``katas/``, that grading
    may have ignored, with how to compare each (a symbolic link is never the same)."""
    clone = (directory / "katas").is_dir()
    tree = directory / "katas" if clone else directory

    def listed(path: Path, name: str) -> _Listed:
        def same(mine: Path) -> bool:
            try:
                return (not path.is_symlink() and path.stat().st_size == mine.stat().st_size
                        and path.read_bytes() == mine.read_bytes())
            except OSError:  # unreadable: not known to be the same
                return False
        return name, same

    for path in sorted(tree.iterdir()):
        if path.is_file() or path.is_symlink():
            yield listed(path, f"katas/{path.name}")
    if clone:
        for name in SETTINGS:
            if (directory / name).exists() or (directory / name).is_symlink():
                yield listed(directory / name, name)
    for kata in katas:
        folder = tree / kata.folder
        if folder.is_symlink() or not folder.is_dir():
            continue
        for base, folders, names in os.walk(folder):  # never into a linked folder
            for name in sorted(names) + [f for f in folders if Path(base, f).is_symlink()]:
                path = Path(base, name)
                yield listed(path, f"katas/{kata.folder}/{path.relative_to(folder).as_posix()}")


def _ref_files(commit: str, checkout: Path, katas: Sequence[Kata]) -> Iterator[_Listed]:
    """The same for a git ref: its files' blob ids, compared with the checkout's files'."""
    def listing(*arguments: str) -> bytes:
        return subprocess.run(["git", "ls-tree", "-z", *arguments], cwd=checkout,
                              capture_output=True, check=True).stdout

    entries = listing(commit, "--", "katas/", *SETTINGS)  # katas/'s own files, the settings
    if katas:  # (no path after -- would list the whole commit)
        entries += listing("-r", commit, "--", *(f"katas/{kata.folder}/" for kata in katas))
    for entry in filter(None, entries.decode(errors="replace").split("\0")):
        info, name = entry.split("\t", 1)
        mode, kind, blob = info.split()
        if kind != "blob":
            continue

        def same(mine: Path, blob: str = blob, mode: str = mode) -> bool:
            return mode in ("100644", "100755") and _blob_id(mine.read_bytes(), len(blob)) == blob
        yield name, same


def _blob_id(data: bytes, width: int) -> str:
    """The id git gives ``data`` as a blob: SHA-1, or SHA-256 in a repository that uses it
    (``width`` hex digits)."""
    algorithm = hashlib.sha256 if width == 64 else hashlib.sha1
    return algorithm(b"blob %d\0" % len(data) + data).hexdigest()


#: The columns of GitHub Classroom's roster export that name a learner.
ROSTER_COLUMNS = ("identifier", "github_username", "github_id", "name")


class RosterError(KataError):
    """A roster file that is not GitHub Classroom's roster CSV."""


@dataclass(frozen=True)
class Identity:
    """A learner, as a row of GitHub Classroom's roster names them."""

    identifier: str
    github_username: str
    github_id: str
    name: str

    def to_json(self) -> dict:
        return {column: getattr(self, column) for column in ROSTER_COLUMNS}


def read_roster(path: Path) -> tuple[Identity, ...]:
    """The rows of the roster CSV at ``path`` (GitHub Classroom's export: columns
    ``identifier``, ``github_username``, ``github_id``, ``name``; others are ignored);
    ``RosterError`` naming what is missing."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            reader = csv.DictReader(file)
            missing = [column for column in ROSTER_COLUMNS
                       if column not in (reader.fieldnames or ())]
            if missing:
                raise RosterError(f"{path} is not GitHub Classroom's roster CSV: it has no "
                                  f"{', '.join(missing)} column (it needs "
                                  f"{', '.join(ROSTER_COLUMNS)})")
            return tuple(Identity(*((row[column] or "").strip() for column in ROSTER_COLUMNS))
                         for row in reader)
    except (OSError, UnicodeDecodeError, csv.Error) as problem:
        raise RosterError(f"cannot read the roster {path}: {problem}") from None


@dataclass(frozen=True)
class RosterMatch:
    """Whom each target's work is, by the roster; and what could not be matched."""

    #: each matched target's learner
    identities: dict[str, Identity]
    #: each target that matched no row, or several, and why
    unmatched: tuple[tuple[str, str], ...]
    #: the roster's rows that no target matched
    without_target: tuple[Identity, ...]

    def to_json(self) -> dict:
        return {"unmatched_targets": [{"target": target, "why": why}
                                      for target, why in self.unmatched],
                "without_target": [identity.to_json() for identity in self.without_target]}


def folder_name(target: str) -> str:
    """The name a target is matched by: a directory's own name (``../course-alice`` and
    ``.`` in it: ``course-alice``), a git ref's last part (``refs/heads/course-alice``)."""
    if Path(target).expanduser().is_dir():
        return Path(target).expanduser().resolve().name
    return PurePosixPath(target.rstrip("/")).name


def _names(folder: str, username: str) -> bool:
    """Whether a target's ``folder`` name (lower case) names the GitHub user ``username``."""
    username = username.lower()
    return folder == username or folder.endswith(f"-{username}")


def match_roster(targets: Sequence[str], roster: Sequence[Identity]) -> RosterMatch:
    """Each target's roster row: the one whose ``github_username`` is the target's folder
    name, or ends it after a ``-`` as GitHub Classroom names a learner's repository
    (``assignment-alice``), ignoring case as GitHub does. A target that matches no row, or
    more than one, is left unmatched, saying so: never guessed.

    >>> rows = [Identity("a@x", "alice", "1", "Alice"), Identity("b@x", "bob", "2", "Bob"),
    ...         Identity("c@x", "", "", "Carol")]
    >>> found = match_roster(["course-alice", "zed"], rows)
    >>> found.identities["course-alice"].name, found.unmatched[0][0]
    ('Alice', 'zed')
    >>> [identity.name for identity in found.without_target]
    ['Bob', 'Carol']
    """
    identities, unmatched = {}, []
    for target in targets:
        name = folder_name(target).lower()
        rows = [row for row in roster if row.github_username and _names(name, row.github_username)]
        if len(rows) == 1:
            identities[target] = rows[0]
        elif rows:
            unmatched.append((target, "its folder name fits several roster rows ("
                              + ", ".join(row.github_username for row in rows) + ")"))
        else:
            unmatched.append((target, "no roster row's github_username is its folder name, "
                                      "or ends it after a '-'"))
    matched = set(identities.values())
    return RosterMatch(identities, tuple(unmatched),
                       tuple(row for row in roster if row not in matched))
