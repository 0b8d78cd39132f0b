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

import base64
import contextlib
import dataclasses
import functools
import json
import math
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
from kata.runner import Outcome

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
#: ... and what turns its box off, where the instructor asked for that (``--unsandboxed``).
UNBOXED_MODE = ("--learner-unboxed",)


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
                             memory_limit=memory_limit, chdir=tree, box=False)
    return box


def _mnist_folder(katas: Sequence[Kata]) -> list[Path]:
    """The MNIST files' folder, for the final exam (it reads them; the box has no network).
    Without ``MNIST_DIR``, the files are fetched into the per-user cache first, here, where
    the network is (a fresh Classroom runner has none yet); where that fails, the exam says
    it needs MNIST."""
    if not any(kata.number == 8 for kata in katas):
        return []
    from kata import mnist_data  # imports torch: only kata 08 needs it
    if not os.environ.get("MNIST_DIR"):
        with contextlib.suppress(mnist_data.MnistUnavailable):
            mnist_data.fetch_all()
    folder = Path(os.environ.get("MNIST_DIR") or mnist_data.cache_dir())
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


def points_per_test(kata: Kata, tests: Sequence[Outcome]) -> list[float]:
    """What each of ``tests`` (a graded run of ``kata``'s tests) is worth: the kata's points
    shared among its public names by their weights, each name's share split evenly among
    the tests marked with it (a test marked with two names gets a part of each). Names that
    no test here is marked with give their share to the others.

    >>> from kata.manifest import load_manifest
    >>> from kata.runner import Outcome
    >>> run = [Outcome(f"t{i}", "03_matmul", "passed", None, None, (name,))
    ...        for i, name in enumerate(["matvec", "matmul", "matmul", "matmul_by_columns"])]
    >>> points_per_test(load_manifest().kata("03"), run)
    [2.5, 2.5, 2.5, 2.5]
    """
    marked = {name: sum(name in test.functions for test in tests) for name in kata.functions}
    weight = sum(kata.weight(name) for name, count in marked.items() if count)
    if not weight:
        return [0.0 for _ in tests]
    share = {name: kata.points * kata.weight(name) / weight / count
             for name, count in marked.items() if count}
    exact = [sum(share[name] for name in test.functions if name in share) for test in tests]
    # in whole 1/256ths of a point, largest remainders first: the shares add up to the kata's
    # points exactly, in binary floating point too (Classroom's reporter adds them up)
    quanta = [value * _QUANTA for value in exact]
    whole = [math.floor(value) for value in quanta]
    short = round(sum(quanta)) - sum(whole)
    for index in sorted(range(len(tests)), key=lambda i: whole[i] - quanta[i])[:short]:
        whole[index] += 1
    return [count / _QUANTA for count in whole]


#: Test points are whole multiples of 1/_QUANTA: exact in binary, fine enough for any kata.
_QUANTA = 256


def shown_points(points: float) -> str:
    """Points as a report shows them: to a hundredth at most (``8.33``, ``10``)."""
    return f"{points:.2f}".rstrip("0").rstrip(".")


def result_of(target: str, entries: list[KataProgress],
              flags: dict[str, list[str]] | None = None) -> dict:
    """One learner's result: Exercism's results.json v3, plus the target, the points (per
    test, per kata and in total) and the integrity flags (by kata folder)."""
    tests, katas = [], []
    for entry in entries:
        kata = entry.kata
        if entry.state == STOPPED and sandbox.stop_reason(entry.output):  # say which cap
            entry = dataclasses.replace(entry, reason=sandbox.stop_reason(entry.output))
        worth = points_per_test(kata, entry.counted)
        earned = sum(points for test, points in zip(entry.counted, worth)
                     if _test_status(test) == "pass")
        katas.append({"kata": kata.folder, "state": entry.state, "points": earned,
                      "max_points": kata.points, "passed": entry.passed,
                      "total": len(entry.counted), "message": entry.reason,
                      "flags": (flags or {}).get(kata.folder, [])})
        if not entry.counted:  # no test reported: the kata's run itself is the entry
            tests.append({"name": kata.folder, "status": "error", "message": entry.reason,
                          "output": _tail(entry.output), "test_code": "",
                          "task_id": kata.number, "points": 0.0,
                          "max_points": kata.points})
        for test, points in zip(entry.counted, worth):
            status = _test_status(test)
            tests.append({"name": f"{kata.folder}::{test.name}", "status": status,
                          "message": None if status == "pass" else test.message,
                          "output": _tail(test.output), "test_code": test.test_code,
                          "task_id": kata.number,
                          "points": points if status == "pass" else 0.0,
                          "max_points": points})
    done = sum(k["points"] for k in katas)
    status, message = ("pass" if all(entry.state == DONE for entry in entries) else "fail"), None
    if entries and all(not entry.counted for entry in entries):
        status = "error"
        message = "no test could run: " + "; ".join(f"{entry.kata.folder}: {entry.reason}"
                                                    for entry in entries)
    return {"version": 3, "status": status, "message": message, "target": target,
            "points": done, "max_points": sum(k["max_points"] for k in katas),
            "katas": katas, "tests": tests}


def _unreadable(target: str, problem: str) -> dict:
    return {"version": 3, "status": "error", "message": problem, "target": target,
            "points": 0.0, "max_points": 0.0, "katas": [], "tests": []}


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
                  boxed: bool = True, **limits) -> list[dict]:
    """Grade each target's ``katas`` with ``checkout``'s tests, each kata in its own box;
    one result per target. ``sandbox.BoxUnavailable``, before anything runs, where no box
    can be built, unless ``boxed`` is False (the instructor's explicit choice: learner code
    then runs under the supervisor alone). On Ctrl-C every box is stopped and
    ``GradingInterrupted`` carries what was graded so far."""
    if boxed:
        sandbox.require_box()
    mode = [*GRADED_MODE, *(() if boxed else UNBOXED_MODE)]
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
                                            extra_args=[*extra_args, *mode], **limits)
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


def sandbox_note(boxed: bool) -> dict:
    """What the reports say about the box: used, or why not (``boxed``: whether grading ran
    learner code in boxes)."""
    if boxed:
        return {"used": True, "why_not": None}
    why_not = sandbox.availability() or "a box could be built, but"
    return {"used": False, "why_not": f"{why_not}; graded with --unsandboxed, as the "
                                      f"instructor asked"}


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


def json_document(results: list[dict], *, boxed: bool) -> str:
    return json.dumps({"version": 3, "sandbox": sandbox_note(boxed), "learners": results},
                      indent=1)


def markdown(results: list[dict], *, boxed: bool) -> str:
    """A table per learner: each kata's state, tests and points; first, whether the learner
    code ran in a box."""
    note = sandbox_note(boxed)
    parts = ["Learner code ran in a sandbox (bubblewrap).\n" if note["used"] else
             f"**Learner code ran UNSANDBOXED**: {note['why_not']}.\n"]
    for result in results:
        parts.append(f"## {result['target']}: {shown_points(result['points'])}/"
                     f"{shown_points(result['max_points'])} points\n")
        if result["status"] == "error" and not result["katas"]:
            parts.append(f"Not graded: {result['message']}\n")
            continue
        parts.append("| kata | state | tests passed | points |\n| --- | --- | --- | --- |")
        for kata in result["katas"]:
            state = kata["state"] + (f": {kata['message']}" if kata["message"] else "")
            state = " ".join(state.replace("|", "\\|").split())
            parts.append(f"| `{kata['kata']}` | {state} | {kata['passed']}/{kata['total']} | "
                         f"{shown_points(kata['points'])}/{shown_points(kata['max_points'])} |")
        flagged = [(kata["kata"], flag) for kata in result["katas"] for flag in kata["flags"]]
        if flagged:
            parts.append("\nFor your review (what no kata needs; not a verdict):\n")
            parts += [f"- `{kata}` {flag}" for kata, flag in flagged]
        parts.append("")
    return "\n".join(parts)


def classroom_runner(kata: Kata) -> str:
    """The name of ``kata``'s runner in GitHub Classroom's reporter, and of the grading
    step's output that holds its result: ``kata-03``."""
    return f"kata-{kata.number:02d}"


#: Characters of a failure's message that a Classroom result carries (step outputs are small).
_CLASSROOM_MESSAGE = 2000


def classroom_outputs(result: dict) -> dict[str, str]:
    """One learner's result as GitHub Classroom's grading reporter reads it: per kata, the
    output ``kata-NN`` of the grading step, base64 of ``{"version": 1, "status", "max_score",
    "tests": [{"name", "status", "score", "message", ...}]}``, the format its graders write.
    The reporter adds up every test's ``score`` against every kata's ``max_score``, so each
    test carries its share of the kata's points (``points_per_test``)."""
    manifest = load_manifest()
    outputs = {}
    for kata_entry in result["katas"]:
        kata = manifest.kata(kata_entry["kata"])
        tests = [test for test in result["tests"] if test["task_id"] == kata.number]
        body = {"version": 1, "status": "pass" if kata_entry["state"] == DONE else (
                    "error" if not kata_entry["total"] else "fail"),
                "max_score": kata_entry["max_points"],
                "tests": [{"name": test["name"].split("::", 1)[-1], "status": test["status"],
                           "score": test["points"], "line_no": 0, "execution_time": "",
                           "message": (test["message"] or "")[:_CLASSROOM_MESSAGE],
                           "test_code": "", "filename": f"katas/{kata.folder}/"}
                          for test in tests]}
        encoded = base64.b64encode(json.dumps(body).encode()).decode()
        outputs[classroom_runner(kata)] = encoded
    return outputs


def write_classroom_outputs(result: dict, path: Path) -> None:
    """Append ``classroom_outputs(result)`` to the step-output file at ``path``
    (``$GITHUB_OUTPUT``), one ``name=value`` line each."""
    with open(path, "a", encoding="utf-8") as outputs:
        for name, value in classroom_outputs(result).items():
            outputs.write(f"{name}={value}\n")
