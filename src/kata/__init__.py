"""The tensor-katas harness: everything that is neither an exercise nor a solution.

- ``kata.cli``: the ``kata`` command (board, run, hint, watch, reset, mnist, curve, check,
  grade), with ``kata.progress`` (each kata's state), ``kata.workspace`` (the checkout and
  what the command remembers in it), ``kata.grading`` and ``kata.pictures``.
- ``kata.magics``: the same in Jupyter (``%load_ext kata``: ``%kata``, ``%%kata`` cells), drawn
  by ``kata.html_views``; ``kata.notebook`` writes a kata's starter notebook and
  ``kata.definitions`` finds, shows and replaces one definition in a kata's file.
- ``kata.manifest``: the kata list, each function's hints, the contracts and the rules (read
  from ``manifest.toml``).
- ``kata.plugin``: the pytest plugin (``--solutions``, ``--impl``, ``--device``, short reports).
- ``kata.strategies``: the hypothesis strategies every kata's tests share.
- ``kata.assertions`` and ``kata.tolerances``: how results are compared, and how closely;
  every demand beyond values goes through an assertion that names its contract, and
  ``kata.contracts`` proves from the source that the tests demand nothing else.
- ``kata.guards``: the lesson's rules (no loops, no forbidden calls), enforced while code runs.
- ``kata.loader``: imports the module under test and wraps its functions in their guards.
- ``kata.stubs``: writes each stub from its reference solution.
- ``kata.mnist_data``: finds, checks and parses MNIST for the final kata.
- ``kata.runner``: runs katas' tests in a fresh pytest process and reads back each outcome.
- ``kata.catalog`` and ``kata.checks``: the repository's proof that solutions pass, stubs
  fail, and the tests catch the mistakes they are meant to catch.
"""


def load_ipython_extension(ipython):
    """``%load_ext kata`` in IPython or Jupyter: register the ``%kata`` magics. The magics
    module is imported only here, so that importing ``kata`` stays light."""
    from kata.magics import load_ipython_extension as register

    register(ipython)
