"""The reference solutions pass every kata test; the untouched stubs fail every one of them,
each with NotImplementedError; stub and solution agree on their public API."""

import ast
import inspect

import pytest

from kata.loader import import_from_path
from kata.manifest import REPO_ROOT, load_manifest
from kata.stubs import expected_stubs

KATAS = load_manifest().katas


@pytest.mark.parametrize("kata", KATAS, ids=lambda kata: kata.folder)
def test_solution_passes_every_test(repository_runs, kata):
    tests = repository_runs.solutions().of(kata.folder)
    assert tests, f"no test of {kata.folder} ran:\n{repository_runs.solutions().output[-2000:]}"
    failed = [t for t in tests if t.outcome != "passed"]
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
             if not (t.outcome == "failed" and t.exception == "NotImplementedError")]
    assert not wrong, "tests that did not fail with NotImplementedError:\n" + "\n".join(wrong)


def test_stubs_are_generated_from_the_solutions():
    stale = [str(path.relative_to(REPO_ROOT)) for path, text in expected_stubs().items()
             if path.read_text(encoding="utf-8") != text]
    assert not stale, f"stubs out of date; run `python -m kata.stubs`: {stale}"


def _public_functions(module):
    return {name: value for name, value in vars(module).items()
            if inspect.isfunction(value) and not name.startswith("_")
            and value.__module__ == module.__name__}


@pytest.mark.parametrize("kata", KATAS, ids=lambda kata: kata.folder)
def test_stub_and_solution_share_names_signatures_and_docstrings(kata):
    stub = import_from_path(kata.path_in(REPO_ROOT / "katas"), f"stub_{kata.module}")
    solution = import_from_path(kata.path_in(REPO_ROOT / "solutions"), f"solution_{kata.module}")
    stub_functions, solution_functions = _public_functions(stub), _public_functions(solution)
    assert stub_functions.keys() == solution_functions.keys() == kata.functions.keys()
    assert stub.__doc__ == solution.__doc__
    for name, function in solution_functions.items():
        assert inspect.signature(stub_functions[name]) == inspect.signature(function), name
        assert stub_functions[name].__doc__ == function.__doc__, name
        assert function.__doc__ and ">>>" in function.__doc__, f"{name}'s docstring needs an example"


@pytest.mark.parametrize("kata", KATAS, ids=lambda kata: kata.folder)
def test_stub_bodies_only_raise_not_implemented_error(kata):
    tree = ast.parse(kata.path_in(REPO_ROOT / "katas").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            docstring, *rest = node.body
            assert isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)
            assert len(rest) == 1 and isinstance(rest[0], ast.Raise), f"{node.name} has code in it"
            assert rest[0].exc.func.id == "NotImplementedError", node.name
        else:
            assert isinstance(node, (ast.Import, ast.ImportFrom, ast.Expr)), ast.dump(node)[:80]
