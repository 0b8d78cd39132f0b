"""The graded mode (``--learner-process``): the learner's code runs in a process of its own,
the tests' process never imports it, and what crosses is plain data (kata.harness.remote)."""

import builtins
import io
import pickle
import socket
import sys

import pytest
import torch

import kata.assertions
from kata.core.errors import RuleViolation
from kata.core.layout import REPO_ROOT
from kata.core.manifest import load_manifest
from kata.core.records import Foreign
from kata.harness import remote, wire
from kata.harness.boundary import call_public, plain

pytest_plugins = ["pytester"]

LEARNER = '''
import builtins, os, time
import kata.assertions

print("the learner's module is imported")
builtins.LEARNER_WAS_HERE = os.getpid()
kata.assertions.assert_tensor = lambda *args, **kwargs: None  # would pass anything, here


class Odd(ValueError):
    pass


def matvec(m, c):
    if m.shape[0] == 7:
        time.sleep(600)
    print("matvec ran")
    return m.sum(1) + 1


def matmul(a, b):
    raise Odd(f"shapes {tuple(a.shape)} and {tuple(b.shape)}")


def matmul_by_columns(a, b):
    if a.shape[0] == 1:
        os._exit(3)
    return a @ b
'''

TESTS = '''
import builtins, sys
from pathlib import Path
import pytest, torch
from kata import assertions
from kata.core.errors import RuleViolation

TREE = str(Path(__file__).resolve().parent.parent)


def test_the_result_is_judged_here(impl):
    assertions.assert_tensor(impl.matvec(torch.ones(2, 3), torch.ones(3)),
                             torch.full((2,), 3.0), call="matvec(m, c)")


def test_the_learners_module_never_reaches_this_process(impl):
    assert impl.matvec(torch.ones(1, 1), torch.ones(1)).tolist() == [2.0]
    assert "matmul" not in sys.modules and not hasattr(builtins, "LEARNER_WAS_HERE")
    assert not [name for name, module in list(sys.modules.items())
                if str(getattr(module, "__file__", None) or "").startswith(TREE)
                and "test_" not in name]


def test_exceptions_cross_with_their_class_message_and_line(impl):
    with pytest.raises(ValueError) as raised:
        impl.matmul(torch.ones(2, 3), torch.ones(3, 4))
    assert type(raised.value).__name__ == "Odd"
    assert str(raised.value) == "shapes (2, 3) and (3, 4)"
    assert raised.value.raised_at.startswith("matmul.py:22:  raise Odd(")
    with pytest.raises(RuleViolation, match="no_library_matmul"):
        impl.matmul_by_columns(torch.ones(2, 2), torch.ones(2, 2))


def test_a_learner_side_that_dies(impl):
    impl.matmul_by_columns(torch.ones(1, 2), torch.ones(2, 2))


def test_a_learner_side_that_hangs(impl):
    impl.matvec(torch.ones(7, 1), torch.ones(1))


def test_a_fresh_learner_side_follows(impl):
    assert impl.matvec(torch.ones(1, 1), torch.ones(1)).tolist() == [2.0]
'''


def test_graded_mode_runs_the_learners_code_elsewhere_and_judges_here(pytester, graded_mode):
    original = kata.assertions.assert_tensor
    pytester.makeconftest('pytest_plugins = ["kata.harness.plugin"]')
    folder = pytester.mkdir("katas") / "03_matmul"
    folder.mkdir()
    (folder / "matmul.py").write_text(LEARNER)
    (folder / "test_learner.py").write_text(TESTS)
    result = pytester.runpytest("katas/03_matmul", *graded_mode, "--learner-timeout", "5",
                                "--learner-unchecked")  # the module imports os: run it anyway
    result.assert_outcomes(passed=3, failed=3)
    result.stdout.fnmatch_lines([
        "*test_the_result_is_judged_here*", "*matvec(m, c) returned wrong values*",
        "*matvec ran*",
        "*test_a_learner_side_that_dies*",
        "*the learner's code ended its process (exit code 3) while running "
        "matmul.matmul_by_columns()*",
        "*test_a_learner_side_that_hangs*",
        "*the learner's code sent no answer in 5 s while running matmul.matvec()*"])
    assert "matmul" not in sys.modules and not hasattr(builtins, "LEARNER_WAS_HERE")
    assert kata.assertions.assert_tensor is original


def _pair():
    trusted, learner = socket.socketpair()
    trusted.settimeout(5)
    return trusted, learner


def test_plain_data_crosses_and_library_functions_cross_by_name():
    trusted, learner = _pair()
    value = (torch.arange(6.0).reshape(2, 3).T, torch.Size([2]), torch.int8,
             {"op": torch.add, "lt": __import__("operator").lt}, [None, True, 1, 2.5, "s"],
             Foreign("numpy.ndarray", "array([0.])"))
    wire.send(learner, value)
    got = wire.receive(trusted)
    assert torch.equal(got[0], value[0]) and got[0].stride() == (1, 3)
    assert got[1:] == value[1:]


class _Shifty(torch.Tensor):
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("value", [torch.ones(2).as_subclass(_Shifty), Foreign(1, 2),
                                   torch.nn.Linear(1, 1)], ids=["subclass", "foreign", "module"])
def test_anything_but_plain_data_is_refused(value):
    trusted, learner = _pair()
    payload = io.BytesIO()
    torch.save(value, payload, _use_new_zipfile_serialization=False)
    learner.sendall(len(payload.getvalue()).to_bytes(8, "big") + payload.getvalue())
    with pytest.raises(wire.NotAnAnswerError):
        wire.receive(trusted)


def test_no_pickle_of_the_other_side_runs(tmp_path):
    marker = tmp_path / "ran"
    trusted, learner = _pair()
    payload = pickle.dumps(_Planted(str(marker)), protocol=2)
    learner.sendall(len(payload).to_bytes(8, "big") + payload)
    with pytest.raises(wire.NotAnAnswerError):
        wire.receive(trusted)
    assert not marker.exists()


class _Planted:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_an_answer_over_the_limit_is_refused_from_its_length():
    trusted, learner = _pair()
    learner.sendall((1 << 40).to_bytes(8, "big"))
    with pytest.raises(wire.NotAnAnswerError, match="over the limit"):
        wire.receive(trusted, limit=wire.ANSWER_LIMIT)


def test_a_tensor_subclass_crosses_as_a_plain_tensor():
    assert type(plain(torch.ones(2).as_subclass(_Shifty))) is torch.Tensor


@pytest.mark.parametrize("kind, base, expected", [
    ("Odd", "ValueError", ValueError), ("Sneaky", "RuleViolation", RuleViolation),
    ("Skipped", "BaseException", RuntimeError),
    ("KeyboardInterrupt", "KeyboardInterrupt", RuntimeError),
    ("Planted", "print", RuntimeError)])
def test_an_exception_is_raised_again_as_its_nearest_known_class(kind, base, expected):
    error = wire.raised_again({"type": kind, "base": base, "message": "m", "raised_at": None})
    assert isinstance(error, expected)
    assert type(error).__name__ == (kind if expected is not RuntimeError else "RuntimeError")


def test_the_nearest_known_class_passes_over_the_learners_own_classes():
    class Mine(RuleViolation, ValueError):
        pass
    assert wire.nearest_known(Mine) is RuleViolation


def test_a_process_that_finds_the_socket_first_is_not_taken_for_the_learners_side(monkeypatch):
    """Unboxed, another process of the same user could see the socket: only one that the
    learner's side's command started is answered."""
    side = remote.RemoteCode(REPO_ROOT / "solutions", visible=[REPO_ROOT / "katas" / "03_matmul"])
    command = side._command

    def intruder_first(argv):
        intruder = socket.socket(socket.AF_UNIX)
        intruder.connect(argv[argv.index("--channel") + 1])
        intruders.append(intruder)
        return command(argv)
    intruders = []
    monkeypatch.setattr(side, "_command", intruder_first)
    try:
        result = side.run(load_manifest().kata("03"), call_public,
                          ("matvec", torch.ones(2, 3), torch.ones(3)), {})
    finally:
        side.close()
    assert torch.equal(result, torch.full((2,), 3.0))
    assert intruders[0].recv(1) == b""  # closed, unanswered


def test_the_learners_side_sees_mnist_but_never_the_test_labels(tmp_path, monkeypatch):
    """A graded ``predict`` that read the test labels could hand them back as its guesses:
    the box shows every MNIST file but that one."""
    from kata.mnist_data import FILES

    for name in FILES:
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    side = remote.RemoteCode(REPO_ROOT / "solutions")
    side._scratch = tmp_path / "scratch"
    command = " ".join(side._command(["python", "-c", "0"]))
    assert "t10k-labels-idx1-ubyte" not in command
    for name in set(FILES) - {"t10k-labels-idx1-ubyte"}:
        assert str(tmp_path / name) in command or remote.sandbox.availability() is not None


def test_a_tensor_that_lies_through_its_own_attributes_arrives_plain():
    """A plain tensor may carry instance attributes through torch.load(weights_only=True):
    one named ``detach`` would shadow torch's method where the judge calls it. What arrives
    is rebuilt as a fresh tensor, so the judge sees the values that were sent."""
    trusted, learner = _pair()
    lying = torch.tensor([1.0, 2.0])
    lying.__dict__["detach"] = torch.zeros(0)  # a value torch.load lets through
    payload = io.BytesIO()
    torch.save(lying, payload, _use_new_zipfile_serialization=False)
    learner.sendall(len(payload.getvalue()).to_bytes(8, "big") + payload.getvalue())
    got = wire.receive(trusted)
    assert type(got) is torch.Tensor and got.__dict__ == {}
    assert torch.equal(got.detach(), torch.tensor([1.0, 2.0]))


def test_the_judge_calls_torchs_methods_never_the_results_own():
    from kata.assertions import assert_tensor
    from kata.core.errors import Mismatch

    lying = torch.tensor([5.0, 6.0])  # wrong values, whose own detach() says otherwise
    lying.__dict__["detach"] = lambda: torch.zeros(2)
    with pytest.raises(Mismatch, match="wrong values"):
        assert_tensor(lying, torch.zeros(2), call="f()")
    assert plain(lying).__dict__ == {} and torch.equal(plain(lying), torch.tensor([5.0, 6.0]))
