"""Where a learner stands: each kata's state, from one run of its tests in its own process.

A kata is *done* when every test passes, *not started* while every test still raises
``NotImplementedError``, *broken* when its module (or one it uses) does not import, *stopped*
when its run timed out or died, *needs MNIST* when its tests could not get the data set, and
*failing* otherwise.

The learner's own commands run katas in forks of the warm worker (kata.runs.worker) and keep each
verdict under a key of everything it depends on (kata.runs.verdicts): the board reruns only
the katas whose files changed, and none at all when nothing did.

>>> from kata.core.layout import REPO_ROOT
>>> from kata.core.manifest import load_manifest
>>> progress = kata_progress(load_manifest().kata("01"), REPO_ROOT)  # doctest: +SKIP
>>> progress.state.value, progress.counts                            # doctest: +SKIP
('not started', '0/14 tests pass')
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kata.core.manifest import Kata
from kata.core.records import FailureKind, KataState, TestRecord
from kata.runs.limits import MEMORY_LIMIT, TIME_LIMIT
from kata.runs.runner import BoxCommand, Run, RunStoppedError, run_katas
from kata.runs.threads import PARALLEL_RUNS
from kata.runs.verdicts import Verdicts, kata_key

#: what a learner does when MNIST cannot be had (kata.mnist_data raises MnistUnavailableError)
GET_MNIST = ("set MNIST_DIR to a folder that holds the four MNIST files, or allow the "
             "one-time download (network) into the per-user cache")


@dataclass(frozen=True)
class KataProgress:
    """One kata's state, with what a learner needs to act on it."""

    kata: Kata
    state: KataState
    tests: tuple[TestRecord, ...] = ()
    #: why the kata is broken or stopped, in one line
    reason: str | None = None
    #: everything pytest printed (``kata -v``)
    output: str = ""

    @property
    def counted(self) -> list[TestRecord]:
        """The tests that count: all but gpu tests skipped for want of a GPU."""
        return [test for test in self.tests if not test.skipped_without_gpu]

    @property
    def passed(self) -> int:
        return sum(test.passed for test in self.counted)

    @property
    def counts(self) -> str:
        return f"{self.passed}/{len(self.counted)} tests pass" if self.counted else ""

    @property
    def first_failure(self) -> TestRecord | None:
        return next((test for test in self.counted if not test.passed), None)

    @property
    def failures(self) -> list[TestRecord]:
        """The tests that count and did not pass, in the order they ran."""
        return [test for test in self.counted if not test.passed]


def classify(kata: Kata, run: Run) -> KataProgress:
    """The state of ``kata`` from a run that included its tests."""
    prefix = f"katas/{kata.folder}/"
    tests = tuple(test for test in run.tests if test.kata == kata.folder
                  or (test.kata is None and test.nodeid.startswith(prefix)))
    counted = [test for test in tests if not test.skipped_without_gpu]
    not_imported = next((test for test in counted if test.kind in
                         (FailureKind.NOT_IMPORTED, FailureKind.NOT_COLLECTED,
                          FailureKind.REFUSED)), None)
    if not counted:
        return KataProgress(kata, KataState.BROKEN, tests, "no test ran", run.output)
    if not_imported is not None:
        reason = (not_imported.message or "").strip().splitlines()[0]
        return KataProgress(kata, KataState.BROKEN, tests, reason, run.output)
    if any(test.kind is FailureKind.MNIST_MISSING for test in counted):
        return KataProgress(kata, KataState.NEEDS_MNIST, tests, GET_MNIST, run.output)
    if all(test.passed for test in counted):
        return KataProgress(kata, KataState.DONE, tests, output=run.output)
    if all(test.kind is FailureKind.NOT_IMPLEMENTED for test in counted):
        return KataProgress(kata, KataState.NOT_STARTED, tests, output=run.output)
    return KataProgress(kata, KataState.FAILING, tests, output=run.output)


def kata_progress(kata: Kata, checkout: Path, *, impl: Path | None = None,
                  time_limit: float = TIME_LIMIT, memory_limit: int | None = MEMORY_LIMIT,
                  extra_args: Sequence[str] = (), environment: dict[str, str] | None = None,
                  box: BoxCommand | None = None, warm: bool = False) -> KataProgress:
    """Run ``kata``'s tests from ``checkout`` (against its ``katas/`` or the tree ``impl``)
    in a new process, within the limits (in ``box``, or forked from the warm worker with
    ``warm``: see ``run_katas``), and say where it stands."""
    try:
        run = run_katas([kata.folder], impl=impl, checkout=checkout, timeout=time_limit,
                        memory_limit=memory_limit, extra_args=extra_args, environment=environment,
                        box=box, warm=warm)
    except RunStoppedError as stopped:
        return KataProgress(kata, KataState.STOPPED, reason=str(stopped), output=stopped.output)
    return classify(kata, run)


def learner_progress(kata: Kata, checkout: Path, **options) -> KataProgress:
    """``kata_progress`` for the learner's own commands (run, watch): in a fork of the warm
    worker, and remembered for the board."""
    key = kata_key(kata, checkout, options=_key_options(options))
    progress = kata_progress(kata, checkout, warm=True, **options)
    _remember(progress, checkout, key)
    return progress


def board_progress(katas: Sequence[Kata], checkout: Path, *, workers: int, **options
                   ) -> list[KataProgress]:
    """Every kata's progress for the board: the remembered verdict where none of the files
    it depends on changed since, a run (``workers`` at a time, warm) for the others."""
    keys = {kata.folder: kata_key(kata, checkout, options=_key_options(options)) for kata in katas}
    verdicts = Verdicts(Path(checkout) / ".kata")
    restored = {kata.folder: _restored(kata, verdicts.get(kata.folder, keys[kata.folder]))
                for kata in katas}
    stale = [kata for kata in katas if restored[kata.folder] is None]
    fresh = all_progress(stale, checkout, workers=workers, warm=True, **options) if stale else []
    known = {folder: progress for folder, progress in restored.items() if progress is not None}
    for progress in fresh:
        _remember(progress, checkout, keys[progress.kata.folder])
        known[progress.kata.folder] = progress
    return [known[kata.folder] for kata in katas]


def _key_options(options: dict) -> dict:
    """What besides the files can change a verdict: the run's options, where MNIST is."""
    return {**options, "MNIST_DIR": os.environ.get("MNIST_DIR")}


def _remember(progress: KataProgress, checkout: Path, key: str) -> None:
    """Keep a verdict that the files decide; a stopped run (a busy machine?) or missing
    MNIST may change without them, so those run again next time."""
    if progress.state in (KataState.STOPPED, KataState.NEEDS_MNIST):
        return
    Verdicts(Path(checkout) / ".kata").put(progress.kata.folder, key, {
        "state": progress.state.value, "reason": progress.reason, "output": progress.output,
        "tests": [test.to_dict() for test in progress.tests]})


def _restored(kata: Kata, verdict: dict | None) -> KataProgress | None:
    if verdict is None:
        return None
    try:
        return KataProgress(kata, KataState(verdict["state"]),
                            tuple(TestRecord.from_dict(test) for test in verdict["tests"]),
                            verdict["reason"], verdict["output"])
    except (KeyError, TypeError, ValueError):  # kept by an older harness: run it again
        return None


def all_progress(katas: Sequence[Kata], checkout: Path, *, workers: int, **options
                 ) -> list[KataProgress]:
    """``kata_progress`` of every kata, ``workers`` processes at a time, in the given order.
    A kata's time limit counts from the start of its own process."""
    # the plugin shares the free cores among the runs that go at once (kata.runs.threads)
    environment = {PARALLEL_RUNS: str(min(workers, len(katas)))}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(kata_progress, kata, checkout, environment=environment, **options)
                   for kata in katas]
        return [future.result() for future in futures]
