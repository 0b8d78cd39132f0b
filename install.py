#!/usr/bin/env python3
"""Set up tensor-katas in this Python environment: torch built for this machine, then the
project with its test tools.

    python install.py                 # CPU build of torch, CUDA build with an NVIDIA GPU
    python install.py --cpu           # the CPU build, whatever the machine has
    python install.py --cuda          # the CUDA build, whatever the machine has
    python install.py --dry-run       # say what it would run, and run nothing
    python install.py --extras test,notebook    # also what Jupyter needs (see the README)
    python install.py --refresh-lock  # maintainers: the newest of everything, into constraints.txt

Why a script: pip cannot choose a build of torch. On Linux, PyPI's ``torch`` is the CUDA build,
several GB with about fifteen ``nvidia-*`` wheels, useless without an NVIDIA GPU; the CPU build
(a 190 MB download) is published only on PyTorch's own index. This script looks for an NVIDIA
GPU (``nvidia-smi`` on PATH that lists one, or a GPU under ``/proc/driver/nvidia``), says which
build it chose and why, installs it, then ``pip install -e ".[test]"``. Where PyTorch's index
cannot be reached it falls back to the torch that this machine's pip offers, and says so.

Every install takes the exact versions in ``constraints.txt`` (the lock: what CI tests with,
torch's release included), so a fresh machine gets what CI tested, not whatever is newest:
a kata repository's verdicts, shrinking and printed failures depend on those versions.
``pyproject.toml`` keeps lower bounds only, for a learner's own ``pip install -e .``. To move
to newer versions, ``--refresh-lock`` installs the newest of everything into a fresh virtual
environment in the temporary folder and writes its versions to ``constraints.txt``; run the
full check with them before committing the new lock.

It imports nothing but the standard library: torch is not installed yet when it runs.
"""

from __future__ import annotations

import argparse
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent
#: The lock: one ``name==version`` line per package CI tests with, read by pip as constraints.
LOCK = ROOT / "constraints.txt"
#: The extras whose packages the lock holds (``--refresh-lock`` installs them all).
LOCKED_EXTRAS = "test,notebook"


def locked_version(package: str, lock: Path = LOCK) -> str:
    """The version of ``package`` that the lock pins (``ValueError`` when it pins none)."""
    for line in lock.read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        if re.sub(r"[-_.]+", "-", name.strip()).lower() == package and version:
            return version.strip()
    raise ValueError(f"{lock.name} pins no version of {package}")


#: The torch release CI tests against, from the lock; the same release on every path, so
#: that a fallback never picks a different (e.g. CUDA-only) release.
TORCH_VERSION = locked_version("torch")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
#: On Windows, PyPI's torch is the CPU build; the CUDA build lives on PyTorch's index.
WINDOWS_CUDA_INDEX = "https://download.pytorch.org/whl/cu130"
PROC_GPUS = Path("/proc/driver/nvidia/gpus")

Runner = Callable[[Sequence[str]], int]


def nvidia_gpu(proc_gpus: Path = PROC_GPUS) -> str | None:
    """Why this machine has an NVIDIA GPU (in words), or None when it shows none: the driver
    lists a GPU under ``proc_gpus``, or ``nvidia-smi -L`` (found on PATH) lists one."""
    if proc_gpus.is_dir() and any(proc_gpus.iterdir()):
        return f"the NVIDIA driver lists a GPU in {proc_gpus}"
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None  # a broken nvidia-smi: no GPU we could use
    gpus = [line.strip() for line in listed.stdout.splitlines() if line.startswith("GPU ")]
    if listed.returncode != 0 or not gpus:
        return None
    return f"nvidia-smi lists {gpus[0]}"


def choose_build(forced: str | None, gpu: str | None) -> tuple[str, str]:
    """The build to install, ``"cpu"`` or ``"cuda"``, and why, from the command line's choice
    (``forced``) or else from ``gpu`` (what ``nvidia_gpu`` found)."""
    if forced:
        return forced, f"you asked for it (--{forced})"
    if gpu:
        return "cuda", f"{gpu}"
    return "cpu", ("no NVIDIA GPU found (no GPU under /proc/driver/nvidia, and no nvidia-smi "
                   "on PATH that lists one), and the CPU build is a 190 MB download instead "
                   "of several GB of CUDA libraries")


def index_reachable(url: str, timeout: float = 10) -> str | None:
    """None when the package index at ``url`` answers, else why it did not (one line)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{url}/torch/", method="HEAD"),
                                    timeout=timeout):
            return None
    except Exception as error:  # noqa: BLE001 - any failure means the same: not reachable
        reason = getattr(error, "reason", None) or error
        return f"{type(error).__name__}: {reason}"


def torch_index(build: str, system: str) -> str | None:
    """The index holding torch's ``build`` for this operating system; None: pip's own."""
    if build == "cpu":
        return CPU_INDEX
    return WINDOWS_CUDA_INDEX if system == "Windows" else None


def _locked(lock: Path | None) -> list[str]:
    return ["-c", str(lock)] if lock is not None else []


def torch_command(python: str, index: str | None, version: str = TORCH_VERSION,
                  lock: Path | None = LOCK) -> list[str]:
    """The pip command line that installs torch, from ``index`` (None: pip's own index)."""
    return [python, "-m", "pip", "install", f"torch=={version}", *_locked(lock),
            *(["--index-url", index] if index else [])]


def project_command(python: str, extras: str, lock: Path | None = LOCK) -> list[str]:
    """The pip command line that installs this checkout, editable, with ``extras``, at the
    lock's versions (``lock=None``: the newest that fit)."""
    return [python, "-m", "pip", "install", *_locked(lock), "-e",
            f"{ROOT}[{extras}]" if extras else str(ROOT)]


_CHECK_BUILD = ("import torch; print(f'torch {torch.__version__}: the ' + "
                "(f'CUDA {torch.version.cuda}' if torch.version.cuda else 'CPU') + ' build')")


def install(build: str, reason: str, *, extras: str, runner: Runner,
            reachable: Callable[[str], str | None], system: str, python: str = sys.executable,
            dry_run: bool = False, say: Callable[[str], None] = print,
            lock: Path | None = LOCK) -> int:
    """Install torch's ``build`` and then the project at the ``lock``'s versions (None: the
    newest; ``dry_run``: only print the command lines); the exit status."""
    say(f"Installing torch {TORCH_VERSION}, the {build.upper()} build: {reason}.")
    if build == "cuda" and system == "Darwin":
        say("macOS has no CUDA build of torch: pip's torch runs on the CPU (and Apple's GPU).")
    index = None if build == "cuda" and system == "Darwin" else torch_index(build, system)
    if index is not None:
        problem = reachable(index)
        if problem is not None:
            say(f"PyTorch's index {index} cannot be reached ({problem}). Falling back to the "
                f"torch {TORCH_VERSION} that this machine's pip offers: the line below that "
                f"names the installed build says which build that is.")
            index = None
    steps = [torch_command(python, index, lock=lock), project_command(python, extras, lock)]
    for step in steps:
        say("$ " + " ".join(step))
        status = 0 if dry_run else runner(step)
        if status != 0:
            say(f"That step failed (exit status {status}); nothing after it was run.")
            return status
    if dry_run:
        say("Dry run: nothing was installed.")
        return 0
    say("The installed build of torch:")
    status = runner([python, "-c", _CHECK_BUILD])
    if status == 0:
        say("Set up. Type `kata` to see the board (`kata --help` lists the commands).")
    return status


def _run(argv: Sequence[str]) -> int:
    return subprocess.call(list(argv), cwd=ROOT)


_LOCK_HEADER = """\
# The lock: the exact versions CI tests with, for every package that tensor-katas and its
# extras ({extras}) install, torch included. install.py, .ci/run and the Classroom workflow
# install with it (pip's constraints); pyproject.toml keeps lower bounds only.
# Refresh it (the newest of everything, in a fresh virtual environment):
#     python install.py --refresh-lock
# then run the full check before committing it.
"""


def refresh_lock(build: str, reason: str, *, runner: Runner,
                 reachable: Callable[[str], str | None], system: str,
                 say: Callable[[str], None] = print) -> int:
    """Install the newest of everything into a fresh virtual environment in the temporary
    folder, and write what it holds to the lock; the exit status."""
    with tempfile.TemporaryDirectory(prefix="kata-lock-") as scratch:
        status = runner([sys.executable, "-m", "venv", scratch])
        python = str(Path(scratch, "Scripts" if system == "Windows" else "bin", "python"))
        if status == 0:
            status = install(build, reason, extras=LOCKED_EXTRAS, runner=runner,
                             reachable=reachable, system=system, python=python, say=say,
                             lock=None)
        if status != 0:
            return status
        frozen = subprocess.run([python, "-m", "pip", "freeze", "--exclude-editable"],
                                capture_output=True, text=True, check=True).stdout
    lines = sorted({_unlabelled(line) for line in frozen.splitlines()
                    if "==" in line and not line.startswith(("pip==", "setuptools=="))},
                   key=str.lower)
    LOCK.write_text(_LOCK_HEADER.format(extras=LOCKED_EXTRAS) + "\n".join(lines) + "\n",
                    encoding="utf-8")
    say(f"Wrote {len(lines)} versions to {LOCK.name}.")
    return 0


def _unlabelled(line: str) -> str:
    """``torch==2.13.0`` for ``torch==2.13.0+cpu``: the lock names releases, and the CPU
    and CUDA builds are the same release."""
    return line.split("+", 1)[0]


def main(argv: list[str] | None = None, *, runner: Runner = _run,
         reachable: Callable[[str], str | None] = index_reachable,
         gpu: Callable[[], str | None] = nvidia_gpu, system: str | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python install.py",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    build = parser.add_mutually_exclusive_group()
    build.add_argument("--cpu", dest="build", action="store_const", const="cpu",
                       help="install the CPU build of torch, whatever the machine has")
    build.add_argument("--cuda", dest="build", action="store_const", const="cuda",
                       help="install the CUDA build of torch, whatever the machine has")
    parser.add_argument("--extras", default="test",
                        help="the project's extras to install, comma-separated (default: test; "
                             "test,notebook adds what Jupyter needs)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the command lines, run nothing")
    parser.add_argument("--refresh-lock", action="store_true",
                        help=f"maintainers: install the newest of everything into a fresh "
                             f"virtual environment and write its versions to {LOCK.name}")
    args = parser.parse_args(argv)
    chosen, reason = choose_build(args.build, None if args.build else gpu())
    if args.refresh_lock:
        return refresh_lock(chosen, reason, runner=runner, reachable=reachable,
                            system=system or platform.system())
    return install(chosen, reason, extras=args.extras, runner=runner, reachable=reachable,
                   system=system or platform.system(), dry_run=args.dry_run)


if __name__ == "__main__":
    sys.exit(main())
