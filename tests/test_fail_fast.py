"""The exam fails fast (kata.harness.fail_fast): tests marked ``training`` run after their module's
quick tests, and are skipped, visibly, while one of those fails for a real reason."""

import pytest

pytest_plugins = ["pytester"]

_MODULE = """
import pytest

@pytest.mark.training
def test_trains():
    print("training ran")

def test_quick():
    {quick}

@pytest.mark.training
def test_trains_again():
    pass
"""


def _run(pytester, quick: str):
    pytester.makeconftest('pytest_plugins = ["kata.harness.plugin"]')
    pytester.makepyfile(test_exam=_MODULE.format(quick=quick))
    return pytester.runpytest("-v", "-rs", "-p", "no:cacheprovider")


def test_training_runs_after_the_quick_tests_when_they_pass(pytester):
    result = _run(pytester, "pass")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*::test_quick PASSED*", "*::test_trains PASSED*",
                                 "*::test_trains_again PASSED*"])


def test_training_is_skipped_with_the_reason_while_a_quick_test_fails(pytester):
    result = _run(pytester, "assert 1 == 2")
    result.assert_outcomes(failed=1, skipped=2)
    result.stdout.fnmatch_lines(["*training waits until the quick tests pass: test_quick failed*"])


@pytest.mark.parametrize("error", ["NotImplementedError", "KataImportError"])
def test_a_stub_or_a_module_that_does_not_import_skips_nothing(pytester, error):
    raised = ("raise NotImplementedError('a stub')" if error == "NotImplementedError" else
              "from kata.core.errors import KataImportError; raise KataImportError('no module')")
    result = _run(pytester, raised)
    result.assert_outcomes(failed=1, passed=2)
