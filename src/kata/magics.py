"""The ``kata`` command in Jupyter: ``%load_ext kata`` registers the ``%kata`` and ``%%kata``
magics (the ``notebook`` extra: ``python install.py --extras test,notebook``).

    %kata                      the board, as HTML
    %kata run 03 [matvec]      a kata's tests (or one function's): expected against actual as a
                               table, the broadcasting shapes lined up
    %kata hint 03              the next hint
    %kata mnist                train your logistic regression: test digits as images, the loss
                               curve as a plot
    %kata curve                the loss curve of the last ``%kata mnist``
    %kata spec 03 matvec       any other command of ``kata``, its text as the terminal shows it

    %%kata 03 matvec
    def matvec(m, c):
        ...

A ``%%kata KATA NAME`` cell holds your version of one function or class of the kata: the
magic checks that the cell defines exactly that name (a syntax error is refused before
anything is written), writes it into the kata's file in place of the old definition (which
is backed up in ``.kata/backups/``; the rest of the file stays as it was, byte for byte), and
runs that function's tests. Everything runs as the terminal's ``kata`` does (``kata.cli``,
``kata.progress``): the tests run in their own process; ``%kata mnist`` trains in the kernel.

The notebook must be inside a clone of the repository (``kata notebook`` puts one in
``notebooks/``): the checkout is found from the kernel's working directory up.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
from pathlib import Path

from kata import cli, html_views
from kata.progress import board_progress
from kata.workspace import NotACheckout, Workspace, find_root

_TERMINAL_ONLY = {"watch": "in a notebook each %%kata cell runs its tests when you run it; "
                           "`kata watch` is for the terminal"}
_ASKS_FIRST = ("reset", "restore")


def load_ipython_extension(ipython) -> None:
    """Register ``%kata`` and ``%%kata`` (called by ``%load_ext kata``)."""
    ipython.register_magic_function(kata_magic, magic_kind="line_cell", magic_name="kata")


def kata_magic(line: str, cell: str | None = None) -> None:
    """``%kata ...`` or a ``%%kata KATA NAME`` cell: show the result as HTML."""
    from IPython.display import HTML, display

    try:
        workspace = Workspace(find_root(Path.cwd()))
        html = line_magic(line, workspace) if cell is None else cell_magic(line, cell, workspace)
    except (cli.UsageProblem, NotACheckout) as problem:
        html = html_views.problem(str(problem))
    display(HTML(html))


def _arguments(argv: list[str]):
    """``argv`` parsed as the ``kata`` command parses it (limits and all)."""
    try:
        return cli.build_parser().parse_args(argv)
    except SystemExit:
        raise cli.UsageProblem(f"`{shlex.join(argv)}` is not a kata command: "
                               f"`kata --help` in a terminal lists them") from None


def line_magic(line: str, workspace: Workspace) -> str:
    """The HTML for ``%kata LINE``."""
    argv = shlex.split(line)
    command = argv[0] if argv else ""
    if command in _TERMINAL_ONLY:
        return html_views.problem(_TERMINAL_ONLY[command])
    if command in _ASKS_FIRST and not {"-y", "--yes"} & set(argv):
        return html_views.problem(f"a notebook cannot ask you first: say yes up front, "
                                  f"`%kata {shlex.join(argv)} -y`")
    if command == "":
        return board(_arguments([]), workspace)
    if command == "run":
        return run(_arguments(argv), workspace)
    if command == "mnist":
        return mnist(_arguments(argv), workspace)
    if command == "curve" and "--png" not in argv:
        return curve(workspace)
    if command == "hint":
        return html_views.paragraphs(_as_magic(terminal_text(argv, workspace)))
    return html_views.pre(terminal_text(argv, workspace))


def terminal_text(argv: list[str], workspace: Workspace) -> str:
    """What ``kata ARGV`` prints in the terminal."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            cli.main(["--root", str(workspace.root), *argv])
        except SystemExit:  # argparse's answer to a bad command line, already printed
            pass
    return output.getvalue()


def board(args, workspace: Workspace) -> str:
    progress = board_progress(cli.MANIFEST.katas, workspace.root, workers=args.workers,
                              **cli._limits(args))
    # the terminal's board is a title, the rows, then what to do next: the last is shown as is
    what_next = cli.render_board(progress, workspace).split("\n\n", 2)[-1]
    return html_views.board(progress, _as_magic(what_next))


def _footer(entry, workspace: Workspace, function: str | None) -> str:
    """The terminal's last paragraph for a run (the hint, or where to go next), without the
    run's first line, which the HTML shows as its title."""
    text = cli.render_run(entry, workspace, function=function)
    last = text.split("\n\n")[-1].splitlines()
    title = text.splitlines()[0]
    return _as_magic("\n".join(last[1:] if last[0] == title else last))


def _as_magic(text: str) -> str:
    """The terminal's ``kata run 03``/``kata hint 03`` written as the notebook's magics."""
    return re.sub(r"(?<![%\w])kata (?=run|hint)", "%kata ", text)


def run(args, workspace: Workspace) -> str:
    kata = cli._kata_or_current(args.kata, args, workspace)
    entry = cli.run_function(kata, args.function, workspace, **cli._limits(args))
    return html_views.run(entry, args.function, _footer(entry, workspace, args.function))


def cell_magic(line: str, cell: str, workspace: Workspace) -> str:
    """Write the cell's definition into the kata's file, then run its tests; the HTML."""
    from kata.definitions import CellProblem, definition_cell, replace_definition

    argv = shlex.split(line)
    if len(argv) != 2:
        raise cli.UsageProblem(f"a %%kata cell starts with `%%kata KATA NAME`, as in "
                               f"`%%kata 03 matvec`; this one starts with `%%kata {line}`")
    kata = cli.choose_kata(argv[0])
    name = cli.choose_function(kata, argv[1])
    path = workspace.module(kata)
    shown = path.relative_to(workspace.root).as_posix()
    try:
        new = definition_cell(cell, name)
        old = path.read_text(encoding="utf-8")
        try:
            text = replace_definition(old, name, new)
        except SyntaxError as error:
            raise CellProblem(f"{shown} does not parse (SyntaxError at line {error.lineno}: "
                              f"{error.msg}), so its old {name} cannot be found; fix it there, "
                              f"or `%kata restore {kata.number:02d} -y`. Nothing was written.")
    except CellProblem as problem:
        return html_views.problem(str(problem))
    except FileNotFoundError:
        return html_views.problem(f"{shown} is missing: `%kata reset {kata.number:02d} -y` puts "
                                  f"the stub back. Nothing was written.")
    written = "unchanged: the cell is what the file already holds"
    if text != old:
        backup = workspace.back_up(path)
        scratch = path.with_name(path.name + ".tmp")
        scratch.write_bytes(text.encode("utf-8"))
        os.replace(scratch, path)  # the test run never sees half a file
        written = f"written; the file as it was is kept in " \
                  f"{backup.relative_to(workspace.root).as_posix()}"
    args = _arguments(["run", argv[0], name])
    entry = cli.run_function(kata, name, workspace, **cli._limits(args))
    return (f"<div style='font-size:smaller'>{name} in <code>{shown}</code>: {written}</div>"
            + html_views.run(entry, name, _footer(entry, workspace, name)))


def mnist(args, workspace: Workspace) -> str:
    from kata import pictures

    try:
        result = pictures.train_logreg(workspace, solutions=args.solutions, count=args.count,
                                       device=args.device)
    except pictures.MnistNotReady as problem:
        return html_views.problem(str(problem))
    return (f"<p>Logistic regression, 1 epoch on {result.device} with the code in "
            f"<code>{result.code}/</code>: test accuracy {result.accuracy:.4f}</p>"
            + html_views.digits(result.images, result.predicted, result.true)
            + html_views.loss_curve(result.losses))


def curve(workspace: Workspace) -> str:
    from kata import pictures

    recorded = pictures.last_run(workspace)
    if recorded is None:
        return html_views.problem(pictures.NO_RUN_YET)
    return (f"<p>The last run (<code>{recorded['code']}/</code>, {recorded['epochs']} epoch on "
            f"{recorded['device']}): test accuracy {recorded['test_accuracy']:.4f}</p>"
            + html_views.loss_curve(recorded["train_loss"]))
