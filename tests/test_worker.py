"""The warm worker and the board's memory (issue 12): a forked run sees the files as they are,
nothing leaks from one run to the next, a runaway run is stopped as before, the board reruns a
kata exactly when a file its verdict depends on changed, and the worker is one per checkout
and leaves nothing behind. Bounds are generous: these tests run on busy machines."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kata.core.layout import REPO_ROOT, clone_checkout
from kata.core.manifest import load_manifest
from kata.core.records import KataState
from kata.runs import progress, worker
from kata.runs.runner import RunStoppedError, run_katas
from kata.runs.verdicts import kata_key

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


@pytest.mark.parametrize("edited, changed", [
    ("katas/07_training_loop/training_loop.py", {"07_training_loop", "08_mnist"}),
    ("katas/04_softmax/softmax.py", {"04_softmax", "05_module", "08_mnist"}),
    ("katas/03_matmul/test_matmul.py", {"03_matmul"}),
    ("src/kata/harness/guards.py", {kata.folder for kata in MANIFEST.katas}),
    ("conftest.py", {kata.folder for kata in MANIFEST.katas}),
    ("katas/03_matmul/README.md", set()),
    ("solutions/03_matmul/matmul.py", set()),
])
def test_a_verdict_key_changes_exactly_when_a_file_it_depends_on_does(checkout, edited, changed):
    root = checkout
    before = {kata.folder: kata_key(kata, root, options={}) for kata in MANIFEST.katas}
    _edit(root / edited)
    after = {kata.folder: kata_key(kata, root, options={}) for kata in MANIFEST.katas}
    assert {folder for folder in before if before[folder] != after[folder]} == changed


def test_the_board_runs_only_the_katas_whose_files_changed(checkout, monkeypatch):
    root = checkout
    ran = []

    def run(katas, root, *, workers, **options):
        ran.append([kata.folder for kata in katas])
        return [progress.KataProgress(kata, KataState.NOT_STARTED) for kata in katas]
    monkeypatch.setattr(progress, "all_progress", run)
    katas = MANIFEST.katas
    first = progress.board_progress(katas, root, workers=2)
    assert ran == [[kata.folder for kata in katas]]
    assert progress.board_progress(katas, root, workers=2) == first and len(ran) == 1, \
        "nothing changed: no run at all"
    _edit(_module(root, "06"))
    progress.board_progress(katas, root, workers=2)
    assert ran[-1] == ["06_dataloader", "08_mnist"]
    assert progress.board_progress(katas, root, workers=2, time_limit=5) and \
        len(ran[-1]) == len(katas), "other limits: other verdicts"


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
