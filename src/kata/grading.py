"""Grade learners' work with the instructor's tests: ``kata grade TARGET...``.

A target is a directory (a learner's clone, or any tree laid out like ``katas/``) or a git
ref of the current checkout (a learner's branch), never silently one for the other: when a
name is both, grading refuses and says to write ``./NAME`` or ``refs/heads/NAME``. Only the
learner's kata modules are taken from it, and only as plain files inside the target (a
symbolic link is refused: it could lead to ``solutions/``). They are laid into a fresh copy
of the checkout's kata tests, conftest, pytest settings and harness, one copy per target, so
a learner who edited a test file changes nothing. A git ref is read with ``git ls-tree`` and
``git cat-file``, which touch neither the working tree, nor the index, nor any branch.

Each kata of each target runs in graded mode (``--learner-process``, see ``kata.remote``):
the tests' process, which judges and writes the report, never imports the learner's code;
that code runs in a process of its own, in a box (``kata.sandbox``) that sees that target's
grading tree read-only and nothing of the checkout, the other learners, the tests' process
or the network, and everything it starts dies with it. The tests' process runs under the
sandbox's supervisor (the whole tree's caps, a clean environment, its output's tail, nothing
left behind), and its report is read from the run's own scratch folder, which no box shows,
once it has ended. All targets' katas share one pool of workers.

The JSON (``--json FILE``) is ``{"version": 3, "sandbox": ..., "learners": [result, ...]}``,
where each result has the shape of Exercism's ``results.json`` version 3 (``status``,
``message`` only when the status is ``error``, and ``tests``, each test with ``name``,
``status``, ``message``, ``output`` (its last 500 characters, with a notice when cut),
``test_code`` and ``task_id``, the kata's number) with the target and the points, in total
and per kata, added. ``grade_results.schema.json`` beside this file is the exact shape.

Exit codes of ``kata grade``: 0 every target passed; 1 every target was graded and some
failed; 2 the grader could not read a target, or the command line was wrong; 130 stopped
by Ctrl-C (the results graded so far are written, the rest marked as not graded).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

from kata import sandbox
from kata.integrity import scan
from kata.manifest import Kata, load_manifest
from kata.progress import BROKEN, DONE, STOPPED, KataProgress, kata_progress

#: Points a kata earns when every one of its tests passes (and none when one fails).
POINTS_PER_KATA = 1
#: Exercism caps a test's output at 500 characters.
_OUTPUT_LIMIT = 500
SCHEMA = Path(__file__).with_name("grade_results.schema.json")
#: Exit codes of ``kata grade`` (see the module's docstring).
ALL_PASS, SOME_FAIL, NOT_GRADED, INTERRUPTED = 0, 1, 2, 130


class TargetProblem(Exception):
    """A target that cannot be graded: neither a directory nor a git ref of the checkout,
    or both."""


class ModuleRefused(Exception):
    """A learner's kata module that grading will not run (a symbolic link, say)."""


class GradingInterrupted(Exception):
    """Ctrl-C while grading; ``results`` holds every target, its unfinished katas marked."""

    def __init__(self, results: list[dict]):
        super().__init__("interrupted")
        self.results = results


Reader = Callable[[Kata], bytes | None]


def module_reader(target: str, checkout: Path) -> Reader:
    """A function that returns the learner's module of a kata from ``target`` (None when
    the target has no such file; ``ModuleRefused`` when it is not a plain file inside it)."""
    as_path = target in (".", "..") or target.startswith(("./", "../", "/", "~"))
    directory = Path(target).expanduser()
    ref = None if as_path else _commit(target, checkout)
    if directory.is_dir() and ref is not None:
        raise TargetProblem(f"{target!r} is both a directory and a git ref of {checkout}: write "
                            f"./{target} for the directory or refs/heads/{target} for the branch")
    if directory.is_dir():
        return _directory_reader(directory)
    if ref is None:
        raise TargetProblem(f"{target!r} is neither a directory nor a git ref of {checkout}")
    return _ref_reader(ref, checkout)


def _commit(target: str, checkout: Path) -> str | None:
    if target.startswith("-"):
        return None
    found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{target}^{{commit}}"],
                           cwd=checkout, capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else None


def _directory_reader(directory: Path) -> Reader:
    katas = directory / "katas" if (directory / "katas").is_dir() else directory
    top = directory.resolve()

    def read_file(kata: Kata) -> bytes | None:
        path = kata.path_in(katas)
        shown = f"{kata.folder}/{kata.module}.py"
        if path.is_symlink() or (path.exists() and top not in path.resolve().parents):
            raise ModuleRefused(f"{shown} is a symbolic link, or leads out of the target: "
                                f"only plain files are graded")
        return path.read_bytes() if path.is_file() else None
    return read_file


def _ref_reader(commit: str, checkout: Path) -> Reader:
    def read_blob(kata: Kata) -> bytes | None:
        path = f"katas/{kata.folder}/{kata.module}.py"
        listed = subprocess.run(["git", "ls-tree", commit, "--", path], cwd=checkout,
                                capture_output=True, text=True).stdout.split()
        if not listed:
            return None
        mode, kind, blob = listed[:3]
        if mode != "100644" and mode != "100755" or kind != "blob":
            raise ModuleRefused(f"{path} is not a plain file in {commit[:12]} (mode {mode}): "
                                f"only plain files are graded")
        return subprocess.run(["git", "cat-file", "blob", blob], cwd=checkout,
                              capture_output=True, check=True).stdout
    return read_blob


def grading_tree(scratch: Path, checkout: Path, read: Reader, katas: Sequence[Kata]
                 ) -> dict[str, str]:
    """Fill ``scratch`` with a copy of ``checkout``'s kata tests, conftest, pytest settings
    and harness, with the learner's modules where the stubs were. Returns why each refused
    module (by kata folder) was refused."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in ("conftest.py", "pyproject.toml"):
        shutil.copy2(checkout / name, scratch / name)
    shutil.copytree(checkout / "src" / "kata", scratch / "src" / "kata", ignore=ignore)
    refused = {}
    for kata in load_manifest().katas:
        folder = scratch / "katas" / kata.folder
        shutil.copytree(checkout / "katas" / kata.folder, folder, ignore=ignore)
        module = kata.path_in(scratch / "katas")
        module.unlink()
        try:
            learner = read(kata)
        except ModuleRefused as problem:
            refused[kata.folder] = str(problem)
            continue
        if learner is not None:
            module.write_bytes(learner)
    return {folder: why for folder, why in refused.items() if folder in {k.folder for k in katas}}


#: pytest's options for a graded run: the learner's code in a boxed process of its own.
GRADED_MODE = ("--learner-process",)


def box_for(tree: Path, memory_limit: int | None, data: Sequence[Path] = ()
            ) -> Callable[[list[str], Path], list[str]]:
    """How a graded run of ``tree``'s tests is supervised: a clean environment (one thread
    per run; ``data`` as MNIST_DIR), its scratch as HOME, caps on all its processes
    together; its learner's side boxes itself (``kata.remote``)."""
    environment = {"PYTHONPATH": str(tree / "src"), "PYTHONDONTWRITEBYTECODE": "1",
                   "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    if data:
        environment["MNIST_DIR"] = str(data[0])
    if "KATA_SANDBOX" in os.environ:  # switched off here: off for the learner's side too
        environment["KATA_SANDBOX"] = os.environ["KATA_SANDBOX"]

    def box(command: list[str], scratch: Path) -> list[str]:
        return sandbox.boxed(command, read_only=[tree, *data], scratch=scratch, env=environment,
                             memory_limit=memory_limit, chdir=tree, isolated=False)
    return box


def _mnist_folder(katas: Sequence[Kata]) -> list[Path]:
    """The MNIST files' folder, for the final exam (it reads them; the box has no network)."""
    if not any(kata.number == 8 for kata in katas):
        return []
    from kata.mnist_data import cache_dir  # imports torch: only kata 08 needs it
    folder = Path(os.environ.get("MNIST_DIR") or cache_dir())
    return [folder.resolve()] if folder.is_dir() else []


def _test_status(test) -> str:
    if test.outcome == "passed":
        return "pass"
    return "error" if test.exception in ("KataImportError", "CollectionError") else "fail"


def _tail(output: str) -> str:
    """The last characters of ``output`` that fit Exercism's 500, with a notice when cut."""
    if len(output) <= _OUTPUT_LIMIT:
        return output
    notice = f"[output truncated: the last {{}} of {len(output)} characters]\n"
    keep = _OUTPUT_LIMIT - len(notice.format(_OUTPUT_LIMIT))
    return notice.format(keep) + output[-keep:]


def integrity_flags(tree: Path, kata: Kata) -> list[str]:
    """What the learner's module of ``kata`` in ``tree`` does that no kata needs, for the
    instructor's review (``kata.integrity``; a flag is not a verdict)."""
    module = kata.path_in(tree / "katas")
    if not module.is_file():
        return []
    return [str(flag) for flag in scan(module.read_text(encoding="utf-8", errors="replace"))]


def result_of(target: str, entries: list[KataProgress],
              flags: dict[str, list[str]] | None = None) -> dict:
    """One learner's result: Exercism's results.json v3, plus the target, the points and
    the integrity flags (by kata folder)."""
    tests, katas = [], []
    for entry in entries:
        kata = entry.kata
        if entry.state == STOPPED and sandbox.stop_reason(entry.output):  # say which cap
            entry = dataclasses.replace(entry, reason=sandbox.stop_reason(entry.output))
        points = POINTS_PER_KATA if entry.state == DONE else 0
        katas.append({"kata": kata.folder, "state": entry.state, "points": points,
                      "max_points": POINTS_PER_KATA, "passed": entry.passed,
                      "total": len(entry.counted), "message": entry.reason,
                      "flags": (flags or {}).get(kata.folder, [])})
        if not entry.counted:  # no test reported: the kata's run itself is the entry
            tests.append({"name": kata.folder, "status": "error", "message": entry.reason,
                          "output": _tail(entry.output), "test_code": "",
                          "task_id": kata.number})
        for test in entry.counted:
            status = _test_status(test)
            tests.append({"name": f"{kata.folder}::{test.name}", "status": status,
                          "message": None if status == "pass" else test.message,
                          "output": _tail(test.output), "test_code": test.test_code,
                          "task_id": kata.number})
    done = sum(k["points"] for k in katas)
    status, message = ("pass" if all(entry.state == DONE for entry in entries) else "fail"), None
    if entries and all(not entry.counted for entry in entries):
        status = "error"
        message = "no test could run: " + "; ".join(f"{entry.kata.folder}: {entry.reason}"
                                                    for entry in entries)
    return {"version": 3, "status": status, "message": message, "target": target,
            "points": done, "max_points": POINTS_PER_KATA * len(katas), "katas": katas,
            "tests": tests}


def _unreadable(target: str, problem: str) -> dict:
    return {"version": 3, "status": "error", "message": problem, "target": target, "points": 0,
            "max_points": 0, "katas": [], "tests": []}


def _graded(target: str, katas: Sequence[Kata], jobs: dict[str, Future | KataProgress],
            flags: Callable[[Kata], list[str]], finished: set[Future] | None = None) -> dict:
    """``target``'s result from its jobs; only those in ``finished`` count (None: all)."""
    entries = []
    for kata in katas:
        job = jobs[kata.folder]
        if isinstance(job, KataProgress):
            entries.append(job)
        elif finished is None or job in finished:
            entries.append(job.result())
        else:
            entries.append(KataProgress(kata, STOPPED, reason="not graded: grading was interrupted"))
    return result_of(target, entries, {kata.folder: flags(kata) for kata in katas})


def grade_targets(targets: Sequence[str], checkout: Path, katas: Sequence[Kata], *, workers: int,
                  memory_limit: int | None = None, extra_args: Sequence[str] = (),
                  **limits) -> list[dict]:
    """Grade each target's ``katas`` with ``checkout``'s tests, each kata in its own box;
    one result per target. On Ctrl-C every box is stopped and ``GradingInterrupted``
    carries what was graded so far."""
    pool = ThreadPoolExecutor(max_workers=workers)
    jobs: dict[str, dict[str, Future | KataProgress]] = {}
    problems: dict[str, str] = {}
    trees: dict[str, Callable[[Kata], list[str]]] = {}

    def results(finished: set[Future] | None = None) -> list[dict]:
        return [_graded(target, katas, jobs[target], trees[target], finished) if target in jobs
                else _unreadable(target, problems.get(target, "not graded: grading was interrupted"))
                for target in targets]

    with tempfile.TemporaryDirectory(prefix="kata-grade-") as scratch:
        try:
            data = _mnist_folder(katas)
            for number, target in enumerate(targets):
                try:
                    read = module_reader(target, checkout)
                except TargetProblem as problem:
                    problems[target] = str(problem)
                    continue
                tree = Path(scratch) / f"target-{number}"
                tree.mkdir()
                refused = grading_tree(tree, checkout, read, katas)
                trees[target] = functools.partial(integrity_flags, tree)
                box = box_for(tree, memory_limit, data)
                jobs[target] = {kata.folder: KataProgress(kata, BROKEN, reason=refused[kata.folder])
                                if kata.folder in refused else
                                pool.submit(kata_progress, kata, tree, box=box,
                                            memory_limit=memory_limit,
                                            extra_args=[*extra_args, *GRADED_MODE], **limits)
                                for kata in katas}
            wait([job for target in jobs.values() for job in target.values()
                  if isinstance(job, Future)])
            graded = results()
        except KeyboardInterrupt:
            finished = {job for target in jobs.values() for job in target.values()
                        if isinstance(job, Future) and job.done() and not job.cancelled()}
            pool.shutdown(wait=False, cancel_futures=True)
            stop_boxes()
            pool.shutdown(wait=True)
            raise GradingInterrupted(results(finished)) from None
        pool.shutdown()
        return graded


def stop_boxes() -> None:
    """Ask every box this process started to stop (each one's supervisor then kills all of
    its processes and exits)."""
    for pid in sandbox.descendants(os.getpid()):
        try:
            if Path(f"/proc/{pid}/stat").read_text().split()[3] == str(os.getpid()):
                os.kill(pid, signal.SIGTERM)
        except (OSError, IndexError):
            pass


def exit_code(results: list[dict]) -> int:
    """0 when every target passed, 2 when a target could not be read, 1 otherwise."""
    if any(result["status"] == "error" and not result["katas"] for result in results):
        return NOT_GRADED
    return ALL_PASS if all(result["status"] == "pass" for result in results) else SOME_FAIL


def sandbox_note() -> dict:
    """What the reports say about the box: used, or why not."""
    why_not = sandbox.availability()
    return {"used": why_not is None, "why_not": why_not}


def check_writable(path: Path) -> None:
    """Fail now, before any grading, if the results could not be written to ``path``."""
    path = Path(path)
    if path.is_dir():
        raise OSError(f"{path} is a directory; give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OSError(f"{folder} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".kata-check-"):
            pass
    except OSError as error:
        raise OSError(f"cannot write into {folder}: {error.strerror}") from None


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the whole new one."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def json_document(results: list[dict]) -> str:
    return json.dumps({"version": 3, "sandbox": sandbox_note(), "learners": results}, indent=1)


def markdown(results: list[dict]) -> str:
    """A table per learner: each kata's state, tests and points; first, whether the learner
    code ran in a box."""
    note = sandbox_note()
    parts = ["Learner code ran in a sandbox (bubblewrap).\n" if note["used"] else
             f"**Learner code ran UNSANDBOXED**: {note['why_not']}.\n"]
    for result in results:
        parts.append(f"## {result['target']}: {result['points']}/{result['max_points']} points\n")
        if result["status"] == "error" and not result["katas"]:
            parts.append(f"Not graded: {result['message']}\n")
            continue
        parts.append("| kata | state | tests passed | points |\n| --- | --- | --- | --- |")
        for kata in result["katas"]:
            state = kata["state"] + (f": {kata['message']}" if kata["message"] else "")
            state = " ".join(state.replace("|", "\\|").split())
            parts.append(f"| `{kata['kata']}` | {state} | {kata['passed']}/{kata['total']} | "
                         f"{kata['points']}/{kata['max_points']} |")
        flagged = [(kata["kata"], flag) for kata in result["katas"] for flag in kata["flags"]]
        if flagged:
            parts.append("\nFor your review (what no kata needs; not a verdict):\n")
            parts += [f"- `{kata}` {flag}" for kata, flag in flagged]
        parts.append("")
    return "\n".join(parts)
