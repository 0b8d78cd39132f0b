"""The reference solutions pass every kata test; the untouched stubs fail every one of them,
each with NotImplementedError; stub and solution agree on their public API.

Tests marked gpu are skipped, by design, where there is no CUDA: on such a machine they are
left out of both proofs, and listed as skipped in the run's summary.
"""

import ast
import inspect

import pytest

from kata.loader import import_from_path, import_kata, use_tree
from kata.manifest import REPO_ROOT, load_manifest
from kata.stubs import expected_stubs

KATAS = load_manifest().katas


@pytest.mark.parametrize("kata", KATAS, ids=lambda kata: kata.folder)
def test_solution_passes_every_test(repository_runs, kata):
    tests = repository_runs.solutions().of(kata.folder)
    assert tests, f"no test of {kata.folder} ran:\n{repository_runs.solutions().output[-2000:]}"
    failed = [t for t in tests if t.outcome != "passed" and not t.skipped_without_gpu]
    assert not failed, "\n\n".join(f"{t.nodeid}: {t.outcome}\n{t.message}" for t in failed)


@pytest.mark.parametrize("kata", KATAS, ids=lambda kata: kata.folder)
def test_every_test_names_the_function_it_tests(repository_runs, kata):
    unmarked = [t.nodeid for t in repository_runs.solutions().of(kata.folder) if not t.functions]
    assert not unmarked, f"tests without a function marker (@pytest.mark.<function>): {unmarked}"


def test_kata_tests_cover_every_line_of_the_solutions(repository_runs):
    coverage = repository_runs.coverage()
    expected = {kata.path_in(REPO_ROOT / "solutions").relative_to(REPO_ROOT).as_posix()
                for kata in KATAS}
    assert expected <= coverage.keys(), f"never imported: {sorted(expected - coverage.keys())}"
    uncovered = {name: lines for name, lines in coverage.items() if lines}
    assert not uncovered, f"lines of solutions/ that no kata test runs: {uncovered}"


@pytest.mark.parametrize("kata", KATAS, ids=lambda kata: kata.folder)
def test_untouched_stub_fails_every_test_with_not_implemented_error(repository_runs, kata):
    stub_tests = repository_runs.stubs().of(kata.folder)
    solution_ids = {t.nodeid for t in repository_runs.solutions().of(kata.folder)}
    assert stub_tests, f"no test of {kata.folder} ran against the stub"
    assert {t.nodeid for t in stub_tests} == solution_ids, "the stub run collected other tests"
    wrong = [f"{t.nodeid}: {t.outcome} ({t.exception})" for t in stub_tests
             if not (t.outcome == "failed" and t.exception == "NotImplementedError")
             and not t.skipped_without_gpu]
    assert not wrong, "tests that did not fail with NotImplementedError:\n" + "\n".join(wrong)


def test_stubs_are_generated_from_the_solutions():
    stale = [str(path.relative_to(REPO_ROOT)) for path, text in expected_stubs().items()
             if path.read_text(encoding="utf-8") != text]
    assert not stale, f"stubs out of date; run `python -m kata.stubs`: {stale}"


def _public_api(module):
    """The functions and classes a module defines (not those it imports), by name."""
    return {name: value for name, value in vars(module).items()
            if (inspect.isfunction(value) or inspect.isclass(value)) and not name.startswith("_")
            and value.__module__ == module.__name__}


def _methods(cls):
    """A class's own public and special methods, by name."""
    return {name: value for name, value in vars(cls).items() if inspect.isfunction(value)
            and (not name.startswith("_") or name.endswith("__"))}


@pytest.mark.parametrize("kata", KATAS, ids=lambda kata: kata.folder)
def test_stub_and_solution_share_names_signatures_and_docstrings(kata):
    use_tree(REPO_ROOT / "katas")  # the katas a stub imports are stubs too
    stub = import_from_path(kata.path_in(REPO_ROOT / "katas"), f"stub_{kata.module}")
    solution = import_kata(kata, REPO_ROOT / "solutions")
    stub_api, solution_api = _public_api(stub), _public_api(solution)
    assert stub_api.keys() == solution_api.keys() == kata.functions.keys() | set(kata.given)
    assert stub.__doc__ == solution.__doc__
    for name, value in solution_api.items():
        assert stub_api[name].__doc__ == value.__doc__, name
        assert value.__doc__ and (">>>" in value.__doc__ or name in kata.given), \
            f"{name}'s docstring needs an example"
        if name in kata.given:
            assert inspect.getsource(stub_api[name]) == inspect.getsource(value), name
        elif inspect.isclass(value):
            assert [b.__name__ for b in stub_api[name].__bases__] == [b.__name__ for b in value.__bases__]
            stub_methods, methods = _methods(stub_api[name]), _methods(value)
            assert stub_methods.keys() == methods.keys(), name
            for method, function in methods.items():
                assert inspect.signature(stub_methods[method]) == inspect.signature(function), method
                assert stub_methods[method].__doc__ == function.__doc__, method
        else:
            assert inspect.signature(stub_api[name]) == inspect.signature(value), name


def _bodies_only_raise(node: ast.FunctionDef) -> bool:
    docstring, *rest = node.body
    return (isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)
            and len(rest) == 1 and isinstance(rest[0], ast.Raise)
            and rest[0].exc.func.id == "NotImplementedError")


@pytest.mark.parametrize("kata", KATAS, ids=lambda kata: kata.folder)
def test_stub_bodies_only_raise_not_implemented_error(kata):
    tree = ast.parse(kata.path_in(REPO_ROOT / "katas").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in kata.given:
            continue
        if isinstance(node, ast.FunctionDef):
            assert _bodies_only_raise(node), f"{node.name} has code in it"
        elif isinstance(node, ast.ClassDef):
            docstring, *methods = node.body
            assert isinstance(docstring, ast.Expr), f"class {node.name} needs its docstring"
            for method in methods:
                assert isinstance(method, ast.FunctionDef) and _bodies_only_raise(method), \
                    f"{node.name}.{getattr(method, 'name', '')} has code in it"
        else:
            assert isinstance(node, (ast.Import, ast.ImportFrom, ast.Expr)), ast.dump(node)[:80]


@pytest.mark.parametrize("kata", KATAS, ids=lambda kata: kata.folder)
def test_solutions_import_only_the_katas_they_declare(kata):
    modules = {other.module: other.folder for other in KATAS}
    tree = ast.parse(kata.path_in(REPO_ROOT / "solutions").read_text(encoding="utf-8"))
    imported = {modules[name] for node in ast.walk(tree)
                for name in ([a.name for a in node.names] if isinstance(node, ast.Import)
                             else [node.module] if isinstance(node, ast.ImportFrom) else [])
                if name in modules}
    assert imported == set(kata.uses), f"{kata.folder} imports {sorted(imported)}; the manifest " \
                                       f"says it uses {sorted(kata.uses)}"
