"""Red team, verdict level: a kata 03 module that forges its verdict from inside the process
that runs it (``verdict_attacks/matmul.py``): (a) it replaces the harness's and the test
module's assertion helpers, (b) patches pytest's report objects, (c) rewrites the
``--kata-json`` file at exit, (d) returns objects that claim to equal anything, (e) raises
exceptions meant to confuse the judge, (f) sends a huge result and writes a frame straight
into the channel: a pickle that runs a command (an answer announced over the size limit is
refused from its length alone: tests/test_learner_side.py).

Run in the tests' process (the learner mode), the attacks pass the tests they are run
against (the value tests of each function, to keep this short): they have teeth.
Run in the graded mode (``--learner-process``), they earn no test at all (the stub earns
none either), and the reference solutions, graded the same way, pass every test.
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kata.core.manifest import load_manifest
from kata.runs.runner import run_katas

KATA = load_manifest().kata("03")
ATTACK = Path(__file__).with_name("verdict_attacks") / f"{KATA.module}.py"
#: The tests that the learner mode's run (the control: do the attacks work at all?) runs.
CONTROL = "matches"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, graded_mode):
    """The attack in the learner mode and in the graded mode, and the solutions graded,
    side by side."""
    base = tmp_path_factory.mktemp("verdicts")
    planted = base / "planted"
    module = KATA.path_in(base / "tree")
    module.parent.mkdir(parents=True)
    module.write_text(f"PLANTED = {str(planted)!r}\n" + ATTACK.read_text())
    # the attacks must meet the verdict's own defences, not the allow-list that refuses them
    # first (tests/test_allowlist.py shows it does)
    graded = [*graded_mode, "--learner-timeout", "120", "--learner-unchecked"]
    with ThreadPoolExecutor(3) as pool:
        jobs = {"learner mode": pool.submit(run_katas, [KATA.folder], impl=module.parent.parent,
                                            extra_args=["-k", CONTROL, "--learner-unchecked"]),
                "graded": pool.submit(run_katas, [KATA.folder], impl=module.parent.parent,
                                      extra_args=graded),
                "solutions": pool.submit(run_katas, [KATA.folder], solutions=True,
                                         extra_args=graded)}
        found = {name: job.result().of(KATA.folder) for name, job in jobs.items()}
    found["planted"] = planted.exists()
    return found


def test_the_attacks_pass_tests_when_they_run_in_the_tests_process(runs):
    assert runs["learner mode"] and all(t.outcome == "passed" for t in runs["learner mode"])


def test_graded_the_attacks_earn_no_test(runs):
    assert {t.name for t in runs["learner mode"]} <= {t.name for t in runs["graded"]}
    assert [t.name for t in runs["graded"] if t.outcome == "passed"] == []


def test_graded_the_solutions_pass_every_test(runs):
    assert len(runs["solutions"]) == len(runs["graded"])
    assert [t.name for t in runs["solutions"] if t.outcome != "passed"] == []


def test_graded_each_attack_fails_for_what_it_did(runs):
    messages = "\n".join(t.message or "" for t in runs["graded"])
    assert "_Agreeable" in messages  # (d) a learner's object, seen as what it is
    assert "returned wrong values" in messages  # (d) a tensor subclass, judged by its values
    assert "the learner's code raised Skipped" in messages  # (e) pytest's own skip
    # (e) a harness assertion that is a ValueError too: no ValueError
    assert "do not fit" in messages
    assert "the learner's side sent a frame that is not plain data" in messages  # (f)
    assert not runs["planted"], "the tests' process ran a pickle that the learner's side sent"
