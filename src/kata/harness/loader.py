"""Import the module under test and hand its functions and classes out inside their
guards.

Kata modules import each other by their plain names (kata 05 says ``from softmax import
log_softmax``). Those names resolve inside the tree under test: the learner's ``katas/``,
``solutions/``, or a grading copy, whichever the run tests.

>>> from kata.core.layout import REPO_ROOT
>>> from kata.core.manifest import load_manifest
>>> module = GuardedModule(load_manifest().kata("03"), REPO_ROOT / "solutions")
>>> import torch
>>> module.matvec(torch.ones(2, 3), torch.ones(3))
tensor([3., 3.])
"""

from __future__ import annotations

import ast
import importlib.abc
import importlib.util
import inspect
import os
import sys
import textwrap
import traceback
from pathlib import Path
from types import ModuleType

from kata.core.errors import KataImportError
from kata.core.manifest import Kata, load_manifest
from kata.core.stubs import only_raises
from kata.harness.guards import guarded


def import_from_path(path: Path, name: str) -> ModuleType:
    """Import the file at ``path`` as module ``name`` (registered in ``sys.modules``).

    A failure becomes a ``KataImportError`` that says where it happened, such as
    "katas/03_matmul/matmul.py does not import: SyntaxError at line 12: invalid syntax".
    """
    shown = _shown(path)
    if not path.is_file():
        raise KataImportError(f"{shown} is missing: there is no module to test.")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # a name Python does not know as a module's
        raise KataImportError(f"{shown} is not a Python module: there is no module to test.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:  # noqa: BLE001 - whatever the module raises, said plainly
        sys.modules.pop(name, None)
        raise _import_failure(error, path) from None
    return module


def _shown(path: Path | str) -> str:
    """The path relative to the working directory when it lies below it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def _import_failure(error: Exception | SystemExit, path: Path) -> KataImportError:
    """Why the module at ``path`` did not import, naming the file and line at fault (which
    may be another kata's module that it imports)."""
    if isinstance(error, SyntaxError):
        return KataImportError(f"{_shown(error.filename or path)} does not import: SyntaxError "
                               f"at line {error.lineno}: {error.msg}")
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if Path(frame.filename) == path]
    line = frames[-1].lineno if frames else "?"
    detail = f": {error}" if str(error) else ""
    return KataImportError(f"{_shown(path)} does not import: {type(error).__name__} at line "
                           f"{line}{detail}")


class _KataModuleFinder(importlib.abc.MetaPathFinder):
    """Finds kata modules by their plain names (``softmax``) in the tree under test."""

    def __init__(self):
        self.tree: Path | None = None

    def find_spec(self, name, path=None, target=None):
        if path is not None or self.tree is None:
            return None
        kata = next((kata for kata in load_manifest().katas if kata.module == name), None)
        if kata is None:
            return None
        return importlib.util.spec_from_file_location(name, kata.path_in(self.tree))


_FINDER = _KataModuleFinder()


def use_tree(tree: Path | None) -> Path | None:
    """From now on, kata modules imported by their plain names come from ``tree`` (from
    nowhere, for None); those imported earlier from another tree are forgotten. Returns the
    tree used before."""
    previous = _FINDER.tree
    tree = Path(tree).resolve() if tree is not None else None
    if _FINDER.tree != tree:
        for kata in load_manifest().katas:
            sys.modules.pop(kata.module, None)
        _FINDER.tree = tree
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    return previous


def import_kata(kata: Kata, tree: Path) -> ModuleType:
    """Kata ``kata``'s module from ``tree``; the kata modules it imports come from the same
    tree."""
    use_tree(tree)
    path = kata.path_in(Path(tree).resolve())
    if kata.module in sys.modules:
        return sys.modules[kata.module]
    if not path.is_file():
        raise KataImportError(f"{_shown(path)} is missing: there is no module to test.")
    try:
        return importlib.import_module(kata.module)
    except (Exception, SystemExit) as error:  # noqa: BLE001 - whatever the module raises, said plainly
        raise _import_failure(error, path) from None


class GuardedModule:
    """The code under test for one kata, found in a tree laid out like ``katas/``.

    The module is imported on first use, so a module that fails to import fails each test
    with a clear message instead of stopping collection. Only the public functions and
    classes listed in the manifest are reachable, each wrapped in the guards of its rules.
    """

    def __init__(self, kata: Kata, tree: Path):
        self.kata = kata
        self.tree = Path(tree)
        self.path = kata.path_in(tree)
        self._module: ModuleType | None = None
        self._guarded: dict[str, object] = {}
        self._alike: dict[str, bool] = {}

    def __repr__(self) -> str:
        return f"<{self.kata.module} from {self.path.parent.parent.name}/>"

    @property
    def module(self) -> ModuleType:
        if self._module is None:
            self._module = import_kata(self.kata, self.tree)
        return self._module

    def __getattr__(self, name: str):
        if name not in self.kata.functions:
            raise AttributeError(f"{self.kata.module} has no public name {name!r} in the manifest")
        if name not in self._guarded:
            value = getattr(self.module, name, None)
            if value is None:
                raise KataImportError(f"{self.kata.module}.py has no `{name}`: keep the names "
                                      f"the stub gave you.")
            rules = load_manifest().rules_of(self.kata, name)
            self._guarded[name] = guarded(value, rules, f"{self.kata.module}.{name}",
                                          tree=str(self.tree.resolve()))
        return self._guarded[name]

    def fails_alike(self, name: str) -> bool:
        """Whether every use of public name ``name`` fails the same way whatever it is
        given: the module does not import or lacks the name, or it is still the stub's (a
        function whose body only raises ``NotImplementedError``, a class whose every method
        of its own does). Such a failure needs no smallest input: no input changes it."""
        if name not in self._alike:
            self._alike[name] = self._fails_alike(name)
        return self._alike[name]

    def _fails_alike(self, name: str) -> bool:
        try:
            value = getattr(self.module, name, None)
        except KataImportError:
            return True
        if value is None:
            return True
        if inspect.isclass(value):
            functions = [member for member in vars(value).values() if inspect.isfunction(member)]
        else:
            functions = [value] if inspect.isfunction(value) else []
        return bool(functions) and all(map(_is_stub_body, functions))


def _is_stub_body(function) -> bool:
    try:
        node = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):  # no source to read: assume work in it
        return False
    return isinstance(node, ast.FunctionDef) and only_raises(node)
