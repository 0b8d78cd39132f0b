"""How many threads torch may use in a test run, so that a busy machine does not multiply the
time by ten.

torch starts one thread per core by default. When other processes already keep those cores
busy, its threads wait for each other at every parallel operation, and a run that takes
10 s alone takes minutes (issue 12 measured 98-184 s against 11.5 s with one thread). So a
run takes the cores that nobody else is using right now, divided among the runs that the
harness starts at once, and at least one:

>>> threads_for_run(cores=2, others_running=0, parallel_runs=1)
2
>>> threads_for_run(cores=2, others_running=2, parallel_runs=1)
1
>>> threads_for_run(cores=16, others_running=2, parallel_runs=2)
7

``OMP_NUM_THREADS``, where someone set it, wins: the plugin applies it as given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: how many of the harness's runs go at once (the board runs several katas side by side)
PARALLEL_RUNS = "KATA_PARALLEL_RUNS"


def threads_for_run(cores: int, others_running: int, parallel_runs: int) -> int:
    """The cores that are free, shared among ``parallel_runs`` runs: at least one each."""
    return max(1, (cores - others_running) // max(parallel_runs, 1))


def usable_cores() -> int:
    """The cores this process may run on (its affinity, not the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def others_running() -> int:
    """Processes runnable right now besides this one (Linux: /proc/loadavg's running count,
    an instant figure; the load averages lag by a minute). 0 where it cannot be known."""
    try:
        running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 0
    return max(0, running - 1)


def chosen_threads(environment: Mapping[str, str] | None = None) -> int:
    """The thread count for this run: ``OMP_NUM_THREADS`` when set, else the free cores
    shared among the ``KATA_PARALLEL_RUNS`` runs (1 when unset)."""
    environment = os.environ if environment is None else environment
    explicit = environment.get("OMP_NUM_THREADS", "")
    if explicit.isdigit() and int(explicit) > 0:
        return int(explicit)
    parallel = environment.get(PARALLEL_RUNS, "1")
    return threads_for_run(usable_cores(), others_running(),
                           int(parallel) if parallel.isdigit() else 1)
