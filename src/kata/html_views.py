"""The ``kata`` command's views as HTML, for Jupyter: the board, a run's failures with expected
against actual as a table and the broadcasting shapes lined up, MNIST digits as images and the
loss curve as a plot. Each view reads the same data as the terminal's (``kata.progress``,
``kata.pictures``) and only draws it differently.

>>> "<table" in expected_actual_table("tensor([0.])", "tensor([0., 0.])")
True
"""

from __future__ import annotations

import base64
import re
import struct
import zlib
from collections.abc import Sequence
from html import escape

from kata.progress import DONE, FAILING, NOT_STARTED, KataProgress

#: the states whose tests ran; any other (broken, stopped, ...) has a reason to show instead
_RAN = (DONE, FAILING, NOT_STARTED)
_COLOURS = {DONE: "#1a7f37", FAILING: "#bf3989", NOT_STARTED: "#57606a"}
_SHOWN_FAILURES = 3
_PRE = "margin:0.3em 0;padding:0.4em;background:#f6f8fa;white-space:pre-wrap"


def pre(text: str, style: str = _PRE) -> str:
    """``text`` as preformatted HTML."""
    return f'<pre style="{style}">{escape(text)}</pre>'


def paragraphs(text: str) -> str:
    """Text in paragraphs (split at blank lines), with a ``(new)`` marker in bold."""
    return "".join(f"<p>{escape(part.strip())}</p>".replace("(new)", "<b>(new)</b>")
                   for part in text.split("\n\n") if part.strip())


def problem(text: str) -> str:
    """A message that something could not be done."""
    return f'<div style="color:#cf222e"><b>kata:</b> {escape(text)}</div>'


def _state(state: str) -> str:
    return f'<b style="color:{_COLOURS.get(state, "#cf222e")}">{escape(state)}</b>'


def expected_actual_table(expected: str, actual: str) -> str:
    """Expected against actual, side by side."""
    return ('<table><tr><th>expected</th><th>actual</th></tr><tr>'
            f'<td style="vertical-align:top">{pre(expected)}</td>'
            f'<td style="vertical-align:top">{pre(actual)}</td></tr></table>')


_LABELLED = re.compile(r"^  (expected|actual):\s*(.*)$")
_CONTINUED = " " * 12  # kata.assertions indents a value's further lines by 12 spaces
_SHAPES_HEADER = "lined up from the right"


def failure(message: str) -> str:
    """A failure message of the short report: its ``expected:``/``actual:`` lines become a
    table, the shapes lined up from the right a picture of their own, the rest stays text."""
    lines = message.strip("\n").splitlines()
    parts, text, index = [], [], 0
    while index < len(lines):
        match = _LABELLED.match(lines[index])
        if match and match[1] == "expected":
            values = {}
            while index < len(lines) and (match := _LABELLED.match(lines[index])):
                block = [match[2]]
                index += 1
                while index < len(lines) and lines[index].startswith(_CONTINUED):
                    block.append(lines[index][len(_CONTINUED):])
                    index += 1
                values[match[1]] = "\n".join(block)
            parts += [pre("\n".join(text)) if text else "",
                      expected_actual_table(values.get("expected", ""), values.get("actual", ""))]
            text = []
            continue
        if _SHAPES_HEADER in lines[index]:
            shapes = [lines[index]]
            index += 1
            while index < len(lines) and lines[index].strip():
                shapes.append(lines[index])
                index += 1
            parts += [pre("\n".join(text)) if text else "", shapes_picture(shapes)]
            text = []
            continue
        text.append(lines[index])
        index += 1
    parts.append(pre("\n".join(text)) if text else "")
    return "".join(parts)


def shapes_picture(lines: Sequence[str]) -> str:
    """The shapes lined up from the right (``kata.pictures.shapes_aligned``), in a fixed-width
    box, with the line that marks a clash in red."""
    drawn = "\n".join(f'<span style="color:#cf222e">{escape(line)}</span>' if "^" in line
                      else escape(line) for line in lines)
    return f'<pre style="{_PRE};border-left:3px solid #0969da">{drawn}</pre>'


def board(progress: Sequence[KataProgress], what_next: str) -> str:
    """The board: a progress bar, a row per kata, and ``what_next`` (the terminal's text for
    the current kata: what to read, what to run, its first failure and hint)."""
    done = sum(entry.state == DONE for entry in progress)
    rows = "".join(
        f"<tr><td><code>{escape(entry.kata.folder)}</code></td><td>{_state(entry.state)}</td>"
        f"<td>{escape(entry.counts if entry.state in _RAN else entry.reason or '')}"
        f"</td></tr>" for entry in progress)
    return (f"<div><b>Tensor katas</b> <progress value='{done}' max='{len(progress)}'></progress> "
            f"{done}/{len(progress)} done</div><table>{rows}</table>{pre(what_next)}")


def run(entry: KataProgress, function: str | None, footer: str) -> str:
    """One run (a kata's tests, or one function's): its state, the first failures each with
    its picture, and ``footer`` (the next hint command, or where to go next)."""
    kata = entry.kata
    title = f"{kata.folder}{' ' + function if function else ''}"
    html = f"<div><code>{escape(title)}</code>: {_state(entry.state)}" \
           f"{', ' + escape(entry.counts) if entry.counts else ''}</div>"
    if entry.state not in _RAN:
        html += problem(entry.reason or "")
    elif entry.state != DONE:
        failing = [test for test in entry.counted if test.outcome != "passed"]
        shown = 1 if entry.state == NOT_STARTED else _SHOWN_FAILURES  # the same message each
        for test in failing[:shown]:
            html += (f"<details open><summary><code>{escape(test.name)}</code></summary>"
                     f"{failure(test.message or test.outcome)}</details>")
        if len(failing) > shown:
            html += f"<div>... and {len(failing) - shown} more failing tests</div>"
    return html + pre(footer)


def _png(width: int, height: int, grey: bytes) -> bytes:
    """A greyscale PNG image (one byte a pixel, row by row), written with the standard library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + grey[row * width:(row + 1) * width] for row in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def digits(images: Sequence[Sequence[float]], predicted: Sequence[int], true: Sequence[int]) -> str:
    """MNIST images (784 values in [0, 1] each) as pictures, each with its predicted and true
    label; a wrong prediction is marked."""
    figures = []
    for image, guess, label in zip(images, predicted, true):
        grey = bytes(255 - min(255, max(0, round(float(value) * 255))) for value in image)
        source = base64.b64encode(_png(28, 28, grey)).decode()
        wrong = int(guess) != int(label)
        caption = f"predicted {int(guess)}, true {int(label)}" + (" WRONG" if wrong else "")
        figures.append(
            f'<figure style="display:inline-block;margin:4px;text-align:center">'
            f'<img src="data:image/png;base64,{source}" width="84" height="84" '
            f'style="image-rendering:pixelated;border:1px solid {"#cf222e" if wrong else "#d0d7de"}">'
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
