"""The sandbox (kata.sandbox) on small commands: what a box shows, what its supervisor caps
and keeps, and what every grading report says when no box could be built."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kata import grading, sandbox
from kata.manifest import REPO_ROOT

boxes = pytest.mark.skipif(sandbox.availability() is not None,
                           reason=f"no sandbox here: {sandbox.availability()}")


def run_boxed(tmp_path, code, *, read_only=(), memory_limit=1 << 30, **options):
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
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
    assert done.stdout.endswith("END") and len(done.stdout) < sandbox.OUTPUT_TAIL + 200
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
    results = [grading._unreadable("alice", "not a ref")]
    assert "UNSANDBOXED" in grading.markdown(results)
    assert "no user namespaces here" in grading.markdown(results)
    assert json.loads(grading.json_document(results))["sandbox"] == {
        "used": False, "why_not": "no user namespaces here"}
