# --- red-team prelude, appended to the untouched stub by tests/redteam/test_box.py ---
# CHECKOUT, SOLUTION, RESULTS, PORT and VICTIM are set by the test just above this line.
import os as _os
import sys as _sys


def _steal(source, origin="stolen"):
    """Replace the stub's functions by the ones in ``source`` (the reference solution)."""
    namespace = {}
    exec(compile(source, origin, "exec"), namespace)
    globals().update({k: v for k, v in namespace.items() if not k.startswith("__")})
    return True


def _steal_file(path):
    try:
        with open(path, encoding="utf-8") as file:
            return _steal(file.read(), path)
    except OSError:
        return False


def _linger(seconds, action=""):
    """A process that detaches (setsid, double fork), outlives its parent, then acts."""
    import subprocess
    code = f"# kata-redteam-marker\nimport time, os\ntime.sleep({seconds})\n{action}"
    subprocess.Popen([_sys.executable, "-c", code], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
