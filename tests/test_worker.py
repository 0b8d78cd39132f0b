"""The warm worker and the board's memory (issues 12 and 19): a forked run sees the files as
they are, imports nothing of torch that the worker has not, and nothing leaks from one run to
the next; plain pytest through the worker gives the same report and exit code as a new
process; a runaway run is stopped as before, the board reruns a kata exactly when a file its
verdict depends on changed, and the worker is one per checkout and leaves nothing behind.
Bounds are generous: these tests run on busy machines."""

import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kata.core.layout import REPO_ROOT, clone_checkout
from kata.core.manifest import load_manifest
from kata.core.records import FailureKind, KataState, Outcome, TestRecord
from kata.runs import progress, worker
from kata.runs.runner import Run, RunStoppedError, run_katas
from kata.runs.verdicts import kata_key, upstream_digests

MANIFEST = load_manifest()
#: a quick test beside kata 01's, so that each run here takes a fraction of a second
_PROBE = """
def test_probe(impl):
    assert impl.fraction_less(torch.tensor([1.0, 3.0]), torch.tensor(2.0)) == 0.5
"""


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A copy of the repository with its own worker, stopped at the end."""
    root = clone_checkout(REPO_ROOT, tmp_path_factory.mktemp("worker") / "clone").resolve()
    (root / "katas" / "01_broadcasting" / "test_probe.py").write_text("import torch\n" + _PROBE)
    yield root
    worker.stop(root)


def _module(root: Path, number: str) -> Path:
    return MANIFEST.kata(number).path_in(root / "katas")


def _warm(root: Path, unchecked=False, **options):
    """A run of the probe alone, forked from the worker (``unchecked``: without the allow-list,
    for a module that spies with ``os`` and ``open``)."""
    options.setdefault("timeout", 120)
    return run_katas(["01_broadcasting"], checkout=root, warm=True,
                     extra_args=["-k", "probe", *(["--learner-unchecked"] if unchecked else [])],
                     **options)


def _worker_pid(root: Path) -> int:
    return int(worker.private_directory(root).joinpath("worker.pid").read_text())


def test_a_forked_run_sees_the_edited_files_and_nothing_leaks_into_the_next(clone, tmp_path,
                                                                          monkeypatch):
    module = _module(clone, "01")
    stub = module.read_text()
    seen = tmp_path / "seen"
    spy = (f"\nimport os as _os, torch as _torch\n"
           f"with open({str(seen)!r}, 'a') as _f:\n"
           f"    _f.write(f'{{_os.getpid()}} {{_os.getppid()}} "
           f"{{hasattr(_torch, \"kata_leak\")}} '\n"
           f"             f'{{_torch.add is _torch.sub}}\\n')\n")
    # the first run's module leaves marks everywhere: a torch attribute, torch.add replaced
    module.write_text(stub + spy + "_torch.kata_leak = True\n_torch.add = _torch.sub\n")
    try:
        _warm(clone, unchecked=True)
        module.write_text(stub + spy)
        second = _warm(clone, unchecked=True)
    finally:
        module.write_text(stub)
    parent = _worker_pid(clone)
    first_imports = {}
    for line in seen.read_text().splitlines():  # the first import in each run's process
        pid, rest = line.split(" ", 1)
        first_imports.setdefault(pid, rest)
    assert list(first_imports.values()) == [f"{parent} False False"] * 2, \
        "each run is a fork of the worker that imports the module as it is now, unmarked"
    assert [test.exception for test in second.tests] == ["NotImplementedError"]

    module.write_text(MANIFEST.kata("01").path_in(clone / "solutions").read_text())
    warm = _warm(clone)
    assert _worker_pid(clone) == parent

    def unavailable(root, **_):
        raise worker.WorkerUnavailableError("no private directory here")
    monkeypatch.setattr(worker, "private_directory", unavailable)
    cold = _warm(clone, timeout=300)  # where no worker can be had: a new process
    assert [(test.nodeid, test.outcome) for test in warm.tests] == \
        [(test.nodeid, test.outcome) for test in cold.tests] == \
        [("katas/01_broadcasting/test_probe.py::test_probe", "passed")]
    module.write_text(stub)


def test_a_runaway_run_is_stopped_with_the_test_it_was_in_and_the_worker_carries_on(clone):
    module = _module(clone, "01")
    stub = module.read_text()
    # (a loop would break kata 01's no-loops rule first, and time.sleep is outside the
    # allow-list; a sum over 2**60 numbers, all inside one builtin, runs away just the same)
    module.write_text(stub.replace('def fraction_less(a, b):\n',
                                   'def fraction_less(a, b):\n'
                                   '    sum(range(1 << 60))\n', 1))
    try:
        with pytest.raises(RunStoppedError) as stopped:
            _warm(clone, timeout=10)
        assert "timed out after 10 s in katas/01_broadcasting/test_probe.py::test_probe" \
            in str(stopped.value)
    finally:
        module.write_text(stub)
    again = _warm(clone)
    assert [test.exception for test in again.tests] == ["NotImplementedError"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write any process's memory")
def test_a_run_cannot_write_into_the_worker(clone, tmp_path):
    module = _module(clone, "01")
    stub = module.read_text()
    seen = tmp_path / "seen"
    # code under test, run as the same user, reaches for the worker's memory
    module.write_text(stub + f"""
import os as _os
try:
    open(f"/proc/{{_os.getppid()}}/mem", "wb").close()
    _outcome = "opened"
except OSError as _error:
    _outcome = type(_error).__name__
open({str(seen)!r}, "w").write(_outcome)
""")
    try:
        _warm(clone)
    finally:
        module.write_text(stub)
    assert seen.read_text() == "PermissionError", "the worker is not dumpable"


@pytest.mark.parametrize("tree", ["--solutions", "katas"])
def test_a_forked_run_imports_nothing_new_of_torch(clone, tmp_path, tree):
    """Every module of torch (and sympy, which torch's compiler imports) that a run needs
    is imported in the worker before it forks: a run never pays for one (issue 19). All
    katas run, solved and as stubs (failures, their reports)."""
    imported = tmp_path / "imported"
    options = ["--solutions"] if tree == "--solutions" else []
    environment = {**os.environ, "PYTHONPATH": f"{clone / 'src'}{os.pathsep}"
                   f"{os.environ.get('PYTHONPATH', '')}"}
    # (the quick profile: what a run imports does not depend on how many examples it draws)
    code = worker.run_forked(clone, ["katas", *options, "-q", "-p", "no:cacheprovider",
                                     "--hypothesis-profile=quick"],
                             environment=environment, timeout=900, memory_limit=None,
                             output=tmp_path / "output", imports=imported)
    assert code in (0, 1), (tmp_path / "output").read_text()[-3000:]
    modules = imported.read_text().split()
    assert modules, "the run reports what it imported"
    assert [name for name in modules if name.split(".")[0] in ("torch", "sympy", "functorch")] \
        == []


# ---------------------------------------------------------------- plain pytest


#: a conftest beside the probes that says which process ran each test (the worker's fork or
#: a process of its own)
_WHO_RAN = """
import os
import pytest


@pytest.fixture(autouse=True)
def who_ran():
    if "KATA_WHO_RAN" in os.environ:
        with open(os.environ["KATA_WHO_RAN"], "a") as record:
            record.write(f"{os.getppid()}\\n")
"""
#: probes with each outcome a run can have, by name
_PROBES = {
    "passing": "def test_probe():\n    assert sum([1, 2]) == 3\n",
    "failing": "def test_probe():\n    assert sum([1, 2]) == 4, 'adds up wrong'\n",
    "erroring": ("import pytest\n\n@pytest.fixture\ndef broken():\n    raise RuntimeError('no')\n\n"
                 "def test_probe(broken):\n    pass\n"),
    "interrupted": ("import os, time\n\ndef test_probe():\n"
                    "    open(os.environ['KATA_STARTED'], 'w').close()\n    time.sleep(600)\n"),
}


@pytest.fixture(scope="module")
def plain_clone(tmp_path_factory):
    """A checkout with a warm worker, the probes in its own folder under katas/ (kata tests
    only, so that plain pytest may hand them over), and the environment plain pytest runs
    with there: the same Python and search path as the worker's, so that it does."""
    root = clone_checkout(REPO_ROOT, tmp_path_factory.mktemp("plain") / "clone").resolve()
    probes = root / "katas" / "probes"
    probes.mkdir()
    (probes / "conftest.py").write_text(_WHO_RAN)
    for name, source in _PROBES.items():
        (probes / f"test_{name}.py").write_text(source)
    environment = {**os.environ, "PYTHONPATH": f"{root / 'src'}{os.pathsep}"
                   f"{os.environ.get('PYTHONPATH', '')}"}
    environment.pop("KATA_WORKER", None)
    worker.run_forked(root, ["katas/probes/test_passing.py", "-q"], environment=environment,
                      timeout=300, memory_limit=None, output=root / "started")  # starts it
    yield root, environment
    worker.stop(root)


def _plain_pytest(root: Path, environment: dict, args: list[str], *, warm: bool,
                  interrupt: Callable[[], None] | None = None) -> tuple[int, str, set[int]]:
    """``python -m pytest ARGS`` in ``root``, through the worker or (``warm=False``) in a
    process of its own; with ``interrupt`` (``with_ctrl_c``, its ``preexec_fn``), Ctrl-C
    once its test has started. Its exit
    code, its output (times left out) and the parents of the processes that ran tests."""
    record, started = root / "who_ran", root / "started_test"
    for path in (record, started):
        path.unlink(missing_ok=True)
    env = {**environment, "KATA_WHO_RAN": str(record), "KATA_STARTED": str(started),
           **({} if warm else {"KATA_WORKER": "off"})}
    process = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=root, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               preexec_fn=interrupt)
    if interrupt:
        deadline = time.monotonic() + 300
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)  # what a terminal's Ctrl-C sends the command
    output, _ = process.communicate(timeout=600)
    parents = {int(line) for line in record.read_text().split()} if record.exists() else set()
    return process.returncode, re.sub(r" in [0-9.]+s", " in (time)", output), parents


@pytest.mark.parametrize("probe, args, code", [
    ("passing", ["-q"], 0),
    ("failing", ["-x", "--tb=short", "-rA"], 1),
    ("erroring", ["-v"], 1),
    ("interrupted", ["-q"], 2),
])
def test_plain_pytest_through_the_worker_reports_as_a_new_process(plain_clone, probe, args, code,
                                                                 with_ctrl_c):
    root, environment = plain_clone
    command = [f"katas/probes/test_{probe}.py", *args]
    interrupt = with_ctrl_c if probe == "interrupted" else None
    fresh = _plain_pytest(root, environment, command, warm=False, interrupt=interrupt)
    warm = _plain_pytest(root, environment, command, warm=True, interrupt=interrupt)
    worker_pid = _worker_pid(root)
    assert warm[2] == {worker_pid} and worker_pid not in fresh[2], \
        "the warm run is the worker's fork, the other is not"
    assert warm[:2] == fresh[:2] and fresh[0] == code, "same exit code and report"


@pytest.mark.parametrize("args, code", [
    # the harness's short reports of the stubs' failures, with the terminal's colours forced on
    (["katas/01_broadcasting", "-x", "--color=yes"], 1),
    # every example each test meets, printed: the worker's run meets the very same ones
    (["katas/03_matmul", "--solutions", "-q", "-s", "--hypothesis-verbosity=verbose"], 0),
])
def test_plain_pytest_of_a_kata_through_the_worker_reports_as_a_new_process(plain_clone, args,
                                                                            code):
    root, environment = plain_clone
    fresh = _plain_pytest(root, environment, args, warm=False)
    warm = _plain_pytest(root, environment, args, warm=True)
    assert warm[:2] == fresh[:2] and fresh[0] == code


def test_plain_pytest_runs_itself_where_the_options_do_not_fit(plain_clone):
    root, environment = plain_clone
    code, _, parents = _plain_pytest(root, environment,
                                     ["katas/probes/test_passing.py", "-q", "--setup-show"],
                                     warm=True)
    assert code == 0 and parents and _worker_pid(root) not in parents


def test_memory_is_limited_in_the_forked_run(clone):
    module = _module(clone, "01")
    stub = module.read_text()
    module.write_text(stub + "\n_hog = bytearray(8 << 30)\n")  # 8 GiB, past the 4 GiB limit
    try:
        run = _warm(clone, memory_limit=4 << 30)
    finally:
        module.write_text(stub)
    assert [test.exception for test in run.tests] == ["KataImportError"]
    assert "MemoryError" in run.tests[0].message


def test_stop_ends_the_worker_and_leaves_nothing_behind(clone):
    _warm(clone)
    directory = worker.private_directory(clone)
    pid = _worker_pid(clone)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert worker.stop(clone)
    assert not directory.exists(), list(directory.iterdir()) if directory.exists() else None
    with pytest.raises(ProcessLookupError):
        for _ in range(200):  # it has removed its files; it may take a moment to exit
            os.kill(pid, 0)
            __import__("time").sleep(0.05)
    assert not worker.stop(clone), "no worker is left to stop"


def test_each_checkout_has_its_own_private_directory(tmp_path):
    first, second = worker.private_directory(REPO_ROOT), worker.private_directory(tmp_path)
    assert first != second and first.parent == second.parent
    for directory in (first, second):
        status = directory.stat()
        assert status.st_uid == os.getuid() and stat.S_IMODE(status.st_mode) == 0o700
        if not any(directory.iterdir()):
            directory.rmdir()


def test_the_kata_command_does_not_import_torch_or_pytest():
    done = subprocess.run(
        [sys.executable, "-c", "import sys, kata.cli, kata.runs.worker, kata.runs.progress; "
                               "print(sorted({'torch', 'pytest', 'numpy'} & set(sys.modules)))"],
        capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# ---------------------------------------------------------------- the board's memory


def _edit(path: Path) -> None:
    path.write_text(path.read_text() + "\n# an edit\n")


@pytest.mark.parametrize("edited, changed, upstream", [
    ("katas/07_training_loop/training_loop.py", {"07_training_loop"}, {"08_mnist"}),
    ("katas/04_softmax/softmax.py", {"04_softmax"}, {"05_module", "08_mnist"}),
    ("katas/03_matmul/test_matmul.py", {"03_matmul"}, set()),
    ("src/kata/harness/guards.py", {kata.folder for kata in MANIFEST.katas}, set()),
    ("conftest.py", {kata.folder for kata in MANIFEST.katas}, set()),
    ("katas/03_matmul/README.md", set(), set()),
    ("solutions/03_matmul/matmul.py", set(), set()),
])
def test_a_verdict_key_changes_exactly_when_a_file_it_depends_on_does(checkout, edited, changed,
                                                                      upstream):
    """A kata's own key follows its own files, the harness and the settings; the digests kept
    beside it follow the modules of the katas it uses."""
    root = checkout

    def state() -> dict:
        return {kata.folder: (kata_key(kata, root, options={}), upstream_digests(kata, root))
                for kata in MANIFEST.katas}
    before = state()
    _edit(root / edited)
    after = state()
    assert {folder for folder in before if before[folder][0] != after[folder][0]} == changed
    assert {folder for folder in before if before[folder][1] != after[folder][1]} == upstream


def test_the_board_runs_only_the_katas_whose_files_changed(checkout, monkeypatch):
    root = checkout
    ran = []
    states = {}

    def run(katas, root, *, workers, **options):
        ran.append([kata.folder for kata in katas])
        return [progress.KataProgress(kata, states.get(kata.folder, KataState.DONE))
                for kata in katas]
    monkeypatch.setattr(progress, "all_progress", run)
    katas = MANIFEST.katas
    first = progress.board_progress(katas, root, workers=2)
    assert ran == [[kata.folder for kata in katas]]
    assert progress.board_progress(katas, root, workers=2) == first and len(ran) == 1, \
        "nothing changed: no run at all"
    _edit(_module(root, "06"))
    board = {entry.kata.folder: entry for entry in progress.board_progress(katas, root, workers=2)}
    assert ran[-1] == ["06_dataloader"], "the exam is not trained again for an edit of 06"
    assert board["08_mnist"].state is KataState.OUTDATED
    assert board["08_mnist"].reason.startswith("06_dataloader changed since its last run")
    states["08_mnist"] = KataState.NOT_STARTED
    _edit(_module(root, "08"))
    progress.board_progress(katas, root, workers=2)
    assert ran[-1] == ["08_mnist"]
    _edit(_module(root, "07"))
    progress.board_progress(katas, root, workers=2)
    assert ran[-1] == ["07_training_loop", "08_mnist"], "a kata not started runs again"
    assert progress.board_progress(katas, root, workers=2, time_limit=5) and \
        len(ran[-1]) == len(katas), "other limits: other verdicts"


def test_a_save_is_checked_quickly_first_and_done_only_after_every_example(checkout,
                                                                           monkeypatch):
    """The quick check's failure is the verdict, and the full check beside it is stopped;
    once the quick check passes, the verdict is the full check's, of the property tests
    alone (the other tests keep the quick check's results)."""
    root, kata = checkout, MANIFEST.kata("03")
    test = "katas/03_matmul/test_matmul.py::test_x"
    full_checks = []

    def run(kata, checkout, *, extra_args=(), cancelled=None, **options):
        source = _module(root, "03").read_text()
        if "--hypothesis-profile=quick" in extra_args:  # every test, on its first examples
            outcome = Outcome.FAILED if "early" in source else Outcome.PASSED
            tests = (TestRecord(test, kata.folder, outcome, FailureKind.MISMATCH),
                     TestRecord(f"{test}_without_examples", kata.folder, Outcome.PASSED))
        else:  # the property tests, on every example
            full_checks.append((list(extra_args), cancelled))
            if cancelled is not None:
                cancelled.wait(5)
            outcome = Outcome.FAILED if "late" in source else Outcome.PASSED
            tests = (TestRecord(test, kata.folder, outcome, FailureKind.MISMATCH),)
        return progress.classify(kata, Run(1, tests, ""))
    monkeypatch.setattr(progress, "kata_progress", run)
    monkeypatch.setattr(worker, "is_up", lambda checkout: True)
    heard = []
    passing = progress.learner_progress(kata, root, quick_pass=heard.append,
                                        extra_args=["-m", "matmul"])
    assert passing.state is KataState.DONE and len(passing.tests) == 2 and len(heard) == 1
    assert full_checks[-1][0] == ["-m", "(matmul) and hypothesis"]
    assert not full_checks[-1][1].is_set()
    _module(root, "03").write_text(_module(root, "03").read_text() + "\n# late\n")
    late = progress.learner_progress(kata, root, quick_pass=heard.append)
    assert late.state is KataState.FAILING and len(heard) == 2, "what only every example shows"
    _module(root, "03").write_text(_module(root, "03").read_text() + "\n# early\n")
    early = progress.learner_progress(kata, root, quick_pass=heard.append)
    assert early.state is KataState.FAILING and len(heard) == 2
    assert full_checks[-1][1].is_set(), "the full check was stopped"


def test_a_kata_without_mnist_needs_mnist_and_says_what_to_do_once(tmp_path):
    from kata.core.records import FailureKind, KataState, Outcome, TestRecord
    from kata.core.workspace import Workspace
    from kata.learner import terminal, views
    from kata.runs.runner import Run

    exam = MANIFEST.kata("08")
    missing = "MNIST's train-images-idx3-ubyte.gz could not be downloaded (no network?)"
    tests = (TestRecord("katas/08_mnist/test_mnist.py::test_normalize", exam.folder,
                        Outcome.PASSED, functions=("normalize",)),
             TestRecord("katas/08_mnist/test_mnist.py::test_sanity", exam.folder, Outcome.FAILED,
                        FailureKind.MNIST_MISSING, "MnistUnavailableError", missing,
                        ("train_mlp",)))
    entry = progress.classify(exam, Run(1, tests, ""))
    assert entry.state is KataState.NEEDS_MNIST and "MNIST_DIR" in entry.reason
    others = [progress.KataProgress(kata, KataState.DONE) for kata in MANIFEST.katas[:-1]]
    board = terminal.board(views.board_view([*others, entry], Workspace(REPO_ROOT)))
    line = next(line for line in board.splitlines() if line.strip().startswith(exam.folder))
    assert "needs MNIST" in line and "MNIST_DIR" in line and "failing" not in board
    assert board.count("MNIST_DIR") == 1, "said once"
