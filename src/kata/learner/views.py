"""The learner's service layer: what the board, a run, a hint and a spec show, as typed
views that both front doors render (``kata.learner.terminal`` as text for the ``kata``
command, ``kata.learner.html`` for the notebook's ``%kata``). Neither parses the other's
text; a command a view suggests is a ``Command`` of words, which each front door writes
its own way (``kata hint 03`` in a terminal, ``%kata hint 03`` in a notebook).

Running goes through ``kata.runs.progress`` (the warm worker, the remembered verdicts).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from kata.core.errors import KataError
from kata.core.manifest import Kata, Rule, load_manifest
from kata.core.records import KataState, TestRecord
from kata.core.workspace import Workspace
from kata.runs.limits import MEMORY_LIMIT, TIME_LIMIT
from kata.runs.progress import KataProgress, board_progress, learner_progress

#: Failures a run shows in full (the first few: the rest are counted).
SHOWN_FAILURES = 3


class UsageError(KataError, ValueError):
    """A command that cannot be carried out; the message says what to type instead."""


@dataclass(frozen=True)
class Command:
    """A ``kata`` command that a view suggests, as its words (``("hint", "03", "matvec")``)."""

    words: tuple[str, ...]

    def __str__(self) -> str:
        return "kata " + " ".join(self.words)


@dataclass(frozen=True)
class RunOptions:
    """How learner runs go: each kata's limits, pytest's extra arguments, and how many
    katas run at once."""

    time_limit: float = TIME_LIMIT
    memory_limit: int | None = MEMORY_LIMIT
    extra_args: tuple[str, ...] = ()
    workers: int = 1

    def limits(self) -> dict:
        return {"time_limit": self.time_limit, "memory_limit": self.memory_limit,
                "extra_args": list(self.extra_args)}


@dataclass(frozen=True)
class Hint:
    """One function's hint at the level a failure shows (``kata hint`` has reached it)."""

    #: the manifest's words, with the hint's place: ``Hint 1 of 2 for matvec: ...``
    text: str
    #: the command that shows the next one (None: it is the last)
    next: Command | None


@dataclass(frozen=True)
class HintCount:
    """Where no failure names a function: how many of the kata's hints are shown so far."""

    command: Command
    shown: int
    total: int


@dataclass(frozen=True)
class RunView:
    """One kata's run (or one function's tests): its state, the failures to show first, how
    many more fail, and what to do next (hints, or the next kata)."""

    progress: KataProgress
    function: str | None
    failures: tuple[TestRecord, ...]
    more_failures: int
    hints: tuple[Hint, ...] | HintCount
    #: the whole kata's command, after one function's tests all pass
    whole_kata: Command | None
    #: where to go after a kata whose tests all pass (None: it was the last, or not done)
    next_kata: Kata | None

    @property
    def title(self) -> str:
        return f"{self.progress.kata.folder}{' ' + self.function if self.function else ''}"


@dataclass(frozen=True)
class BoardView:
    """Every kata's progress, and the current kata (the first not done) with what to read,
    what to run, its first failure and hint."""

    progress: tuple[KataProgress, ...]
    current: RunView | None

    @property
    def done(self) -> int:
        return sum(entry.state is KataState.DONE for entry in self.progress)


@dataclass(frozen=True)
class SpecView:
    """What one function or class must do: its signature and docstring (``outline``), its
    rules, and the hints shown so far."""

    kata: Kata
    name: str
    outline: str
    rules: tuple[Rule, ...]
    hints: tuple[str, ...]
    next_hint: Command


@dataclass(frozen=True)
class HintView:
    """The hints of one function shown so far, the new one marked, and the others' counts."""

    kata: Kata
    function: str
    hints: tuple[str, ...]
    new: int  # how many of ``hints``, at the end, were shown just now (0: none was left)
    others: tuple[tuple[str, int, int], ...]  # (function, shown, total) for the kata's others


def number(kata: Kata) -> str:
    return f"{kata.number:02d}"


def choose_kata(name: str) -> Kata:
    """The kata a learner named as ``3``, ``03`` or ``03_matmul``."""
    try:
        return load_manifest().kata(name)
    except KeyError as error:
        raise UsageError(error.args[0]) from None


def choose_function(kata: Kata, name: str) -> str:
    """The function or class ``name`` of ``kata``, checked against the manifest."""
    if name not in kata.functions:
        raise UsageError(f"{kata.folder} has no function or class {name!r}; its names are: "
                         f"{', '.join(kata.functions)}")
    return name


def _hints(progress: KataProgress, workspace: Workspace) -> tuple[Hint, ...] | HintCount:
    """The hint of each function whose test fails first, at the level ``kata hint`` has
    reached (or its hint for what the failure was about, where it has one); where no test
    fails, how many hints are shown so far."""
    kata, failure = progress.kata, progress.first_failure
    if failure is not None and failure.functions and progress.state.ran:
        manifest = load_manifest()
        cause = failure.detail.cause if failure.detail else None
        hints = []
        for function in (name for name in kata.hints if name in failure.functions):
            reached = workspace.reached(kata, function)
            hints.append(Hint(manifest.hint(kata, function, reached, cause),
                              Command(("hint", number(kata), function))
                              if reached < len(kata.hints[function]) else None))
        return tuple(hints)
    shown = sum(workspace.hints_shown(kata, function) for function in kata.hints)
    total = sum(len(hints) for hints in kata.hints.values())
    return HintCount(Command(("hint", number(kata), "[NAME]")), shown, total)


def run_view(progress: KataProgress, workspace: Workspace, function: str | None = None) -> RunView:
    """What a run of ``progress``'s kata (or of ``function``'s tests) shows."""
    kata = progress.kata
    failing = progress.failures if progress.state.ran else []
    # every test of an untouched stub fails with the same message: one says it
    shown = 1 if progress.state is KataState.NOT_STARTED else SHOWN_FAILURES
    katas = load_manifest().katas
    done = progress.state is KataState.DONE
    return RunView(progress, function, tuple(failing[:shown]), max(0, len(failing) - shown),
                   _hints(progress, workspace),
                   Command(("run", number(kata))) if done and function else None,
                   next((k for k in katas if k.number > kata.number), None)
                   if done and not function else None)


def board_view(progress: list[KataProgress], workspace: Workspace) -> BoardView:
    current = next((entry for entry in progress if entry.state is not KataState.DONE), None)
    return BoardView(tuple(progress), run_view(current, workspace) if current else None)


def board(workspace: Workspace, options: RunOptions) -> BoardView:
    """The board: every kata's progress (remembered where nothing it depends on changed)."""
    katas = load_manifest().katas
    return board_view(board_progress(katas, workspace.checkout, workers=options.workers,
                                     **options.limits()), workspace)


def known_progress(kata: Kata, workspace: Workspace, options: RunOptions) -> KataProgress:
    """``kata``'s progress: remembered when its files did not change since, else run."""
    return board_progress([kata], workspace.checkout, workers=1, **options.limits())[0]


def kata_or_current(name: str | None, workspace: Workspace, options: RunOptions) -> Kata:
    """The named kata; without a name, the first one that is not done (checked in order, so
    only as many katas run as it takes to find it)."""
    if name:
        return choose_kata(name)
    katas = load_manifest().katas
    for kata in katas:
        if known_progress(kata, workspace, options).state is not KataState.DONE:
            return kata
    return katas[-1]


def next_unfinished(kata: Kata, workspace: Workspace, options: RunOptions) -> Kata | None:
    """The first kata after ``kata`` that is not done, going round to the first kata after
    the last (None: every other kata is done). Katas are checked in that order, so only as
    many run as it takes to find it."""
    katas = list(load_manifest().katas)
    place = katas.index(kata)
    for other in katas[place + 1:] + katas[:place]:
        if known_progress(other, workspace, options).state is not KataState.DONE:
            return other
    return None


def run(kata: Kata, function: str | None, workspace: Workspace, options: RunOptions,
        quick_pass: Callable[[RunView], None] | None = None) -> RunView:
    """``kata``'s tests, or with ``function`` only that function's (pytest's marker of the
    same name), run as every learner's run is (``learner_progress``: warm, remembered, the
    quick check first). ``quick_pass`` sees the run once its quick check has passed, while
    every example is being checked."""
    selected = ("-m", choose_function(kata, function)) if function else ()
    options = dataclasses.replace(options, extra_args=(*options.extra_args, *selected))
    heard = None if quick_pass is None else \
        (lambda progress: quick_pass(run_view(progress, workspace, function)))
    progress = learner_progress(kata, workspace.checkout, quick_pass=heard, **options.limits())
    return run_view(progress, workspace, function)


def hinted_function(kata: Kata, name: str | None, workspace: Workspace) -> str:
    """The function a hint is wanted for: the one named, else the first of the kata (in its
    order) with hints not yet shown, else its last. Nothing runs to choose it."""
    if name is not None:
        if name not in kata.hints:
            raise UsageError(f"{kata.folder} has no function {name!r}; its functions are: "
                             f"{', '.join(kata.hints)}")
        return name
    return next((function for function, hints in kata.hints.items()
                 if workspace.hints_shown(kata, function) < len(hints)), list(kata.hints)[-1])


def hint(kata: Kata, name: str | None, workspace: Workspace) -> HintView:
    """Show one more hint of a function (``hinted_function``): every hint so far, the new
    one last."""
    function = hinted_function(kata, name, workspace)
    already = workspace.hints_shown(kata, function)
    shown = workspace.show_next_hint(kata, function)
    manifest = load_manifest()
    return HintView(kata, function,
                    tuple(manifest.hint(kata, function, n) for n in range(1, shown + 1)),
                    shown - already,
                    tuple((other, workspace.hints_shown(kata, other), len(hints))
                          for other, hints in kata.hints.items() if other != function))


def spec(kata: Kata, name: str, workspace: Workspace) -> SpecView:
    """What ``name`` must do: its signature and docstring as the untouched stub states them
    (a learner's edits to the docstring change nothing), the lesson's rules it must follow
    (from the manifest) and its hints shown so far."""
    from kata.core.stubs import untouched_stub
    from kata.learner.definitions import outline

    try:  # the instructor's words, whatever the learner's file says now
        source = untouched_stub(kata, workspace.checkout)
    except LookupError as missing:
        raise UsageError(missing.args[0]) from None
    manifest = load_manifest()
    return SpecView(kata, name, outline(source, name), manifest.rules_of(kata, name),
                    tuple(manifest.hint(kata, name, n)
                          for n in range(1, workspace.hints_shown(kata, name) + 1)),
                    Command(("hint", number(kata), name)))
