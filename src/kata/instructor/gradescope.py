"""Gradescope's autograder for the course: ``kata release --gradescope DIR``.

Gradescope builds an autograder from a zip of a folder that holds ``setup.sh`` and
``run_autograder``: it unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once,
as root and with the network, to build the image, then ``run_autograder`` for every
submission, in a fresh container, with the learner's files in ``/autograder/submission``,
and shows the learner what that leaves in ``/autograder/results/results.json``.

``DIR`` is that folder: the course as a release holds it, without answers
(``kata.instructor.release.copy_course``), but with your hidden tests, since only your
autograder runs them; ``setup.sh`` installs the locked environment (``install.py --cpu
--extras grade``: torch, the harness, the box) into ``/autograder/venv`` and fetches MNIST;
``run_autograder`` runs ``kata grade /autograder/submission --gradescope
/autograder/results/results.json`` (``kata.grading.gradebook``). The learner submits their
repository (from GitHub, or as a zip), or its ``katas/`` folder.

No box, no grading, here too: where Gradescope's container lets bubblewrap build no box,
``kata grade`` refuses, and ``run_autograder`` writes a result that says the submission
could not be graded (what ``kata grade`` printed, and why, goes to you alone). To grade
there anyway, set ``UNSANDBOXED=--unsandboxed`` at the top of ``run_autograder``: the
learner's code then runs as root beside your files, in a container of its own, limited by
the supervisor alone; it cannot reach another learner, but it could change the harness the
next kata's run imports, so treat such grades as you would a take-home exam's.
"""

from __future__ import annotations

from pathlib import Path

from kata.core.layout import REPO_ROOT
from kata.instructor.release import copy_course

SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root and with the network, to build the autograder's image;
# this folder is /autograder/source. It installs the course's locked environment (torch,
# the harness, the box) into /autograder/venv and fetches MNIST for the final exam.
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv ca-certificates
PYTHON=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    PYTHON=python3.11
fi
"$PYTHON" -m venv /autograder/venv
cd /autograder/source
/autograder/venv/bin/python install.py --cpu --extras grade
/autograder/venv/bin/python -c "from kata import mnist_data; mnist_data.fetch_all()"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, in a fresh container: the learner's
# files are in /autograder/submission (their repository, or its katas/ folder), and
# /autograder/results/results.json is what Gradescope shows them. What this prints is yours
# alone (stdout_visibility: hidden). Arguments go to kata grade (--only 3 grades kata 03).
set -uo pipefail
AUTOGRADER="${AUTOGRADER:-/autograder}"
# Where Gradescope's container lets bubblewrap build no box, kata grade refuses. To grade
# there anyway, set UNSANDBOXED=--unsandboxed (docs/instructors.md says what that risks).
UNSANDBOXED=""
RESULTS="$AUTOGRADER/results/results.json"
mkdir -p "$AUTOGRADER/results"
cd "$AUTOGRADER/source"
"$AUTOGRADER/venv/bin/python" -m kata grade "$AUTOGRADER/submission" $UNSANDBOXED \\
    --gradescope "$RESULTS" "$@"
graded=$?
if [ ! -s "$RESULTS" ]; then  # refused before grading: tell the learner, not why
    cat > "$RESULTS" <<'JSON'
{"score": 0, "output": "This submission could not be graded; your instructor has been told why.",
 "visibility": "visible", "stdout_visibility": "hidden", "tests": []}
JSON
    echo "kata grade exited $graded before grading: see above" >&2
fi
exit 0  # the results say how the submission did
"""


def write_autograder(target: Path, checkout: Path = REPO_ROOT) -> list[str]:
    """Write Gradescope's autograder folder into the empty or new folder ``target``; returns
    the repository checks that were replaced by a skip (as ``kata release`` does)."""
    skipped = copy_course(target, checkout, hidden=True)
    for name, text in (("setup.sh", SETUP), ("run_autograder", RUN_AUTOGRADER)):
        (target / name).write_text(text, encoding="utf-8")
        (target / name).chmod(0o755)
    return skipped
