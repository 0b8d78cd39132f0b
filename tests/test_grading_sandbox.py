"""The sandbox (kata.runs.sandbox) on small commands: what a box shows, what its supervisor caps
and keeps, and what every grading report says when no box could be built."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from kata.core.layout import REPO_ROOT
from kata.grading import reports, results, service
from kata.runs import sandbox, supervisor

boxes = pytest.mark.skipif(sandbox.availability() is not None,
                           reason=f"no sandbox here: {sandbox.availability()}")


def run_boxed(tmp_path, code, *, read_only=(), memory_limit=1 << 30, **options):
    """``code`` run as grading runs it: in a box where one can be built, else (said on purpose)
    under the supervisor alone, whose caps and output tail hold either way."""
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    options.setdefault("box", sandbox.availability() is None)
    command = sandbox.boxed([sys.executable, "-c", code], read_only=list(read_only),
                            scratch=scratch, env={"GIVEN": "yes"}, memory_limit=memory_limit,
                            **options)
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@boxes
def test_a_box_shows_only_what_it_is_given_and_has_no_network(tmp_path):
    shown = tmp_path / "shown"
    shown.mkdir()
    (shown / "file.txt").write_text("visible")
    code = f"""
import json, os, socket
seen = {{"shown": open({str(shown / 'file.txt')!r}).read(),
        "checkout": os.path.exists({str(REPO_ROOT / 'solutions')!r}),
        "env": sorted(os.environ), "home": os.environ["HOME"]}}
try:
    open({str(shown / 'new.txt')!r}, "w")
    seen["wrote"] = True
except OSError:
    seen["wrote"] = False
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    seen["network"] = True
except OSError:
    seen["network"] = False
print(json.dumps(seen))
"""
    done = run_boxed(tmp_path, code, read_only=[shown])
    assert done.returncode == 0, done.stdout + done.stderr
    seen = json.loads(done.stdout)
    assert seen["shown"] == "visible" and not seen["wrote"] and not seen["network"]
    assert not seen["checkout"]
    assert set(seen["env"]) <= {"GIVEN", "HOME", "TMPDIR", "PATH", "LANG", "PWD"}
    assert seen["home"] == str((tmp_path / "scratch").resolve())


def test_only_the_tail_of_the_output_is_kept_with_a_notice(tmp_path):
    done = run_boxed(tmp_path, "import sys\nsys.stdout.write('x' * 3_000_000 + 'END')")
    assert done.stdout.endswith("END") and len(done.stdout) < supervisor.OUTPUT_TAIL + 200
    assert "bytes of output cut" in done.stdout


def test_too_many_processes_stop_the_run_and_none_is_left(tmp_path):
    code = ("import subprocess, sys, time\n"
            "for _ in range(60):\n"
            "    subprocess.Popen([sys.executable, '-c', '# kata-sandbox-test\\nimport time; "
            "time.sleep(60)'], start_new_session=True)\n"
            "time.sleep(60)\n")
    done = run_boxed(tmp_path, code)
    assert done.returncode < 0 and "more than 32 processes" in done.stdout
    assert [pid for pid in Path("/proc").iterdir() if pid.name.isdigit()
            and b"kata-sandbox-test" in _command_line(pid)] == []


def _command_line(process: Path) -> bytes:
    try:
        return (process / "cmdline").read_bytes()
    except OSError:  # it ended while we looked
        return b""


def test_every_report_says_plainly_when_it_ran_unsandboxed(monkeypatch):
    monkeypatch.setattr(sandbox, "availability", lambda: "no user namespaces here")
    book = results.Gradebook((results.not_graded("alice", "not a ref"),), (), seed=1, boxed=False)
    assert "UNSANDBOXED" in reports.markdown(book)
    assert "no user namespaces here" in reports.markdown(book)
    note = json.loads(reports.json_document(book))["sandbox"]
    assert note["used"] is False and "no user namespaces here" in note["why_not"]
    assert "--unsandboxed" in note["why_not"]


def test_learner_code_never_runs_unboxed_unless_asked(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "availability", lambda: "no user namespaces here")
    with pytest.raises(sandbox.BoxUnavailableError,
                       match=r"no user namespaces here.*--unsandboxed"):
        sandbox.boxed([sys.executable, "-c", "0"], read_only=[], scratch=tmp_path, env={},
                      memory_limit=None)
    with pytest.raises(sandbox.BoxUnavailableError):
        service.grade_targets(["alice"], REPO_ROOT, [], workers=1)
    trusted = sandbox.boxed([sys.executable, "-c", "0"], read_only=[], scratch=tmp_path, env={},
                            memory_limit=None, box=False)
    assert "bwrap" not in " ".join(trusted)


@pytest.fixture(scope="module")
def python_in_the_temporary_folder(tmp_path_factory):
    """A virtual environment made under the system's temporary folder, as CI images and the
    README's own set-up measurement make one (it sees this Python's packages)."""
    folder = tmp_path_factory.mktemp("venv") / "python"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(folder)], check=True, timeout=120)
    assert str(folder).startswith(tempfile.gettempdir())
    return folder / "bin" / "python"


@boxes
def test_a_python_installed_in_the_temporary_folder_gets_a_box(python_in_the_temporary_folder,
                                                                 tmp_path):
    """The box mounts an empty /tmp first and binds the interpreter on top of it: a tmpfs
    mounted later would hide a Python that lives there."""
    probe = subprocess.run(
        [str(python_in_the_temporary_folder), "-c",
         "from kata.runs import sandbox; print(sandbox.availability())"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")})
    assert probe.stdout.strip() == "None", probe.stdout + probe.stderr


def test_grading_without_a_box_is_refused_saying_why_and_how_unless_asked(tmp_path):
    """No box (here switched off, as any reason would) means no grading, exit 2, with the
    reason and the fix; ``--unsandboxed`` grades and every report says so."""
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "KATA_SANDBOX": "off"}
    command = [sys.executable, "-m", "kata", "grade", str(REPO_ROOT / "solutions"), "--only", "1",
               "--json", str(tmp_path / "grades.json")]
    refused = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=300, env=environment)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "KATA_SANDBOX=off" in refused.stderr and "--unsandboxed" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "grades.json").exists()
    graded = subprocess.run([*command, "--unsandboxed"], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=300, env=environment)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert "UNSANDBOXED" in graded.stdout
    report = json.loads((tmp_path / "grades.json").read_text())
    assert report["sandbox"]["used"] is False
    assert report["learners"][0]["points"] == report["learners"][0]["max_points"] > 0
