"""Where a learner stands: each kata's state, from one run of its tests in its own process.

A kata is *done* when every test passes, *not started* while every test still raises
``NotImplementedError``, *broken* when its module (or one it uses) does not import, *stopped*
when its run timed out or died, *needs MNIST* when its tests could not get the data set, and
*failing* otherwise.

The learner's own commands run katas in forks of the warm worker (kata.worker) and keep each
verdict under a key of everything it depends on (kata.verdict_cache): the board reruns only
the katas whose files changed, and none at all when nothing did.

>>> from kata.manifest import load_manifest, REPO_ROOT
>>> progress = kata_progress(load_manifest().kata("01"), REPO_ROOT)  # doctest: +SKIP
>>> progress.state, progress.counts                                  # doctest: +SKIP
('not started', '0/14 tests pass')
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kata.manifest import Kata
from kata.runner import Outcome, Run, RunStopped, run_katas
from kata.threads import PARALLEL_RUNS
from kata.verdict_cache import Verdicts, kata_key

DONE, FAILING, NOT_STARTED, BROKEN, STOPPED = "done", "failing", "not started", "broken", "stopped"
NEEDS_MNIST = "needs MNIST"
#: what a learner does when MNIST cannot be had (kata.mnist_data raises MnistUnavailable)
GET_MNIST = ("set MNIST_DIR to a folder that holds the four MNIST files, or allow the "
             "one-time download (network) into the per-user cache")
#: Seconds a kata's run may take; the final exam, which trains two models, is the slowest.
TIME_LIMIT = 120
#: Bytes of data a kata's run may hold (MNIST and both models need well under 1 GiB).
MEMORY_LIMIT = 4 << 30
_NOT_IMPORTED = ("KataImportError", "CollectionError")


@dataclass(frozen=True)
class KataProgress:
    """One kata's state, with what a learner needs to act on it."""

    kata: Kata
    state: str
    tests: tuple[Outcome, ...] = ()
    #: why the kata is broken or stopped, in one line
    reason: str | None = None
    #: everything pytest printed (``kata -v``)
    output: str = ""

    @property
    def counted(self) -> list[Outcome]:
        """The tests that count: all but gpu tests skipped for want of a GPU."""
        return [test for test in self.tests if not test.skipped_without_gpu]

    @property
    def passed(self) -> int:
        return sum(test.outcome == "passed" for test in self.counted)

    @property
    def counts(self) -> str:
        return f"{self.passed}/{len(self.counted)} tests pass" if self.counted else ""

    @property
    def first_failure(self) -> Outcome | None:
        return next((test for test in self.counted if test.outcome != "passed"), None)


def classify(kata: Kata, run: Run) -> KataProgress:
    """The state of ``kata`` from a run that included its tests."""
    prefix = f"katas/{kata.folder}/"
    tests = tuple(test for test in run.tests if test.kata == kata.folder
                  or (test.kata is None and test.nodeid.startswith(prefix)))
    counted = [test for test in tests if not test.skipped_without_gpu]
    not_imported = next((test for test in counted if test.exception in _NOT_IMPORTED), None)
    if not counted:
        return KataProgress(kata, BROKEN, tests, "no test ran", run.output)
    if not_imported is not None:
        return KataProgress(kata, BROKEN, tests, (not_imported.message or "").strip().splitlines()[0],
                            run.output)
    if any(test.exception == "MnistUnavailable" for test in counted):
        return KataProgress(kata, NEEDS_MNIST, tests, GET_MNIST, run.output)
    if all(test.outcome == "passed" for test in counted):
        return KataProgress(kata, DONE, tests, output=run.output)
    if all(test.exception == "NotImplementedError" for test in counted):
        return KataProgress(kata, NOT_STARTED, tests, output=run.output)
    return KataProgress(kata, FAILING, tests, output=run.output)


def kata_progress(kata: Kata, root: Path, *, impl: Path | None = None,
                  time_limit: float = TIME_LIMIT, memory_limit: int | None = MEMORY_LIMIT,
                  extra_args: Sequence[str] = (), environment: dict[str, str] | None = None,
                  box=None, warm: bool = False) -> KataProgress:
    """Run ``kata``'s tests from the checkout at ``root`` (against ``root/katas`` or ``impl``)
    in a new process, within the limits (in ``box``, or forked from the warm worker with
    ``warm``: see ``run_katas``), and say where it stands."""
    try:
        run = run_katas([kata.folder], impl=impl, root=root, timeout=time_limit,
                        memory_limit=memory_limit, extra_args=extra_args, environment=environment,
                        box=box, warm=warm)
    except RunStopped as stopped:
        return KataProgress(kata, STOPPED, reason=str(stopped), output=stopped.output)
    return classify(kata, run)


def learner_progress(kata: Kata, root: Path, **options) -> KataProgress:
    """``kata_progress`` for the learner's own commands (run, watch): in a fork of the warm
    worker, and remembered for the board."""
    key = kata_key(kata, root, options=_key_options(options))
    progress = kata_progress(kata, root, warm=True, **options)
    _remember(progress, root, key)
    return progress


def board_progress(katas: Sequence[Kata], root: Path, *, workers: int, **options
                   ) -> list[KataProgress]:
    """Every kata's progress for the board: the remembered verdict where none of the files
    it depends on changed since, a run (``workers`` at a time, warm) for the others."""
    keys = {kata.folder: kata_key(kata, root, options=_key_options(options)) for kata in katas}
    verdicts = Verdicts(Path(root) / ".kata")
    known = {kata.folder: _restored(kata, verdicts.get(kata.folder, keys[kata.folder]))
             for kata in katas}
    stale = [kata for kata in katas if known[kata.folder] is None]
    fresh = all_progress(stale, root, workers=workers, warm=True, **options) if stale else []
    for progress in fresh:
        _remember(progress, root, keys[progress.kata.folder])
        known[progress.kata.folder] = progress
    return [known[kata.folder] for kata in katas]


def _key_options(options: dict) -> dict:
    """What besides the files can change a verdict: the run's options, where MNIST is."""
    return {**options, "MNIST_DIR": os.environ.get("MNIST_DIR")}


def _remember(progress: KataProgress, root: Path, key: str) -> None:
    """Keep a verdict that the files decide; a stopped run (a busy machine?) or missing
    MNIST may change without them, so those run again next time."""
    if progress.state in (STOPPED, NEEDS_MNIST):
        return
    Verdicts(Path(root) / ".kata").put(progress.kata.folder, key, {
        "state": progress.state, "reason": progress.reason, "output": progress.output,
        "tests": [dataclasses.asdict(test) for test in progress.tests]})


def _restored(kata: Kata, verdict: dict | None) -> KataProgress | None:
    if verdict is None:
        return None
    tests = tuple(Outcome(**{**test, "functions": tuple(test["functions"])})
                  for test in verdict["tests"])
    return KataProgress(kata, verdict["state"], tests, verdict["reason"], verdict["output"])


def all_progress(katas: Sequence[Kata], root: Path, *, workers: int, **options) -> list[KataProgress]:
    """``kata_progress`` of every kata, ``workers`` processes at a time, in the given order.
    A kata's time limit counts from the start of its own process."""
    # the plugin shares the free cores among the runs that go at once (kata.threads)
    environment = {PARALLEL_RUNS: str(min(workers, len(katas)))}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(kata_progress, kata, root, environment=environment, **options)
                   for kata in katas]
        return [future.result() for future in futures]
