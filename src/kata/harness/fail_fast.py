"""The exam fails fast: tests marked ``training`` (minutes of training) run after the quick
tests of their module, and are skipped, with the reason, while one of those quick tests fails.

A learner whose loss or SGD step is wrong learns it from a sanity check in a second instead of
from a low accuracy after minutes of training. A quick test that fails only because a
function is still a stub (``NotImplementedError``) or a module does not import skips nothing:
the training test then fails just as fast, with the same message, so an untouched kata still
fails every test with ``NotImplementedError``.

The plugin registers it; a test opts in with ``@pytest.mark.training``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kata.core.records import FailureKind
from kata.harness.failures import failure_kind

MARKER = "training"
MARKER_HELP = (f"{MARKER}: trains a model (minutes); runs after its module's quick tests and is "
               f"skipped while one of them fails")


class TrainingWaits:
    """Moves ``training`` tests after their module's other tests, and skips them while a
    quick test of the same module fails."""

    def __init__(self):
        self.failed: dict[Path, str] = {}  # test file -> the first quick test that failed

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        modules = {path: number for number, path in enumerate(dict.fromkeys(i.path for i in items))}
        order = {id(item): number for number, item in enumerate(items)}
        items.sort(key=lambda item: (modules[item.path],
                                     item.get_closest_marker(MARKER) is not None,
                                     order[id(item)]))

    def pytest_exception_interact(self, node: pytest.Item | pytest.Collector,
                                  call: pytest.CallInfo,
                                  report: pytest.TestReport | pytest.CollectReport) -> None:
        if not isinstance(node, pytest.Item) or node.get_closest_marker(MARKER) is not None:
            return
        if call.excinfo is not None and not _as_fast_for_training(call.excinfo.value):
            self.failed.setdefault(node.path, node.name)

    @pytest.hookimpl(tryfirst=True)  # before the fixtures are set up
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if item.get_closest_marker(MARKER) is not None and item.path in self.failed:
            pytest.skip(f"training waits until the quick tests pass: "
                        f"{self.failed[item.path]} failed (fix it first, then run again)")


def _as_fast_for_training(error: BaseException) -> bool:
    """Failures that a training test meets just as fast (a stub, a module that does not
    import, no MNIST): they skip nothing, and the training test says the same."""
    kind = failure_kind(error)
    return kind.quiet or kind is FailureKind.MNIST_MISSING
