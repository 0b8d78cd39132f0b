"""Enforce the lesson's rules while a learner's function runs.

Two kinds of rule, both read from the manifest:

- ``syntax``: constructs that may not appear (``for``, ``while``, comprehensions). Checked by
  reading the function's source, and the source of every function of the same module that
  it calls, so a loop cannot hide in a helper.
- ``calls``: callables that may not be called. Checked while the function runs, through a
  ``TorchFunctionMode`` (which sees every torch function, ``Tensor`` method and operator,
  ``@`` included, however it was reached) and by swapping the forbidden names for tripwires
  (which catches what torch does not dispatch, such as numpy and ``torch.broadcast_shapes``).

- ``bases``: classes that a kata's class may not inherit from, checked when the class is
  handed to the tests.

Whatever the rules, a guarded function may not change the tensors it is given in place.

>>> import torch
>>> from kata.manifest import load_manifest
>>> manifest = load_manifest()
>>> cheat = guarded(lambda a, b: a @ b, [manifest.rules["no_library_matmul"]], "matmul.matmul")
>>> cheat(torch.ones(2, 2), torch.ones(2, 2))
Traceback (most recent call last):
...
kata.guards.RuleViolation: matmul.matmul() broke the rule `no_library_matmul`: it called torch.Tensor.matmul...
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import inspect
import os
import textwrap
import types
from collections.abc import Callable, Iterable

import torch
from torch.overrides import TorchFunctionMode

from kata.manifest import Rule

_SYNTAX_NODES = {
    "for": (ast.For, ast.AsyncFor),
    "while": (ast.While,),
    "comprehension": (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp),
}
_NODE_WORDS = {
    ast.For: "a `for` loop", ast.AsyncFor: "an `async for` loop", ast.While: "a `while` loop",
    ast.ListComp: "a list comprehension", ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension", ast.GeneratorExp: "a generator expression",
}


class RuleViolation(AssertionError):
    """Learner code broke one of the lesson's rules; the message says which rule and why."""


class InputModified(AssertionError):
    """Learner code changed a tensor it was given, in place: the caller's data is gone."""


def _violation(label: str, rule: Rule, what: str) -> RuleViolation:
    return RuleViolation(f"{label}() broke the rule `{rule.name}`: {what}.\n"
                         f"Why the rule: {rule.why}")


# --- syntax rules -------------------------------------------------------------------------

def _same_module_functions(func: types.FunctionType, tree: ast.AST) -> Iterable[types.FunctionType]:
    """Functions of func's own module that its body names (the helpers it may call)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            value = func.__globals__.get(node.id)
            if isinstance(value, types.FunctionType) and value.__module__ == func.__module__:
                yield value


@functools.cache
def find_syntax(func: Callable, kinds: tuple[str, ...]) -> str | None:
    """Where ``func`` (or a helper of its module that it calls) uses a forbidden construct.

    Returns a description such as "a `for` loop at matmul.py:12 (in matmul_by_columns)",
    or None when the code is clean.

    >>> def loopy(xs):
    ...     return [x for x in xs]
    >>> find_syntax(loopy, ("comprehension",)) is not None
    True
    """
    forbidden = tuple(node for kind in kinds for node in _SYNTAX_NODES[kind])
    seen: set[types.FunctionType] = set()
    pending = [inspect.unwrap(func)]
    while pending:
        current = pending.pop()
        if current in seen or not isinstance(current, types.FunctionType):
            continue
        seen.add(current)
        lines, first_line = inspect.getsourcelines(current)
        tree = ast.parse(textwrap.dedent("".join(lines)))
        for node in ast.walk(tree):
            if isinstance(node, forbidden):
                filename = _readable_path(current.__code__.co_filename)
                where = f"{filename}:{first_line + node.lineno - 1}"
                return f"{_NODE_WORDS[type(node)]} at {where} (in {current.__name__})"
        pending.extend(_same_module_functions(current, tree))
    return None


def _readable_path(filename: str) -> str:
    """The path relative to the working directory when it lies below it."""
    relative = os.path.relpath(filename)
    return filename if relative.startswith("..") else relative


# --- call rules ---------------------------------------------------------------------------

class _Tripwire:
    """Stands in for a forbidden name while guarded code runs: any use raises."""

    def __init__(self, report: Callable[[], RuleViolation]):
        self._report = report

    def __call__(self, *args, **kwargs):
        raise self._report()

    def __getitem__(self, item):
        raise self._report()

    def __getattr__(self, name):
        raise self._report()


@functools.cache
def _resolve(dotted: str) -> tuple[tuple[object, str, object], ...]:
    """(owner, attribute, object) for a dotted name; a module name expands to its routines."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:-1]:
            owner = getattr(owner, attribute)
        if split == len(parts):  # the whole name is a module: forbid every routine in it
            return tuple((owner, name, getattr(owner, name)) for name in dir(owner)
                         if not name.startswith("_") and inspect.isroutine(getattr(owner, name)))
        return ((owner, parts[-1], getattr(owner, parts[-1])),)
    raise ValueError(f"cannot resolve {dotted!r}")


def _display_name(owner: object, attribute: str) -> str:
    prefix = owner.__name__ if isinstance(owner, types.ModuleType) else f"{owner.__module__}.{owner.__qualname__}"
    return f"{prefix}.{attribute}".replace("torch._tensor.Tensor", "torch.Tensor")


class _ForbiddenCallMode(TorchFunctionMode):
    """Raises on any torch function, Tensor method or operator on the forbidden list."""

    def __init__(self, forbidden: dict[int, tuple[str, Rule]], report):
        super().__init__()
        self._forbidden = forbidden
        self._report = report

    def __torch_function__(self, func, types_, args=(), kwargs=None):
        hit = self._forbidden.get(id(func))
        if hit is not None:
            raise self._report(*hit)
        return func(*args, **(kwargs or {}))


def guarded(func: Callable, rules: Iterable[Rule], label: str) -> Callable:
    """Wrap ``func`` so that calling it enforces ``rules``; ``label`` names it in messages.

    A violation raises ``RuleViolation`` even when the learner's code catches the exception
    (a broad ``except`` cannot hide a forbidden call). A generator that ``func`` returns runs
    under the rules too, one step at a time. A class is handed to ``guarded_class``.
    """
    rules = tuple(rules)
    if inspect.isclass(func):
        return guarded_class(func, rules, label)
    syntax_rules = [rule for rule in rules if rule.syntax]
    enforcing = _enforcer(func, rules, label)

    def steps(generator):
        while True:
            with enforcing():
                try:
                    value = next(generator)
                except StopIteration:
                    return
            yield value

    @functools.wraps(func)
    def run_under_rules(*args, **kwargs):
        for rule in syntax_rules:
            found = find_syntax(func, rule.syntax)
            if found:
                raise _violation(label, rule, f"it uses {found}")
        # every in-place operation bumps a tensor's version counter
        versions = [(index, arg, arg._version) for index, arg in enumerate(args)
                    if isinstance(arg, torch.Tensor)]
        with enforcing():
            result = func(*args, **kwargs)
        changed = [index for index, arg, version in versions if arg._version != version]
        if changed:
            raise InputModified(
                f"{label}() changed its argument {changed[0] + 1} in place (an operation such as "
                f"`x -= ...`, `x[...] = ...` or `x.sub_(...)`). The caller still needs its data: "
                f"compute a new tensor instead.")
        return steps(result) if inspect.isgenerator(result) else result

    return run_under_rules


def _enforcer(func: Callable, rules: tuple[Rule, ...], label: str):
    """A context manager factory: inside it, the forbidden calls of ``rules`` raise."""
    resolved = [(owner, attr, obj, rule) for rule in rules for dotted in rule.calls
                for owner, attr, obj in _resolve(dotted)]
    forbidden = {id(obj): (_display_name(owner, attr), rule) for owner, attr, obj, rule in resolved}
    caught: list[RuleViolation] = []

    def report(name: str, rule: Rule) -> RuleViolation:
        caught.append(_violation(label, rule, f"it called {name}"))
        return caught[-1]

    # (namespace, name, tripwire): the forbidden names of modules, and the learner module's
    # own names for the same objects (`from numpy import outer as o`). Tensor methods need
    # no tripwire: the mode sees them.
    learner_globals = getattr(inspect.unwrap(func), "__globals__", {})
    swaps = []
    for owner, attr, obj, rule in resolved:
        if isinstance(owner, types.ModuleType):
            wire = _Tripwire(functools.partial(report, _display_name(owner, attr), rule))
            swaps.append((vars(owner), attr, wire))
            swaps += [(learner_globals, name, wire) for name, value in learner_globals.items()
                      if value is obj]

    @contextlib.contextmanager
    def enforcing():
        caught.clear()
        originals = [(namespace, name, namespace[name]) for namespace, name, _ in swaps]
        try:
            for namespace, name, wire in swaps:
                namespace[name] = wire
            with _ForbiddenCallMode(forbidden, report):
                yield
        except Exception:
            if caught:
                raise caught[0] from None
            raise
        finally:
            for namespace, name, original in reversed(originals):
                namespace[name] = original
        if caught:
            raise caught[0]

    return enforcing


#: the special methods of a kata's classes that run under its rules, beside public methods
_GUARDED_SPECIAL_METHODS = {"__init__", "__call__", "__getitem__", "__iter__", "__len__"}


def guarded_class(cls: type, rules: Iterable[Rule], label: str) -> type:
    """``cls``, checked against the ``bases`` of ``rules`` now, and with its methods (those
    of its own module, public or special) running under the other rules.

    The result is a subclass of ``cls`` (or ``cls`` itself when no rule applies while code
    runs), so ``isinstance`` and subclassing behave as the learner expects.
    """
    rules = tuple(rules)
    for rule in rules:
        for dotted in rule.bases:
            (_, _, base), = _resolve(dotted)
            if issubclass(cls, base):
                raise _violation(label, rule, f"it inherits from {dotted}")
    running = tuple(rule for rule in rules if rule.calls or rule.syntax)
    if not running:
        return cls
    methods = {}
    for klass in cls.__mro__:
        if klass.__module__ != cls.__module__:
            continue
        for name, value in vars(klass).items():
            public = not name.startswith("_") or name in _GUARDED_SPECIAL_METHODS
            if public and isinstance(value, types.FunctionType) and name not in methods:
                methods[name] = guarded(value, running, f"{label}.{name}")
    return type(cls.__name__, (cls,), {**methods, "__module__": cls.__module__,
                                       "__qualname__": cls.__qualname__, "__doc__": cls.__doc__})
