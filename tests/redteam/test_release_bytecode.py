"""Red team, release level: a learner commits ``src/kata/__pycache__/NAME.cpython-311.pyc``
compiled with ``--invalidation-mode unchecked-hash``. Python imports such a file in place of
the instructor's source without looking at the source, so every instructor file's sum still
matches, ``kata verify`` (which skips ``__pycache__``, and itself imports ``kata.core.manifest``)
sees nothing added, and the harness that grades in Classroom is the learner's. The workflow's
first step, before any Python runs, refuses bytecode in the fresh checkout.
"""

import hashlib
import importlib.util
import py_compile
import shutil
import subprocess
import sys

import pytest
import yaml

from kata.instructor import classroom

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("sha256sum") is None,
                                reason="the workflow's first step needs bash and coreutils")


def _first_step(workflow: str) -> str:
    """The shell script of the step that runs before any of the repository's Python."""
    steps = yaml.safe_load(workflow)["jobs"]["grade"]["steps"]
    return next(step["run"] for step in steps if step.get("name") == "Instructor files as released")


def _released(root):
    source = root / "src" / "kata" / "manifest.py"
    source.parent.mkdir(parents=True)
    source.write_text('WHO = "instructor"\n')
    sums = f"{hashlib.sha256(source.read_bytes()).hexdigest()}  src/kata/manifest.py\n"
    (root / classroom.SUMS).write_text(sums)
    return _first_step(classroom.classroom_workflow(hashlib.sha256(sums.encode()).hexdigest()))


def test_committed_bytecode_that_replaces_the_harness_is_refused_before_python_runs(tmp_path):
    step = _released(tmp_path)
    clean = subprocess.run(["bash", "-e", "-c", step], cwd=tmp_path, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    forged = tmp_path / "forged.py"
    forged.write_text('WHO = "learner"\n')
    source = tmp_path / "src" / "kata" / "manifest.py"
    py_compile.compile(str(forged), cfile=importlib.util.cache_from_source(str(source)),
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    forged.unlink()
    # the attack has teeth: the sums still match, and Python runs the learner's bytecode
    imported = subprocess.run([sys.executable, "-c", "import manifest; print(manifest.WHO)"],
                              cwd=source.parent, capture_output=True, text=True)
    assert imported.stdout.strip() == "learner", imported.stderr
    assert subprocess.run(["sha256sum", "--check", "--quiet", classroom.SUMS],
                          cwd=tmp_path).returncode == 0

    refused = subprocess.run(["bash", "-e", "-c", step], cwd=tmp_path, capture_output=True,
                             text=True)
    assert refused.returncode != 0
    assert "__pycache__" in refused.stdout and "::error::the bytecode" in refused.stdout
