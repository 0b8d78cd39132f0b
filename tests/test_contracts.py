"""Kata tests demand only what the spec states: every demand beyond values is a contract,
named in the manifest, stated in its function's docstring and enforced by a test through a
kata.assertions helper (see kata.instructor.contracts)."""

import inspect

import pytest

from kata import assertions
from kata.core.manifest import load_manifest
from kata.instructor import contracts

MANIFEST = load_manifest()


@pytest.mark.parametrize("kata", MANIFEST.katas, ids=lambda kata: kata.folder)
def test_every_demand_of_the_tests_is_a_stated_contract(kata):
    assert contracts.problems(kata) == []


@pytest.mark.parametrize("kata", MANIFEST.katas, ids=lambda kata: kata.folder)
def test_every_compared_function_shows_what_it_returns(kata):
    assert contracts.returns_problems(kata) == []


def test_every_contract_helper_requires_a_contract():
    for name in contracts.CONTRACT_HELPERS:
        parameter = inspect.signature(getattr(assertions, name)).parameters["contract"]
        assert parameter.kind is parameter.KEYWORD_ONLY, name
        assert parameter.default is parameter.empty, name


KATA_01 = MANIFEST.kata("01")


@pytest.mark.parametrize("source, problem", [
    ("with pytest.raises(ValueError):\n    impl.f()", "pytest.raises checks an error"),
    ("from pytest import raises", "pytest.raises checks an error"),
    ("def test_f(impl, capfd):\n    pass", "capfd checks printed output"),
    ("assert type(impl.f()) == tuple", "type() in an assertion"),
    ("assert_true(isinstance(r, tuple), 'm')", "isinstance() in an assertion"),
    ("assert r is x", "`is` in an assertion"),
    ("assert_true(r is not x, 'm')", "`is` in an assertion"),
    ("with raises_value_error('f()'):\n    impl.f()", "needs contract="),
    ("with raises_value_error('f()', contract=name):\n    impl.f()", "needs contract="),
    ("@pytest.mark.as_row\ndef test_f(impl):\n    assert_contract(c, 'm', contract=f'{f}.copy')",
     "'as_row.copy', which the manifest"),
    ("@pytest.mark.as_row\ndef test_f(impl):\n"
     "    assert_contract(c, 'm', contract='as_column.view')",
     "in a test of as_row, not of as_column"),
    ("assert_type(r, tuple, call='f()', contract='grid.pair')", "'grid.pair', which the manifest"),
    ("assert_contract(c, 'm', contract={'a': 'as_row.view', 'b': 'as_row.copy'}[k])",
     "'as_row.copy', which the manifest"),
])
def test_the_scan_finds_unstated_demands(source, problem):
    scan = contracts.scan_tests(source, KATA_01)
    assert len(scan.problems) == 1 and problem in scan.problems[0], scan.problems


def test_the_scan_accepts_named_contracts_and_value_checks():
    source = """
@pytest.mark.parametrize("f", [pytest.param("as_row", marks=pytest.mark.as_row),
                               pytest.param("as_column", marks=pytest.mark.as_column)])
def test_views(impl, f):
    assert_contract(seen, "m", contract={"as_row": "as_row.view", "as_column": "as_column.view"}[f])
    assert_contract(seen, "m", contract="as_row.view" if f == "as_row" else "as_column.view")
    with raises_value_error("f()", contract="as_row.view"):
        impl.broadcast_to(x, s)
    with raises_value_error("f()", contract=f"{f}.view"):
        impl.broadcast_to(x, s)
    assert_true(result.shape == x.shape, "m")
    oracle = x if isinstance(x, int) else y
"""
    scan = contracts.scan_tests(source, KATA_01)
    assert scan.problems == []
    assert scan.contracts == {"as_row.view", "as_column.view"}


def test_a_helper_refuses_a_contract_the_manifest_does_not_hold():
    with pytest.raises(assertions.ContractError, match=r"no contract 'matmul.colour'"):
        with assertions.raises_value_error("matmul(a, b)", contract="matmul.colour"):
            raise ValueError("no")


def test_a_broken_contract_quotes_the_docstring():
    with pytest.raises(assertions.Mismatch,
                       match="the docstring says: Raises ``ValueError`` naming both"):
        with assertions.raises_value_error("matmul(a, b)", contract="matmul.misfit",
                                           shapes=((2, 3),)):
            raise ValueError("no")
