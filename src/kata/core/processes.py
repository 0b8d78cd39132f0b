"""Small facts about processes that several rooms need, each written once: the process
tree from ``/proc``, the data limit, ``prctl`` switches, and a ``PYTHONPATH``.

Linux first (the box and the supervisor need it); elsewhere each function does what it
can and says so in its docstring.

>>> os.getpid() in descendants(parent_of(os.getpid()))
True
>>> python_path(Path("/a/src"), inherited="/b")
'/a/src:/b'
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterable
from pathlib import Path


def parent_of(pid: int) -> int | None:
    """The parent of process ``pid``, from ``/proc/PID/stat`` (None when it is gone or
    there is no ``/proc``). The command name in that file is in parentheses and may hold
    spaces or parentheses itself, so the fields are read after the last ``)``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def children() -> dict[int, list[int]]:
    """Each process's children, from ``/proc`` (empty where there is none)."""
    tree: dict[int, list[int]] = {}
    if not Path("/proc/self/stat").exists():
        return tree
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            parent = parent_of(int(entry.name))
            if parent is not None:
                tree.setdefault(parent, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (none where ``/proc`` is missing)."""
    tree, found, todo = children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def limit_data(limit: int | None) -> None:
    """Cap this process's data segment at ``limit`` bytes (POSIX; None: no cap), so that
    code that eats memory fails with ``MemoryError`` in its own process. The data limit,
    unlike the address-space one, leaves room for the address space CUDA reserves."""
    if limit is None or os.name != "posix":
        return
    import resource
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _prctl(option: int, value: int) -> int:
    import ctypes
    return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


_PR_SET_PDEATHSIG, _PR_GET_DUMPABLE, _PR_SET_DUMPABLE, _PR_SET_CHILD_SUBREAPER = 1, 3, 4, 36


def set_dumpable(on: bool) -> bool:
    """Make this process dumpable or not (Linux): a non-dumpable process can be neither
    ptraced nor read or written through ``/proc`` by other processes of the same user.
    Returns whether it was dumpable before (False elsewhere than Linux)."""
    if sys.platform != "linux":
        return False
    before = _prctl(_PR_GET_DUMPABLE, 0) == 1
    _prctl(_PR_SET_DUMPABLE, 1 if on else 0)
    return before


def die_with_parent_and_adopt_orphans() -> None:
    """Be killed when the parent dies (even if it is killed), and adopt every orphan of the
    processes below this one, so that nothing they start outlives this process's clean-up
    (Linux; elsewhere nothing)."""
    if sys.platform != "linux":
        return
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def python_path(*folders: Path, inherited: str | None = None) -> str:
    """A ``PYTHONPATH`` value: ``folders`` first, then the ``inherited`` value's entries."""
    entries = [str(folder) for folder in folders] + [entry for entry in (inherited or "")
                                                      .split(os.pathsep) if entry]
    return os.pathsep.join(entries)


def kill_all(pids: Iterable[int]) -> None:
    """SIGKILL each of ``pids`` that still exists."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
