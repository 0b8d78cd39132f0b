"""Grading learners' work with the instructor's tests: ``kata grade``, the Classroom
workflow's grading step and every gradebook export.

Owns: where learners' modules come from and the grading tree (``targets``), the service that
grades them, boxed (``service``), the typed grades and their points (``results``), what
grading writes (``reports``), the gradebook's formats, CSV and Gradescope (``gradebook``),
and the integrity scan (``integrity``).

May import: ``kata.core``, ``kata.runs`` (every graded kata is a boxed run). It never imports
learner code, nor the harness that runs inside pytest.
"""

__all__ = ["gradebook", "integrity", "reports", "results", "service", "targets"]
