"""Import the module under test and hand its functions to the tests inside their guards.

>>> from kata.manifest import load_manifest, REPO_ROOT
>>> impl = Implementation(load_manifest().kata("03"), REPO_ROOT / "solutions")
>>> import torch
>>> impl.matvec(torch.ones(2, 3), torch.ones(3))
tensor([3., 3.])
"""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType

from kata.guards import guarded
from kata.manifest import Kata, load_manifest


class KataImportError(AssertionError):
    """The module under test is missing, does not import, or lacks a public function."""


def import_from_path(path: Path, name: str) -> ModuleType:
    """Import the file at ``path`` as module ``name`` (registered in ``sys.modules``).

    A failure becomes a ``KataImportError`` that says where it happened, such as
    "katas/03_matmul/matmul.py does not import: SyntaxError at line 12: invalid syntax".
    """
    shown = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    if not path.is_file():
        raise KataImportError(f"{shown} is missing: there is no module to test.")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        del sys.modules[name]
        raise KataImportError(f"{shown} does not import: SyntaxError at line {error.lineno}: "
                              f"{error.msg}") from None
    except Exception as error:
        del sys.modules[name]
        line = next((frame.lineno for frame in reversed(traceback.extract_tb(error.__traceback__))
                     if Path(frame.filename) == path), "?")
        raise KataImportError(f"{shown} does not import: {type(error).__name__} at line {line}: "
                              f"{error}") from None
    return module


class Implementation:
    """The code under test for one kata, found in a tree laid out like ``katas/``.

    The module is imported on first use, so a module that fails to import fails each test
    with a clear message instead of stopping collection. Only the public functions listed in
    the manifest are reachable, each wrapped in the guards of its rules.
    """

    def __init__(self, kata: Kata, root: Path):
        self.kata = kata
        self.path = kata.path_in(root)
        self._module: ModuleType | None = None
        self._guarded: dict[str, object] = {}

    def __repr__(self) -> str:
        return f"<{self.kata.module} from {self.path.parent.parent.name}/>"

    @property
    def module(self) -> ModuleType:
        if self._module is None:
            self._module = import_from_path(self.path, self.kata.module)
        return self._module

    def __getattr__(self, name: str):
        if name not in self.kata.functions:
            raise AttributeError(f"{self.kata.module} has no public function {name!r} in the manifest")
        if name not in self._guarded:
            value = getattr(self.module, name, None)
            if value is None:
                raise KataImportError(f"{self.kata.module}.py has no `{name}`: keep the names "
                                      f"the stub gave you.")
            rules = load_manifest().rules_of(self.kata, name)
            self._guarded[name] = guarded(value, rules, f"{self.kata.module}.{name}")
        return self._guarded[name]
