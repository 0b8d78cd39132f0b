"""Import the module under test and hand its functions and classes to the tests inside
their guards.

Kata modules import each other by their plain names (kata 05 says ``from softmax import
log_softmax``). Those names resolve inside the tree under test: the learner's ``katas/``,
``solutions/``, or a grading copy, whichever the run tests.

>>> from kata.manifest import load_manifest, REPO_ROOT
>>> impl = Implementation(load_manifest().kata("03"), REPO_ROOT / "solutions")
>>> import torch
>>> impl.matvec(torch.ones(2, 3), torch.ones(3))
tensor([3., 3.])
"""

from __future__ import annotations

import copy
import importlib.abc
import importlib.util
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import FunctionType, ModuleType

import torch

from kata.guards import guarded
from kata.manifest import Kata, load_manifest


class KataImportError(AssertionError):
    """The module under test is missing, does not import, or lacks a public function."""


def import_from_path(path: Path, name: str) -> ModuleType:
    """Import the file at ``path`` as module ``name`` (registered in ``sys.modules``).

    A failure becomes a ``KataImportError`` that says where it happened, such as
    "katas/03_matmul/matmul.py does not import: SyntaxError at line 12: invalid syntax".
    """
    shown = _shown(path)
    if not path.is_file():
        raise KataImportError(f"{shown} is missing: there is no module to test.")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(name, None)
        raise _import_failure(error, path) from None
    return module


def _shown(path: Path | str) -> str:
    """The path relative to the working directory when it lies below it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def _import_failure(error: Exception, path: Path) -> KataImportError:
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
        self.root: Path | None = None

    def find_spec(self, name, path=None, target=None):
        if path is not None or self.root is None:
            return None
        kata = next((kata for kata in load_manifest().katas if kata.module == name), None)
        if kata is None:
            return None
        return importlib.util.spec_from_file_location(name, kata.path_in(self.root))


_FINDER = _KataModuleFinder()


def use_tree(root: Path | None) -> Path | None:
    """From now on, kata modules imported by their plain names come from the tree at
    ``root`` (from nowhere, for None); those imported earlier from another tree are
    forgotten. Returns the tree used before."""
    previous = _FINDER.root
    root = Path(root).resolve() if root is not None else None
    if _FINDER.root != root:
        for kata in load_manifest().katas:
            sys.modules.pop(kata.module, None)
        _FINDER.root = root
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    return previous


def import_kata(kata: Kata, root: Path) -> ModuleType:
    """Kata ``kata``'s module from the tree at ``root``; the kata modules it imports come
    from the same tree."""
    use_tree(root)
    path = kata.path_in(Path(root).resolve())
    if kata.module in sys.modules:
        return sys.modules[kata.module]
    if not path.is_file():
        raise KataImportError(f"{_shown(path)} is missing: there is no module to test.")
    try:
        return importlib.import_module(kata.module)
    except Exception as error:
        raise _import_failure(error, path) from None


class Implementation:
    """The code under test for one kata, found in a tree laid out like ``katas/``.

    The module is imported on first use, so a module that fails to import fails each test
    with a clear message instead of stopping collection. Only the public functions and
    classes listed in the manifest are reachable, each wrapped in the guards of its rules.
    """

    def __init__(self, kata: Kata, root: Path):
        self.kata = kata
        self.root = Path(root)
        self.path = kata.path_in(root)
        self._module: ModuleType | None = None
        self._guarded: dict[str, object] = {}

    def __repr__(self) -> str:
        return f"<{self.kata.module} from {self.path.parent.parent.name}/>"

    @property
    def module(self) -> ModuleType:
        if self._module is None:
            self._module = import_kata(self.kata, self.root)
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
            self._guarded[name] = guarded(value, rules, f"{self.kata.module}.{name}")
        return self._guarded[name]


# --- the boundary between the tests and the learner's code --------------------------------

@dataclass(frozen=True)
class Foreign:
    """Stands for a value that is not plain data (a numpy array, a learner's object...) after
    it crossed the boundary: the test sees its type and how it printed, never the object."""

    type_name: str
    text: str

    def __repr__(self) -> str:
        return self.text


_SCALARS = (bool, int, float, str)
_DESCRIPTORS = (torch.dtype, torch.device, torch.Size)


def plain(value: object, memo: dict | None = None) -> object:
    """``value`` as plain data, copied: None, numbers, strings, tensors (strides kept),
    ``torch.Size``/dtype/device, and tuples, lists and str-keyed dicts of those. Anything else
    becomes a ``Foreign`` that names its type. A tensor that is part of an autograd graph
    crosses detached, keeping ``requires_grad``: the graph stays on the learner's side.

    >>> plain((torch.ones(2), [1, "a"], {"k": None}))
    (tensor([1., 1.]), [1, 'a'], {'k': None})
    >>> import numpy
    >>> plain(numpy.zeros(2))
    array([0., 0.])
    >>> type(plain(numpy.zeros(2))).__name__
    'Foreign'
    """
    memo = {} if memo is None else memo
    if value is None or type(value) in _SCALARS or isinstance(value, _DESCRIPTORS):
        return value
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return type(value).__mro__[-2](value)  # numpy's float64 is a float: cross as one
    if isinstance(value, torch.Tensor):
        if type(value) not in (torch.Tensor, torch.nn.Parameter):  # a subclass's own methods
            value = torch.Tensor.as_subclass(value, torch.Tensor)  # stay on the learner's side
        detached = value.detach()
        if not value.is_leaf or value.requires_grad:
            detached = detached.requires_grad_(value.requires_grad)
        return copy.deepcopy(detached, memo)
    if isinstance(value, (tuple, list)):
        items = [plain(item, memo) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict) and all(type(key) is str for key in value):
        return {key: plain(item, memo) for key, item in value.items()}
    if callable(value) and library_name(value):
        return value  # torch.add, operator.lt: a test may hand the learner an operation
    kind = type(value)
    try:
        text = repr(value)
    except Exception:  # a learner's __repr__ may itself be broken
        text = f"<{kind.__qualname__} object>"
    return Foreign(f"{kind.__module__}.{kind.__qualname__}", text[:500])


def library_name(function: object) -> str | None:
    """``torch.add`` for a function of torch or of Python's operator module, else None."""
    module = getattr(function, "__module__", None) or ""
    name = getattr(function, "__name__", "")
    if module.split(".")[0] in ("torch", "operator", "_operator") and name:
        return f"{module}.{name}"
    return None


class Learner:
    """What a kata test holds of the learner's code (the ``impl`` fixture): calls and
    scenarios whose arguments and results cross a boundary as plain data (see ``plain``).

    - ``impl.matvec(m, c)`` calls a public function of the kata;
    - ``impl.scenario(build_and_train, seed=3)`` runs ``build_and_train(local, seed=3)``
      beside the learner's code, where ``local`` reaches the kata's public functions and
      classes (guarded), and returns what it returns, as plain data.

    The tests judge the plain data they get back; they never hold a learner's object. By
    default the boundary is a copy in the same process; with ``remote`` (the graded mode, a
    ``kata.remote.LearnerProcess``) the learner's side is a process of its own and this
    process never imports the learner's code, and the tests cannot tell the difference.
    """

    def __init__(self, local: Implementation, remote=None):
        self._local = local
        self._remote = remote

    def __repr__(self) -> str:
        return repr(self._local)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._local.kata.functions:
            raise AttributeError(f"{self._local.kata.module} has no public name {name!r} in the "
                                 f"manifest")

        def call(*args, **kwargs):
            return self.scenario(call_public, name, *args, **kwargs)
        call.__name__ = call.__qualname__ = name
        return call

    def scenario(self, function: FunctionType, *args, **kwargs) -> object:
        """``function(local, *args, **kwargs)`` run beside the learner's code; its result as
        plain data. ``function`` is a module-level function (the graded mode finds it by
        module and name)."""
        if "<locals>" in function.__qualname__ or function.__qualname__ != function.__name__:
            raise TypeError(f"a scenario must be a module-level function, not "
                            f"{function.__qualname__}")
        memo: dict = {}
        args, kwargs = plain(args, memo), plain(kwargs, memo)
        if self._remote is not None:
            return self._remote.run(self._local.kata, function, args, kwargs)
        return plain(function(self._local, *args, **kwargs))


def call_public(local: Implementation, name: str, *args, **kwargs) -> object:
    """The scenario behind ``impl.NAME(...)``: call one public function."""
    return getattr(local, name)(*args, **kwargs)
