"""Feedback that teaches: a failure names the cataloged mistake that gives exactly what the
learner's code gave (kata.harness.diagnosis), in every mode and view, and nothing where none
does; the mistakes shipped for it run without the solutions; a failure shows the hint for
its cause, and a rule's reason once per run."""

import json
import os
import subprocess
import sys

import pytest
import torch

from kata.assertions import assert_tensor, assert_value
from kata.core.errors import Mismatch
from kata.core.layout import REPO_ROOT
from kata.core.manifest import load_manifest
from kata.core.records import Cause, Diagnosis, FailureDetail, Outcome, RunRecord, TestRecord
from kata.harness import diagnosis, mistakes
from kata.harness.failures import RuleExplanations
from kata.instructor.catalog import load_catalog, shipped, write_tree
from kata.learner import html

MANIFEST = load_manifest()
WRONG_AXIS = "sums over axis 0 instead of axis 1"


@pytest.fixture(autouse=True)
def no_logged_calls():
    diagnosis.forget_calls()
    yield
    diagnosis.forget_calls()


def _failure(check) -> Mismatch:
    with pytest.raises(Mismatch) as failed:
        check()
    return failed.value


def _matvec_call(m, c, learners):
    """Log a call of the learner's matvec that returned ``learners``; the failed check of it."""
    diagnosis.log_call("03_matmul", "matvec", (m, c), {}, learners)
    return _failure(lambda: assert_tensor(learners, (m * c).sum(1), call="matvec(m, c)"))


def test_a_result_that_a_mistake_gives_names_it_with_its_explanation():
    m, c = torch.arange(6.0).reshape(2, 3), torch.tensor([1.0, -2.0, 0.5])
    found = diagnosis.diagnose(_matvec_call(m, c, (m * c).sum(0)))
    assert found is not None and (found.function, found.mistake) == ("matvec", WRONG_AXIS)
    assert "axis 1" in found.explanation and found.text.startswith("Your matvec gave the same")


def test_a_result_that_no_mistake_gives_names_nothing():
    m, c = torch.arange(6.0).reshape(2, 3), torch.tensor([1.0, -2.0, 0.5])
    assert diagnosis.diagnose(_matvec_call(m, c, (m * c).sum(1) + 1)) is None


def test_a_mistake_that_only_looks_alike_on_the_last_input_is_not_named():
    # the learner's code sums axis 0 only when m has one row, where that is axis 1's sum too
    earlier_m, earlier_c = torch.arange(6.0).reshape(3, 2), torch.tensor([2.0, 1.0])
    diagnosis.log_call("03_matmul", "matvec", (earlier_m, earlier_c), {}, torch.zeros(3))
    m, c = torch.ones(1, 2), torch.ones(2)
    assert diagnosis.diagnose(_matvec_call(m, c, (m * c).sum(0))) is None


def test_a_value_that_several_calls_returned_names_nothing():
    m, c = torch.arange(6.0).reshape(2, 3), torch.tensor([1.0, -2.0, 0.5])
    constant = (m * c).sum(0)
    diagnosis.log_call("03_matmul", "matvec", (m, c), {}, constant)  # no telling which call
    assert diagnosis.diagnose(_matvec_call(m, c, constant)) is None


def test_a_value_check_reproduces_exactly_and_a_failure_without_a_logged_call_names_nothing():
    a, b = torch.tensor([0, 1, 2]), torch.tensor([[1], [1]])
    learners = ((a < b).sum() / a.numel()).item()  # the cataloged slip: a's size, not the result's
    diagnosis.log_call("01_broadcasting", "fraction_less", (a, b), {}, learners)
    failed = _failure(lambda: assert_value(learners, 2 / 3, call="fraction_less(a, b)"))
    assert diagnosis.diagnose(failed).mistake.startswith("divides by the size of a")
    diagnosis.forget_calls()
    assert diagnosis.diagnose(failed) is None


def test_the_shipped_mistakes_are_the_catalogs_and_run_without_the_solutions():
    catalog = {(kata, v.replaces, v.description): v
               for kata, (variants, _) in load_catalog().items() for v in variants}
    assert mistakes.MISTAKES
    for kata, function, name, explanation, _ in mistakes.MISTAKES:
        variant = catalog[(kata, function, name)]
        assert variant.kind == "mistake" and variant.explanation == explanation
        assert shipped(variant, load_catalog()[kata][1])  # it needs nothing of the solution
        assert name in [found for found, _, _ in diagnosis._mistakes(kata, function)]
    # each unpacks and runs with its kata's imports alone: no solution is at hand in a release
    m, c = torch.arange(6.0).reshape(2, 3), torch.tensor([1.0, -2.0, 0.5])
    ran = {name: mistake(m, c) for name, _, mistake in diagnosis._mistakes("03_matmul", "matvec")}
    assert torch.equal(ran[WRONG_AXIS], (m * c).sum(0))


@pytest.mark.parametrize("graded", [False, True], ids=["learner's run", "graded mode"])
def test_a_run_records_the_diagnosis_and_prints_it_with_the_hint_for_the_cause(tmp_path, graded):
    variants, imports = load_catalog()["03_matmul"]
    promoting = next(v for v in variants if v.description == "lets sum promote int32 to int64")
    tree = write_tree(tmp_path / "tree", {"03_matmul": (promoting, imports)})
    record = tmp_path / "run.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "katas/03_matmul", "--impl", str(tree), "-p",
         "no:cacheprovider", "-k", "test_matvec_matches_loop_spec", f"--kata-json={record}",
         *(["--learner-process", "--learner-unboxed"] if graded else [])],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")})
    test, = RunRecord.from_json(record.read_text()).tests
    assert test.outcome is Outcome.FAILED, done.stdout + done.stderr
    assert test.diagnosis == Diagnosis("matvec", promoting.description, promoting.explanation)
    assert test.diagnosis.text in test.message and test.detail.cause is Cause.DTYPE
    assert "Hint for matvec's wrong dtype:" in done.stdout, done.stdout


def test_the_notebook_shows_the_diagnosis_beside_the_values():
    found = Diagnosis("matvec", WRONG_AXIS, "Row i's <products> lie along axis 1.")
    test = TestRecord("katas/03_matmul/test_matmul.py::t", "03_matmul", Outcome.FAILED,
                      detail=FailureDetail("matvec(m, c) returned the wrong shape", "tensor([0.])",
                                           "tensor([0., 0.])"), diagnosis=found)
    shown = html.failure(test)
    assert "it sums over axis 0 instead of axis 1" in shown and "&lt;products&gt;" in shown
    assert shown.index("<th>expected</th>") < shown.index("classic mistake")


def test_a_record_carries_its_diagnosis_and_its_cause_through_json():
    test = TestRecord("k::t", "03_matmul", Outcome.FAILED,
                      detail=FailureDetail("s", cause=Cause.DTYPE),
                      diagnosis=Diagnosis("matvec", WRONG_AXIS, "why"))
    text = RunRecord("katas", 1, (test,)).to_json()
    assert RunRecord.from_json(text).tests == (test,)
    assert json.loads(text)["tests"][0]["detail"]["cause"] == "dtype"


def test_a_failure_of_a_known_cause_shows_that_causes_hint_else_the_step_reached():
    matmul = MANIFEST.kata("03")
    by_cause = MANIFEST.hint(matmul, "matvec", 2, Cause.DTYPE)
    assert by_cause.startswith("Hint for matvec's wrong dtype")
    assert MANIFEST.hint(matmul, "matvec", 2, Cause.SHAPE).startswith("Hint 2 of 3 for matvec")


def test_a_rules_reason_is_said_under_the_first_test_that_broke_it_only():
    why = f"Why the rule: {MANIFEST.rules['no_loops'].why}"
    explanations = RuleExplanations()
    first = explanations.once(f"matvec() broke the rule `no_loops`.\n{why}", "k.py::test_a")
    assert why in first and explanations.once(first, "k.py::test_a") == first
    second = explanations.once(f"matmul() broke the rule `no_loops`.\n{why}", "k.py::test_b")
    assert why not in second and "said under test_a" in second
