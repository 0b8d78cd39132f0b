"""Where a learner stands: each kata's state, from one run of its tests in its own process.

A kata is *done* when every test passes, *not started* while every test still raises
``NotImplementedError``, *broken* when its module (or one it uses) does not import, *stopped*
when its run timed out or died, *needs MNIST* when its tests could not get the data set, and
*failing* otherwise. On the board, a kata is *to re-check* when an earlier kata it uses has
changed since its last run (the board does not rerun it: the final exam trains for a
minute; the learner's next ``kata run`` does).

The learner's own commands run katas in forks of the warm worker (kata.runs.worker) and keep each
verdict under a key of everything it depends on (kata.runs.verdicts): the board reruns only
the katas whose files changed, and none at all when nothing did.

A save (``kata run``, ``kata watch``) is checked in two steps (``learner_progress``): the
quick check runs every test on its first 5 examples (hypothesis's ``quick`` profile); a
failure it finds is the verdict. Once it passes, the full check runs the property tests on
all 20 examples of the ``learner`` profile (started beside the quick check, and stopped
when that one fails), so a kata is *done* only when every test has passed every example.

>>> from kata.core.layout import REPO_ROOT
>>> from kata.core.manifest import load_manifest
>>> progress = kata_progress(load_manifest().kata("01"), REPO_ROOT)  # doctest: +SKIP
>>> progress.state.value, progress.counts                            # doctest: +SKIP
('not started', '0/14 tests pass')
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kata.core.manifest import Kata
from kata.core.records import FailureKind, KataState, TestRecord
from kata.runs import worker
from kata.runs.limits import MEMORY_LIMIT, TIME_LIMIT
from kata.runs.runner import Box, Run, RunStoppedError, run_katas
from kata.runs.threads import PARALLEL_RUNS
from kata.runs.verdicts import Verdicts, kata_key, upstream_digests

#: what a learner does when MNIST cannot be had (kata.mnist_data raises MnistUnavailableError)
GET_MNIST = ("set MNIST_DIR to a folder that holds the four MNIST files, or allow the "
             "one-time download (network) into the per-user cache")
#: a save's quick check: every test on its first examples (the plugin's ``quick`` profile)
QUICK_CHECK = ("--hypothesis-profile=quick",)
#: what the property tests carry (hypothesis's pytest plugin marks them): the full check runs
#: only these, since a test without examples runs the same in both checks
PROPERTY_TESTS = "hypothesis"
#: how much lower the full check's priority is while the quick check runs beside it
WAITING = 5


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
                  box: Box | None = None, warm: bool | worker.Home = False,
                  cancelled: threading.Event | None = None, nice: int = 0) -> KataProgress:
    """Run ``kata``'s tests from ``checkout`` (against its ``katas/`` or the tree ``impl``)
    in a new process, within the limits (in ``box``, or forked from the warm worker with
    ``warm``, ended once ``cancelled`` is set, at a lower priority with ``nice``: see
    ``run_katas``), and say where it stands."""
    try:
        run = run_katas([kata.folder], impl=impl, checkout=checkout, timeout=time_limit,
                        memory_limit=memory_limit, extra_args=extra_args, environment=environment,
                        box=box, warm=warm, cancelled=cancelled, nice=nice)
    except RunStoppedError as stopped:
        return KataProgress(kata, KataState.STOPPED, reason=str(stopped), output=stopped.output)
    return classify(kata, run)


def learner_progress(kata: Kata, checkout: Path, *,
                     quick_pass: Callable[[KataProgress], None] | None = None,
                     **options) -> KataProgress:
    """``kata_progress`` for the learner's own commands (run, watch): in forks of the warm
    worker, checked in two steps (the module's docstring), and remembered for the board.
    ``quick_pass`` hears the quick check's progress when it passes, before the full check's
    verdict is in. Where the worker is up, the full check starts beside the quick one (the
    free cores shared between them, the quick one first in line for them) and is stopped
    when the quick one fails; elsewhere it starts once the quick one has passed."""
    key = kata_key(kata, checkout, options=_key_options(options))
    upstream = upstream_digests(kata, checkout)
    extra_args = list(options.pop("extra_args", ()))
    full_args = _only_property_tests(extra_args)
    stop, full = threading.Event(), None
    together = worker.is_up(checkout)
    environment = {PARALLEL_RUNS: "2"} if together else None
    with ThreadPoolExecutor(max_workers=1) as pool:
        if together:
            full = pool.submit(kata_progress, kata, checkout, warm=True, extra_args=full_args,
                               environment=environment, cancelled=stop, nice=WAITING, **options)
        quick = kata_progress(kata, checkout, warm=True, extra_args=[*extra_args, *QUICK_CHECK],
                              environment=environment, **options)
        if quick.state is not KataState.DONE:
            stop.set()
            progress = quick
        else:
            if quick_pass is not None:
                quick_pass(quick)
            if full is None:
                full = pool.submit(kata_progress, kata, checkout, warm=True,
                                   extra_args=full_args, **options)
            progress = _after_full_check(kata, quick, full)
    _remember(progress, checkout, key, upstream)
    return progress


def _only_property_tests(extra_args: Sequence[str]) -> list[str]:
    """``extra_args`` narrowed to the property tests: their ``-m`` expression (the last one,
    as pytest reads them) and-ed with the property tests' marker."""
    args, chosen = list(extra_args), None
    for place in range(len(args) - 1):
        if args[place] == "-m":
            chosen = place
    if chosen is None:
        return [*args, "-m", PROPERTY_TESTS]
    args[chosen + 1] = f"({args[chosen + 1]}) and {PROPERTY_TESTS}"
    return args


def _after_full_check(kata: Kata, quick: KataProgress, full: Future) -> KataProgress:
    """The verdict once the full check is in: its property tests' results in place of the
    quick check's, the other tests' from the quick check (they ran the same there)."""
    checked = full.result()
    if not checked.tests and checked.state is not KataState.STOPPED:
        return quick  # no property test among those chosen: the quick check ran them all
    if checked.state in (KataState.STOPPED, KataState.NEEDS_MNIST):
        return checked
    again = {test.nodeid: test for test in checked.tests}
    tests = tuple(again.get(test.nodeid, test) for test in quick.tests)
    return classify(kata, Run(0, tests, f"{quick.output}\n{checked.output}"))


def board_progress(katas: Sequence[Kata], checkout: Path, *, workers: int, **options
                   ) -> list[KataProgress]:
    """Every kata's progress for the board: the remembered verdict where none of the files
    it depends on changed since, a run (``workers`` at a time, warm) for the others. A kata
    whose own files are as they were, but an earlier kata it uses changed, is not rerun: it
    is *to re-check*, naming what changed (unless it was not started: that runs again)."""
    keys = {kata.folder: kata_key(kata, checkout, options=_key_options(options)) for kata in katas}
    upstream = {kata.folder: upstream_digests(kata, checkout) for kata in katas}
    verdicts = Verdicts(Path(checkout) / ".kata")
    restored = {kata.folder: _restored(kata, verdicts.get(kata.folder, keys[kata.folder]),
                                       upstream[kata.folder])
                for kata in katas}
    stale = [kata for kata in katas if restored[kata.folder] is None]
    fresh = all_progress(stale, checkout, workers=workers, warm=True, **options) if stale else []
    known = {folder: progress for folder, progress in restored.items() if progress is not None}
    for progress in fresh:
        _remember(progress, checkout, keys[progress.kata.folder], upstream[progress.kata.folder])
        known[progress.kata.folder] = progress
    return [known[kata.folder] for kata in katas]


def _key_options(options: dict) -> dict:
    """What besides the files can change a verdict: the run's options, where MNIST is."""
    return {**options, "MNIST_DIR": os.environ.get("MNIST_DIR")}


def _remember(progress: KataProgress, checkout: Path, key: str, upstream: dict[str, str]
              ) -> None:
    """Keep a verdict that the files decide, with the digests of the katas it used; a
    stopped run (a busy machine?) or missing MNIST may change without them, so those run
    again next time."""
    if progress.state in (KataState.STOPPED, KataState.NEEDS_MNIST):
        return
    Verdicts(Path(checkout) / ".kata").put(progress.kata.folder, key, {
        "state": progress.state.value, "reason": progress.reason, "output": progress.output,
        "tests": [test.to_dict() for test in progress.tests], "upstream": upstream})


def _restored(kata: Kata, verdict: dict | None, upstream: dict[str, str]) -> KataProgress | None:
    """The kept verdict as progress, *to re-check* where a kata it used has changed since;
    None where there is none to show (run it)."""
    if verdict is None:
        return None
    try:
        progress = KataProgress(kata, KataState(verdict["state"]),
                                tuple(TestRecord.from_dict(test) for test in verdict["tests"]),
                                verdict["reason"], verdict["output"])
        changed = [folder for folder, digest in upstream.items()
                   if verdict["upstream"].get(folder) != digest]
    except (KeyError, TypeError, ValueError, AttributeError):  # kept by an older harness
        return None
    if not changed:
        return progress
    if progress.state is KataState.NOT_STARTED:  # its own functions are stubs: quick to rerun
        return None
    return dataclasses.replace(
        progress, state=KataState.OUTDATED,
        reason=f"{', '.join(changed)} changed since its last run: run {kata.folder[:2]} again "
               f"to check it")


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
