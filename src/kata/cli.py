"""The ``kata`` command: a learner's progress loop, and an instructor's check and grade.

    kata                      the board: every kata's state, and what to do next
    kata run [KATA [NAME]]    one kata's tests (the current kata by default), or only those
                              of one of its functions or classes, in short form
    kata spec KATA [NAME]     a function's signature, docstring, rules and the hints shown so far
    kata hint [KATA [NAME]]   the next hint for a function, one more each time
    kata watch [KATA]         rerun the kata whenever one of its files is saved
    kata stop                 end this checkout's warm worker now (it ends by itself when idle)
    kata reset KATA           put back the untouched stub (your file is backed up first)
    kata restore KATA         put back your newest backup (your file is backed up first)
    kata notebook [KATA]      write a starter Jupyter notebook for a kata
    kata mnist                train your logistic regression, show test digits and the loss
    kata curve                the loss curve of the last `kata mnist` run (text, or --png)
    kata check [KATA...]      instructors: prove the repository sound, as one table
    kata grade TARGET...      instructors: grade learners' branches or directories
    kata release DIR          instructors: write the repository a learner gets (no answers)
    kata verify               is every instructor file as released? (Classroom runs it)
    kata sandbox              can grading box learner code here? (Classroom runs it)
    kata bench [OPTIONS]      the benchmarks (python -m kata.bench --help lists the options)

KATA is a number (``3``, ``03``) or a folder name (``03_matmul``). Every kata runs in its own
process with a time limit, so code that loops forever, eats memory or ends the interpreter
is reported for its kata and never stops the command.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import textwrap
import threading
import time
from pathlib import Path

from kata.manifest import Kata, load_manifest
from kata.progress import (
    BROKEN,
    DONE,
    MEMORY_LIMIT,
    NOT_STARTED,
    NEEDS_MNIST,
    STOPPED,
    TIME_LIMIT,
    KataProgress,
    board_progress,
    learner_progress,
)
from kata.verdict_cache import used_katas
from kata.workspace import NotACheckout, Workspace, find_root

MANIFEST = load_manifest()
_BAR_WIDTH = 32
_SHOWN_FAILURES = 3
_MESSAGE_LINES = 14


class UsageProblem(Exception):
    """A command line that cannot be carried out; the message says what to type instead."""


def choose_kata(name: str) -> Kata:
    """The kata a learner named as ``3``, ``03`` or ``03_matmul``."""
    try:
        return MANIFEST.kata(name)
    except KeyError as error:
        raise UsageProblem(error.args[0]) from None


def current_kata(progress: list[KataProgress]) -> KataProgress | None:
    """The first kata, in manifest order, that is not done (None when all are)."""
    return next((entry for entry in progress if entry.state != DONE), None)


def _indent(text: str, prefix: str = "    ", lines: int = _MESSAGE_LINES) -> str:
    shown = text.strip().splitlines()
    cut = shown[:lines] + ([f"... ({len(shown) - lines} more lines: kata run -v)"]
                           if len(shown) > lines else [])
    return "\n".join(prefix + line for line in cut)


def _detail(entry: KataProgress) -> str:
    if entry.state in (BROKEN, STOPPED, NEEDS_MNIST):
        return entry.reason or ""
    return entry.counts


def render_board(progress: list[KataProgress], workspace: Workspace) -> str:
    """The board: one line per kata, a progress bar, and what to do next."""
    done = sum(entry.state == DONE for entry in progress)
    filled = round(_BAR_WIDTH * done / len(progress))
    lines = [f"Tensor katas  [{'#' * filled}{'-' * (_BAR_WIDTH - filled)}]  {done}/{len(progress)} done",
             ""]
    width = max(len(entry.kata.folder) for entry in progress)
    for entry in progress:
        lines.append(f"  {entry.kata.folder:<{width}}  {entry.state:<11}  {_detail(entry)}".rstrip())
    current = current_kata(progress)
    lines.append("")
    if current is None:
        lines.append("Every kata is done. Well played! `kata mnist` shows your model at work.")
        return "\n".join(lines)
    kata = current.kata
    lines += [f"Now: {kata.folder} ({kata.title})",
              f"  read   {Path('katas', kata.folder, 'README.md').as_posix()}",
              f"  run    kata run {kata.number:02d}   (or: pytest katas/{kata.folder})"]
    lines += _next_step(current)
    lines.append(_hint_line(current, workspace, indent="  "))
    return "\n".join(lines)


def _next_step(entry: KataProgress) -> list[str]:
    """What the learner should look at first: the failure, or why the kata did not run."""
    if entry.state in (BROKEN, STOPPED):
        return [f"  {entry.state}: {entry.reason}"]
    if entry.state == NEEDS_MNIST:
        return []  # the board line already says what to do
    failure = entry.first_failure
    if failure is None:
        return []
    return [f"  first failing test: {failure.name}", _indent(failure.message or failure.outcome)]


def _hint_line(entry: KataProgress, workspace: Workspace, indent: str = "") -> str:
    """The hint for the function whose test fails first, at the level ``kata hint`` has
    reached for it; where no test fails, the command and how many hints are shown."""
    kata, failure = entry.kata, entry.first_failure
    if failure is not None and failure.functions and entry.state not in (BROKEN, STOPPED, NEEDS_MNIST):
        functions = [function for function in kata.hints if function in failure.functions]
        return "\n".join(indent + line for line in workspace.reached_hints(kata, functions))
    shown = sum(workspace.hints_shown(kata, function) for function in kata.hints)
    total = sum(len(hints) for hints in kata.hints.values())
    return (f"{indent}hint   kata hint {kata.number:02d} [NAME]   ({shown} of {total} hints shown "
            f"so far, each function has its own)")


def render_run(entry: KataProgress, workspace: Workspace, function: str | None = None) -> str:
    """One kata's result (or, with ``function``, the result of that function's tests): its
    state, each failing test in short form (the first few), the next hint command."""
    kata = entry.kata
    lines = [f"{kata.folder}{' ' + function if function else ''}: {entry.state}"
             + (f", {entry.counts}" if entry.counts else "")]
    if entry.state == DONE and function:
        lines.append(f"Every test of {function} passes. The whole kata: kata run {kata.number:02d}")
        return "\n".join(lines)
    if entry.state == DONE:
        nxt = next((k for k in MANIFEST.katas if k.number > kata.number), None)
        lines.append(f"Every test passes. Next: kata run {nxt.number:02d} ({nxt.folder})" if nxt
                     else "Every test passes, and that was the last kata.")
        return "\n".join(lines)
    if entry.state in (BROKEN, STOPPED, NEEDS_MNIST):
        lines.append(f"  {entry.reason}")
    else:
        failing = [test for test in entry.counted if test.outcome != "passed"]
        shown = 1 if entry.state == NOT_STARTED else _SHOWN_FAILURES  # the same message each
        for test in failing[:shown]:
            lines += ["", f"  {test.name}", _indent(test.message or test.outcome)]
        if len(failing) > shown:
            lines += ["", f"  ... and {len(failing) - shown} more failing tests "
                          f"(pytest katas/{kata.folder} lists them all)"]
    lines += ["", _hint_line(entry, workspace)]
    return "\n".join(lines)


def _limits(args: argparse.Namespace) -> dict:
    return {"time_limit": args.time_limit,
            "memory_limit": int(args.memory_limit * (1 << 30)) if args.memory_limit else None,
            "extra_args": ["--tb=long"] if args.verbose else []}


def _full_output(entries: list[KataProgress]) -> str:
    return "\n".join(f"===== {entry.kata.folder} =====\n{entry.output}" for entry in entries)


def command_board(args, workspace: Workspace) -> int:
    progress = board_progress(MANIFEST.katas, workspace.root, workers=args.workers, **_limits(args))
    if args.verbose:
        print(_full_output([entry for entry in progress if entry.state != DONE]))
    print(render_board(progress, workspace))
    return 0


def _kata_or_current(name: str | None, args, workspace: Workspace) -> Kata:
    """The named kata; without a name, the first one that is not done (checked in order, so
    only as many katas run as it takes to find it)."""
    if name:
        return choose_kata(name)
    for kata in MANIFEST.katas:
        if _known_progress(kata, args, workspace).state != DONE:
            return kata
    return MANIFEST.katas[-1]


def choose_function(kata: Kata, name: str) -> str:
    """The function or class ``name`` of ``kata``, checked against the manifest."""
    if name not in kata.functions:
        raise UsageProblem(f"{kata.folder} has no function or class {name!r}; its names are: "
                           f"{', '.join(kata.functions)}")
    return name


def run_function(kata: Kata, function: str | None, workspace: Workspace, **limits) -> KataProgress:
    """``kata``'s tests, or with ``function`` only that function's (pytest's marker of the
    same name), run as every learner's run is (``learner_progress``)."""
    selected = ["-m", choose_function(kata, function)] if function else []
    limits["extra_args"] = [*limits.get("extra_args", ()), *selected]
    return learner_progress(kata, workspace.root, **limits)


def command_run(args, workspace: Workspace) -> int:
    kata = _kata_or_current(args.kata, args, workspace)
    entry = run_function(kata, args.function, workspace, **_limits(args))
    if args.verbose:
        print(entry.output)
    print(render_run(entry, workspace, function=args.function))
    return 0 if entry.state == DONE else 1


def _hinted_function(kata: Kata, name: str | None, workspace: Workspace) -> str:
    """The function a hint is wanted for: the one named, else the first of the kata (in its
    order) with hints not yet shown, else its last. Nothing runs to choose it."""
    if name is not None:
        if name not in kata.hints:
            raise UsageProblem(f"{kata.folder} has no function {name!r}; its functions are: "
                               f"{', '.join(kata.hints)}")
        return name
    return next((function for function, hints in kata.hints.items()
                 if workspace.hints_shown(kata, function) < len(hints)), list(kata.hints)[-1])


def command_hint(args, workspace: Workspace) -> int:
    kata = _kata_or_current(args.kata, args, workspace)
    function = _hinted_function(kata, args.function, workspace)
    already = workspace.hints_shown(kata, function)
    shown = workspace.show_next_hint(kata, function)
    for number in range(1, shown + 1):
        marker = "  (new)" if number > already else ""
        print(f"{MANIFEST.hint(kata, function, number)}{marker}\n")
    if already == shown:
        print(f"That was the last hint for {function}; the README "
              f"(katas/{kata.folder}/README.md) walks through the idea again.")
    others = [f"{name} ({workspace.hints_shown(kata, name)} of {len(hints)} shown)"
              for name, hints in kata.hints.items() if name != function]
    if others:
        print(f"Hints for another function: kata hint {kata.number:02d} NAME, with NAME one of "
              f"{', '.join(others)}")
    return 0


def command_reset(args, workspace: Workspace) -> int:
    from kata.stubs import (
        expected_stubs,  # reads the solutions: only this command needs them
    )

    kata = choose_kata(args.kata)
    path = workspace.module(kata)
    stub = expected_stubs(workspace.root)[path]
    shown = path.relative_to(workspace.root).as_posix()
    if path.exists() and path.read_text(encoding="utf-8") == stub:
        print(f"{shown} is already the untouched stub; nothing to do.")
        return 0
    return _replace_after_asking(args, workspace, path, stub.encode("utf-8"),
                                 f"Put the untouched stub back in {shown}?",
                                 f"{shown} is the untouched stub again.")


def _replace_after_asking(args, workspace: Workspace, path: Path, text: bytes, question: str,
                          done: str) -> int:
    """Put ``text`` in ``path`` once the learner says yes to ``question`` (``--yes``: without
    asking), keeping the file as it was in ``.kata/backups/`` first; the exit status."""
    if not args.yes:
        answer = _ask(f"{question} Your file is backed up first. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing changed.")
            return 1
    if path.exists():
        backup = workspace.back_up(path)
        print(f"Your file is kept in {backup.relative_to(workspace.root).as_posix()}")
    path.write_bytes(text)
    print(done)
    return 0


def command_restore(args, workspace: Workspace) -> int:
    kata = choose_kata(args.kata)
    path = workspace.module(kata)
    shown = path.relative_to(workspace.root).as_posix()
    backups = workspace.backups(path)
    if not backups:
        print(f"There is no backup of {shown} yet: `kata reset` and the notebook's %%kata "
              f"cells keep one before they change the file.")
        return 1
    newest = backups[-1]
    saved = newest.relative_to(workspace.root).as_posix()
    if path.exists() and path.read_bytes() == newest.read_bytes():
        print(f"{shown} is already the same as its newest backup, {saved}; nothing to do.")
        return 0
    return _replace_after_asking(args, workspace, path, newest.read_bytes(),
                                 f"Put your newest backup, {saved}, back in {shown}?",
                                 f"{shown} is {saved} again.")


def _hints_so_far(kata: Kata, workspace: Workspace, name: str) -> list[str]:
    """The hints for ``name`` that ``kata hint`` has shown, each with its place in the
    sequence."""
    return [MANIFEST.hint(kata, name, number)
            for number in range(1, workspace.hints_shown(kata, name) + 1)]


def render_spec(kata: Kata, name: str, workspace: Workspace) -> str:
    """What ``name`` must do: its signature and docstring, the lesson's rules it must follow
    (from the manifest) and its hints shown so far."""
    from kata.definitions import outline, source_defining

    try:
        source = source_defining(kata, workspace.root, name)
    except LookupError as missing:
        raise UsageProblem(missing.args[0]) from None
    lines = [f"{kata.folder}: {name}   (katas/{kata.folder}/{kata.module}.py)", "",
             outline(source, name), ""]
    rules = MANIFEST.rules_of(kata, name)
    lines.append("Rules:" if rules else "Rules: none beyond the docstring.")
    lines += [textwrap.fill(f"{rule.name}: {rule.why}", width=96, initial_indent="  ",
                            subsequent_indent="    ") for rule in rules]
    hints = _hints_so_far(kata, workspace, name)
    lines += ["", f"Hints shown so far: {len(hints)} (kata hint {kata.number:02d} {name} shows the next)"]
    lines += [f"  {hint}" for hint in hints]
    return "\n".join(lines)


def command_spec(args, workspace: Workspace) -> int:
    kata = choose_kata(args.kata)
    names = [choose_function(kata, args.function)] if args.function else list(kata.functions)
    print("\n\n".join(render_spec(kata, name, workspace) for name in names))
    return 0


def command_notebook(args, workspace: Workspace) -> int:
    from kata import notebook

    kata = _kata_or_current(args.kata, args, workspace)
    target = Path(args.output) if args.output else notebook.default_path(kata, workspace)
    if target.exists() and not args.force:
        print(f"{target} exists (your work?); --force overwrites it, --output FILE writes "
              f"elsewhere.")
        return 1
    notebook.write_notebook(kata, workspace, target)
    print(f"wrote {target}: open it in Jupyter (see the README's In Jupyter section); each "
          f"%%kata cell writes its function into katas/{kata.folder}/{kata.module}.py and "
          f"runs its tests.")
    return 0


def _ask(question: str) -> str:
    print(question, end="", flush=True)
    return sys.stdin.readline()


def _known_progress(kata: Kata, args, workspace: Workspace) -> KataProgress:
    """``kata``'s progress: remembered when its files did not change since, else run."""
    return board_progress([kata], workspace.root, workers=1, **_limits(args))[0]


def _watched_folders(kata: Kata, workspace: Workspace) -> list[Path]:
    """The folders whose saves should rerun ``kata``: its own and those of the katas it uses,
    directly or through one another (the files its verdict depends on)."""
    folders = [workspace.root / "katas" / entry.folder for entry in (kata, *used_katas(kata))]
    return [folder for folder in folders if folder.is_dir()]


def _snapshot(kata: Kata, workspace: Workspace) -> dict[Path, tuple[int, int]]:
    """The size and time of change of each Python file in the watched folders."""
    return {path: (path.stat().st_mtime_ns, path.stat().st_size)
            for folder in _watched_folders(kata, workspace) for path in sorted(folder.glob("*.py"))}


_SAVED = "<saved>"  # the event a save puts into the watch's queue, beside the keys


def _report_saves(kata: Kata, workspace: Workspace, events: queue.Queue, stop: threading.Event,
                  poll: float) -> None:
    """Put ``_SAVED`` into ``events`` whenever a Python file of ``kata`` is saved, until
    ``stop``: through the system's file notifications (watchfiles), or by looking at the
    files every ``poll`` seconds where those are not available."""
    try:
        import watchfiles

        for _ in watchfiles.watch(*_watched_folders(kata, workspace), stop_event=stop, step=20,
                                  watch_filter=lambda _, path: path.endswith(".py"),
                                  raise_interrupt=False):
            events.put(_SAVED)
        return
    except Exception:  # noqa: BLE001 - no notifications here (no inotify, no watches left...)
        pass
    seen = _snapshot(kata, workspace)
    while not stop.wait(poll):
        now = _snapshot(kata, workspace)
        if now != seen:
            seen = now
            events.put(_SAVED)


def _read_keys(keys: queue.Queue) -> None:
    for line in sys.stdin:
        keys.put(line.strip().lower())
    keys.put("q")  # end of input: nobody is left to press a key


def _next_unfinished(kata: Kata, args, workspace: Workspace) -> Kata | None:
    """The first kata after ``kata`` that is not done, going round to the first kata after
    the last (None: every other kata is done). Katas are checked in that order, so only as
    many run as it takes to find it."""
    place = MANIFEST.katas.index(kata)
    for other in MANIFEST.katas[place + 1:] + MANIFEST.katas[:place]:
        if _known_progress(other, args, workspace).state != DONE:
            return other
    return None


def command_watch(args, workspace: Workspace) -> int:
    kata = _kata_or_current(args.kata, args, workspace)
    events: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_keys, args=(events,), daemon=True).start()
    while True:
        stop = threading.Event()
        threading.Thread(target=_report_saves, args=(kata, workspace, events, stop, args.poll),
                         daemon=True).start()
        event = _watch_one(kata, args, workspace, events)
        stop.set()
        if event == "q":
            return 0
        kata = event


def _watch_one(kata: Kata, args, workspace: Workspace, events: queue.Queue):
    """Run ``kata`` on every save and Enter; "q" to quit, or the next kata to watch."""
    while True:
        while not events.empty() and events.queue[0] == _SAVED:
            events.get()  # saves before this run: it sees them
        before = _snapshot(kata, workspace)
        entry = learner_progress(kata, workspace.root, **_limits(args))
        print(f"\n--- {time.strftime('%H:%M:%S')} ---\n{render_run(entry, workspace)}")
        nxt = _next_unfinished(kata, args, workspace) if entry.state == DONE else None
        advance = f" n+Enter: next kata ({nxt.folder}, not done yet)," if nxt else ""
        print(f"\nWatching katas/{kata.folder}: save a file to rerun. Enter: rerun,{advance} "
              f"q+Enter: quit.", flush=True)
        if _snapshot(kata, workspace) != before:
            continue  # saved while it ran (or before the notifications started)
        event = events.get()
        while event == _SAVED and _snapshot(kata, workspace) == before:
            event = events.get()  # the tail of a save that this run already saw
        if event == "q":
            return "q"
        if event == "n" and nxt:
            return nxt


def command_stop(args, workspace: Workspace) -> int:
    from kata import worker

    if worker.stop(workspace.root):
        print("The warm worker of this checkout has stopped; the next run starts a new one.")
    else:
        print("No warm worker was running for this checkout.")
    return 0


def command_check(args, workspace: Workspace) -> int:
    from kata.checks import check_table  # imports torch: only this command needs it

    katas = [choose_kata(name) for name in args.katas] or list(MANIFEST.katas)
    table, sound = check_table(katas, workers=args.workers, profile=args.profile)
    print(table)
    return 0 if sound else 1


def command_grade(args, workspace: Workspace) -> int:
    from kata import grading, sandbox

    katas = [choose_kata(name) for name in args.only] or list(MANIFEST.katas)
    if args.workers < 1:
        raise UsageProblem(f"--workers {args.workers}: at least one worker is needed")
    if args.classroom and len(args.targets) != 1:
        raise UsageProblem("--classroom writes one learner's result: give one target (the "
                           "Classroom workflow grades `.`)")
    outputs = [Path(path) for path in (args.json, args.markdown, args.classroom) if path]
    for path in outputs:  # before any grading: an unwritable path must not waste it
        try:
            grading.check_writable(path)
        except OSError as problem:
            raise UsageProblem(f"cannot write the results to {path}: {problem}") from None
    try:
        results = grading.grade_targets(args.targets, workspace.root, katas,
                                        workers=args.workers, boxed=not args.unsandboxed,
                                        **_limits(args))
        code = grading.exit_code(results)
    except grading.GradingInterrupted as interrupted:
        results, code = interrupted.results, grading.INTERRUPTED
    except sandbox.BoxUnavailable as missing:
        raise UsageProblem(str(missing)) from None
    markdown = grading.markdown(results, boxed=not args.unsandboxed)
    if args.json:
        grading.write_atomically(Path(args.json),
                                 grading.json_document(results, boxed=not args.unsandboxed))
    if args.markdown:
        grading.write_atomically(Path(args.markdown), markdown)
    if args.classroom and code != grading.INTERRUPTED:
        grading.write_classroom_outputs(results[0], Path(args.classroom))
    print(markdown)
    if code == grading.INTERRUPTED:
        print("kata grade: interrupted; the results above are partial", file=sys.stderr)
    return code


def command_release(args, workspace: Workspace) -> int:
    from kata import release

    try:
        skipped = release.release(Path(args.directory), workspace.root)
    except FileExistsError as problem:
        raise UsageProblem(str(problem)) from None
    print(f"Wrote the learner's repository to {args.directory}: no solutions/, no catalog; "
          f"{release.SUMS} holds the sums of the instructor's files, which the Classroom "
          f"workflow checks before grading.")
    for name in skipped:
        print(f"  {name}: skipped there (it needs the reference solutions)")
    return 0


def command_verify(args, workspace: Workspace) -> int:
    from kata import release

    return release.main(["verify", str(workspace.root)])


def command_sandbox(args, workspace: Workspace) -> int:
    from kata import sandbox

    why_not = sandbox.availability()
    if why_not is None:
        print(f"Grading boxes learner code here (bubblewrap: {sandbox.bwrap()}).")
        return 0
    print(f"No box can be built here: {why_not}", file=sys.stderr)
    return 1


def command_mnist(args, workspace: Workspace) -> int:
    from kata import pictures

    return pictures.mnist_show(workspace, solutions=args.solutions, count=args.count,
                               device=args.device)


def command_curve(args, workspace: Workspace) -> int:
    from kata import pictures

    return pictures.show_last_curve(workspace, png=Path(args.png) if args.png else None)


def command_bench(args, workspace: Workspace) -> int:
    from kata import bench  # imports torch and MNIST: only this command needs them

    return bench.main(args.options)


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """The options every command takes. A command's copy leaves them unset unless given
    (``suppress``), so that ``kata -v run`` and ``kata run -v`` mean the same."""
    def default(value):
        return argparse.SUPPRESS if suppress else value
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=default(False),
                        help="also show pytest's full output, tracebacks and all")
    common.add_argument("--root", type=Path, default=default(None),
                        help="the checkout (default: found from here up)")
    common.add_argument("--time-limit", type=float, default=default(TIME_LIMIT), metavar="S",
                        help=f"seconds each kata's run may take (default {TIME_LIMIT})")
    common.add_argument("--memory-limit", type=float, default=default(MEMORY_LIMIT / (1 << 30)),
                        metavar="GIB", help=f"GiB of data each kata's run may hold (default "
                                            f"{MEMORY_LIMIT / (1 << 30):g}; 0: no limit)")
    common.add_argument("--workers", type=int, default=default(os.cpu_count() or 1),
                        help="katas run at once (default: one per core)")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(suppress=True)
    parser = argparse.ArgumentParser(
        prog="kata", parents=[_common_options(suppress=False)], formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1])
    parser.set_defaults(handler=command_board)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def add(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    run = add("run", command_run, "run one kata's tests, or one function's, in short form")
    run.add_argument("kata", nargs="?")
    run.add_argument("function", nargs="?", metavar="NAME",
                     help="only the tests of this function or class of the kata")
    hint = add("hint", command_hint, "show the next hint for one of a kata's functions")
    hint.add_argument("kata", nargs="?")
    hint.add_argument("function", nargs="?", metavar="NAME",
                      help="the function or class (default: the first with hints not yet shown)")
    spec = add("spec", command_spec, "what a kata's functions must do: signature, docstring, "
                                     "rules, and the hints shown so far")
    spec.add_argument("kata")
    spec.add_argument("function", nargs="?", metavar="NAME", help="only this function or class")
    watch = add("watch", command_watch, "rerun a kata whenever one of its files is saved")
    watch.add_argument("kata", nargs="?")
    watch.add_argument("--poll", type=float, default=0.5,
                       help="seconds between looks at the files, where the system gives no "
                            "notice of saves")
    add("stop", command_stop, "end this checkout's warm worker now (the worker that runs your "
                              "katas fast; it ends by itself after 10 idle minutes)")
    reset = add("reset", command_reset, "put back a kata's untouched stub (after a backup)")
    reset.add_argument("kata")
    reset.add_argument("-y", "--yes", action="store_true", help="do not ask first")
    restore = add("restore", command_restore, "put back your newest backup of a kata's file "
                                              "(after a backup of the file as it is)")
    restore.add_argument("kata")
    restore.add_argument("-y", "--yes", action="store_true", help="do not ask first")
    notebook = add("notebook", command_notebook, "write a starter Jupyter notebook for a kata "
                                                 "(the current one by default)")
    notebook.add_argument("kata", nargs="?")
    notebook.add_argument("--output", metavar="FILE",
                          help="where to write it (default: notebooks/NN_name.ipynb)")
    notebook.add_argument("--force", action="store_true", help="overwrite an existing notebook")
    mnist = add("mnist", command_mnist, "train your logistic regression on MNIST; show test "
                                        "digits with their predicted labels, and the loss curve")
    mnist.add_argument("--count", type=int, default=8, help="how many test digits to show")
    mnist.add_argument("--solutions", action="store_true", help="use the reference solutions")
    mnist.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    curve = add("curve", command_curve, "the loss curve of the last `kata mnist` run")
    curve.add_argument("--png", metavar="FILE", help="draw it into FILE (needs the plot extra)")
    check = add("check", command_check, "prove the repository sound (instructors, CI)")
    check.add_argument("katas", nargs="*", metavar="KATA", help="only these katas (default: all)")
    check.add_argument("--profile", default="ci", choices=["learner", "ci"],
                       help="hypothesis profile of the reference's run (default ci: 200 "
                            "examples a test; learner: 20, a quick look)")
    grade = add("grade", command_grade, "grade learners' git refs or directories")
    grade.epilog = ("exit codes: 0 every target passed, 1 some learner failed, 2 a target "
                    "could not be graded or a usage error, 130 interrupted (partial results)")
    grade.add_argument("targets", nargs="+", metavar="TARGET",
                       help="a git ref or a directory (./NAME or refs/heads/NAME when both exist)")
    grade.add_argument("--json", metavar="FILE", help="write the results as JSON (Exercism v3 shape)")
    grade.add_argument("--markdown", metavar="FILE", help="write the results as Markdown tables")
    grade.add_argument("--only", action="append", default=[], metavar="KATA",
                       help="grade only this kata (repeatable)")
    grade.add_argument("--classroom", metavar="FILE",
                       help="append the result to FILE as GitHub Classroom's step outputs, one "
                            "kata-NN per kata ($GITHUB_OUTPUT in the Classroom workflow)")
    grade.add_argument("--unsandboxed", action="store_true",
                       help="grade without the box where none can be built (learner code then "
                            "runs as you, under the supervisor alone; every report says "
                            "UNSANDBOXED); without it, no box means no grading")
    add("release", command_release, "write the repository a learner gets (no answers), with "
                                    "its Classroom workflow").add_argument("directory")
    add("verify", command_verify, "check that every instructor file of a released repository "
                                  "is as released")
    add("sandbox", command_sandbox, "can grading box learner code here? (exit 1 when not, "
                                    "saying why and how to fix it)")
    add("bench", command_bench, "the benchmarks: matmul ladder, epoch, feedback time (any "
                                "option of python -m kata.bench)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, others = parser.parse_known_args(argv)
    if args.handler is command_bench:
        args.options = others  # the benchmark parses its own options
    elif others:
        parser.error(f"unrecognized arguments: {' '.join(others)}")
    try:
        workspace = Workspace(find_root(args.root.resolve() if args.root else Path.cwd()))
        return args.handler(args, workspace)
    except (UsageProblem, NotACheckout) as problem:
        print(f"kata: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
