"""Where the time of one kata run goes: a pytest plugin that ``kata bench`` adds to a run
(``-p kata.instructor.run_profile --kata-profile FILE``), warm or cold, and the table it
makes of what it wrote.

The run is split into its phases by pytest's own hooks (start-up up to
``pytest_configure``, collection, the tests, the session's end), and the tests' time is
split by what was running: every millisecond of the process's CPU time (``SIGPROF``, so a
busy machine's waiting does not count) the plugin looks at the innermost frame of the
harness, the tests or the libraries that the running code belongs to:

- **Hypothesis**: drawing inputs (hypothesis itself and ``kata.strategies``);
- **guards**: the lesson's rules enforced around each call (``kata.harness.guards``, ``loops``);
- **learner handle**: the plain copies that cross to and from the code under test
  (``kata.harness.boundary``, ``loader``);
- **learner code**: the code under test itself, and the torch it calls;
- **test body and oracles**: the kata tests, ``kata.assertions``, ``kata.tolerances``...;
- **reporting**: each test's record and short report (``kata.harness.plugin``,
  ``failures``, pytest's reports);
- **pytest**: the rest of pytest's work per test.

Sampling costs a few per cent; the shares are estimates with a few samples' error each.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

#: seconds of CPU time between two samples
INTERVAL = 0.001
#: the categories of the tests' time, in the order the table shows them
CATEGORIES = ("Hypothesis (drawing inputs)", "guards (the lesson's rules)",
              "learner handle (plain copies)", "learner code", "test body and oracles",
              "reporting (records, short reports)", "pytest (per test)", "other")
#: where a frame's file belongs, tried in order: (a part of its path, its category)
_OWNERS = (
    ("/kata/harness/guards.py", 1), ("/kata/harness/loops.py", 1),
    ("/kata/harness/boundary.py", 2), ("/kata/harness/loader.py", 2),
    ("/kata/harness/plugin.py", 5), ("/kata/harness/failures.py", 5),
    ("/kata/harness/fail_fast.py", 5), ("/_pytest/reports.py", 5), ("/_pytest/terminal.py", 5),
    ("/kata/strategies.py", 0), ("/hypothesis/", 0),
    ("/kata/", 4), ("/_pytest/", 6), ("/pluggy/", 6),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--kata-profile", metavar="FILE",
                     help="write where the run's time went (kata.instructor.run_profile) to FILE")


def pytest_configure(config: pytest.Config) -> None:
    target = config.getoption("kata_profile")
    if target:
        config.pluginmanager.register(_Profile(Path(target), config.rootpath), "kata-profile")


class _Profile:
    """Marks the phases and samples the tests' time; writes both as JSON at the end."""

    def __init__(self, target: Path, root: Path):
        self.target = target
        self.tree = str(root / "katas"), str(root / "solutions")
        self.marks = {"configured": time.time()}
        self.samples: Counter[str] = Counter()
        self.running = False

    def pytest_collection(self) -> None:
        self.marks["collection"] = time.time()

    def pytest_collection_finish(self) -> None:
        self.marks["tests"] = time.time()
        self.running = True
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, INTERVAL, INTERVAL)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        self.running = False
        self.marks["finish"] = time.time()

    def pytest_unconfigure(self) -> None:
        self.marks["end"] = time.time()
        self.target.write_text(json.dumps({"marks": self.marks, "samples": self.samples}),
                               encoding="utf-8")

    def _sample(self, _signal, frame) -> None:
        if self.running:
            self.samples[CATEGORIES[self._category(frame)]] += 1

    def _category(self, frame) -> int:
        while frame is not None:
            filename = frame.f_code.co_filename
            name = os.path.basename(filename)
            if filename.startswith(self.tree) and not name.startswith("test_"):
                return 3
            if filename.startswith(self.tree):
                return 4
            for part, category in _OWNERS:
                if part in filename:
                    return category
            frame = frame.f_back
        return len(CATEGORIES) - 1


def phases(profile: dict, started: float, ended: float) -> dict[str, float]:
    """Seconds of wall time in each phase of a run whose command started and ended at
    ``started`` and ``ended`` (``time.time()``), and its tests' time split by category
    (in proportion to the samples)."""
    marks = profile["marks"]
    tests = marks["finish"] - marks["tests"]
    samples = profile["samples"]
    total = sum(samples.values()) or 1
    result = {"start-up (client, fork or interpreter, pytest's configuration)":
              marks["collection"] - started,
              "collection": marks["tests"] - marks["collection"]}
    result.update({f"tests: {name}": tests * samples.get(name, 0) / total
                   for name in CATEGORIES if samples.get(name)})
    result["session end (summary, the run's record)"] = marks["end"] - marks["finish"]
    result["client (reading the record, the view)"] = ended - marks["end"]
    return result
