"""The reference solutions pass every kata test; the untouched stubs fail every one of them,
each with NotImplementedError; stub and solution agree on their public API.

Each check lives in ``kata.instructor.checks`` (``kata check`` prints the same checks as a
table); here each must find nothing wrong. Tests marked gpu are skipped, by design, where there
is no CUDA: on such a machine they are left out of both proofs, and listed as skipped.
"""

import pytest

from kata.core.manifest import load_manifest
from kata.instructor import checks

KATAS = load_manifest().katas
each_kata = pytest.mark.parametrize("kata", KATAS, ids=lambda kata: kata.folder)


@each_kata
def test_solution_passes_every_test(repository_runs, kata):
    problems = checks.solution_problems(repository_runs, kata)
    assert not problems, "\n\n".join(problems)


@each_kata
def test_every_test_names_the_function_it_tests(repository_runs, kata):
    assert not checks.marker_problems(repository_runs, kata)


def test_kata_tests_cover_every_line_of_the_solutions(repository_runs):
    assert not checks.coverage_problems(repository_runs)


@each_kata
def test_untouched_stub_fails_every_test_with_not_implemented_error(repository_runs, kata):
    problems = checks.stub_problems(repository_runs, kata)
    assert not problems, "\n".join(problems)


@each_kata
def test_stub_is_generated_from_the_solution(kata):
    assert not checks.generated_stub_problems(kata)


@each_kata
def test_stub_and_solution_share_names_signatures_and_docstrings(kata):
    assert not checks.api_problems(kata)


@each_kata
def test_stub_bodies_only_raise_not_implemented_error(kata):
    assert not checks.stub_body_problems(kata)


@each_kata
def test_solutions_import_only_the_katas_they_declare(kata):
    assert not checks.import_problems(kata)


@each_kata
def test_no_hint_holds_a_line_of_its_solution(kata):
    """Hints guide (a question, the idea, a nudge); the answer is the learner's to write."""
    assert not checks.hint_problems(kata)
