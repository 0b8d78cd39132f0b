"""Red team, caps that hold: memory that no process maps is refused or counted, nothing in a
box can widen it (a user namespace, a mount) or reach into another of its processes, and
torch, threads, autograd and pytest still work in it (``kata.runs.sandbox``,
``kata.runs.seccomp_filter``).

Each attack runs in a real box under a memory cap and must be refused by the kernel (the
seccomp filter's errno) or stopped by the supervisor; afterwards no process of the run, the
box's or its supervisor's, is left.
"""

import ctypes.util
import errno
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from kata.runs import sandbox, seccomp_filter, supervisor

boxes = pytest.mark.skipif(sandbox.availability() is not None,
                           reason=f"no sandbox here: {sandbox.availability()}")

#: How an attack says that it held the memory (it then sleeps, for the cap to act).
HELD = """
print("HELD", flush=True)
import time
time.sleep(60)
"""
#: Each attack, and how it must end: refused by the filter, or stopped past the cap.
MEMORY_ATTACKS = {
    "memfd_create": ("refused", """
import os
fd = os.memfd_create("fill")
for _ in range(1024):
    os.write(fd, bytes(1 << 20))
""" + HELD),
    "System V shared memory": ("refused", """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
if libc.shmget(0, 1 << 30, 0o1600) == -1:  # IPC_PRIVATE, IPC_CREAT | 0600
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
""" + HELD),
    "mmap(MAP_SHARED)": ("stopped", """
import mmap
shared = mmap.mmap(-1, 1 << 30)  # MAP_SHARED: shmem, neither RssAnon nor RLIMIT_DATA
for _ in range(1024):
    shared.write(bytes(1 << 20))
""" + HELD),
    "deleted files in /tmp and /dev/shm": ("stopped", """
import os
for folder in ("/tmp", "/dev/shm"):
    fd = os.open(folder + "/fill", os.O_CREAT | os.O_WRONLY)
    os.unlink(folder + "/fill")  # no name, still memory
    for _ in range(60):
        os.write(fd, bytes(1 << 20))
""" + HELD),
}


def run_boxed(tmp_path, code, *, memory_limit, timeout=300, chdir=None):
    """``code`` run by Python in a box, its command line marked; the finished run, and the
    processes with that mark still alive afterwards."""
    marker = f"kata-caps-test-{uuid.uuid4().hex}"
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    command = sandbox.boxed([sys.executable, "-c", f"# {marker}\nMARKER = {marker!r}\n{code}"],
                            read_only=[], scratch=scratch, env={}, memory_limit=memory_limit,
                            chdir=chdir)
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    return done, _alive(marker)


def _alive(marker: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:  # it ended while we looked
            continue
        if marker.encode() in command:
            found.append(f"{pid}: {command[:120]!r}")
    return found


@boxes
@pytest.mark.parametrize("attack", MEMORY_ATTACKS)
def test_memory_that_no_process_maps_is_refused_or_counted(tmp_path, attack):
    ending, code = MEMORY_ATTACKS[attack]
    # 1 GiB against 256 MiB; the two 64 MiB folders (120 MiB) against 96 MiB
    limit = 96 << 20 if "/tmp" in attack else 256 << 20
    done, alive = run_boxed(tmp_path, code, memory_limit=limit)
    said = done.stdout + done.stderr
    if ending == "refused":
        assert done.returncode == 1 and f"[Errno {errno.ENOSYS}]" in said, said
        assert "HELD" not in said
    else:
        assert done.returncode < 0, said
        assert "GiB of memory" in (supervisor.stop_reason(done.stdout) or ""), said
    assert alive == []


USERNS_AND_MOUNTS = """
import ctypes, os, shutil, subprocess
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUSER, SIGCHLD = 0x20000, 0x10000000, 17

def attempt(what, result):
    print(what, "->", os.strerror(ctypes.get_errno()) if result == -1 else "WORKED", flush=True)
    if result == 0 and what.startswith("clone("):  # the child of a clone that worked
        os._exit(0)

attempt("unshare(CLONE_NEWUSER)", libc.unshare(CLONE_NEWUSER))
attempt("unshare(CLONE_NEWUSER | CLONE_NEWNS)", libc.unshare(CLONE_NEWUSER | CLONE_NEWNS))
attempt("clone(CLONE_NEWUSER)", libc.syscall(NR_CLONE, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0))
attempt("clone3", libc.syscall(NR_CLONE3, 0, 0))
attempt("mount(tmpfs)", libc.mount(b"none", b"/tmp", b"tmpfs", 0, b"size=1g"))
if shutil.which("unshare"):
    tried = subprocess.run(["unshare", "-Urm", "mount", "-t", "tmpfs", "none", "/tmp"],
                           capture_output=True, text=True)
    print("unshare -Urm mount ->", tried.returncode, tried.stderr.strip(), flush=True)
"""


@boxes
def test_no_user_namespace_no_mount_in_a_box(tmp_path):
    import pyseccomp  # the native numbers of clone and clone3 (x86-64: 56 and 435)
    numbers = {name: pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)
               for name in ("clone", "clone3")}
    code = f"NR_CLONE, NR_CLONE3 = {numbers['clone']}, {numbers['clone3']}\n{USERNS_AND_MOUNTS}"
    done, alive = run_boxed(tmp_path, code, memory_limit=256 << 20)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "WORKED" not in said
    for what in ("unshare(CLONE_NEWUSER)", "unshare(CLONE_NEWUSER | CLONE_NEWNS)",
                 "clone(CLONE_NEWUSER)", "mount(tmpfs)"):
        assert f"{what} -> {os.strerror(errno.EPERM)}" in said, said
    assert f"clone3 -> {os.strerror(errno.ENOSYS)}" in said  # so that glibc falls back to clone
    assert "unshare -Urm mount -> 0" not in said
    assert alive == []


@boxes
def test_without_the_filter_the_box_still_makes_no_user_namespace():
    """bwrap's --disable-userns, the other lock: a box without the filter has it too."""
    code = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "print(libc.unshare(0x10000000), os.strerror(ctypes.get_errno()))")
    command = [str(sandbox.bwrap()), *sandbox._isolation(), *sandbox._system_mounts(), "--",
               sys.executable, "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.stdout.split(" ", 1) == ["-1", os.strerror(errno.ENOSPC) + "\n"], done


PTRACE_A_SIBLING = """
import ctypes, os, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
sibling = subprocess.Popen([sys.executable, "-c", f"# {MARKER}\\nimport time\\ntime.sleep(60)"])

class Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]

buffer = ctypes.create_string_buffer(8)
here = Iovec(ctypes.addressof(buffer), 8)
for what, result in (("ptrace", libc.ptrace(16, sibling.pid, None, None)),  # PTRACE_ATTACH
                     ("process_vm_readv", libc.process_vm_readv(
                         sibling.pid, ctypes.byref(here), 1, ctypes.byref(here), 1, 0))):
    print(what, "->", os.strerror(ctypes.get_errno()) if result == -1 else "WORKED", flush=True)
sibling.kill()
"""


@boxes
def test_no_process_in_a_box_reaches_into_another(tmp_path):
    done, alive = run_boxed(tmp_path, PTRACE_A_SIBLING, memory_limit=256 << 20)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    for what in ("ptrace", "process_vm_readv"):
        assert f"{what} -> {os.strerror(errno.EPERM)}" in said, said
    assert alive == []


TORCH_AT_WORK = """
import os, subprocess, sys, threading
import torch
torch.set_num_threads(2)
weights = torch.randn(256, 256, requires_grad=True)
loss = (torch.randn(512, 256) @ weights).relu().sum()
loss.backward()
assert weights.grad.shape == (256, 256) and torch.get_num_threads() == 2
worker = threading.Thread(target=lambda: None)
worker.start()
worker.join()
print("threads", len(os.listdir("/proc/self/task")), flush=True)
with open("test_small.py", "w") as test:
    test.write("import torch\\nfrom hypothesis import given, strategies as st\\n"
               "@given(st.integers(1, 20))\\ndef test_sum(n):\\n"
               "    assert torch.ones(n).sum().item() == n\\n")
tried = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "test_small.py"], capture_output=True, text=True)
print(tried.stdout.strip().splitlines()[-1], "exit", tried.returncode, flush=True)
"""


@boxes
def test_torch_threads_autograd_and_pytest_still_work_in_a_box(tmp_path):
    done, alive = run_boxed(tmp_path, TORCH_AT_WORK, memory_limit=4 << 30, timeout=600,
                            chdir=tmp_path / "scratch")
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    threads = int(said.split("threads ", 1)[1].split()[0])
    assert threads >= 2, said  # torch's pool: threads made by clone, after clone3's ENOSYS
    assert "1 passed" in said and "exit 0" in said, said
    assert alive == []


@pytest.fixture
def fresh_availability():
    """``availability()`` and the filter built again, here and after the test."""
    seccomp_filter.program.cache_clear()
    sandbox.availability.cache_clear()
    yield
    seccomp_filter.program.cache_clear()
    sandbox.availability.cache_clear()


@pytest.mark.skipif(sys.platform != "linux" or sandbox.bwrap() is None,
                    reason="needs Linux and bubblewrap, to get as far as the filter")
@pytest.mark.parametrize("missing", ["pyseccomp", "libseccomp"])
def test_no_filter_no_box_and_availability_says_why(monkeypatch, tmp_path, fresh_availability,
                                                     missing):
    monkeypatch.delenv("KATA_SANDBOX", raising=False)
    if missing == "pyseccomp":
        monkeypatch.setitem(sys.modules, "pyseccomp", None)  # its import fails
    else:  # pyseccomp imported again, finding no libseccomp
        monkeypatch.delitem(sys.modules, "pyseccomp", raising=False)
        find_library = ctypes.util.find_library
        monkeypatch.setattr(ctypes.util, "find_library",
                            lambda name: None if name == "seccomp" else find_library(name))
    why = sandbox.availability()
    assert why is not None and missing in why and "pip install pyseccomp" in why, why
    with pytest.raises(sandbox.BoxUnavailableError, match=missing):
        sandbox.boxed([sys.executable, "-c", "0"], read_only=[], scratch=tmp_path, env={},
                      memory_limit=None)
