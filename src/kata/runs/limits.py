"""The limits every run of learner code gets, in one place: the board's and ``kata run``'s,
grading's, and each call into the graded mode's boxed side. Each is an option where a
person may need another (``--time-limit``, ``--memory-limit``, ``--learner-timeout``).
"""

#: Seconds a kata's run may take; the final exam, which trains two models, is the slowest.
TIME_LIMIT = 120
#: Bytes of data a kata's run may hold (MNIST and both models need well under 1 GiB).
MEMORY_LIMIT = 4 << 30
#: Seconds one call of the code under test may take in the graded mode before it counts as hung.
CALL_TIMEOUT = 300.0
#: Seconds the graded mode's boxed side may take to start (Python, torch, the harness) on a
#: busy machine.
START_TIMEOUT = 120.0
#: Examples a hypothesis test draws when graded (``kata grade``'s ``grading`` profile): five
#: times a learner's run's 20, from a seed drawn per grading run.
GRADING_EXAMPLES = 100
