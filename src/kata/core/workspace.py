"""A learner's checkout: where it is, and what the ``kata`` command remembers in it.

The memory (hints shown) and the backups that ``kata reset`` keeps live in ``.kata/`` at the
root of the checkout, which git ignores.

>>> workspace = Workspace(REPO_ROOT)                                  # doctest: +SKIP
>>> workspace.hints_shown(load_manifest().kata("03"), "matvec")       # doctest: +SKIP
0
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from kata.core.files import write_atomically
from kata.core.layout import REPO_ROOT
from kata.core.manifest import Kata, load_manifest
from kata.core.records import Cause


class Workspace:
    """The checkout at ``checkout``: its katas, its remembered state and its backups."""

    def __init__(self, checkout: Path = REPO_ROOT):
        self.checkout = Path(checkout)
        self.memory = self.checkout / ".kata"
        self._state_file = self.memory / "state.json"

    def module(self, kata: Kata) -> Path:
        """The learner's file for ``kata``."""
        return kata.path_in(self.checkout / "katas")

    def _state(self) -> dict:
        try:
            return json.loads(self._state_file.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def _save(self, state: dict) -> None:
        self.memory.mkdir(exist_ok=True)
        write_atomically(self._state_file, json.dumps(state, indent=1, sort_keys=True))

    def hints_shown(self, kata: Kata, function: str) -> int:
        """How many of ``function``'s hints (a public name of ``kata``) ``kata hint`` has
        shown so far."""
        shown = self._state().get("hints_shown", {}).get(kata.folder)
        # older state keeps a count per kata, not per function
        return shown.get(function, 0) if isinstance(shown, dict) else 0

    def reached(self, kata: Kata, function: str) -> int:
        """The hint of ``function`` that a failure shows: the highest that ``kata hint`` has
        shown, or the first when none has been."""
        return max(self.hints_shown(kata, function), 1)

    def reached_hints(self, kata: Kata, functions: list[str], cause: Cause | None = None
                      ) -> list[str]:
        """For each of ``functions`` (a failing test's), its reached hint (or its hint for
        the failure's ``cause``, where it has one) and how to see the next one, as the short
        report prints them."""
        lines = []
        for function in functions:
            reached = self.reached(kata, function)
            lines.append(load_manifest().hint(kata, function, reached, cause))
            if reached < len(kata.hints[function]):
                lines.append(f"  (kata hint {kata.number:02d} {function} shows the next)")
        return lines

    def show_next_hint(self, kata: Kata, function: str) -> int:
        """Count one more hint of ``function`` as shown (up to all of them); the new count."""
        state = self._state()
        of_kata = state.setdefault("hints_shown", {}).get(kata.folder)
        of_kata = of_kata if isinstance(of_kata, dict) else {}
        of_kata[function] = min(of_kata.get(function, 0) + 1, len(kata.hints[function]))
        state["hints_shown"][kata.folder] = of_kata
        self._save(state)
        return of_kata[function]

    def back_up(self, path: Path) -> Path:
        """Copy ``path`` to a new file under ``.kata/backups/`` (never over an older backup)."""
        folder = self.memory / "backups" / path.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for number in range(1, 1000):
            backup = folder / f"{path.stem}-{stamp}-{number}{path.suffix}"
            try:
                with backup.open("xb") as file:  # "x": fails if the file exists
                    file.write(path.read_bytes())
                return backup
            except FileExistsError:
                continue
        raise RuntimeError(f"could not find a free backup name in {folder}")

    def backups(self, path: Path) -> list[Path]:
        """The backups of ``path`` that ``back_up`` made, oldest first."""
        name = re.compile(
            rf"{re.escape(path.stem)}-(\d{{8}}-\d{{6}})-(\d+){re.escape(path.suffix)}")
        folder = self.memory / "backups" / path.parent.name
        found = [(match[1], int(match[2]), backup) for backup in sorted(folder.glob("*"))
                 if (match := name.fullmatch(backup.name))]
        return [backup for *_, backup in sorted(found)]
