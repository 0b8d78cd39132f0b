"""Plain ``pytest katas/NN`` rides the checkout's warm worker (``kata.runs.worker``) when
one is up.

``pyproject.toml``'s addopts load this plugin (``-p kata.harness.handover``) before any
other plugin and before the repository's ``conftest.py``: pytest has read its settings, and
torch is not imported yet. When the command runs kata tests only, with options a learner
uses (``-x``, ``--lf``, ``-k``, ``-m``, ``--tb``, ``-q``, ``-v`` and their kin: ``FLAGS``,
``VALUED``), and the checkout's worker is up with the same harness and Python, the run
happens in a fork of the worker with this process's standard streams, working directory,
environment and signals, and this process exits as the run did: the same output, colours
and exit code, without paying for ``import torch``. Otherwise nothing happens here and
pytest goes on as it always did.

Where that run is kata tests only and prints to a terminal, a worker is started in the
background after it, for the next run (it ends after 10 idle minutes; ``kata stop`` ends it
now). ``KATA_WORKER=off`` turns both off: no hand-over, no worker started.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

#: the environment variable that, set to ``off``, keeps plain pytest off the worker
SWITCH = "KATA_WORKER"
#: options that take no value and that a run in the worker treats as a new process would
FLAGS = frozenset({
    "-q", "--quiet", "-v", "--verbose", "-x", "--exitfirst", "-l", "--showlocals", "-s",
    "--lf", "--last-failed", "--ff", "--failed-first", "--nf", "--new-first", "--sw",
    "--stepwise", "--sw-skip", "--stepwise-skip", "--co", "--collect-only", "--no-header",
    "--no-summary", "--full-trace", "--strict-markers", "--solutions", "--require-gpu",
    "--hypothesis-show-statistics"})
#: options that take a value (``--tb=short`` or ``--tb short``), likewise
VALUED = frozenset({
    "-k", "-m", "-r", "--tb", "--maxfail", "--color", "--code-highlight", "--durations",
    "--durations-min", "--capture", "-W", "--pythonwarnings", "--device", "--impl",
    "--hypothesis-profile", "--hypothesis-seed", "--hypothesis-verbosity", "-p"})
_SHORT_FLAGS, _SHORT_VALUED = "qvxls", "kmrWp"


def pytest_addoption(parser, pluginmanager) -> None:
    """Called as soon as pytest registers this plugin: the earliest moment pytest's
    configuration (its root, this command's arguments) can be read."""
    if os.environ.get(SWITCH) == "off" or _in_a_run():
        return
    config = pluginmanager.get_plugin("pytestconfig")
    args = list(config.invocation_params.args)
    checkout = Path(config.rootpath).resolve()
    if not _is_the_command(args) or not kata_tests_only(args, checkout, Path.cwd()):
        return
    if fits(args) and fits(os.environ.get("PYTEST_ADDOPTS", "").split()) \
            and "PYTEST_PLUGINS" not in os.environ:
        from kata.runs import worker

        code = worker.hand_over(checkout, args)
        if code is not None:
            _exit_as(code)
    config.pluginmanager.register(_StartAfter(checkout), "kata-start-worker")


def _in_a_run() -> bool:
    """Whether this process is a run forked from the worker (it never hands over again)."""
    worker = sys.modules.get("kata.runs.worker")
    return bool(getattr(worker, "IN_RUN", False))


def _is_the_command(args: Sequence[str]) -> bool:
    """Whether this process is the ``pytest`` command (or ``python -m pytest``) run with
    ``args``, not ``pytest.main`` called from other code (an editor, a tool, a test)."""
    program = sys.argv[0] if sys.argv else ""
    command = os.path.basename(program) in ("pytest", "py.test") or \
        program.endswith(os.path.join("pytest", "__main__.py"))
    return command and list(args) == sys.argv[1:]


def kata_tests_only(args: Sequence[str], checkout: Path, cwd: Path) -> bool:
    """Whether ``args`` name tests, and only tests, in ``checkout``'s ``katas/``.

    >>> root = Path("/clone")
    >>> kata_tests_only(["katas/03_matmul", "-x"], root, root)
    True
    >>> kata_tests_only(["-x"], root, root), kata_tests_only(["tests"], root, root)
    (False, False)
    """
    katas = checkout / "katas"
    paths = [Path(os.path.normpath(cwd / arg.split("::")[0])) for arg in _positional(args)]
    return bool(paths) and all(path == katas or katas in path.parents for path in paths)


def _positional(args: Sequence[str]) -> list[str]:
    """The arguments that are not options or their values."""
    found, waiting, ended = [], False, False
    for arg in args:
        if waiting:
            waiting = False
        elif ended or not arg.startswith("-") or arg == "-":
            found.append(arg)
        elif arg == "--":
            ended = True
        else:
            waiting = _takes_next(arg)
    return found


def _takes_next(option: str) -> bool:
    """Whether ``option`` (one argument) leaves its value to the next argument."""
    if option.startswith("--"):
        return "=" not in option and option in VALUED
    letters = option[1:]
    valued = next((i for i, letter in enumerate(letters) if letter in _SHORT_VALUED), None)
    return valued is not None and valued == len(letters) - 1


def fits(args: Sequence[str]) -> bool:
    """Whether every option in ``args`` is one a run in the worker treats as a new process
    would (``FLAGS``, ``VALUED``; ``-p`` only to switch a plugin off).

    >>> fits(["katas/03_matmul", "-xq", "--tb=short", "-k", "matvec", "-rfE"])
    True
    >>> fits(["katas/03_matmul", "--pdb"]), fits(["-p", "xdist"]), fits(["-x", "--cov=src"])
    (False, False, False)
    """
    waiting = None
    for arg in args:
        if waiting is not None:
            if waiting == "-p" and not arg.startswith("no:"):
                return False
            waiting = None
            continue
        if arg == "--":
            return True
        if not arg.startswith("-") or arg == "-":
            continue
        if arg.startswith("--"):
            name, equals, value = arg.partition("=")
            if name in VALUED:
                waiting = None if equals else name
            elif name not in FLAGS or equals:
                return False
            continue
        for place, letter in enumerate(arg[1:], start=1):
            if letter in _SHORT_VALUED:
                value = arg[place + 1:]
                if letter == "p" and value and not value.startswith("no:"):
                    return False
                waiting = None if value else f"-{letter}"
                break
            if letter not in _SHORT_FLAGS:
                return False
    return waiting is None


def _exit_as(code: int) -> None:
    """End this process as the run ended: with its exit code, or killed by its signal."""
    sys.stdout.flush()
    sys.stderr.flush()
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    raise SystemExit(code)


class _StartAfter:
    """Starts the checkout's worker once this run is over, where a learner watches it in a
    terminal: the next ``pytest katas/NN`` rides it."""

    def __init__(self, checkout: Path):
        self.checkout = checkout

    def pytest_unconfigure(self) -> None:
        if sys.stdout.isatty():
            from kata.runs import worker

            worker.start_in_background(self.checkout)
