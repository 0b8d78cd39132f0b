"""The instructor's tools: proof that the repository is sound, the learner's repository,
its Classroom workflow, and the benchmarks.

Owns: the catalog of variants (``catalog``) and the checks that read it (``checks``), the
proof that tests demand only what docstrings state (``contracts``), ``kata release`` and
``kata verify`` (``release``), the Classroom workflow and its rehearsal (``classroom``),
``kata bench`` (``bench``), where a run's time goes (``run_profile``) and what the box costs
a grade (``grading_cost``).

May import: everything below it (``kata.core``, ``kata.runs``, ``kata.harness``,
``kata.grading`` and the kata tests' API). Nothing of the learner's rooms.
"""

__all__ = ["bench", "catalog", "checks", "classroom", "contracts", "grading_cost", "release",
           "run_profile"]
