"""What runs inside pytest, around learner code: the plugin and the machinery it drives.

Owns: the pytest plugin (``plugin``: options, fixtures, short reports, the run's record),
the allow-list a learner's module is read against before any of it runs (``allowlist``),
plain pytest's door to the warm worker (``handover``, loaded first by pytest's settings),
what a failure is and says (``failures``), the exam's fail-fast order (``fail_fast``),
importing a kata's module inside its guards (``loader``), the lesson's rules enforced while
code runs (``guards``, ``loops``), the boundary a test reaches learner code through
(``boundary``), the classic mistake a failure reproduces (``diagnosis``, running the
cataloged mistakes shipped in ``mistakes``), and the graded mode's two sides and their wire
(``remote``: the tests' side; ``boxed_side``: where learner code runs; ``wire``).

May import: ``kata.core``, ``kata.runs`` (to box the graded mode's side), the kata tests'
API (``kata.mnist_data`` for the exam's data) and torch and pytest. Nothing here is imported
by the ``kata`` client; the worker imports it by name before forking.
"""

__all__ = ["allowlist", "boundary", "boxed_side", "diagnosis", "fail_fast", "failures", "guards",
           "handover", "loader", "loops", "mistakes", "plugin", "remote", "wire"]
