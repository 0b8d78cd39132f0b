"""The supervisor: runs outside a box (or around a trusted run), caps the whole tree of its
processes and cleans up after it. ``kata.runs.sandbox.boxed`` puts it in front of every
graded command:

    python -I -c "<put the harness's src on sys.path>; run kata.runs.supervisor" OPTIONS -- COMMAND

(``-I``: no ``PYTHONPATH``, no user site, nothing of the run's environment decides what the
supervisor imports; it imports only the standard library and ``kata.core``.)

It keeps only the tail of the run's output in memory, and caps the whole tree of the run's
processes, not each one: their number, their memory together (proportional set size, so that
pages shared after a ``fork`` count once; shared memory included, and the files in a box's
in-memory /tmp and /dev/shm, which are memory too), and the bytes written to the scratch.
Around a box it also hands bwrap the box's seccomp filter (``--seccomp``). Past a cap
it kills the tree and says why (``STOPPED`` starts its last line). It adopts every orphan
(a child subreaper) and dies with the grader, so nothing the run started outlives it. This
machine's cgroups do not delegate memory or pids controllers to us (and CI's may not), so the
caps are enforced by watching, ten times a second: a burst shorter than that can exceed them
briefly; the per-process data limit that the runner sets stays as a hard backstop.

SIGTERM, SIGINT or SIGHUP ask it to stop: it kills the whole tree, prints the tail and ends.
That is how a run's time limit ends it (``kata.runs.runner``): a SIGKILL would end the
supervisor alone, before its clean-up, and leave the tree it watches running.
"""

from __future__ import annotations

import argparse
import base64
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from kata.core.processes import descendants, die_with_parent_and_adopt_orphans, kill_all

#: How many processes a box may hold at once (pytest needs one; a kata needs no more).
PROCESS_LIMIT = 32
#: Bytes a box may write into its scratch (the report is a few hundred kB).
DISK_LIMIT = 256 << 20
#: Bytes of a run's output kept (the tail; what came before is dropped and counted).
OUTPUT_TAIL = 256 << 10
#: Bytes each of a box's in-memory folders (tmpfs: /tmp, /dev/shm) may hold.
TMPFS_SIZE = 64 << 20
#: How the supervisor's last line begins when it stopped a run past a cap.
STOPPED = "kata sandbox: stopped the run: "
#: Seconds between two looks at the run's processes.
_POLL = 0.1


def stop_reason(output: str) -> str | None:
    """Why the supervisor stopped a run, from the run's output (None if it did not)."""
    line = next((line for line in reversed(output.splitlines()) if line.startswith(STOPPED)), None)
    return f"stopped by the sandbox: {line.removeprefix(STOPPED)}" if line else None


def _memory_kib(pids: Sequence[int], field: str) -> int:
    """Memory of ``pids`` together, in KiB: ``Rss`` quickly (each process's anonymous and
    shared memory, counting pages shared after fork once per process: an upper bound), or
    ``Pss`` exactly (each shared page split among its users; ten times slower to read).
    Shared memory (``mmap(MAP_SHARED)``, a mapped file of /dev/shm) is ``RssShmem``: statm's
    resident-minus-shared, which leaves it out, would let a gigabyte of it pass unseen."""
    source, lines = (("smaps_rollup", ("Pss:",)) if field == "Pss"
                     else ("status", ("RssAnon:", "RssShmem:")))
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/{source}") as f:
                text = f.read()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in text.splitlines()
                     if line.startswith(lines))
    return total


def _tmpfs_bytes(pids: Sequence[int], folders: Sequence[str]) -> int:
    """Bytes held by the files in a box's in-memory ``folders`` (tmpfs: memory that no
    process need map, deleted files still open included), seen through the root of each
    of ``pids`` (/proc/PID/root). While bwrap builds the box, and for bwrap's own process
    outside it, that path leads elsewhere: a file system larger than the box's tmpfs, or
    the one this process sees at the same path, is none of the box's and counts nothing.
    A file that a process also maps counts twice (in its Pss too): the cap errs, by 64 MiB a
    folder at most, on the safe side."""
    used: dict[int, int] = {}
    for pid in pids:
        for folder in folders:
            try:  # one descriptor: its device and its usage are of the same file system
                found = os.open(f"/proc/{pid}/root{folder}", os.O_PATH | os.O_DIRECTORY)
            except OSError:  # the process ended, or is still building the box
                continue
            try:
                device, usage = os.fstat(found).st_dev, os.fstatvfs(found)
            finally:
                os.close(found)
            if usage.f_blocks * usage.f_frsize <= TMPFS_SIZE and device != _device(folder):
                used[device] = (usage.f_blocks - usage.f_bfree) * usage.f_frsize
    return sum(used.values())


def _device(path: str) -> int | None:
    try:
        return os.stat(path).st_dev
    except OSError:
        return None


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
               scratch: Path | None, tmpfs: Sequence[str] = ()) -> str | None:
    """Why the processes ``pids`` (a box's, with its in-memory folders ``tmpfs``) are past
    one of the caps, or None."""
    if len(pids) > processes:
        return f"it started more than {processes} processes at once"
    in_files = _tmpfs_bytes(pids, tmpfs) if memory else 0
    if memory and _memory_kib(pids, "Rss") * 1024 + in_files > memory:  # cheap bound first
        used = _memory_kib(pids, "Pss") * 1024 + in_files
        if used > memory:
            files = f" ({in_files >> 20} MiB of it in files in {', '.join(tmpfs)})"
            return (f"its {len(pids)} processes together used {used / (1 << 30):.1f} GiB of "
                    f"memory{files if in_files else ''}, over the limit of "
                    f"{memory / (1 << 30):g} GiB (out of memory)")
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
        kill_all(left)
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:  # reap what we adopted
                pass
        except ChildProcessError:
            pass
        time.sleep(0.01)


def supervise(argv: Sequence[str], *, memory: int, processes: int, disk: int,
              scratch: Path | None, tail: int, seccomp: bytes | None = None,
              tmpfs: Sequence[str] = ()) -> int:
    """Run ``argv``, cap its whole process tree, kill what it leaves, print its output's
    tail; exit as it exited (killed by the same signal, or SIGKILL past a cap). With
    ``seccomp`` (a compiled filter), ``argv`` is a bwrap command, which gets the filter on
    a file descriptor (``--seccomp FD``) of a file in memory, here, outside the box."""
    die_with_parent_and_adopt_orphans()
    stop = threading.Event()  # asked to stop before the child starts: it is still killed
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, lambda *_: stop.set())
    descriptors: tuple[int, ...] = ()
    if seccomp is not None:
        descriptors = (os.memfd_create("kata-seccomp"),)
        os.write(descriptors[0], seccomp)
        os.lseek(descriptors[0], 0, os.SEEK_SET)  # bwrap reads from here to the end
        argv = [argv[0], "--seccomp", str(descriptors[0]), *argv[1:]]
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True,
                             pass_fds=descriptors)
    for descriptor in descriptors:  # bwrap holds its own
        os.close(descriptor)
    output = _Tail(child.stdout, tail)
    verdict = None
    while child.poll() is None and not stop.is_set():
        verdict = over_a_cap([*descendants(child.pid), child.pid], memory=memory,
                             processes=processes, disk=disk, scratch=scratch, tmpfs=tmpfs)
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
    parser = argparse.ArgumentParser(prog="kata.runs.supervisor", description=supervise.__doc__)
    parser.add_argument("--memory", type=int, default=0)
    parser.add_argument("--processes", type=int, default=PROCESS_LIMIT)
    parser.add_argument("--disk", type=int, default=DISK_LIMIT)
    parser.add_argument("--scratch", type=Path)
    parser.add_argument("--tail", type=int, default=OUTPUT_TAIL)
    parser.add_argument("--seccomp", type=base64.b64decode, help="a compiled filter, in base64")
    parser.add_argument("--tmpfs", action="append", default=[], help="an in-memory folder")
    parser.add_argument("command", nargs="+")
    options = parser.parse_args(arguments)
    return supervise(options.command, memory=options.memory, processes=options.processes,
                     disk=options.disk, scratch=options.scratch, tail=options.tail,
                     seccomp=options.seccomp, tmpfs=options.tmpfs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
