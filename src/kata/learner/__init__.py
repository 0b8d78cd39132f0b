"""The learner's service layer and its renderings: what the ``kata`` command and the
notebook's ``%kata`` show a learner.

Owns: the typed views of the board, a run, a hint and a spec (``views``), their text
(``terminal``) and HTML (``html``), ``kata watch`` (``watch``), ``kata mnist`` and ``kata
curve`` (``training``), a kata's starter notebook (``notebook``) and finding and replacing
one definition in a kata's file (``definitions``).

May import: ``kata.core``, ``kata.runs``, the kata tests' API (``kata.pictures``,
``kata.mnist_data``) and, for ``kata mnist`` alone, ``kata.harness.loader``. Never
``kata.instructor`` or ``kata.grading``: what learners get carries none of them.
"""

__all__ = ["definitions", "html", "notebook", "terminal", "training", "views", "watch"]
