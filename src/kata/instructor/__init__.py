"""The instructor's tools: proof that the repository is sound, the learner's repository,
its Classroom workflow, Gradescope's autograder, and the benchmarks.

Owns: the catalog of variants (``catalog``: it also writes the mistakes the harness ships
for the diagnosis) and the checks that read it (``checks``, the diagnosis measured too), the
proof that tests demand only what docstrings state (``contracts``), ``kata release`` and
``kata verify`` (``release``), the Classroom workflow and its rehearsal (``classroom``),
Gradescope's autograder (``gradescope``), ``kata bench`` (``bench``), where a run's time goes
(``run_profile``) and what the box costs a grade (``grading_cost``).

May import: everything below it (``kata.core``, ``kata.runs``, ``kata.harness``,
``kata.grading`` and the kata tests' API). Nothing of the learner's rooms.
"""

__all__ = ["bench", "catalog", "checks", "classroom", "contracts", "gradescope", "grading_cost",
           "release", "run_profile"]
