"""The ``kata`` command: a learner's progress loop, and an instructor's check and grade.

    kata                      the board: every kata's state, and what to do next
    kata run [KATA [NAME]]    one kata's tests (the current kata by default), or only those
                              of one of its functions or classes, in short form
    kata spec KATA [NAME]     a function's signature, docstring, rules and the hints shown so far
    kata hint [KATA [NAME]]   the next hint for a function, one more each time
    kata watch [KATA]         rerun the kata whenever one of its files is saved
    kata stop                 end this checkout's warm worker now (it ends by itself when idle)
    kata reset KATA           put back the untouched stub (your file is backed up first)
    kata restore KATA [N]     list your backups; put back backup N (your file is backed up first)
    kata notebook [KATA]      write a starter Jupyter notebook for a kata
    kata mnist                train your logistic regression, show test digits and the loss
    kata curve                the loss curve of the last `kata mnist` run (text, or --png)
    kata check [KATA...]      instructors: prove the repository sound, as one table
    kata grade TARGET...      instructors: grade learners' branches or directories
    kata release DIR          instructors: write the repository a learner gets (no answers)
    kata verify               is every instructor file as released? (Classroom runs it)
    kata sandbox              can grading box learner code here? (Classroom runs it)
    kata bench [OPTIONS]      the benchmarks (python -m kata.instructor.bench --help lists
                              the options)

KATA is a number (``3``, ``03``) or a folder name (``03_matmul``). Every kata runs in its own
process with a time limit, so code that loops forever, eats memory or ends the interpreter
is reported for its kata and never stops the command.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from kata.core.devices import CHOICES
from kata.core.layout import NotACheckoutError, find_checkout
from kata.core.manifest import Kata, load_manifest
from kata.core.records import KataState
from kata.core.workspace import Workspace
from kata.learner import terminal, views
from kata.learner.views import RunOptions, UsageError, choose_function, choose_kata
from kata.runs.limits import GRADING_EXAMPLES, MEMORY_LIMIT, TIME_LIMIT

#: What runs a command: its parsed arguments and the checkout's workspace in, the exit status out.
Handler = Callable[[argparse.Namespace, Workspace], int]


def options_of(args: argparse.Namespace) -> RunOptions:
    """How the command's runs go, from its common options."""
    return RunOptions(time_limit=args.time_limit,
                      memory_limit=(int(args.memory_limit * (1 << 30)) if args.memory_limit
                                    else None),
                      extra_args=("--tb=long",) if args.verbose else (), workers=args.workers)


def command_board(args: argparse.Namespace, workspace: Workspace) -> int:
    view = views.board(workspace, options_of(args))
    if args.verbose:
        print("\n".join(f"===== {entry.kata.folder} =====\n{entry.output}"
                        for entry in view.progress if entry.state is not KataState.DONE))
    print(terminal.board(view))
    return 0


def command_run(args: argparse.Namespace, workspace: Workspace) -> int:
    options = options_of(args)
    kata = views.kata_or_current(args.kata, workspace, options)
    view = views.run(kata, args.function, workspace, options,
                     quick_pass=lambda quick: print(terminal.quick_check_passed(quick), flush=True))
    if args.verbose:
        print(view.progress.output)
    print(terminal.run(view))
    return 0 if view.progress.state is KataState.DONE else 1


def command_hint(args: argparse.Namespace, workspace: Workspace) -> int:
    kata = views.kata_or_current(args.kata, workspace, options_of(args))
    print(terminal.hint(views.hint(kata, args.function, workspace)))
    return 0


def command_spec(args: argparse.Namespace, workspace: Workspace) -> int:
    kata = choose_kata(args.kata)
    names = [choose_function(kata, args.function)] if args.function else list(kata.functions)
    print("\n\n".join(terminal.spec(views.spec(kata, name, workspace)) for name in names))
    return 0


def command_watch(args: argparse.Namespace, workspace: Workspace) -> int:
    from kata.learner.watch import watch

    options = options_of(args)
    return watch(views.kata_or_current(args.kata, workspace, options), workspace, options,
                 poll=args.poll)


def command_reset(args: argparse.Namespace, workspace: Workspace) -> int:
    from kata.core.stubs import untouched_stub

    kata = choose_kata(args.kata)
    try:
        stub = untouched_stub(kata, workspace.checkout)
    except LookupError as missing:
        raise UsageError(missing.args[0]) from None
    path = workspace.module(kata)
    shown = path.relative_to(workspace.checkout).as_posix()
    if path.exists() and path.read_text(encoding="utf-8") == stub:
        print(f"{shown} is already the untouched stub; nothing to do.")
        return 0
    return _replace_after_asking(args, workspace, path, stub.encode("utf-8"),
                                 f"Put the untouched stub back in {shown}?",
                                 f"{shown} is the untouched stub again.")


def command_restore(args: argparse.Namespace, workspace: Workspace) -> int:
    kata = choose_kata(args.kata)
    path = workspace.module(kata)
    shown = path.relative_to(workspace.checkout).as_posix()
    backups = workspace.backups(path)[::-1]  # newest first: backup 1 is the newest
    if not backups:
        print(f"There is no backup of {shown} yet: `kata reset`, `kata restore` and the "
              f"notebook's %%kata cells keep one before they change the file.")
        return 1
    notes = _backup_notes(kata, workspace, path, backups)
    if args.number is None:
        print(f"The backups of {shown}, newest first:")
        print("\n".join(f"  {number}  {note}" for number, note in enumerate(notes, 1)))
        if args.yes:
            print(f"Say which one to put back: kata restore {kata.number:02d} NUMBER")
            return 1
        print("Which one goes back? Type its number (Enter: none) ", end="", flush=True)
        answer = sys.stdin.readline().strip()
        if not answer:
            print("Nothing changed.")
            return 1
        if not answer.isdigit():
            raise UsageError(f"{answer!r} is not one of the numbers listed")
        args.number, args.yes = int(answer), True  # chosen by number: asked once is enough
    if not 1 <= args.number <= len(backups):
        raise UsageError(f"there is no backup {args.number} of {shown}: `kata restore "
                         f"{kata.number:02d}` lists the {len(backups)} there are")
    chosen = backups[args.number - 1]
    if path.exists() and path.read_bytes() == chosen.read_bytes():
        print(f"{shown} is already the same as backup {args.number}; nothing to do.")
        return 0
    return _replace_after_asking(args, workspace, path, chosen.read_bytes(),
                                 f"Put backup {args.number} ({notes[args.number - 1]}) back in "
                                 f"{shown}?", f"{shown} is backup {args.number} again.")


def _backup_notes(kata: Kata, workspace: Workspace, path: Path, backups: list[Path]) -> list[str]:
    """For each backup: when it was made, and whether it is the untouched stub or the same
    as the file now (so that no restore brings the stub back unawares)."""
    from kata.core.stubs import untouched_stub

    try:
        stub = untouched_stub(kata, workspace.checkout).encode("utf-8")
    except LookupError:
        stub = None
    now = path.read_bytes() if path.exists() else None
    notes = []
    for backup in backups:
        data = backup.read_bytes()
        day, time = backup.stem.rsplit("-", 3)[1:3]  # module-YYYYmmdd-HHMMSS-n
        lines = data.count(b"\n")
        note = f"{day[:4]}-{day[4:6]}-{day[6:]} {time[:2]}:{time[2:4]}:{time[4:]}, {lines} lines"
        if data == stub:
            note += ", the untouched stub"
        if data == now:
            note += ", the same as your file now"
        notes.append(f"{note}  ({backup.relative_to(workspace.checkout).as_posix()})")
    return notes


def _replace_after_asking(args: argparse.Namespace, workspace: Workspace, path: Path,
                          text: bytes, question: str, done: str) -> int:
    """Put ``text`` in ``path`` once the learner says yes to ``question`` (``--yes``: without
    asking), keeping the file as it was in ``.kata/backups/`` first; the exit status."""
    if not args.yes:
        print(f"{question} Your file is backed up first. [y/N] ", end="", flush=True)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            print("Nothing changed.")
            return 1
    if path.exists():
        backup = workspace.back_up(path)
        print(f"Your file is kept in {backup.relative_to(workspace.checkout).as_posix()}")
    path.write_bytes(text)
    print(done)
    return 0


def command_notebook(args: argparse.Namespace, workspace: Workspace) -> int:
    from kata.learner import notebook

    kata = views.kata_or_current(args.kata, workspace, options_of(args))
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


def command_stop(args: argparse.Namespace, workspace: Workspace) -> int:
    from kata.runs import worker

    if worker.stop(workspace.checkout):
        print("The warm worker of this checkout has stopped; the next run starts a new one.")
    else:
        print("No warm worker was running for this checkout.")
    return 0


def command_mnist(args: argparse.Namespace, workspace: Workspace) -> int:
    from kata.learner import training

    return training.mnist_show(workspace, solutions=args.solutions, count=args.count,
                               device=args.device)


def command_curve(args: argparse.Namespace, workspace: Workspace) -> int:
    from kata.learner import training

    return training.show_last_curve(workspace, png=Path(args.png) if args.png else None)


def command_check(args: argparse.Namespace, workspace: Workspace) -> int:
    from kata.instructor.checks import check_table  # imports torch: only this command needs it

    katas = [choose_kata(name) for name in args.katas] or list(load_manifest().katas)
    table, sound = check_table(katas, workers=args.workers, profile=args.profile)
    print(table)
    return 0 if sound else 1


def command_grade(args: argparse.Namespace, workspace: Workspace) -> int:
    from kata.core.files import write_atomically
    from kata.grading import gradebook, reports, service, targets
    from kata.runs import sandbox

    katas = [choose_kata(name) for name in args.only] or list(load_manifest().katas)
    if args.workers < 1:
        raise UsageError(f"--workers {args.workers}: at least one worker is needed")
    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed {args.seed}: a seed is a whole number from 0 up")
    for option, given in (("--classroom", args.classroom), ("--gradescope", args.gradescope)):
        if given and len(args.targets) != 1:
            raise UsageError(f"{option} writes one learner's result: give one target (the "
                             f"Classroom workflow and Gradescope's autograder grade one)")
    outputs = [Path(path) for path in (args.json, args.markdown, args.classroom, args.csv,
                                       args.gradescope) if path]
    for path in outputs:  # before any grading: an unwritable path must not waste it
        try:
            reports.check_writable(path)
        except OSError as problem:
            raise UsageError(f"cannot write the results to {path}: {problem}") from None
    try:
        roster = targets.read_roster(Path(args.roster)) if args.roster else None
    except targets.RosterError as problem:
        raise UsageError(str(problem)) from None
    options = options_of(args)
    try:
        book = service.grade_targets(args.targets, workspace.checkout, katas,
                                     workers=args.workers, boxed=not args.unsandboxed,
                                     checked=not args.skip_allowlist, seed=args.seed,
                                     **options.limits())
        code = service.exit_code(book.grades)
    except service.GradingInterruptedError as interrupted:
        book, code = interrupted.gradebook, service.INTERRUPTED
    except sandbox.BoxUnavailableError as missing:
        raise UsageError(str(missing)) from None
    if roster is not None:
        book = book.with_roster(targets.match_roster(args.targets, roster))
    markdown = reports.markdown(book)
    written = {args.json: lambda: reports.json_document(book), args.markdown: lambda: markdown,
               args.csv: lambda: gradebook.csv_document(book),
               args.gradescope: lambda: json.dumps(
                   gradebook.gradescope_results(book.grades[0], book), indent=1)}
    for path, document in written.items():
        if path:
            write_atomically(Path(path), document())
    if args.classroom and code != service.INTERRUPTED:
        reports.write_classroom_outputs(book.grades[0], Path(args.classroom))
    print(markdown)
    if code == service.INTERRUPTED:
        print("kata grade: interrupted; the results above are partial", file=sys.stderr)
    return code


def command_release(args: argparse.Namespace, workspace: Workspace) -> int:
    from kata.instructor import gradescope, release

    try:
        if args.gradescope:
            skipped = gradescope.write_autograder(Path(args.directory), workspace.checkout)
        else:
            skipped = release.release(Path(args.directory), workspace.checkout)
    except FileExistsError as problem:
        raise UsageError(str(problem)) from None
    if args.gradescope:
        print(f"Wrote Gradescope's autograder to {args.directory}: your tests, hidden ones "
              f"included, no solutions/; zip what it holds (cd {args.directory} && zip -r "
              f"../autograder.zip .) and upload it as the assignment's autograder.")
    else:
        print(f"Wrote the learner's repository to {args.directory}: no solutions/, no catalog, "
              f"no hidden tests; {release.SUMS} holds the sums of the instructor's files, which "
              f"the Classroom workflow checks before grading.")
    for name in skipped:
        print(f"  {name}: skipped there (it needs the reference solutions)")
    return 0


def command_verify(args: argparse.Namespace, workspace: Workspace) -> int:
    from kata.instructor import release

    return release.main(["verify", str(workspace.checkout)])


def command_sandbox(args: argparse.Namespace, workspace: Workspace) -> int:
    from kata.runs import sandbox

    why_not = sandbox.availability()
    if why_not is None:
        print(f"Grading boxes learner code here (bubblewrap: {sandbox.bwrap()}).")
        return 0
    print(f"No box can be built here: {why_not}", file=sys.stderr)
    return 1


def command_bench(args: argparse.Namespace, workspace: Workspace) -> int:
    try:  # imports torch and MNIST: only this command needs it
        from kata.instructor import bench
    except ModuleNotFoundError:
        raise UsageError("the benchmarks belong to the course's own repository; a learner's "
                         "repository (kata release) leaves them out") from None
    return bench.main(args.options)


GRADE_HELP = f"""\
Grade learners' work with your tests: each target's kata modules, and nothing else of it,
are laid into a copy of your kata folders and run in graded mode, each kata in its own box
(bubblewrap), within the time and memory limits.

Hidden grading: every test draws {GRADING_EXAMPLES} examples, where a learner's run draws 20
(the same ones each time), from a seed drawn for this grading run and written in the
reports (--seed N draws the same ones again); and your hidden tests
(katas/NN_name/test_hidden_*.py, which kata release leaves out) run beside the visible ones.

Points: each kata's points (manifest.toml) are shared among its functions by weight, and
among each function's tests; a passing test earns its share.
"""


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """The options every command takes. A command's copy leaves them unset unless given
    (``suppress``), so that ``kata -v run`` and ``kata run -v`` mean the same."""
    def default(value: object) -> object:
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
        prog="kata", parents=[_common_options(suppress=False)],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1])
    parser.set_defaults(handler=command_board)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
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
    restore = add("restore", command_restore, "list the backups of a kata's file and put back "
                                              "the one you name (after a backup of the file as "
                                              "it is)")
    restore.add_argument("kata")
    restore.add_argument("number", nargs="?", type=int, metavar="NUMBER",
                         help="the backup to put back, as the list numbers it (1: the newest)")
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
    mnist.add_argument("--device", default="auto", choices=CHOICES)
    curve = add("curve", command_curve, "the loss curve of the last `kata mnist` run")
    curve.add_argument("--png", metavar="FILE", help="draw it into FILE (needs the plot extra)")
    check = add("check", command_check, "prove the repository sound (instructors, CI)")
    check.add_argument("katas", nargs="*", metavar="KATA", help="only these katas (default: all)")
    check.add_argument("--profile", default="ci", choices=["learner", "ci"],
                       help="hypothesis profile of the reference's run (default ci: 200 "
                            "examples a test; learner: 20, a quick look)")
    grade = add("grade", command_grade, "grade learners' git refs or directories with your "
                                        "tests, hidden ones included")
    grade.formatter_class = argparse.RawDescriptionHelpFormatter
    grade.description = GRADE_HELP
    grade.epilog = ("exit codes: 0 every target passed, 1 some learner failed, 2 a target "
                    "could not be graded or a usage error, 130 interrupted (partial results)")
    grade.add_argument("targets", nargs="+", metavar="TARGET",
                       help="a git ref or a directory (./NAME or refs/heads/NAME when both exist)")
    grade.add_argument("--json", metavar="FILE",
                       help="write the results as JSON: every learner in Exercism's results.json "
                            "v3 shape, each kata across the class, the seed")
    grade.add_argument("--markdown", metavar="FILE",
                       help="write the report as Markdown (also printed): the class at a glance, "
                            "then each learner's katas, failing tests' messages, ignored files "
                            "and flags")
    grade.add_argument("--csv", metavar="FILE",
                       help="write the gradebook CSV: a row per learner, a column per kata's "
                            "points, the total and the maximum")
    grade.add_argument("--roster", metavar="FILE",
                       help="GitHub Classroom's roster CSV: name each target's learner (its "
                            "folder is the github_username or ends with -USERNAME); the "
                            "unmatched are listed, never guessed")
    grade.add_argument("--gradescope", metavar="FILE",
                       help="write one target's result as Gradescope's results.json "
                            "(/autograder/results/results.json in its autograder)")
    grade.add_argument("--seed", type=int, metavar="N",
                       help="draw the examples from seed N (default: a fresh seed, which the "
                            "reports record): the same N grades again exactly")
    grade.add_argument("--only", action="append", default=[], metavar="KATA",
                       help="grade only this kata (repeatable)")
    grade.add_argument("--classroom", metavar="FILE",
                       help="append the result to FILE as GitHub Classroom's step outputs, one "
                            "kata-NN per kata ($GITHUB_OUTPUT in the Classroom workflow)")
    grade.add_argument("--skip-allowlist", action="store_true",
                       help="run learner modules even where they name what kata code may not "
                            "(the allow-list refuses them otherwise): to test what the box "
                            "holds, never to grade a class")
    grade.add_argument("--unsandboxed", action="store_true",
                       help="grade without the box where none can be built (learner code then "
                            "runs as you, under the supervisor alone; every report says "
                            "UNSANDBOXED); without it, no box means no grading")
    release = add("release", command_release, "write the repository a learner gets (no "
                                              "answers), with its Classroom workflow")
    release.add_argument("directory")
    release.add_argument("--gradescope", action="store_true",
                         help="write Gradescope's autograder instead (setup.sh, run_autograder "
                              "and your tests, hidden ones included; no answers)")
    add("verify", command_verify, "check that every instructor file of a released repository "
                                  "is as released")
    add("sandbox", command_sandbox, "can grading box learner code here? (exit 1 when not, "
                                    "saying why and how to fix it)")
    add("bench", command_bench, "the benchmarks: matmul ladder, epoch, feedback time (any "
                                "option of python -m kata.instructor.bench)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, others = parser.parse_known_args(argv)
    if args.handler is command_bench:
        args.options = others  # the benchmark parses its own options
    elif others:
        parser.error(f"unrecognized arguments: {' '.join(others)}")
    try:
        workspace = Workspace(find_checkout(args.root.resolve() if args.root else Path.cwd()))
        return args.handler(args, workspace)
    except (UsageError, NotACheckoutError) as problem:
        print(f"kata: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
