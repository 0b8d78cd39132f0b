"""Red team, box level: learner modules that try to reach the answers, harm the instructor or
a classmate, forge their verdict from outside the test process, or run away, graded with
``kata grade`` like any learner (kata 03 only, all attacks in one call).

Each attack (``box_attacks/NAME.py``, appended to the untouched stub after
``box_attacks/prelude.py``) replaces the stub's functions by the reference solution if it
gets hold of it, so an attack that works earns the kata's point. Each must earn 0 points,
leave the instructor's checkout byte-for-byte as it was, leave no process alive, and leave
the result files as ``kata grade`` wrote them; correct solutions graded in the same call
earn every point.
"""

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import jsonschema
import pytest

from kata.core.layout import REPO_ROOT, clone_checkout
from kata.core.manifest import load_manifest
from kata.grading.results import SCHEMA
from kata.grading.service import NOT_GRADED
from kata.grading.targets import module_reader
from kata.runs import sandbox

ATTACKS = Path(__file__).with_name("box_attacks")
KATA = load_manifest().kata("03")
SOLUTION = f"solutions/{KATA.folder}/{KATA.module}.py"
MODULE = f"katas/{KATA.folder}/{KATA.module}.py"
#: Attacks graded together (one learner each, to keep CI short); one that stops its box
#: (memory, processes) is a learner of its own.
GROUPS = {"reach_answers": ["pwd", "proc_cwd", "editable_install", "network"],
          "harm": ["rewrite_tests", "git_hook", "classmate_conftest"],
          "forge_results": ["atexit_report", "detached_rewrite"],
          "memory_together": ["memory_together"], "fork_bomb": ["fork_bomb"]}
MARKER = "kata-redteam-marker"

pytestmark = pytest.mark.skipif(sandbox.availability() is not None,
                                reason=f"no sandbox here: {sandbox.availability()}")


def _git(root, *args):
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}).stdout


def tree_hash(root: Path) -> dict[str, str]:
    """Every file (links as their target) under ``root``, .git included, and its SHA-256."""
    found = {}
    for folder, directories, files in os.walk(root):
        for name in sorted(files + [d for d in directories if Path(folder, d).is_symlink()]):
            path = Path(folder, name)
            data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            found[str(path.relative_to(root))] = hashlib.sha256(data).hexdigest()
    return found


def _changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The files added, removed or changed between two ``tree_hash`` snapshots."""
    return sorted(name for name in before.keys() | after.keys()
                  if before.get(name) != after.get(name))


def _serve(source: bytes) -> int:
    """A server on this machine's loopback that hands ``source`` to whoever connects."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            connection, _ = server.accept()
            with connection:
                connection.sendall(source)
    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1]


def _lingering() -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if MARKER in command and int(pid) != os.getpid():
            found.append(f"{pid}: {command[:80]!r}")
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One ``kata grade`` of every attack, a correct learner and a classmate (the victim of
    one attack), from an instructor checkout with a learner branch named ``solutions``."""
    base = tmp_path_factory.mktemp("redteam")
    checkout = clone_checkout(REPO_ROOT, base / "instructor")
    _git(checkout, "init", "-q", "-b", "main")
    _git(checkout, "add", "-A")
    _git(checkout, "commit", "-q", "-m", "course")
    _git(checkout, "branch", "solutions")  # a learner's branch with the instructor's folder's name
    results = [base / "grades.json", base / "grades.md"]
    port = _serve((checkout / SOLUTION).read_bytes())
    learners = base / "learners"
    correct = (checkout / SOLUTION).read_text()
    stub = (checkout / MODULE).read_text()
    constants = (f"CHECKOUT = {str(checkout)!r}\nSOLUTION = {SOLUTION!r}\n"
                 f"RESULTS = {[str(path) for path in results]!r}\nPORT = {port}\n"
                 f"VICTIM = {str(learners / 'victim')!r}\n")
    prelude = (ATTACKS / "prelude.py").read_text()
    targets = {}
    for group, attacks in GROUPS.items():
        targets[group] = stub + "\n" + constants + prelude + "".join(
            (ATTACKS / f"{attack}.py").read_text() for attack in attacks)
    targets.update(honest=correct, victim=correct)
    for name, text in targets.items():
        (learners / name / MODULE).parent.mkdir(parents=True)
        (learners / name / MODULE).write_text(text)
    (learners / "symlink_module" / MODULE).parent.mkdir(parents=True)
    (learners / "symlink_module" / MODULE).symlink_to(checkout / SOLUTION)
    (learners / "symlink_folder" / "katas").mkdir(parents=True)
    (learners / "symlink_folder" / "katas" / KATA.folder).symlink_to((checkout / SOLUTION).parent)
    names = [*targets, "symlink_module", "symlink_folder"]
    victim_before = tree_hash(learners / "victim")
    before = tree_hash(checkout)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "kata", "grade", *(str(learners / name) for name in names),
         "solutions", "--only", KATA.folder, "--workers", "2", "--time-limit", "90",
         "--skip-allowlist",  # the attacks must meet the box itself, not the allow-list first
         "--memory-limit", "1.5", "--json", str(results[0]), "--markdown", str(results[1])],
        cwd=checkout, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(checkout / "src"), "PYTHONDONTWRITEBYTECODE": "1"})
    seconds = time.monotonic() - started
    written = {path: path.read_bytes() for path in results}
    time.sleep(4)  # the detached attack acts 3 s after it starts
    report = json.loads(written[results[0]])
    by_target = {Path(result["target"]).name: result for result in report["learners"]}
    branch = module_reader("refs/heads/solutions", checkout)(KATA)
    return {"done": done, "branch_module": branch, "stub": stub, "report": report, "by": by_target,
            "seconds": seconds,
            "checkout_changed": _changed(before, tree_hash(checkout)), "results": results,
            "written": written, "lingering": _lingering(),
            "victim_changed": _changed(victim_before, tree_hash(learners / "victim")),
            "attacks": [name for name in names if name not in ("honest", "victim")]}


def test_the_report_is_valid_and_says_the_code_ran_in_a_box(graded):
    jsonschema.validate(graded["report"], json.loads(SCHEMA.read_text()))
    assert graded["report"]["sandbox"] == {"used": True, "why_not": None}
    assert graded["done"].returncode == NOT_GRADED, graded["done"].stderr  # `solutions`
    assert "Traceback" not in graded["done"].stderr


def test_correct_solutions_earn_every_point_even_beside_the_attacks(graded):
    for name in ("honest", "victim"):
        result = graded["by"][name]
        assert (result["points"], result["status"]) == (result["max_points"], "pass"), result


def test_every_attack_file_is_graded():
    grouped = sorted(attack for attacks in GROUPS.values() for attack in attacks)
    assert grouped == sorted(p.stem for p in ATTACKS.glob("*.py") if p.stem != "prelude")


@pytest.mark.parametrize("attack", [*GROUPS, "symlink_module", "symlink_folder"])
def test_every_attack_earns_nothing(graded, attack):
    result = graded["by"][attack]
    assert result["points"] == 0, (attack, result["katas"])


def test_symlinked_modules_are_refused_saying_why(graded):
    for name in ("symlink_module", "symlink_folder"):
        assert "symbolic link" in graded["by"][name]["katas"][0]["message"]


def test_a_branch_named_like_the_instructors_folder_is_refused_saying_what_to_write(graded):
    result = graded["by"]["solutions"]
    assert (result["status"], result["points"]) == ("error", 0)
    assert "./solutions" in result["message"] and "refs/heads/solutions" in result["message"]
    assert graded["branch_module"].decode() == graded["stub"]  # written out: the branch


def test_runaway_boxes_are_stopped_for_their_memory_and_processes_together(graded):
    # whichever supervisor sees it first stops it: the run's (the kata stops) or the
    # learner's side's (its tests fail with the supervisor's line)
    for name, cap in (("memory_together", "GiB of memory"), ("fork_bomb", "processes")):
        result = graded["by"][name]
        said = [result["katas"][0]["message"] or ""] + [test["message"] or ""
                                                        for test in result["tests"]]
        assert any("stopped" in text and cap in text for text in said), said[:3]


def test_nothing_is_harmed_nothing_lingers_and_the_results_stay_as_written(graded):
    assert not graded["checkout_changed"], \
        f"the instructor's checkout changed: {graded['checkout_changed']}"
    assert not graded["victim_changed"], \
        f"a classmate's repository changed: {graded['victim_changed']}"
    assert graded["lingering"] == []
    for path in graded["results"]:
        assert path.read_bytes() == graded["written"][path], f"{path} was rewritten"
    assert not any(path.name.startswith(".") for path in graded["results"][0].parent.iterdir())


def test_the_attacks_name_what_the_allow_list_refuses_and_correct_solutions_do_not(graded):
    """Graded without --skip-allowlist, every attack here would be refused before it ran:
    each one's module has findings, and a correct solution has none."""
    for attack in GROUPS:
        assert graded["by"][attack]["katas"][0]["flags"], attack
    flags = graded["by"]["reach_answers"]["katas"][0]["flags"]
    assert any("import os" in flag for flag in flags) and any("socket" in flag for flag in flags)
    assert graded["by"]["honest"]["katas"][0]["flags"] == []
    assert "Beyond the allow-list" in graded["written"][graded["results"][1]].decode()
