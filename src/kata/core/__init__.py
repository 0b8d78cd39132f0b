"""The ground floor: facts every room shares, and nothing that runs a kata.

Owns: the manifest (``manifest``: katas, rules, hints, contracts, points), where things are
in a checkout (``layout``), the exception root and the failures of learner code
(``errors``), the typed records that cross rooms and processes (``records``), what the
``kata`` command remembers in a checkout (``workspace``), the stub generator (``stubs``),
writing files atomically (``files``), process facts (``processes``), the device choice
(``devices``) and the lesson's hyperparameters (``lesson``).

May import: the standard library only (``devices`` imports torch inside its function), so
that the ``kata`` client, the supervisor and every room can import it cheaply.
"""

__all__ = ["devices", "errors", "files", "layout", "lesson", "manifest", "processes",
           "records", "stubs", "workspace"]
