"""The pytest plugin behind every kata run (loaded by the repository's ``conftest.py``).

- Which code is tested: the learner's ``katas/`` (default), ``--solutions``, or ``--impl DIR``
  (any tree laid out like ``katas/``). The run's header says which.
- ``--device auto|cpu|cuda`` picks the device for tests that take the ``device`` fixture; the
  ``gpu`` marker skips a test, visibly, where there is no CUDA, and ``--require-gpu`` makes
  that skip a failure.
- Hypothesis profiles: ``learner`` (the default: 20 examples per test), ``quick`` (5: a
  save's first check in ``kata run`` and ``kata watch``), ``ci`` (200), ``alternatives``
  (between the two: what the catalog's correct alternatives run under in CI) and
  ``grading`` (``kata grade``: 100, drawn from a seed, not derandomized).
- A failing kata test is reported in a few lines: what went wrong, the classic mistake it
  reproduces where one does (kata.harness.diagnosis), on which input, where in the learner's
  files, and the hint of the function that failed, at the level that ``kata hint`` has
  reached in this checkout (its first when none has been shown).
- ``impl`` is the kata's code under test (a ``kata.harness.boundary.CodeUnderTest``),
  ``impl_of("07")`` an earlier kata's from the same tree. ``--tb=long`` (or any ``--tb``)
  shows pytest's own.
- ``--learner-process`` (the graded mode, what ``kata grade`` runs): the code under test
  runs in a boxed process of its own and this one never imports it; ``impl`` then sends
  calls and scenarios there (kata.harness.remote), each within ``--learner-timeout`` seconds.
  No box, no run, unless ``--learner-unboxed`` says so.
- ``--kata-json FILE`` writes the run's record (``kata.core.records.RunRecord``), for the
  repository checks and tools.
- ``--kata-running FILE`` keeps the id of the running test in FILE (a run stopped at its
  time limit names it).
- torch gets the cores that are free, shared among the harness's parallel runs
  (kata.runs.threads), so that a busy machine does not multiply a run's time; tests marked
  ``training`` run after their module's quick tests and wait while one fails
  (kata.harness.fail_fast).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy
import pytest
import torch
from hypothesis import Phase, settings

from kata.core.devices import CHOICES, chosen_device
from kata.core.manifest import Kata, load_manifest
from kata.core.processes import set_dumpable
from kata.core.records import FailureKind, Outcome, RunRecord, TestRecord
from kata.core.workspace import Workspace
from kata.harness import fail_fast
from kata.harness.allowlist import refusal
from kata.harness.boundary import CodeUnderTest
from kata.harness.diagnosis import diagnose, forget_calls
from kata.harness.failures import (
    RuleExplanations,
    failure_cause,
    failure_detail,
    failure_kind,
    failure_summary,
    short_failure,
)
from kata.harness.loader import GuardedModule, use_tree
from kata.runs.limits import CALL_TIMEOUT, GRADING_EXAMPLES
from kata.runs.threads import chosen_threads

if TYPE_CHECKING:
    from kata.harness.remote import RemoteCode

settings.register_profile(
    "learner", max_examples=20, derandomize=True, deadline=None, database=None,
    report_multiple_bugs=False, print_blob=False,
    phases=[Phase.explicit, Phase.generate, Phase.shrink])
settings.register_profile("ci", settings.get_profile("learner"), max_examples=200)
# A save's first check in the learner's own commands (kata.runs.progress): the first examples
# of every test, which show most mistakes in a fraction of the time; a kata is done only once
# its tests pass all of the learner profile's.
settings.register_profile("quick", settings.get_profile("learner"), max_examples=5)
# The catalog's correct alternatives (kata.instructor.checks), 40-odd of them, each a whole run
# of its kata's tests: more examples than a learner's run meets, fewer than the reference's 200.
settings.register_profile("alternatives", settings.get_profile("learner"), max_examples=60)
# kata grade's (kata.grading.service): five times a learner's examples, and not derandomized:
# each grading run draws its own from the seed it records (--hypothesis-seed), so code shaped
# around the examples a learner's runs showed earns nothing it should not.
settings.register_profile("grading", settings.get_profile("learner"),
                          max_examples=GRADING_EXAMPLES, derandomize=False)

CODE_TREE = pytest.StashKey[Path]()
LOCAL_CONSTANTS = pytest.StashKey[Any]()
EXPLAINED = pytest.StashKey[RuleExplanations]()
RECORDER = pytest.StashKey["_Recorder"]()
PREVIOUS_TREE = pytest.StashKey[Path | None]()
WAS_DUMPABLE = pytest.StashKey[bool]()
REFUSALS = pytest.StashKey[dict[str, str | None]]()
_HYPOTHESIS_PATCH_KEY = "_hypothesis_failing_examples"  # hypothesis makes .patch files from it


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kata", "tensor katas")
    group.addoption("--solutions", action="store_true",
                    help="test the reference solutions in solutions/ instead of katas/")
    group.addoption("--impl", metavar="DIR",
                    help="test the modules in DIR, a tree laid out like katas/")
    group.addoption("--device", choices=CHOICES, default="auto",
                    help="device for tests that use one (auto: cuda when available)")
    group.addoption("--require-gpu", action="store_true",
                    help="fail, rather than skip, tests marked gpu when there is no CUDA")
    group.addoption("--learner-process", action="store_true",
                    help="graded mode: run the code under test in a process of its own (boxed "
                         "where kata.runs.sandbox can), never in this one "
                         "(see kata.harness.remote)")
    group.addoption("--learner-timeout", type=float, default=CALL_TIMEOUT, metavar="S",
                    help="graded mode: seconds one call of the code under test may take")
    group.addoption("--learner-unchecked", action="store_true",
                    help="run the code under test even where it names what kata code may not "
                         "(the allow-list): only to test what the box holds (kata grade "
                         "--skip-allowlist)")
    group.addoption("--learner-unboxed", action="store_true",
                    help="graded mode without the box, on purpose (where none can be built: "
                         "every report says UNSANDBOXED); without it, no box is an error")
    group.addoption("--kata-json", metavar="FILE",
                    help="write each test's outcome as JSON to FILE")
    group.addoption("--kata-running", metavar="FILE",
                    help="keep in FILE the id of the test that is running (a run stopped at its "
                         "time limit names it)")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("solutions") and config.getoption("impl"):
        raise pytest.UsageError("choose one of --solutions and --impl DIR")
    if config.getoption("solutions"):
        tree = config.rootpath / "solutions"
    elif config.getoption("impl"):
        tree = Path(config.getoption("impl")).resolve()
        if not tree.is_dir():
            raise pytest.UsageError(f"--impl {config.getoption('impl')}: no such directory")
    else:
        tree = config.rootpath / "katas"
    config.stash[CODE_TREE] = tree
    config.stash[EXPLAINED] = RuleExplanations()
    # in the graded mode this process resolves no kata module's name: it never imports one
    config.stash[PREVIOUS_TREE] = use_tree(None if config.getoption("learner_process") else tree)
    if config.getoption("learner_process"):
        from kata.runs import sandbox  # the graded mode only: a learner's run needs no box

        if not config.getoption("learner_unboxed"):
            try:
                sandbox.require_box()
            except sandbox.BoxUnavailableError as missing:
                raise pytest.UsageError(str(missing)) from None
        # no process of this user (an unboxed learner's side among them) can ptrace this one
        # or write its memory through /proc while it judges
        config.stash[WAS_DUMPABLE] = set_dumpable(False)
    if config.getoption("kata_json"):
        config.stash[RECORDER] = _Recorder(config.getoption("kata_json"))
        config.pluginmanager.register(config.stash[RECORDER], "kata-json")
    if config.getoption("device") == "cuda" and not torch.cuda.is_available():
        raise pytest.UsageError("--device cuda: no CUDA device is available here")
    if not config.getoption("hypothesis_profile", None):
        settings.load_profile("learner")
    config.stash[LOCAL_CONSTANTS] = _without_local_constants()
    if config.getoption("kata_running"):
        config.pluginmanager.register(_RunningTest(config.getoption("kata_running")),
                                      "kata-running")
    # threads: the free cores, not every core (issue 12: no thread storms on a busy machine)
    torch.set_num_threads(chosen_threads())
    config.addinivalue_line("markers", fail_fast.MARKER_HELP)
    config.pluginmanager.register(fail_fast.TrainingWaits(), "kata-fail-fast")
    config.addinivalue_line("markers", "gpu: needs a CUDA device (skipped without one, "
                                       "failed with --require-gpu)")
    for kata in load_manifest().katas:
        for function in kata.functions:
            config.addinivalue_line("markers", f"{function}: tests of {kata.module}.{function}()")


class _RunningTest:
    """Keeps the id of the running test in a file, for ``--kata-running``."""

    def __init__(self, target: str):
        self.target = Path(target)

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.target.write_text(nodeid, encoding="utf-8")


def _without_local_constants():
    """Hypothesis mixes into its draws numbers it finds in the source of every module this
    process has imported outside site-packages (the harness, the code under test), so the
    examples a test meets would depend on what else happens to be imported: a run in the
    warm worker, which imports more, a graded run, which never imports the code under
    test, and a new process would each meet other examples. Without that pool the same
    test of the same code meets the same examples everywhere. Returns what to restore."""
    from hypothesis.internal.conjecture import providers

    previous = getattr(providers, "_get_local_constants", None)
    if previous is not None:
        nothing = providers.Constants()
        providers._get_local_constants = lambda: nothing
    return previous


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(LOCAL_CONSTANTS, None) is not None:
        from hypothesis.internal.conjecture import providers

        providers._get_local_constants = config.stash[LOCAL_CONSTANTS]
    if PREVIOUS_TREE in config.stash:  # a pytest run inside another (pytester) hands it back
        use_tree(config.stash[PREVIOUS_TREE])
    if WAS_DUMPABLE in config.stash:
        set_dumpable(config.stash[WAS_DUMPABLE])


def kata_of(path: Path) -> Kata | None:
    """The kata whose folder holds the test file at ``path``, if any."""
    folder = Path(path).parent.name
    return next((kata for kata in load_manifest().katas if kata.folder == folder), None)


def _describe_tree(config: pytest.Config) -> str:
    tree = config.stash[CODE_TREE]
    if config.getoption("solutions"):
        return f"the reference solutions in {tree}"
    if config.getoption("impl"):
        return f"{tree} (--impl)"
    return f"your katas in {tree}"


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"hypothesis profile: {settings.get_current_profile_name()}; "
             f"device: {_device(config)}"]
    katas = config.rootpath / "katas"
    arguments = [Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
                 for arg in config.args]
    if any(path == katas or katas in path.parents for path in arguments):
        lines.insert(0, f"code under test: {_describe_tree(config)}")
    return lines


def _device(config: pytest.Config) -> torch.device:
    return chosen_device(config.getoption("device"))


@pytest.fixture(scope="session")
def remote_code(request: pytest.FixtureRequest) -> Iterator[RemoteCode | None]:
    """With ``--learner-process``, the code under test in a process of its own
    (``kata.harness.remote.RemoteCode``): it reads the tree under test and the folders of
    the kata tests being run, and ends with the session, before any report is written.
    None otherwise."""
    if not request.config.getoption("learner_process"):
        yield None
        return
    from kata.harness import remote  # the graded mode only

    folders = sorted({item.path.parent for item in request.session.items if kata_of(item.path)})
    code = remote.RemoteCode(request.config.stash[CODE_TREE], visible=folders,
                             timeout=request.config.getoption("learner_timeout"),
                             box=not request.config.getoption("learner_unboxed"))
    yield code
    code.close()


@pytest.fixture(scope="module")
def impl(request: pytest.FixtureRequest, remote_code: RemoteCode | None) -> CodeUnderTest:
    """The code under test for the kata whose folder holds the requesting test file: calls
    and scenarios across the boundary (see ``kata.harness.boundary.CodeUnderTest``)."""
    kata = kata_of(request.path)
    if kata is None:
        pytest.fail(f"{request.path} is not inside a kata folder listed in the manifest")
    tree = request.config.stash[CODE_TREE]
    return CodeUnderTest(GuardedModule(kata, tree), remote_code, _refusal(request.config, kata))


@pytest.fixture(scope="session")
def impl_of(request: pytest.FixtureRequest, remote_code: RemoteCode | None
            ) -> Callable[[str], CodeUnderTest]:
    """Another kata's code, from the same tree as ``impl``: ``impl_of("07").SGD``."""
    handles: dict[str, CodeUnderTest] = {}

    def of(name: str) -> CodeUnderTest:
        kata = load_manifest().kata(name)
        if kata.folder not in handles:
            handles[kata.folder] = CodeUnderTest(
                GuardedModule(kata, request.config.stash[CODE_TREE]), remote_code,
                _refusal(request.config, kata))
        return handles[kata.folder]
    return of


def _refusal(config: pytest.Config, kata: Kata) -> str | None:
    """Why ``kata``'s code under test may not run (``kata.harness.allowlist``), checked once a
    session, from its source, before any of it runs."""
    if config.getoption("learner_unchecked"):
        return None
    refusals = config.stash.setdefault(REFUSALS, {})
    if kata.folder not in refusals:
        refusals[kata.folder] = refusal(kata, config.stash[CODE_TREE])
    return refusals[kata.folder]


@pytest.fixture(scope="session")
def device(request: pytest.FixtureRequest) -> torch.device:
    """The device chosen with ``--device`` (auto: cuda when available, else cpu)."""
    return _device(request.config)


_NO_GPU = "needs a CUDA GPU, and torch.cuda.is_available() is False here"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("gpu") and not torch.cuda.is_available():
        if not item.config.getoption("require_gpu"):
            pytest.skip(_NO_GPU)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    if item.get_closest_marker("gpu") and not torch.cuda.is_available():
        pytest.fail(f"{_NO_GPU} (--require-gpu)", pytrace=False)


#: hypothesis keeps a test's settings here, and reads them each time the test is called
_HYPOTHESIS_SETTINGS = "_hypothesis_internal_use_settings"


@pytest.hookimpl(hookwrapper=True, specname="pytest_runtest_call")
def pytest_runtest_call_without_shrinking(item: pytest.Item):
    """A test of functions that are all still stubs (or of a module that does not import)
    fails on its first example whatever the example is: looking for a smaller one would
    call the test again dozens of times and find nothing. It runs without hypothesis's
    shrink phase, and fails exactly as it would have."""
    kata = kata_of(item.path)
    test = getattr(item, "obj", None)
    current = getattr(test, _HYPOTHESIS_SETTINGS, None)
    impl = getattr(item, "funcargs", {}).get("impl")
    if kata is None or current is None or Phase.shrink not in current.phases \
            or not isinstance(impl, CodeUnderTest) or not impl.fails_alike(_functions(item, kata)):
        yield
        return
    without = [phase for phase in current.phases if phase is not Phase.shrink]
    setattr(test, _HYPOTHESIS_SETTINGS, settings(current, phases=without))
    try:
        yield
    finally:  # parametrized cases share the test function: the next may need shrinking
        setattr(test, _HYPOTHESIS_SETTINGS, current)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Where a failing kata test shows the short report (``--tb=auto``, the default),
    pytest's own long traceback is never shown, so it is never built: building it reads
    and parses the source of every file on the stack, and hypothesis asks for it once per
    failing example it tries."""
    if config.option.tbstyle != "auto":
        return
    tree = config.stash[CODE_TREE]
    for item in items:
        if kata_of(item.path) is not None:
            # an attribute of the item, in front of its class's method (items are pytest's)
            item.repr_failure = functools.partial(  # type: ignore[method-assign]
                failure_summary, tree=tree)


def _functions(item: pytest.Item, kata: Kata) -> list[str]:
    """The public functions a test is marked with, in the kata's order."""
    return [function for function in kata.functions if item.get_closest_marker(function)]


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo
                              ) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    # hypothesis would parse the test file (libcst) to write a .patch file for each
    # falsifying example; the short report already shows it
    item.__dict__.pop(_HYPOTHESIS_PATCH_KEY, None)
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    kata = kata_of(item.path)
    if kata is None:
        return
    summary = diagnosis = None
    if report.failed and call.excinfo is not None:
        diagnosis = diagnose(call.excinfo.value)
        summary = item.config.stash[EXPLAINED].once(
            failure_summary(call.excinfo, item.config.stash[CODE_TREE], diagnosis), report.nodeid)
        if item.config.option.tbstyle == "auto":
            report.longrepr = short_failure(summary, Workspace(item.config.rootpath).reached_hints(
                kata, _functions(item, kata), failure_cause(call.excinfo.value)))
    if call.when == "call":
        forget_calls()
    if RECORDER in item.config.stash and (report.when == "call" or not report.passed):
        if report.skipped and isinstance(report.longrepr, tuple):
            summary = report.longrepr[2]
        failure = call.excinfo if report.failed else None
        error = call.excinfo.value if call.excinfo is not None else None
        item.config.stash[RECORDER].results[report.nodeid] = TestRecord(
            nodeid=report.nodeid, kata=kata.folder, outcome=Outcome(report.outcome),
            kind=failure_kind(failure.value) if failure is not None else None,
            exception=type(error).__name__ if error is not None else None, message=summary,
            functions=tuple(_functions(item, kata)),
            gpu=item.get_closest_marker("gpu") is not None, output=report.capstdout,
            test_code=_source(item),
            detail=failure_detail(failure, item.config.stash[CODE_TREE],
                                  item.config.stash[EXPLAINED], report.nodeid)
            if failure is not None else None,
            diagnosis=diagnosis)


def _source(item: pytest.Item) -> str:
    """The test function's source, for reports that show the test beside its result."""
    if not isinstance(item, pytest.Function):  # a doctest, say: no function to show
        return ""
    try:
        return inspect.getsource(item.function)
    except (OSError, TypeError):
        return ""


class _Recorder:
    """Collects one record per test (and per collection error) for ``--kata-json``."""

    def __init__(self, target: str):
        self.target = Path(target)
        self.results: dict[str, TestRecord] = {}

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.results[report.nodeid] = TestRecord(
                nodeid=report.nodeid, kata=None, outcome=Outcome.ERROR,
                kind=FailureKind.NOT_COLLECTED, exception="CollectionError",
                message=str(report.longrepr))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        record = RunRecord(str(session.config.stash[CODE_TREE]), int(exitstatus),
                           tuple(self.results.values()))
        self.target.write_text(record.to_json(), encoding="utf-8")
