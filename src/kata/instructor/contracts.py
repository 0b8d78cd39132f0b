"""Proof, read from the source without running anything, that kata tests demand nothing the
spec does not state.

A demand beyond values (an error's type or message, printed output, a return type, an
identity or a view) is a contract: named once in the manifest (``"function.key" =
"sentence"``), stated word for word in that function's docstring in ``solutions/`` (and so
in the generated stub), and checked only by a ``kata.assertions`` helper that names it with
``contract="function.key"``. Three things can go wrong, and ``problems`` finds each:

- a contract's sentence is missing from its function's docstring (the spec drifted);
- a test checks such a demand by other means (``pytest.raises``, ``capsys``, an
  ``isinstance``/``type()``/``is`` assertion) or names a contract that does not exist;
- a contract no test enforces (a promise nobody keeps).

Values need no contract: the docstring says what a function returns, and its example (run
as a doctest) shows the kind, dtype and shape; ``returns_problems`` checks that each function
whose tests compare results has such an example.

>>> from kata.core.manifest import load_manifest
>>> scan = scan_tests('''
... def test_f(impl, capsys):
...     with pytest.raises(ValueError):
...         impl.f()
...     assert isinstance(impl.f(), tuple)
... ''', load_manifest().kata("01"))
>>> for problem in scan.problems:
...     print(problem)
line 2: capsys checks printed output; use assert_mentions(..., contract=...)
line 3: pytest.raises checks an error; use raises(..., contract=...)
line 5: isinstance() in an assertion checks a type; use assert_type(..., contract=...)
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kata.core.layout import REPO_ROOT
from kata.core.manifest import Kata

#: the helpers of kata.assertions that check a demand beyond values, each with a required
#: ``contract="function.key"`` (named here, where the scan needs them without torch)
CONTRACT_HELPERS = ("raises", "raises_value_error", "assert_type", "assert_contract",
                    "assert_mentions")
#: the helpers that compare values and state nothing else
VALUE_HELPERS = ("assert_tensor", "assert_value", "tensor_result")
_CAPTURE_FIXTURES = ("capsys", "capfd", "capsysbinary", "capfdbinary")


def normalized(text: str | None) -> str:
    """``text`` with every run of whitespace made one space."""
    return " ".join((text or "").split())


def docstrings(kata: Kata, root: Path = REPO_ROOT / "solutions") -> dict[str, str]:
    """Each public name of the kata's module at ``root``, with its docstring (a class's
    includes its methods' docstrings), whitespace-normalized."""
    tree = ast.parse(kata.path_in(root).read_text(encoding="utf-8"))
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in kata.functions:
            parts = [ast.get_docstring(node)]
            if isinstance(node, ast.ClassDef):
                parts += [ast.get_docstring(item) for item in node.body
                          if isinstance(item, ast.FunctionDef)]
            found[node.name] = normalized(" ".join(p for p in parts if p))
    return found


@dataclass
class Scan:
    """What a test module's source shows: what is wrong, which contracts it names, and
    which functions' results it compares (by the tests' function markers)."""

    problems: list[str] = field(default_factory=list)
    contracts: set[str] = field(default_factory=set)
    compared: set[str] = field(default_factory=set)


def _name(node: ast.AST) -> str | None:
    """``f`` for ``f(...)``, ``raises`` for ``pytest.raises(...)``/``assertions.raises``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _named_contracts(node: ast.AST, functions: set[str]) -> list[str] | None:
    """The contract names an argument can take: a string, either branch of ``x if c else
    y``, every value of ``{...}[key]``, or ``f"{function}.key"`` for each function the test
    is marked with; None when it is not written out."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body = _named_contracts(node.body, functions)
        orelse = _named_contracts(node.orelse, functions)
        return None if body is None or orelse is None else body + orelse
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Dict):
        values = [_named_contracts(value, functions) for value in node.value.values]
        known = [names for names in values if names is not None]
        return [name for names in known for name in names] if len(known) == len(values) else None
    if (isinstance(node, ast.JoinedStr) and functions and len(node.values) == 2
            and isinstance(node.values[0], ast.FormattedValue)
            and isinstance(suffix := node.values[1], ast.Constant)
            and isinstance(suffix.value, str) and suffix.value.startswith(".")):
        return [function + suffix.value for function in sorted(functions)]
    return None


def _markers(function: ast.FunctionDef, kata: Kata, constants: dict[str, ast.expr]) -> set[str]:
    """The function markers (``@pytest.mark.matvec``) on a test, parametrized ones included,
    also where the parameters are a module-level name (``constants``: name -> value)."""
    found = [node for decorator in function.decorator_list for node in ast.walk(decorator)]
    found += [node for name in found if isinstance(name, ast.Name) and name.id in constants
              for node in ast.walk(constants[name.id])]
    return {node.attr for node in found
            if isinstance(node, ast.Attribute) and node.attr in kata.functions
            and isinstance(node.value, ast.Attribute) and node.value.attr == "mark"}


def _judged(node: ast.AST) -> Iterator[ast.expr]:
    """The expressions whose truth a test asserts: ``assert`` tests and ``assert_true``'s
    condition."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Assert):
            yield sub.test
        elif isinstance(sub, ast.Call) and _name(sub) == "assert_true" and sub.args:
            yield sub.args[0]


def scan_tests(source: str, kata: Kata) -> Scan:
    """Check one test module's source against ``kata``'s contracts."""
    scan = Scan()
    tree = ast.parse(source)
    found: list[tuple[int, str]] = []

    def wrong(node: ast.stmt | ast.expr | ast.arg, text: str) -> None:
        found.append((node.lineno, text))

    tests = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    constants = {target.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                 for target in node.targets if isinstance(target, ast.Name)}
    marked = {id(sub): _markers(test, kata, constants) for test in tests for sub in ast.walk(test)}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for argument in node.args.args:
                if argument.arg in _CAPTURE_FIXTURES:
                    wrong(argument, f"{argument.arg} checks printed output; use "
                                    f"assert_mentions(..., contract=...)")
            if node.name.startswith("test_") and any(
                    _name(call) in VALUE_HELPERS for call in ast.walk(node)
                    if isinstance(call, ast.Call)):
                scan.compared |= _markers(node, kata, constants)
        elif isinstance(node, ast.Attribute) and node.attr == "raises" \
                and _name(node.value) == "pytest":
            wrong(node, "pytest.raises checks an error; use raises(..., contract=...)")
        elif isinstance(node, ast.ImportFrom) and node.module == "pytest" and any(
                alias.name == "raises" for alias in node.names):
            wrong(node, "pytest.raises checks an error; use raises(..., contract=...)")
        elif isinstance(node, ast.Call) and _name(node) in CONTRACT_HELPERS and not (
                isinstance(node.func, ast.Attribute) and _name(node.func.value) == "pytest"):
            keyword = next((k for k in node.keywords if k.arg == "contract"), None)
            markers = marked.get(id(node), set())
            names = _named_contracts(keyword.value, markers) if keyword else None
            if names is None:
                wrong(node, f"{_name(node)}() needs contract=\"function.key\", written out")
                continue
            for name in names:
                if name not in kata.contracts:
                    wrong(node, f"{_name(node)}() names contract {name!r}, which the manifest "
                                f"does not list for {kata.folder}")
                elif markers and name.split(".")[0] not in markers:
                    wrong(node, f"{_name(node)}() names contract {name!r} in a test of "
                                f"{', '.join(sorted(markers))}, not of {name.split('.')[0]}")
                else:
                    scan.contracts.add(name)
    for judged in _judged(tree):
        for sub in ast.walk(judged):
            if isinstance(sub, ast.Call) and _name(sub) in ("isinstance", "type"):
                wrong(sub, f"{_name(sub)}() in an assertion checks a type; use "
                           f"assert_type(..., contract=...)")
            elif isinstance(sub, ast.Compare) \
                    and any(isinstance(op, (ast.Is, ast.IsNot)) for op in sub.ops):
                wrong(sub, "`is` in an assertion checks an identity; observe it in a scenario "
                           "and use assert_contract(..., contract=...)")
    scan.problems = [f"line {line}: {text}" for line, text in sorted(found)]
    return scan


def _test_modules(kata: Kata, root: Path) -> list[Path]:
    return sorted((root / "katas" / kata.folder).glob("test_*.py"))


def problems(kata: Kata, root: Path = REPO_ROOT) -> list[str]:
    """Everything that breaks the contract principle in ``kata``: sentences missing from
    docstrings, demands its tests make without a contract, contracts no test enforces."""
    stated = docstrings(kata, root / "solutions")
    found = [f"{name}: the docstring of {name.split('.')[0]} does not say {sentence!r}"
             for name, sentence in kata.contracts.items()
             if sentence not in stated.get(name.split(".")[0], "")]
    used: set[str] = set()
    for path in _test_modules(kata, root):
        scan = scan_tests(path.read_text(encoding="utf-8"), kata)
        found += [f"{path.relative_to(root).as_posix()} {problem}" for problem in scan.problems]
        used |= scan.contracts
    found += [f"{name}: no test enforces this contract" for name in kata.contracts
              if name not in used]
    return found


def _shows_a_result(docstring: str) -> bool:
    """The docstring has an example whose call prints a result (the doctest runs it)."""
    lines = [line.strip() for line in docstring.splitlines()]
    return any(line.startswith(">>>") and after and not after.startswith((">>>", "..."))
               for line, after in itertools.pairwise(lines))


def returns_problems(kata: Kata, root: Path = REPO_ROOT) -> list[str]:
    """Functions whose tests compare results (``assert_tensor``, ``assert_value``...) but
    whose docstring has no example showing what a call returns: the example, run as a
    doctest, is the spec of the result's kind, dtype and shape."""
    tree = ast.parse(kata.path_in(root / "solutions").read_text(encoding="utf-8"))
    functions = {node.name: ast.get_docstring(node) or "" for node in tree.body
                 if isinstance(node, ast.FunctionDef)}
    compared: set[str] = set()
    for path in _test_modules(kata, root):
        compared |= scan_tests(path.read_text(encoding="utf-8"), kata).compared
    return [f"{name}: its tests compare its results, but no example in its docstring shows "
            f"what it returns" for name in sorted(compared & functions.keys())
            if not _shows_a_result(functions[name])]
