"""``kata notebook``: a starter Jupyter notebook for one kata.

The notebook holds the kata's README as Markdown cells, one ``%%kata`` cell per function or
class (its signature, docstring and body as the learner's file has them now: the stub on a
fresh clone), and the commands around them (``%kata`` for the board, ``%kata run``,
``%kata hint``). Running a ``%%kata`` cell writes that definition into the kata's file and runs
its tests (see ``kata.magics``). The notebook is plain nbformat 4 JSON, written here without
any Jupyter package.
"""

from __future__ import annotations

import json
from pathlib import Path

from kata.core.files import write_atomically
from kata.core.manifest import Kata
from kata.core.workspace import Workspace
from kata.learner.definitions import source_defining, source_of

NOTEBOOK_FOLDER = "notebooks"


def default_path(kata: Kata, workspace: Workspace) -> Path:
    """Where ``kata notebook`` writes a kata's notebook unless told otherwise."""
    return workspace.checkout / NOTEBOOK_FOLDER / f"{kata.folder}.ipynb"


def readme_sections(text: str) -> list[str]:
    """A README cut into Markdown cells, one per heading (a ``#`` line inside a fenced code
    block is code, not a heading).

    >>> readme_sections("# Title\\n\\nIntro.\\n\\n## Code\\n```\\n# a comment\\n```\\n")
    ['# Title\\n\\nIntro.', '## Code\\n```\\n# a comment\\n```']
    """
    sections: list[list[str]] = [[]]
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if line.startswith("#") and not fenced and any(part.strip() for part in sections[-1]):
            sections.append([])
        sections[-1].append(line)
    return ["\n".join(section).strip("\n") for section in sections if "".join(section).strip()]


def _markdown(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(text: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "source": text, "outputs": [],
            "execution_count": None}


def notebook_cells(kata: Kata, checkout: Path) -> list[dict]:
    """The cells of ``kata``'s starter notebook, from ``checkout``."""
    number = f"{kata.number:02d}"
    module = f"katas/{kata.folder}/{kata.module}.py"
    cells = [
        _markdown(f"# Kata {kata.folder} in Jupyter\n\n"
                  f"Run the first cell, read the kata, then edit each `%%kata` cell and run it "
                  f"(Shift+Enter): it writes that definition into `{module}` in place of the "
                  f"old one (which is backed up in `.kata/backups/`) and runs its tests.\n\n"
                  f"`%kata` shows the board, `%kata run {number}` all of this kata's tests, "
                  f"`%kata hint {number}` the next hint, `%kata spec {number} NAME` what a "
                  f"function must do, `%kata restore {number} -y` lists your backups and "
                  f"`%kata restore {number} N -y` puts backup N back."),
        _code("%load_ext kata\n%kata"),
    ]
    readme = checkout / "katas" / kata.folder / "README.md"
    cells += [_markdown(section) for section in readme_sections(readme.read_text(encoding="utf-8"))]
    for name in kata.functions:  # what the learner writes (names handed over whole are not listed)
        definition = source_of(source_defining(kata, checkout, name), name)
        cells += [_markdown(f"### `{name}`"),
                  _code(f"%%kata {number} {name}\n{definition}".rstrip("\n"))]
    cells += [_markdown("When every function passes, run the whole kata; `%kata` then shows "
                        "the next one."),
              _code(f"%kata run {number}")]
    for index, cell in enumerate(cells):
        cell["id"] = f"kata-{number}-{index}"
    return cells


def write_notebook(kata: Kata, workspace: Workspace, path: Path) -> None:
    """Write ``kata``'s starter notebook to ``path`` (its folder is made if need be)."""
    notebook = {
        "cells": notebook_cells(kata, workspace.checkout),
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"},
                     "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
