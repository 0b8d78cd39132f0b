"""Grade learners' work with the instructor's tests: the service behind ``kata grade``.

Each kata of each target (``kata.grading.targets``) runs in graded mode
(``--learner-process``, see ``kata.harness.remote``): the tests' process, which judges and
writes the report, never imports the learner's code; that code runs in a process of its
own, in a box (``kata.runs.sandbox``) that sees that target's grading tree read-only and
nothing of the checkout, the other learners, the tests' process or the network, and
everything it starts dies with it. No box, no grading, unless the instructor asks for it
(``boxed=False``). The tests' process runs under the supervisor (the whole tree's caps, a
clean environment, its output's tail, nothing left behind), and its report is read from the
run's own scratch folder, which no box shows, once it has ended. All targets' katas share
one pool of workers. What comes back is one ``LearnerGrade`` per target, in a ``Gradebook``
(``kata.grading.results``), which ``kata.grading.reports`` and ``kata.grading.gradebook``
write out.

Hidden grading: each run takes the ``grading`` hypothesis profile, ``GRADING_EXAMPLES``
examples a test where a learner's run draws 20, and not derandomized as a learner's runs
are: the examples come from a seed drawn once per grading run (or given, to grade again
exactly), which the reports record. The instructor's hidden tests
(``kata.core.layout.HIDDEN_TESTS``, in the kata folders, left out of every release) run
beside the visible ones.

Exit codes of ``kata grade``: 0 every target passed; 1 every target was graded and some
failed; 2 the grader could not read a target, or the command line was wrong; 130 stopped
by Ctrl-C (the results graded so far are written, the rest marked as not graded).
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kata.core.errors import KataError
from kata.core.layout import HARNESS, NOT_COPIED, SETTINGS
from kata.core.manifest import Kata
from kata.core.processes import descendants, parent_of, python_path
from kata.core.records import KataState
from kata.grading.results import Gradebook, LearnerGrade, kata_grade, learner_grade, not_graded
from kata.grading.targets import (
    IgnoredFile,
    TargetError,
    grading_tree,
    ignored_files,
    module_reader,
)
from kata.harness.allowlist import check
from kata.runs import sandbox, worker
from kata.runs.progress import KataProgress, kata_progress

#: Exit codes of ``kata grade`` (see the module's docstring).
ALL_PASS, SOME_FAIL, NOT_GRADED, INTERRUPTED = 0, 1, 2, 130
#: pytest's options for a graded run: the learner's code in a boxed process of its own.
GRADED_MODE = ("--learner-process",)
#: ... and what turns its box off, where the instructor asked for that (``--unsandboxed``).
UNBOXED_MODE = ("--learner-unboxed",)
#: ... and what skips the allow-list, to test what the box holds (``--skip-allowlist``).
UNCHECKED_MODE = ("--learner-unchecked",)
#: The hypothesis profile of a graded run (``kata.harness.plugin``): ``GRADING_EXAMPLES`` a
#: test (``kata.runs.limits``), drawn from the grading run's seed, where a learner's run
#: draws 20, derandomized.
GRADING_PROFILE = "grading"


class GradingInterruptedError(KataError):
    """Ctrl-C while grading; ``gradebook`` holds every target, its unfinished katas marked."""

    def __init__(self, gradebook: Gradebook):
        super().__init__("interrupted")
        self.gradebook = gradebook


_THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


class _Supervised:
    """How a graded run of one tree's tests is supervised (``box_for``)."""

    def __init__(self, tree: Path, memory_limit: int | None, data: Sequence[Path]):
        self.tree, self.memory_limit, self.data = tree, memory_limit, list(data)
        self.env = {"PYTHONPATH": python_path(tree / HARNESS.parent),
                    "PYTHONDONTWRITEBYTECODE": "1", **_THREADS}
        if data:
            self.env["MNIST_DIR"] = str(data[0])
        if "KATA_SANDBOX" in os.environ:  # switched off here: off for the learner's side too
            self.env["KATA_SANDBOX"] = os.environ["KATA_SANDBOX"]

    def __call__(self, command: list[str], scratch: Path) -> list[str]:
        return sandbox.boxed(command, read_only=[self.tree, *self.data], scratch=scratch,
                             env=self.env, memory_limit=self.memory_limit, chdir=self.tree,
                             box=False)

    def environment(self, scratch: Path) -> dict[str, str]:
        return sandbox.run_environment(self.env, scratch)


def box_for(tree: Path, memory_limit: int | None, data: Sequence[Path] = ()) -> _Supervised:
    """How a graded run of ``tree``'s tests is supervised: a clean environment (one thread
    per run; ``data`` as MNIST_DIR), its scratch as HOME, caps on all its processes
    together; the code under test is boxed by the tests' process (``kata.harness.remote``).
    A run forked from the warm grader (``warm_grader``) gets the same environment."""
    return _Supervised(tree, memory_limit, data)


def warm_grader(folder: Path, checkout: Path) -> worker.Home:
    """The warm grader: a copy of ``checkout``'s harness and settings in the empty folder
    ``folder``, and the clean environment in which a worker (``kata.runs.worker``) imports
    it, with torch, pytest and hypothesis, once for the whole grading. The tests' side of
    every graded kata is then a fork of it instead of a new interpreter. It never runs a
    learner's code (the tests' side never does: ``kata.harness.remote``), and each fork is
    a copy of it as it was before any run, so nothing of one learner's run reaches another's;
    the learner's side still starts in a fresh box of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in SETTINGS:
        shutil.copy2(checkout / name, folder / name)
    shutil.copytree(checkout / HARNESS, folder / HARNESS,
                    ignore=shutil.ignore_patterns(*NOT_COPIED))
    # where the worker's private directory is (kata.runs.worker) must be where this process
    # looks for it: the folders it is made under come from here
    where = {key: os.environ[key] for key in ("XDG_RUNTIME_DIR", "TMPDIR") if key in os.environ}
    environment = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
                   "HOME": str(folder), "PYTHONPATH": python_path(folder / HARNESS.parent),
                   "PYTHONDONTWRITEBYTECODE": "1", "KATA_WORKER_IDLE": str(_GRADER_IDLE),
                   **_THREADS, **where}
    return worker.Home(folder, environment)


#: seconds the warm grader waits for a run before it ends by itself (grading stops it at
#: its end; this bounds a grader whose grading was killed)
_GRADER_IDLE = 120


def _mnist_folder(katas: Sequence[Kata]) -> list[Path]:
    """The MNIST files' folder, for the final exam (it reads them; the box has no network).
    Without ``MNIST_DIR``, the files are fetched into the per-user cache first, here, where
    the network is (a fresh Classroom runner has none yet); where that fails, the exam says
    it needs MNIST."""
    if not any(kata.number == 8 for kata in katas):
        return []
    from kata import mnist_data  # imports torch: only kata 08 needs it
    if not os.environ.get("MNIST_DIR"):
        with contextlib.suppress(mnist_data.MnistUnavailableError):
            mnist_data.fetch_all()
    folder = Path(os.environ.get("MNIST_DIR") or mnist_data.cache_dir())
    return [folder.resolve()] if folder.is_dir() else []


def allowlist_flags(tree: Path, kata: Kata) -> list[str]:
    """What the learner's module of ``kata`` in ``tree`` names beyond the allow-list
    (``kata.harness.allowlist``): each finding's line and why. A module with any is refused,
    its tests fail saying so; the flags say where to look."""
    module = kata.path_in(tree / "katas")
    if not module.is_file():
        return []
    source = module.read_text(encoding="utf-8", errors="replace")
    return [str(finding) for finding in check(source, kata)]


def draw_seed() -> int:
    """A fresh seed for a grading run's examples (what ``kata grade --seed`` gives again)."""
    return secrets.randbelow(1 << 32)


def _timed(kata: Kata, tree: Path, **options: Any) -> tuple[KataProgress, float]:
    """``kata_progress``, and the wall time it took."""
    started = time.monotonic()
    progress = kata_progress(kata, tree, **options)
    return progress, time.monotonic() - started


@dataclass
class _Target:
    """What grading one target holds while its katas run."""

    #: per kata folder: its running job, or the progress of a kata that could not run
    jobs: dict[str, Future | KataProgress]
    flags: Callable[[Kata], list[str]]
    ignored: tuple[IgnoredFile, ...]

    def grade(self, target: str, katas: Sequence[Kata], finished: set[Future] | None = None
              ) -> LearnerGrade:
        """The target's grade from its jobs; only those in ``finished`` count (None: all)."""
        entries = []
        for kata in katas:
            job = self.jobs[kata.folder]
            if isinstance(job, KataProgress):
                entries.append((job, 0.0))
            elif finished is None or job in finished:
                entries.append(job.result())
            else:
                entries.append((KataProgress(kata, KataState.STOPPED,
                                             reason="not graded: grading was interrupted"), 0.0))
        return learner_grade(target, [kata_grade(entry, self.flags(entry.kata), seconds)
                                      for entry, seconds in entries], self.ignored)


def grade_targets(targets: Sequence[str], checkout: Path, katas: Sequence[Kata], *, workers: int,
                  memory_limit: int | None = None, extra_args: Sequence[str] = (),
                  boxed: bool = True, checked: bool = True, seed: int | None = None,
                  warm: bool = True, **limits: Any) -> Gradebook:
    """Grade each target's ``katas`` with ``checkout``'s tests (hidden ones included), each
    kata in its own box, under the ``grading`` hypothesis profile with examples drawn from
    ``seed`` (None: a fresh one, ``draw_seed``); one grade per target, in the ``Gradebook``
    with the seed. ``kata.runs.sandbox.BoxUnavailableError``, before anything runs, where no
    box can be built, unless ``boxed`` is False (the instructor's explicit choice: learner
    code then runs under the supervisor alone). With ``checked`` False, learner modules run
    even where they name what kata code may not (to test what the box holds). The tests'
    side of each run is a fork of the warm grader (``warm_grader``; a new supervised process
    with ``warm=False``, unboxed, or where no worker can run). On Ctrl-C every box is stopped and
    ``GradingInterruptedError`` carries what was graded so far."""
    if boxed:
        sandbox.require_box()
    seed = draw_seed() if seed is None else seed
    mode = [*GRADED_MODE, *(() if boxed else UNBOXED_MODE), *(() if checked else UNCHECKED_MODE),
            f"--hypothesis-profile={GRADING_PROFILE}", f"--hypothesis-seed={seed}"]
    pool = ThreadPoolExecutor(max_workers=workers)
    graded: dict[str, _Target] = {}
    problems: dict[str, str] = {}

    def book(finished: set[Future] | None = None) -> Gradebook:
        return Gradebook(tuple(
            graded[target].grade(target, katas, finished) if target in graded
            else not_graded(target, problems.get(target, "not graded: grading was interrupted"))
            for target in targets), tuple(katas), seed, boxed)

    with tempfile.TemporaryDirectory(prefix="kata-grade-") as scratch:
        # Unboxed, no PID namespace ends what the learner's code leaves: only a supervisor that
        # is the run's subreaper can, so each run then starts under its own, never forked.
        grader = warm_grader(Path(scratch, "grader"), checkout) if warm and boxed else None
        try:
            data = _mnist_folder(katas)
            for number, target in enumerate(targets):
                try:
                    read = module_reader(target, checkout)
                    ignored = ignored_files(target, checkout, katas)
                except TargetError as problem:
                    problems[target] = str(problem)
                    continue
                tree = Path(scratch) / f"target-{number}"
                tree.mkdir()
                refused = grading_tree(tree, checkout, read, katas)
                box = box_for(tree, memory_limit, data)
                graded[target] = _Target(
                    {kata.folder: KataProgress(kata, KataState.BROKEN, reason=refused[kata.folder])
                     if kata.folder in refused else
                     pool.submit(_timed, kata, tree, box=box, warm=grader or False,
                                 memory_limit=memory_limit, extra_args=[*extra_args, *mode],
                                 **limits)
                     for kata in katas}, functools.partial(allowlist_flags, tree), ignored)
            wait([job for entry in graded.values() for job in entry.jobs.values()
                  if isinstance(job, Future)])
            done = book()
        except KeyboardInterrupt:
            finished = {job for entry in graded.values() for job in entry.jobs.values()
                        if isinstance(job, Future) and job.done() and not job.cancelled()}
            pool.shutdown(wait=False, cancel_futures=True)
            stop_boxes()
            if grader is not None:  # its runs end, each with its box: they are its children
                worker.stop(grader.folder)
            pool.shutdown(wait=True)
            raise GradingInterruptedError(book(finished)) from None
        finally:
            if grader is not None:
                worker.stop(grader.folder)
        pool.shutdown()
        return done


def stop_boxes() -> None:
    """Ask every box this process started to stop (each one's supervisor then kills all of
    its processes and exits)."""
    for pid in descendants(os.getpid()):
        if parent_of(pid) == os.getpid():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)


def exit_code(grades: Sequence[LearnerGrade]) -> int:
    """0 when every target passed, 2 when a target could not be read, 1 otherwise."""
    if any(grade.status == "error" and not grade.katas for grade in grades):
        return NOT_GRADED
    return ALL_PASS if all(grade.status == "pass" for grade in grades) else SOME_FAIL
