"""Writing files so that a reader never sees half of one.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> write_atomically(folder / "state.json", '{"a": 1}')
>>> (folder / "state.json").read_text()
'{"a": 1}'
>>> sorted(path.name for path in folder.iterdir())
['state.json']
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` so that a reader sees the old file or the
    whole new one, never a mix: a uniquely named file beside it, then an atomic rename. The
    temporary file is removed if anything goes wrong, and several writers never share one."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
        # mkstemp makes the file private (0600); give it the mode a plain write would
        os.chmod(temporary, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """This process's umask, read without changing it (``os.umask`` can only swap it, which
    would race with other threads creating files); 022 where it cannot be read."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0o022
    return next((int(line.split()[1], 8) for line in status.splitlines()
                 if line.startswith("Umask:")), 0o022)
