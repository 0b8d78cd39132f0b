"""The learner's views (``kata.learner.views``) as the terminal shows them: plain text."""

from __future__ import annotations

import textwrap
from pathlib import Path

from kata.core.records import KataState
from kata.learner.views import BoardView, Hint, HintCount, HintView, RunView, SpecView
from kata.runs.progress import KataProgress

_BAR_WIDTH = 32
_MESSAGE_LINES = 14


def _indent(text: str, prefix: str = "    ", lines: int = _MESSAGE_LINES) -> str:
    shown = text.strip().splitlines()
    cut = shown[:lines] + ([f"... ({len(shown) - lines} more lines: kata run -v)"]
                           if len(shown) > lines else [])
    return "\n".join(prefix + line for line in cut)


def _detail(entry: KataProgress) -> str:
    return entry.counts if entry.state.ran else entry.reason or ""


def _hint_lines(hints: tuple[Hint, ...] | HintCount, indent: str = "") -> str:
    """The hint of each failing function, with how to see the next; or how many are shown."""
    if isinstance(hints, HintCount):
        return (f"{indent}hint   {hints.command}   ({hints.shown} of {hints.total} hints shown "
                f"so far, each function has its own)")
    lines = []
    for hint in hints:
        lines.append(indent + hint.text)
        if hint.next is not None:
            lines.append(f"{indent}  ({hint.next} shows the next)")
    return "\n".join(lines)


def board(view: BoardView) -> str:
    """The board: a progress bar, one line per kata, and what to do next."""
    total = len(view.progress)
    filled = round(_BAR_WIDTH * view.done / total)
    lines = [f"Tensor katas  [{'#' * filled}{'-' * (_BAR_WIDTH - filled)}]  "
             f"{view.done}/{total} done", ""]
    width = max(len(entry.kata.folder) for entry in view.progress)
    for entry in view.progress:
        lines.append(
            f"  {entry.kata.folder:<{width}}  {entry.state:<11}  {_detail(entry)}".rstrip())
    lines.append("")
    if view.current is None:
        lines.append("Every kata is done. Well played! `kata mnist` shows your model at work.")
        return "\n".join(lines)
    current = view.current.progress
    kata = current.kata
    lines += [f"Now: {kata.folder} ({kata.title})",
              f"  read   {Path('katas', kata.folder, 'README.md').as_posix()}",
              f"  run    kata run {kata.number:02d}   (or: pytest katas/{kata.folder})"]
    if current.state in (KataState.BROKEN, KataState.STOPPED, KataState.OUTDATED):
        lines.append(f"  {current.state}: {current.reason}")
    elif current.state is not KataState.NEEDS_MNIST and current.first_failure is not None:
        failure = current.first_failure  # the board line already says what MNIST needs
        lines += [f"  first failing test: {failure.name}",
                  _indent(failure.message or failure.outcome)]
    lines.append(_hint_lines(view.current.hints, indent="  "))
    return "\n".join(lines)


def run(view: RunView) -> str:
    """One kata's result (or one function's tests'): its state, each failing test in short
    form (the first few), the next hint command, or where to go next."""
    progress, kata = view.progress, view.progress.kata
    lines = [f"{view.title}: {progress.state}"
             + (f", {progress.counts}" if progress.counts else "")]
    if view.whole_kata is not None:
        lines.append(f"Every test of {view.function} passes. The whole kata: {view.whole_kata}")
        return "\n".join(lines)
    if progress.state is KataState.DONE:
        nxt = view.next_kata
        lines.append(f"Every test passes. Next: kata run {nxt.number:02d} ({nxt.folder})" if nxt
                     else "Every test passes, and that was the last kata.")
        return "\n".join(lines)
    if not progress.state.ran:
        lines.append(f"  {progress.reason}")
    for test in view.failures:
        lines += ["", f"  {test.name}", _indent(test.message or test.outcome)]
    if view.more_failures:
        lines += ["", f"  ... and {view.more_failures} more failing tests "
                      f"(pytest katas/{kata.folder} lists them all)"]
    lines += ["", _hint_lines(view.hints)]
    return "\n".join(lines)


def quick_check_passed(view: RunView) -> str:
    """What a save shows while its full check runs, once the quick check has passed."""
    return (f"{view.title}: {view.progress.counts} on their first examples (the quick "
            f"check); checking every example now...")


def spec(view: SpecView) -> str:
    """What a function must do: its signature and docstring, its rules, its hints so far."""
    kata = view.kata
    lines = [f"{kata.folder}: {view.name}   (katas/{kata.folder}/{kata.module}.py)", "",
             view.outline, ""]
    lines.append("Rules:" if view.rules else "Rules: none beyond the docstring.")
    lines += [textwrap.fill(f"{rule.name}: {rule.why}", width=96, initial_indent="  ",
                            subsequent_indent="    ") for rule in view.rules]
    lines += ["", f"Hints shown so far: {len(view.hints)} ({view.next_hint} shows the next)"]
    lines += [f"  {hint}" for hint in view.hints]
    return "\n".join(lines)


def hint(view: HintView) -> str:
    """Every hint shown so far, the new one marked, then the other functions' counts."""
    kata = view.kata
    parts = [f"{text}{'  (new)' if index >= len(view.hints) - view.new else ''}\n"
             for index, text in enumerate(view.hints)]
    if not view.new:
        parts.append(f"That was the last hint for {view.function}; the README "
                     f"(katas/{kata.folder}/README.md) walks through the idea again.")
    if view.others:
        listed = ", ".join(f"{name} ({shown} of {total} shown)"
                           for name, shown, total in view.others)
        parts.append(f"Hints for another function: kata hint {kata.number:02d} NAME, with NAME "
                     f"one of {listed}")
    return "\n".join(parts)
