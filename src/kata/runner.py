"""Run katas' tests in a fresh pytest process and read back each test's outcome.

Each run is its own process, so the code under test never leaks between runs, and a
learner's module that hangs or crashes cannot take the caller down with it.

>>> run = run_katas(["01_broadcasting"], solutions=True)           # doctest: +SKIP
>>> {test.outcome for test in run.of("01_broadcasting")}          # doctest: +SKIP
{'passed'}
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kata.manifest import REPO_ROOT


@dataclass(frozen=True)
class Outcome:
    """One test's result: ``outcome`` is passed, failed, skipped or error."""

    nodeid: str
    kata: str | None
    outcome: str
    exception: str | None
    message: str | None
    functions: tuple[str, ...]
    gpu: bool = False  # marked gpu: skipped, by design, where there is no CUDA

    @property
    def skipped_without_gpu(self) -> bool:
        """A gpu test skipped, by design, because this machine has no CUDA."""
        return self.gpu and self.outcome == "skipped"

    @property
    def name(self) -> str:
        """The test's name without its file: ``test_matmul_matches_torch[...]``."""
        return self.nodeid.rsplit("::", 1)[-1]

    @property
    def function(self) -> str:
        """The test function's name, without parameters: ``test_matmul_matches_torch``."""
        return self.name.split("[", 1)[0]


@dataclass(frozen=True)
class Run:
    """What one pytest process reported."""

    exitstatus: int
    tests: tuple[Outcome, ...]
    output: str

    def of(self, kata: str) -> list[Outcome]:
        return [test for test in self.tests if test.kata == kata]


def run_katas(katas: Sequence[str], *, solutions: bool = False, impl: Path | None = None,
              extra_args: Sequence[str] = (), environment: dict[str, str] | None = None,
              timeout: float = 600, root: Path = REPO_ROOT) -> Run:
    """Run the tests of ``katas`` (folder names) against the learner's code, the solutions
    (``solutions=True``) or the tree at ``impl``, in a new process under ``root``, with
    ``environment`` added to this process's."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pytest", *(f"katas/{kata}" for kata in katas),
                   "--kata-json", str(report), "-q", "-p", "no:cacheprovider", *extra_args]
        if solutions:
            command.append("--solutions")
        if impl is not None:
            command += ["--impl", str(impl)]
        python_path = os.pathsep.join([str(root / "src"), os.environ.get("PYTHONPATH", "")])
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONPATH": python_path.rstrip(os.pathsep),
                                   **(environment or {})})
        if not report.exists():
            raise RuntimeError(f"pytest wrote no report (exit {done.returncode}):\n"
                               f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        data = json.loads(report.read_text(encoding="utf-8"))
    tests = tuple(Outcome(t["nodeid"], t["kata"], t["outcome"], t["exception"], t["message"],
                          tuple(t["functions"]), t["gpu"]) for t in data["tests"])
    return Run(data["exitstatus"], tests, done.stdout + done.stderr)
