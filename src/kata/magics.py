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
runs that function's tests. Everything runs as the terminal's ``kata`` does, through the same
service (``kata.learner.views``), drawn as HTML (``kata.learner.html``) with the terminal's
text (``kata.learner.terminal``) beside it for front ends that show no HTML: the tests run in
their own process; ``%kata mnist`` trains in the kernel.

The notebook must be inside a clone of the repository (``kata notebook`` puts one in
``notebooks/``): the checkout is found from the kernel's working directory up.
"""

from __future__ import annotations

import contextlib
import io
import shlex
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from kata import cli
from kata.core.files import write_atomically
from kata.core.layout import NotACheckoutError, find_checkout
from kata.core.workspace import Workspace
from kata.learner import html, terminal, views
from kata.learner.views import UsageError, choose_function, choose_kata

if TYPE_CHECKING:
    import argparse

_TERMINAL_ONLY = {"watch": "in a notebook each %%kata cell runs its tests when you run it; "
                           "`kata watch` is for the terminal"}
_ASKS_FIRST = ("reset", "restore")


@dataclass(frozen=True)
class Shown:
    """What a magic shows: HTML, and the same as plain text for front ends without HTML."""

    html: str
    text: str

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/html": self.html, "text/plain": self.text}


def _problem(text: str) -> Shown:
    return Shown(html.problem(text), f"kata: {text}")


def load_ipython_extension(ipython) -> None:
    """Register ``%kata`` and ``%%kata`` (called by ``%load_ext kata``)."""
    ipython.register_magic_function(kata_magic, magic_kind="line_cell", magic_name="kata")


def kata_magic(line: str, cell: str | None = None) -> None:
    """``%kata ...`` or a ``%%kata KATA NAME`` cell: show the result as HTML (with its text)."""
    from IPython.display import display

    try:
        workspace = Workspace(find_checkout(Path.cwd()))
        shown = line_magic(line, workspace) if cell is None else cell_magic(line, cell, workspace)
    except (UsageError, NotACheckoutError) as problem:
        shown = _problem(str(problem))
    display(shown)


def _arguments(argv: list[str]) -> argparse.Namespace:
    """``argv`` parsed as the ``kata`` command parses it (limits and all)."""
    try:
        return cli.build_parser().parse_args(argv)
    except SystemExit:
        raise UsageError(f"`{shlex.join(argv)}` is not a kata command: "
                         f"`kata --help` in a terminal lists them") from None


def line_magic(line: str, workspace: Workspace) -> Shown:
    """What ``%kata LINE`` shows."""
    argv = shlex.split(line)
    command = argv[0] if argv else ""
    if command in _TERMINAL_ONLY:
        return _problem(_TERMINAL_ONLY[command])
    if command in _ASKS_FIRST and not {"-y", "--yes"} & set(argv):
        return _problem(f"a notebook cannot ask you first: say yes up front, "
                        f"`%kata {shlex.join(argv)} -y`")
    if command == "":
        board = views.board(workspace, cli.options_of(_arguments([])))
        return Shown(html.board(board), terminal.board(board))
    if command == "run":
        args = _arguments(argv)
        options = cli.options_of(args)
        kata = views.kata_or_current(args.kata, workspace, options)
        return _run(views.run(kata, args.function, workspace, options))
    if command == "hint":
        args = _arguments(argv)
        kata = views.kata_or_current(args.kata, workspace, cli.options_of(args))
        hint = views.hint(kata, args.function, workspace)
        return Shown(html.hint(hint), terminal.hint(hint))
    if command == "mnist":
        return mnist(_arguments(argv), workspace)
    if command == "curve" and "--png" not in argv:
        return curve(workspace)
    text = terminal_text(argv, workspace)
    return Shown(html.pre(text), text)


def _run(view: views.RunView, lead: str = "") -> Shown:
    return Shown(lead + html.run(view), terminal.run(view))


def terminal_text(argv: list[str], workspace: Workspace) -> str:
    """What ``kata ARGV`` prints in the terminal."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            cli.main(["--root", str(workspace.checkout), *argv])
        except SystemExit:  # argparse's answer to a bad command line, already printed
            pass
    return output.getvalue()


def cell_magic(line: str, cell: str, workspace: Workspace) -> Shown:
    """Write the cell's definition into the kata's file, then run its tests."""
    from kata.learner.definitions import CellError, definition_cell, replace_definition

    argv = shlex.split(line)
    if len(argv) != 2:
        raise UsageError(f"a %%kata cell starts with `%%kata KATA NAME`, as in "
                         f"`%%kata 03 matvec`; this one starts with `%%kata {line}`")
    kata = choose_kata(argv[0])
    name = choose_function(kata, argv[1])
    path = workspace.module(kata)
    shown = path.relative_to(workspace.checkout).as_posix()
    try:
        new = definition_cell(cell, name)
        old = path.read_text(encoding="utf-8")
        try:
            text = replace_definition(old, name, new)
        except SyntaxError as error:
            raise CellError(f"{shown} does not parse (SyntaxError at line {error.lineno}: "
                            f"{error.msg}), so its old {name} cannot be found; fix it there, "
                            f"or `%kata restore {kata.number:02d} -y`. Nothing was written."
                            ) from None
    except CellError as problem:
        return _problem(str(problem))
    except FileNotFoundError:
        return _problem(f"{shown} is missing: `%kata reset {kata.number:02d} -y` puts the stub "
                        f"back. Nothing was written.")
    written = "unchanged: the cell is what the file already holds"
    if text != old:
        backup = workspace.back_up(path)
        write_atomically(path, text)  # the test run never sees half a file
        written = f"written; the file as it was is kept in " \
                  f"{backup.relative_to(workspace.checkout).as_posix()}"
    view = views.run(kata, name, workspace, cli.options_of(_arguments(["run", argv[0], name])))
    said = f"{name} in {shown}: {written}"
    return Shown(f"<div style='font-size:smaller'>{escape(said)}</div>" + html.run(view),
                 f"{said}\n{terminal.run(view)}")


def mnist(args: argparse.Namespace, workspace: Workspace) -> Shown:
    from kata.learner import training

    try:
        result = training.train_logreg(workspace, solutions=args.solutions, count=args.count,
                                       device=args.device)
    except training.MnistNotReadyError as problem:
        return _problem(str(problem))
    said = (f"Logistic regression, 1 epoch on {result.device} with the code in {result.code}/: "
            f"test accuracy {result.accuracy:.4f}")
    return Shown(f"<p>{escape(said)}</p>"
                 + html.digits(result.images, result.predicted, result.true)
                 + html.loss_curve(result.losses), said)


def curve(workspace: Workspace) -> Shown:
    from kata.learner import training

    recorded = training.last_run(workspace)
    if recorded is None:
        return _problem(training.NO_RUN_YET)
    said = (f"The last run ({recorded['code']}/, {recorded['epochs']} epoch on "
            f"{recorded['device']}): test accuracy {recorded['test_accuracy']:.4f}")
    return Shown(f"<p>{escape(said)}</p>" + html.loss_curve(recorded["train_loss"]), said)
