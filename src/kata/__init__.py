"""The tensor-katas harness: everything that is neither an exercise nor a solution.

The house, from the front doors down (each room's docstring says what it owns and what it
may import; ``pyproject.toml``'s import-linter contract checks the direction):

- front doors: ``kata.cli`` (the ``kata`` command) and ``kata.magics`` (``%kata`` in
  Jupyter), thin over the rooms below;
- ``kata.learner``: the learner's service layer (the board, a run, a hint, a spec as typed
  views) and their text and HTML; ``kata.instructor``: check, release, Classroom, bench;
- ``kata.grading``: ``kata grade``, its grades, points and reports;
- ``kata.harness``: what runs inside pytest (the plugin, the guards, the boundary to learner
  code, the graded mode's two sides);
- the kata tests' API, the modules kata tests import: ``kata.assertions``,
  ``kata.strategies``, ``kata.tolerances``, ``kata.oracles``, ``kata.mnist_data``,
  ``kata.pictures``;
- ``kata.runs``: the execution layer (processes, limits, the warm worker, the box);
- ``kata.core``: the manifest, the checkout's layout, records, errors (one root:
  ``kata.core.errors.KataError``).

Importing ``kata`` imports nothing else: the client stays light.
"""

__all__ = ["load_ipython_extension"]


def load_ipython_extension(ipython) -> None:
    """``%load_ext kata`` in IPython or Jupyter: register the ``%kata`` magics. The magics
    module is imported only here, so that importing ``kata`` stays light."""
    from kata.magics import load_ipython_extension as register

    register(ipython)
