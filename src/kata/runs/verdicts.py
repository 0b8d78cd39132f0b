"""When a kata's last verdict still holds: a key made of everything the verdict depends on,
and the verdicts kept under their keys in ``.kata/verdicts.json``.

A kata's verdict depends on its folder's Python files (its module and its tests), on the
harness that runs it (``harness_version``: the kata package's code and manifest, the
repository's ``conftest.py`` and ``pyproject.toml``), on the options of the run, and on the
modules of the earlier katas it uses (the manifest's ``uses``, followed through). The key
is a SHA-256 of all but the last: any edit to them means a new run, and nothing else does.
The earlier katas' modules are kept beside the verdict, one digest each
(``upstream_digests``), so that the board can say which of them changed since instead of
rerunning the kata at once (the final exam trains for a minute). Reading the files is
milliseconds; the run it saves is seconds.

>>> from kata.core.layout import REPO_ROOT
>>> from kata.core.manifest import load_manifest
>>> key = kata_key(load_manifest().kata("03"), REPO_ROOT, options={})    # doctest: +SKIP
>>> Verdicts(REPO_ROOT / ".kata").get("03_matmul", key)                  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from pathlib import Path

from kata.core.files import write_atomically
from kata.core.layout import HARNESS, PACKAGE, SETTINGS
from kata.core.manifest import Kata, load_manifest

_WRITING = threading.Lock()


def harness_dir(checkout: Path) -> Path:
    """The kata package that runs in ``checkout``: its own ``src/kata`` when it has one (runs
    put it first on the path), else the installed one."""
    own = Path(checkout) / HARNESS
    return own if own.is_dir() else PACKAGE


def _digest(paths: list[Path], *extra: str) -> str:
    digest = hashlib.sha256()
    for text in extra:
        digest.update(text.encode() + b"\0")
    for path in paths:
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()


def harness_version(checkout: Path) -> str:
    """A hash of the harness that runs katas in ``checkout``: a new one after any edit to
    any of its files (in every subpackage, its data included) or to the settings."""
    package = harness_dir(checkout)
    files = sorted(path for path in package.rglob("*") if path.is_file()
                   and path.suffix in (".py", ".toml", ".json"))
    return _digest(files + [Path(checkout) / name for name in SETTINGS], sys.version)


def kata_key(kata: Kata, checkout: Path, *, options: dict) -> str:
    """The key of ``kata``'s verdict for the learner's tree in ``checkout``, run with
    ``options`` (limits, pytest arguments: anything that can change the verdict); the
    katas it uses are not part of it (``upstream_digests``)."""
    tree = Path(checkout) / "katas"
    files = sorted((tree / kata.folder).glob("*.py")) + sorted(tree.glob("*.py"))
    return _digest(files, harness_version(checkout),
                   json.dumps(options, sort_keys=True, default=str))


def upstream_digests(kata: Kata, checkout: Path) -> dict[str, str]:
    """A digest of the module of each earlier kata that ``kata`` uses, by folder, in
    ``checkout``'s ``katas/``: a verdict kept beside these still holds while they do."""
    tree = Path(checkout) / "katas"
    return {used.folder: _digest([used.path_in(tree)])
            for used in load_manifest().used_katas(kata)}


class Verdicts:
    """Each kata's last verdicts, kept under their keys in ``DIRECTORY/verdicts.json`` (a few
    per kata: a run with other options, such as one function's tests, does not push out the
    board's)."""

    KEPT = 4  # verdicts per kata

    def __init__(self, directory: Path):
        self.file = Path(directory) / "verdicts.json"
        self._read: dict | None = None

    def _all(self) -> dict:
        try:
            return json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def get(self, folder: str, key: str) -> dict | None:
        """The verdict stored for ``folder`` under ``key``; None when there is none (the file
        is read once per ``Verdicts``: the board asks about every kata)."""
        if self._read is None:
            self._read = self._all()
        entries = self._read.get(folder)
        return entries.get(key) if isinstance(entries, dict) else None

    def put(self, folder: str, key: str, verdict: dict) -> None:
        """Keep ``verdict`` for ``folder`` under ``key``, forgetting the oldest beyond ``KEPT``."""
        with _WRITING:  # the board's threads each put one kata's verdict
            entries = self._all()
            kept = {k: v for k, v in entries.get(folder, {}).items() if k != key}
            entries[folder] = dict([*list(kept.items())[-(self.KEPT - 1):], (key, verdict)])
            self.file.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.file, json.dumps(entries))
