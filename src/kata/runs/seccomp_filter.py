"""The box's system call filter: what no kata needs, refused by the kernel.

A seccomp filter is a small program that the kernel runs on every system call a process
makes, before the call does anything; it answers "allow", "fail with this errno" or "kill".
bubblewrap loads it (``bwrap --seccomp FD``, from the compiled program on that file
descriptor) as the box's last step, just before it starts the learner's command, and every
process of the box inherits it; nothing in the box can remove it.

The filter is built with libseccomp (through ``pyseccomp``), never written by hand: a
hand-written program must check the calling convention itself (on x86-64 a process can make
32-bit calls, through ``int 0x80``, whose numbers mean other calls; and x32 calls, numbered
from 0x40000000), and one missed check lets every refused call through under another
number. libseccomp adds those checks, and a call made through an ABI that the filter was not
built for kills the process.

It allows everything by default and refuses a list, because a box runs Python, torch, numpy,
pytest and hypothesis, which make a few hundred kinds of calls that change between releases;
an allow-list would break a kata at the next torch release. The list holds what widens the
box (new namespaces and mounts), reaches into other processes, holds memory that no process
maps (which the supervisor, counting the memory that processes map, could not see), or
exposes kernel code that unprivileged programs have no use for. Each refused call fails
with an errno, not a kill, so that code that tries it reads an ordinary error:

- ``EPERM`` ("operation not permitted") for most, as an unprivileged process gets for them
  anyway: code that tries them already expects it;
- ``ENOSYS`` ("no such call") where a kernel may lack the feature and the libraries that
  use it then fall back to an older way: glibc creates threads with ``clone3`` and falls back
  to ``clone``, whose flags the filter can read (``clone3`` takes them in a struct in memory,
  which a seccomp filter cannot read); code that uses ``memfd_create`` or System V shared
  memory falls back to a file (in ``/dev/shm`` or ``TMPDIR``: counted); ``io_uring`` users
  fall back to ``epoll`` or threads.

Not refused, on purpose: ``personality`` (its flags, such as turning off address
randomization, change only the caller's own memory layout, which the learner's code
controls anyway) and ``mknod`` (without capabilities it makes only FIFOs and sockets, which
are harmless; device nodes need ``CAP_MKNOD``, which nothing in the box has).

>>> len(program()) % 8 == 0                              # doctest: +SKIP
True
"""

from __future__ import annotations

import errno
import functools
import tempfile

from kata.core.errors import KataError

#: ``(errno, calls)``: what the filter refuses, by reason (the comments).
REFUSED = (
    # New namespaces, mounts, another root. A new user namespace gives its creator every
    # capability inside it: it could mount a tmpfs of any size and fill it, memory that no
    # process maps. bwrap's --disable-userns forbids that too; this is the second lock.
    (errno.EPERM, ("unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "fsopen",
                   "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
                   "mount_setattr")),
    # Another process's memory and file descriptors.
    (errno.EPERM, ("ptrace", "process_vm_readv", "process_vm_writev", "process_madvise",
                   "pidfd_getfd")),
    # Memory that no process maps, so that the supervisor's count cannot see it: anonymous
    # files (memfd), System V shared memory, message queues and semaphore sets.
    (errno.ENOSYS, ("memfd_create", "memfd_secret", "shmget", "msgget", "semget")),
    # clone3 passes its flags in memory, out of the filter's sight (see NAMESPACE_FLAGS).
    (errno.ENOSYS, ("clone3",)),
    # io_uring makes system calls on the process's behalf that this filter never sees, and
    # has been a steady source of kernel bugs.
    (errno.ENOSYS, ("io_uring_setup", "io_uring_enter", "io_uring_register")),
    # Keyrings are per user, not per namespace: the box would share the instructor's.
    (errno.EPERM, ("keyctl", "add_key", "request_key")),
    # Kernel interfaces with a record of privilege escalations or leaks, which unprivileged
    # Python code has no use for (open_by_handle_at: the classic container escape).
    (errno.EPERM, ("bpf", "perf_event_open", "userfaultfd", "fanotify_init",
                   "open_by_handle_at", "name_to_handle_at", "syslog")),
    # Administering the machine: each needs a capability that the box never has; refused
    # here too, so that no kernel bug in a capability check matters.
    (errno.EPERM, ("kexec_load", "kexec_file_load", "init_module", "finit_module",
                   "delete_module", "reboot", "swapon", "swapoff", "acct", "settimeofday",
                   "clock_settime", "clock_adjtime", "adjtimex", "iopl", "ioperm",
                   "quotactl")),
)

#: ``clone`` flags that make a new namespace (``CLONE_NEWNS`` ... ``CLONE_NEWNET``):
#: ``clone`` with any of them is refused like ``unshare``; threads and ``fork`` use none.
NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                   0x40000000)


class FilterUnavailableError(KataError):
    """The filter cannot be built here; the message says why and how to fix it."""


@functools.cache
def program() -> bytes:
    """The compiled filter (classic BPF, as ``bwrap --seccomp`` reads it) for this machine's
    architecture. ``FilterUnavailableError`` where pyseccomp, libseccomp or a call it should
    know is missing: a box is never built with a weaker filter than this module describes."""
    try:
        import pyseccomp as seccomp
    except (ImportError, RuntimeError, OSError) as missing:  # RuntimeError: no libseccomp
        raise FilterUnavailableError(f"no seccomp filter ({missing}): pip install pyseccomp, "
                                     f"with libseccomp (apt install libseccomp2)") from None
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    # a call made through another ABI (32-bit, x32) kills the whole process, not one thread
    rules.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    for code, calls in REFUSED:
        for call in calls:
            if seccomp.resolve_syscall(seccomp.Arch.NATIVE, call) == -1:
                raise FilterUnavailableError(f"this libseccomp does not know the system call "
                                             f"{call} (Linux 5.14's memfd_secret is the "
                                             f"newest here): install a newer libseccomp")
            rules.add_rule(seccomp.ERRNO(code), call)
    # clone(flags, ...), but clone(stack, flags, ...) on s390
    flags = 1 if seccomp.system_arch() in (seccomp.Arch.S390, seccomp.Arch.S390X) else 0
    for flag in NAMESPACE_FLAGS:
        rules.add_rule(seccomp.ERRNO(errno.EPERM), "clone",
                       seccomp.Arg(flags, seccomp.MASKED_EQ, flag, flag))
    with tempfile.TemporaryFile() as compiled:
        rules.export_bpf(compiled)
        compiled.seek(0)
        return compiled.read()
