"""Grading learners' work with the instructor's tests: ``kata grade``, the Classroom
workflow's grading step and every gradebook export.

Owns: where learners' modules come from and the grading tree (``targets``), the service that
grades them, boxed (``service``), the typed grades and their points (``results``), what
grading writes (``reports``), the gradebook's formats, CSV and Gradescope (``gradebook``).

May import: ``kata.core``, ``kata.runs`` (every graded kata is a boxed run) and the
allow-list of ``kata.harness`` (a static reading of learners' modules). It never imports
learner code.
"""

__all__ = ["gradebook", "reports", "results", "service", "targets"]
