"""The pytest plugin behind every kata run (loaded by the repository's ``conftest.py``).

- Which code is tested: the learner's ``katas/`` (default), ``--solutions``, or ``--impl DIR``
  (any tree laid out like ``katas/``). The run's header says which.
- ``--device auto|cpu|cuda`` picks the device for tests that take the ``device`` fixture; the
  ``gpu`` marker skips a test, visibly, where there is no CUDA, and ``--require-gpu`` makes
  that skip a failure.
- Hypothesis profiles: ``learner`` (the default: quick), ``ci`` (more examples) and
  ``alternatives`` (between the two: what the catalog's correct alternatives run under in CI).
- A failing kata test is reported in a few lines: what went wrong, on which input, where in
  the learner's files, and the hint of the function that failed, at the level that
  ``kata hint`` has reached in this checkout (its first when none has been shown).
- ``impl`` is the kata's module under test, ``impl_of("07")`` an earlier kata's from the same
  tree. ``--tb=long`` (or any ``--tb``) shows pytest's own.
- ``--learner-process`` (the graded mode, what ``kata grade`` runs): the code under test
  runs in a boxed process of its own and this one never imports it; ``impl`` then sends
  calls and scenarios there (kata.remote), each within ``--learner-timeout`` seconds.
- ``--kata-json FILE`` writes every test's outcome, for the repository checks and tools.
- ``--kata-running FILE`` keeps the id of the running test in FILE (a run stopped at its
  time limit names it).
- torch gets the cores that are free, shared among the harness's parallel runs
  (kata.threads), so that a busy machine does not multiply a run's time; tests marked
  ``training`` run after their module's quick tests and wait while one fails (kata.fail_fast).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
import torch
from hypothesis import Phase, settings

from kata import fail_fast
from kata import remote, sandbox
from kata.loader import Implementation, KataImportError, Learner, use_tree
from kata.manifest import Kata, load_manifest
from kata.workspace import Workspace
from kata.threads import chosen_threads

settings.register_profile(
    "learner", max_examples=20, derandomize=True, deadline=None, database=None,
    report_multiple_bugs=False, print_blob=False,
    phases=[Phase.explicit, Phase.generate, Phase.shrink])
settings.register_profile("ci", settings.get_profile("learner"), max_examples=200)
# The catalog's correct alternatives (kata.checks), 40-odd of them, each a whole run of its
# kata's tests: more examples than a learner's run meets, fewer than the reference's 200.
settings.register_profile("alternatives", settings.get_profile("learner"), max_examples=60)

IMPL_ROOT = pytest.StashKey[Path]()
RECORDER = pytest.StashKey["_Recorder"]()
PREVIOUS_TREE = pytest.StashKey[Path | None]()
WAS_PROTECTED = pytest.StashKey[bool]()
_HYPOTHESIS_PATCH_KEY = "_hypothesis_failing_examples"  # hypothesis writes .patch files from it


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kata", "tensor katas")
    group.addoption("--solutions", action="store_true",
                    help="test the reference solutions in solutions/ instead of katas/")
    group.addoption("--impl", metavar="DIR",
                    help="test the modules in DIR, a tree laid out like katas/")
    group.addoption("--device", choices=["auto", "cpu", "cuda"], default="auto",
                    help="device for tests that use one (auto: cuda when available)")
    group.addoption("--require-gpu", action="store_true",
                    help="fail, rather than skip, tests marked gpu when there is no CUDA")
    group.addoption("--learner-process", action="store_true",
                    help="graded mode: run the code under test in a process of its own (boxed "
                         "where kata.sandbox can), never in this one (see kata.remote)")
    group.addoption("--learner-timeout", type=float, default=remote.CALL_TIMEOUT, metavar="S",
                    help="graded mode: seconds one call of the code under test may take")
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
        root = config.rootpath / "solutions"
    elif config.getoption("impl"):
        root = Path(config.getoption("impl")).resolve()
        if not root.is_dir():
            raise pytest.UsageError(f"--impl {config.getoption('impl')}: no such directory")
    else:
        root = config.rootpath / "katas"
    config.stash[IMPL_ROOT] = root
    # in the graded mode this process resolves no kata module's name: it never imports one
    config.stash[PREVIOUS_TREE] = use_tree(None if config.getoption("learner_process") else root)
    if config.getoption("learner_process"):
        if not config.getoption("learner_unboxed"):
            try:
                sandbox.require_box()
            except sandbox.BoxUnavailable as missing:
                raise pytest.UsageError(str(missing)) from None
        config.stash[WAS_PROTECTED] = remote.protect_this_process()
    if config.getoption("kata_json"):
        config.stash[RECORDER] = _Recorder(config.getoption("kata_json"))
        config.pluginmanager.register(config.stash[RECORDER], "kata-json")
    if config.getoption("device") == "cuda" and not torch.cuda.is_available():
        raise pytest.UsageError("--device cuda: no CUDA device is available here")
    if not config.getoption("hypothesis_profile", None):
        settings.load_profile("learner")
    if config.getoption("kata_running"):
        config.pluginmanager.register(_RunningTest(config.getoption("kata_running")), "kata-running")
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


def pytest_unconfigure(config: pytest.Config) -> None:
    if PREVIOUS_TREE in config.stash:  # a pytest run inside another (pytester) hands it back
        use_tree(config.stash[PREVIOUS_TREE])
    if WAS_PROTECTED in config.stash:
        remote.protect_this_process(config.stash[WAS_PROTECTED])


def kata_of(path: Path) -> Kata | None:
    """The kata whose folder holds the test file at ``path``, if any."""
    folder = Path(path).parent.name
    return next((kata for kata in load_manifest().katas if kata.folder == folder), None)


def _describe_root(config: pytest.Config) -> str:
    root = config.stash[IMPL_ROOT]
    if config.getoption("solutions"):
        return f"the reference solutions in {root}"
    if config.getoption("impl"):
        return f"{root} (--impl)"
    return f"your katas in {root}"


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"hypothesis profile: {settings.get_current_profile_name()}; device: {_device(config)}"]
    katas = config.rootpath / "katas"
    arguments = [Path(config.invocation_params.dir, arg.split("::")[0]).resolve() for arg in config.args]
    if any(path == katas or katas in path.parents for path in arguments):
        lines.insert(0, f"code under test: {_describe_root(config)}")
    return lines


def _device(config: pytest.Config) -> torch.device:
    choice = config.getoption("device")
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(choice)


@pytest.fixture(scope="session")
def learner_side(request: pytest.FixtureRequest):
    """With ``--learner-process``, the learner's side (``kata.remote.LearnerProcess``): it
    reads the tree under test and the folders of the kata tests being run, and ends with
    the session, before any report is written. None otherwise."""
    if not request.config.getoption("learner_process"):
        yield None
        return
    folders = sorted({item.path.parent for item in request.session.items if kata_of(item.path)})
    side = remote.LearnerProcess(request.config.stash[IMPL_ROOT], visible=folders,
                                 timeout=request.config.getoption("learner_timeout"),
                                 box=not request.config.getoption("learner_unboxed"))
    yield side
    side.close()


@pytest.fixture(scope="module")
def impl(request: pytest.FixtureRequest, learner_side) -> Learner:
    """The code under test for the kata whose folder holds the requesting test file: calls
    and scenarios across the boundary (see ``kata.loader.Learner``)."""
    kata = kata_of(request.path)
    if kata is None:
        pytest.fail(f"{request.path} is not inside a kata folder listed in the manifest")
    return Learner(Implementation(kata, request.config.stash[IMPL_ROOT]), learner_side)


@pytest.fixture(scope="session")
def impl_of(request: pytest.FixtureRequest, learner_side):
    """Another kata's code, from the same tree as ``impl``: ``impl_of("07").SGD``."""
    implementations: dict[str, Learner] = {}

    def of(name: str) -> Learner:
        kata = load_manifest().kata(name)
        if kata.folder not in implementations:
            implementations[kata.folder] = Learner(
                Implementation(kata, request.config.stash[IMPL_ROOT]), learner_side)
        return implementations[kata.folder]
    return of


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


def _learner_line(excinfo: pytest.ExceptionInfo, root: Path) -> str:
    """Where in the code under test (this kata's module, or an earlier kata's that it uses)
    the exception came from, with that line of code."""
    if getattr(excinfo.value, "raised_at", None):  # the graded mode: the learner's side saw it
        return f"\n  raised at {excinfo.value.raised_at}"
    for entry in reversed(excinfo.traceback):
        path = Path(entry.path)
        if path.suffix == ".py" and path.parent.parent == root and not path.name.startswith("test_"):
            source = str(entry.statement).strip()
            return f"\n  raised at {path.name}:{entry.lineno + 1}:  {source}"
    return ""


def failure_summary(excinfo: pytest.ExceptionInfo, root: Path) -> str:
    """A failure in a few lines: the message, the falsifying input, the place in the code
    under test. This is what tools (``kata``, grading) show for a failed test."""
    error = excinfo.value
    if isinstance(error, AssertionError) and type(error) is not AssertionError:
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}"
        if not isinstance(error, NotImplementedError):
            text += _learner_line(excinfo, Path(root).resolve())
    # the input does not matter while the function is a stub or its module does not import
    quiet = isinstance(error, (NotImplementedError, KataImportError))
    notes = "" if quiet else "\n".join(getattr(error, "__notes__", []))
    return "\n".join(part for part in (text, notes) if part)


def short_failure(excinfo: pytest.ExceptionInfo, kata: Kata, root: Path,
                  hints: list[str]) -> str:
    """The report pytest prints: the summary, then the hints of the function that failed."""
    return "\n".join([failure_summary(excinfo, root), *hints,
                      "(--tb=long shows the full traceback)"])


def _functions(item: pytest.Item, kata: Kata) -> list[str]:
    """The public functions a test is marked with, in the kata's order."""
    return [function for function in kata.functions if item.get_closest_marker(function)]


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    kata = kata_of(item.path)
    if kata is None:
        return
    report.__dict__.pop(_HYPOTHESIS_PATCH_KEY, None)
    summary = None
    if report.failed and call.excinfo is not None:
        summary = failure_summary(call.excinfo, item.config.stash[IMPL_ROOT])
        if item.config.option.tbstyle == "auto":
            report.longrepr = short_failure(
                call.excinfo, kata, item.config.stash[IMPL_ROOT],
                Workspace(item.config.rootpath).reached_hints(kata, _functions(item, kata)))
    if RECORDER in item.config.stash and (report.when == "call" or not report.passed):
        if report.skipped and isinstance(report.longrepr, tuple):
            summary = report.longrepr[2]
        item.config.stash[RECORDER].results[report.nodeid] = {
            "nodeid": report.nodeid, "kata": kata.folder, "outcome": report.outcome,
            "when": report.when, "message": summary,
            "exception": call.excinfo.type.__name__ if call.excinfo else None,
            "functions": sorted(m.name for m in item.iter_markers() if m.name in kata.functions),
            "gpu": item.get_closest_marker("gpu") is not None,
            "output": report.capstdout, "test_code": _source(item)}


def _source(item: pytest.Item) -> str:
    """The test function's source, for reports that show the test beside its result."""
    try:
        return inspect.getsource(item.function)
    except (AttributeError, OSError, TypeError):
        return ""


class _Recorder:
    """Collects one entry per test (and per collection error) for ``--kata-json``."""

    def __init__(self, target: str):
        self.target = Path(target)
        self.results: dict[str, dict] = {}

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.results[report.nodeid] = {
                "nodeid": report.nodeid, "kata": None, "outcome": "error", "when": "collect",
                "exception": "CollectionError", "message": str(report.longrepr), "functions": [],
                "gpu": False, "output": "", "test_code": ""}

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.target.write_text(json.dumps({
            "code_under_test": str(session.config.stash[IMPL_ROOT]),
            "exitstatus": int(exitstatus),
            "tests": list(self.results.values()),
        }, indent=1), encoding="utf-8")
