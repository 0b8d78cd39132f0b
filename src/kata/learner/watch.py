"""``kata watch``: rerun a kata whenever one of the files its verdict depends on is saved
(its own folder and those of the katas it uses), or when the learner presses Enter; once it
passes, ``n`` moves on to the next kata that is not done. It never advances by itself.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from kata.core.manifest import Kata, load_manifest
from kata.core.records import KataState
from kata.core.workspace import Workspace
from kata.learner import terminal, views

_SAVED = "<saved>"  # the event a save puts into the watch's queue, beside the keys


def watched_folders(kata: Kata, workspace: Workspace) -> list[Path]:
    """The folders whose saves should rerun ``kata``: its own and those of the katas it uses,
    directly or through one another (the files its verdict depends on)."""
    used = load_manifest().used_katas(kata)
    folders = [workspace.checkout / "katas" / entry.folder for entry in (kata, *used)]
    return [folder for folder in folders if folder.is_dir()]


def _snapshot(kata: Kata, workspace: Workspace) -> dict[Path, tuple[int, int]]:
    """The size and time of change of each Python file in the watched folders."""
    return {path: (path.stat().st_mtime_ns, path.stat().st_size)
            for folder in watched_folders(kata, workspace) for path in sorted(folder.glob("*.py"))}


def _report_saves(kata: Kata, workspace: Workspace, events: queue.Queue, stop: threading.Event,
                  poll: float) -> None:
    """Put ``_SAVED`` into ``events`` whenever a Python file of ``kata`` is saved, until
    ``stop``: through the system's file notifications (watchfiles), or by looking at the
    files every ``poll`` seconds where those are not available."""
    try:
        import watchfiles

        for _ in watchfiles.watch(*watched_folders(kata, workspace), stop_event=stop, step=20,
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


def watch(kata: Kata, workspace: Workspace, options: views.RunOptions, *, poll: float,
          say: Callable[[str], None] = print) -> int:
    """Watch ``kata`` (and the next ones, as the learner moves on) until ``q`` or the end of
    input; the exit status."""
    events: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_keys, args=(events,), daemon=True).start()
    while True:
        stop = threading.Event()
        threading.Thread(target=_report_saves, args=(kata, workspace, events, stop, poll),
                         daemon=True).start()
        event = _watch_one(kata, workspace, options, events, say)
        stop.set()
        if not isinstance(event, Kata):  # "q"
            return 0
        kata = event


def _watch_one(kata: Kata, workspace: Workspace, options: views.RunOptions,
               events: queue.Queue, say: Callable[[str], None]) -> Kata | str:
    """Run ``kata`` on every save and Enter; "q" to quit, or the next kata to watch."""
    while True:
        while not events.empty() and events.queue[0] == _SAVED:
            events.get()  # saves before this run: it sees them
        before = _snapshot(kata, workspace)
        view = views.run(kata, None, workspace, options,
                         quick_pass=lambda quick: say(terminal.quick_check_passed(quick)))
        say(f"\n--- {time.strftime('%H:%M:%S')} ---\n{terminal.run(view)}")
        nxt = (views.next_unfinished(kata, workspace, options)
               if view.progress.state is KataState.DONE else None)
        advance = f" n+Enter: next kata ({nxt.folder}, not done yet)," if nxt else ""
        say(f"\nWatching katas/{kata.folder}: save a file to rerun. Enter: rerun,{advance} "
            f"q+Enter: quit.")
        sys.stdout.flush()
        if _snapshot(kata, workspace) != before:
            continue  # saved while it ran (or before the notifications started)
        event = events.get()
        while event == _SAVED and _snapshot(kata, workspace) == before:
            event = events.get()  # the tail of a save that this run already saw
        if event == "q":
            return "q"
        if event == "n" and nxt:
            return nxt
