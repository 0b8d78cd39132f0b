"""Where a learner stands: each kata's state, from one run of its tests in its own process.

A kata is *done* when every test passes, *not started* while every test still raises
``NotImplementedError``, *broken* when its module (or one it uses) does not import, *stopped*
when its run timed out or died, and *failing* otherwise.

>>> from kata.manifest import load_manifest, REPO_ROOT
>>> progress = kata_progress(load_manifest().kata("01"), REPO_ROOT)  # doctest: +SKIP
>>> progress.state, progress.counts                                  # doctest: +SKIP
('not started', '0/14 tests pass')
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kata.manifest import Kata
from kata.runner import Outcome, Run, RunStopped, run_katas

DONE, FAILING, NOT_STARTED, BROKEN, STOPPED = "done", "failing", "not started", "broken", "stopped"
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
    if all(test.outcome == "passed" for test in counted):
        return KataProgress(kata, DONE, tests, output=run.output)
    if all(test.exception == "NotImplementedError" for test in counted):
        return KataProgress(kata, NOT_STARTED, tests, output=run.output)
    return KataProgress(kata, FAILING, tests, output=run.output)


def kata_progress(kata: Kata, root: Path, *, impl: Path | None = None,
                  time_limit: float = TIME_LIMIT, memory_limit: int | None = MEMORY_LIMIT,
                  extra_args: Sequence[str] = (), environment: dict[str, str] | None = None
                  ) -> KataProgress:
    """Run ``kata``'s tests from the checkout at ``root`` (against ``root/katas`` or ``impl``)
    in a new process, within the limits, and say where it stands."""
    try:
        run = run_katas([kata.folder], impl=impl, root=root, timeout=time_limit,
                        memory_limit=memory_limit, extra_args=extra_args, environment=environment)
    except RunStopped as stopped:
        return KataProgress(kata, STOPPED, reason=str(stopped), output=stopped.output)
    return classify(kata, run)


def all_progress(katas: Sequence[Kata], root: Path, *, workers: int, **options) -> list[KataProgress]:
    """``kata_progress`` of every kata, ``workers`` processes at a time, in the given order.
    A kata's time limit counts from the start of its own process."""
    # one thread per process: the pool already keeps the cores busy (see kata.checks)
    environment = {"OMP_NUM_THREADS": "1"} if workers > 1 else None
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(kata_progress, kata, root, environment=environment, **options)
                   for kata in katas]
        return [future.result() for future in futures]
