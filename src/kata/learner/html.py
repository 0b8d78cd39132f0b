"""The learner's views (``kata.learner.views``) as HTML, for Jupyter: the board, a run's
failures with expected against actual as a table, the classic mistake a failure reproduces
and the broadcasting shapes lined up, a hint, MNIST digits as images and the loss curve as a
plot. Each reads the same typed views and records as the terminal
(``kata.learner.terminal``) and only draws them differently; a command it suggests is
written as the notebook's magic (``%kata hint 03``).

>>> "<table" in expected_actual_table("tensor([0.])", "tensor([0., 0.])")
True
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Sequence
from html import escape

from kata.core.records import Diagnosis, KataState, TestRecord
from kata.learner.views import BoardView, Command, HintCount, HintView, RunView

_COLOURS = {KataState.DONE: "#1a7f37", KataState.FAILING: "#bf3989",
            KataState.NOT_STARTED: "#57606a"}
_PRE = "margin:0.3em 0;padding:0.4em;background:#f6f8fa;white-space:pre-wrap"


def magic(command: Command) -> str:
    """A suggested command as the notebook types it."""
    return "%kata " + " ".join(command.words)


def pre(text: str, style: str = _PRE) -> str:
    """``text`` as preformatted HTML."""
    return f'<pre style="{style}">{escape(text)}</pre>'


def problem(text: str) -> str:
    """A message that something could not be done."""
    return f'<div style="color:#cf222e"><b>kata:</b> {escape(text)}</div>'


def _state(state: KataState) -> str:
    return f'<b style="color:{_COLOURS.get(state, "#cf222e")}">{escape(state.value)}</b>'


def expected_actual_table(expected: str, actual: str) -> str:
    """Expected against actual, side by side."""
    return ('<table><tr><th>expected</th><th>actual</th></tr><tr>'
            f'<td style="vertical-align:top">{pre(expected)}</td>'
            f'<td style="vertical-align:top">{pre(actual)}</td></tr></table>')


def shapes_picture(picture: str) -> str:
    """A picture the test drew (the shapes lined up from the right,
    ``kata.pictures.shapes_aligned``), in a fixed-width box, with the line that marks a
    clash in red."""
    drawn = "\n".join(f'<span style="color:#cf222e">{escape(line)}</span>' if "^" in line
                      else escape(line) for line in picture.splitlines())
    return f'<pre style="{_PRE};border-left:3px solid #0969da">{drawn}</pre>'


def diagnosis(found: Diagnosis) -> str:
    """The classic mistake a failure reproduces, set off from the values."""
    return f'<pre style="{_PRE};border-left:3px solid #bf8700">{escape(found.text)}</pre>'


def failure(test: TestRecord) -> str:
    """A failed test laid out: its summary, the expected and actual values as a table where
    it compared them, the classic mistake it reproduces, the pictures it drew, then the
    rest (the falsifying example)."""
    detail = test.detail
    if detail is None:
        return pre(test.message or test.outcome.value)
    parts = [pre(detail.summary)]
    if detail.expected is not None and detail.actual is not None:
        parts.append(expected_actual_table(detail.expected, detail.actual))
    if test.diagnosis is not None:
        parts.append(diagnosis(test.diagnosis))
    parts += [shapes_picture(picture) for picture in detail.pictures]
    parts += [pre(note) for note in detail.notes]
    return "".join(parts)


def _hints(hints, lead: str = "") -> str:
    if isinstance(hints, HintCount):
        return pre(f"{lead}hint   {magic(hints.command)}   ({hints.shown} of {hints.total} hints "
                   f"shown so far, each function has its own)")
    return pre("\n".join(hint.text + (f"\n  ({magic(hint.next)} shows the next)" if hint.next
                                      else "") for hint in hints))


def board(view: BoardView) -> str:
    """The board: a progress bar, a row per kata, and the current kata with what to read,
    what to run, its first failure and hint."""
    rows = "".join(
        f"<tr><td><code>{escape(entry.kata.folder)}</code></td><td>{_state(entry.state)}</td>"
        f"<td>{escape(entry.counts if entry.state.ran else entry.reason or '')}</td></tr>"
        for entry in view.progress)
    html = (f"<div><b>Tensor katas</b> <progress value='{view.done}' "
            f"max='{len(view.progress)}'></progress> {view.done}/{len(view.progress)} done</div>"
            f"<table>{rows}</table>")
    if view.current is None:
        return html + "<p>Every kata is done. Well played! <code>%kata mnist</code> shows your " \
                      "model at work.</p>"
    current = view.current.progress
    kata = current.kata
    html += pre(f"Now: {kata.folder} ({kata.title})\n"
                f"  read   katas/{kata.folder}/README.md\n"
                f"  run    %kata run {kata.number:02d}")
    if current.state in (KataState.BROKEN, KataState.STOPPED, KataState.OUTDATED):
        html += problem(f"{current.state}: {current.reason}")
    elif current.state is not KataState.NEEDS_MNIST and current.first_failure is not None:
        html += (f"<details open><summary>first failing test: "
                 f"<code>{escape(current.first_failure.name)}</code></summary>"
                 f"{failure(current.first_failure)}</details>")
    return html + _hints(view.current.hints)


def run(view: RunView) -> str:
    """One run (a kata's tests, or one function's): its state, the first failures each laid
    out, and what next (the hint, or where to go)."""
    progress = view.progress
    html = f"<div><code>{escape(view.title)}</code>: {_state(progress.state)}" \
           f"{', ' + escape(progress.counts) if progress.counts else ''}</div>"
    if view.whole_kata is not None:
        return html + pre(f"Every test of {view.function} passes. The whole kata: "
                          f"{magic(view.whole_kata)}")
    if progress.state is KataState.DONE:
        nxt = view.next_kata
        return html + pre(f"Every test passes. Next: %kata run {nxt.number:02d} ({nxt.folder})"
                          if nxt else "Every test passes, and that was the last kata.")
    if not progress.state.ran:
        html += problem(progress.reason or "")
    for test in view.failures:
        html += (f"<details open><summary><code>{escape(test.name)}</code></summary>"
                 f"{failure(test)}</details>")
    if view.more_failures:
        html += f"<div>... and {view.more_failures} more failing tests</div>"
    return html + _hints(view.hints)


def hint(view: HintView) -> str:
    """The hints shown so far, in paragraphs, the new one marked."""
    kata = view.kata
    paragraphs = [f"<p>{escape(text)}"
                  f"{' <b>(new)</b>' if index >= len(view.hints) - view.new else ''}</p>"
                  for index, text in enumerate(view.hints)]
    if not view.new:
        paragraphs.append(f"<p>That was the last hint for {escape(view.function)}; the README "
                          f"(<code>katas/{escape(kata.folder)}/README.md</code>) walks through "
                          f"the idea again.</p>")
    if view.others:
        listed = ", ".join(f"{escape(name)} ({shown} of {total} shown)"
                           for name, shown, total in view.others)
        paragraphs.append(f"<p>Hints for another function: <code>%kata hint {kata.number:02d} "
                          f"NAME</code>, with NAME one of {listed}</p>")
    return "".join(paragraphs)


def _png(width: int, height: int, grey: bytes) -> bytes:
    """A greyscale PNG image (one byte a pixel, row by row), written with the standard library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + grey[row * width:(row + 1) * width] for row in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def digits(images: Sequence[Sequence[float]], predicted: Sequence[int], true: Sequence[int]) -> str:
    """MNIST images (784 values in [0, 1] each) as pictures, each with its predicted and true
    label; a wrong prediction is marked."""
    figures = []
    for image, guess, label in zip(images, predicted, true):
        grey = bytes(255 - min(255, max(0, round(float(value) * 255))) for value in image)
        source = base64.b64encode(_png(28, 28, grey)).decode()
        wrong = int(guess) != int(label)
        border = "#cf222e" if wrong else "#d0d7de"
        caption = f"predicted {int(guess)}, true {int(label)}" + (" WRONG" if wrong else "")
        figures.append(
            f'<figure style="display:inline-block;margin:4px;text-align:center">'
            f'<img src="data:image/png;base64,{source}" width="84" height="84" '
            f'style="image-rendering:pixelated;border:1px solid {border}">'
            f'<figcaption style="font-size:smaller">{escape(caption)}</figcaption></figure>')
    return "<div>" + "".join(figures) + "</div>"


def loss_curve(losses: Sequence[float], width: int = 640, height: int = 240) -> str:
    """The losses, one point per batch, as an SVG plot."""
    if not losses:
        return "<p>(no losses recorded)</p>"
    low, high = min(losses), max(losses)
    span = (high - low) or 1.0
    left, bottom = 50, 20
    plot_width, plot_height = width - left - 10, height - bottom - 10
    points = " ".join(
        f"{left + plot_width * i / max(1, len(losses) - 1):.1f},"
        f"{10 + plot_height * (high - value) / span:.1f}" for i, value in enumerate(losses))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'font-size="11" font-family="sans-serif">'
            f'<line x1="{left}" y1="10" x2="{left}" y2="{10 + plot_height}" stroke="#57606a"/>'
            f'<line x1="{left}" y1="{10 + plot_height}" x2="{width - 10}" y2="{10 + plot_height}" '
            f'stroke="#57606a"/>'
            f'<text x="{left - 4}" y="14" text-anchor="end">{high:.3f}</text>'
            f'<text x="{left - 4}" y="{10 + plot_height}" text-anchor="end">{low:.3f}</text>'
            f'<text x="{left + plot_width / 2}" y="{height - 4}" text-anchor="middle">'
            f'batch 1 to {len(losses)}</text>'
            f'<polyline fill="none" stroke="#0969da" stroke-width="1" points="{points}"/></svg>'
            f'<div style="font-size:smaller">training loss, one point per batch '
            f'(no averaging)</div>')
