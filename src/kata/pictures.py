"""Pictures in the terminal, where people would rather look than read.

- ``shapes_aligned``: shapes lined up from the right, as numpy's broadcasting guide draws them,
  with an axis that does not fit marked;
- ``digits``: MNIST digits in text, with predicted and true labels;
- ``loss_curve``: a training loss curve in text (``loss_curve_png`` draws it with matplotlib,
  the optional ``plot`` extra).

>>> print(shapes_aligned([(256, 256, 3), (3,)], names=["Image", "Scale"]))
Image   256 x 256 x 3
Scale               3
Result  256 x 256 x 3
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

__all__ = ["digits", "loss_curve", "loss_curve_png", "shapes_aligned"]

_SHADES = " .:-=+*#%@"


def shapes_aligned(shapes: Sequence[Sequence[int]], names: Sequence[str] | None = None) -> str:
    """``shapes`` right-aligned axis by axis, with the broadcast result below them; where two
    sizes clash (neither is 1 and they differ) a ``^`` marks the axis instead.

    >>> print(shapes_aligned([(8, 1, 6), (7, 1)]))
    A       8 x 1 x 6
    B           7 x 1
    Result  8 x 7 x 6
    >>> print(shapes_aligned([(2, 4), (3,)]))
    A       2 x 4
    B           3
                ^ sizes 4 and 3 clash: they are not equal and neither is 1
    """
    names = list(names or [chr(ord("A") + i) for i in range(len(shapes))])
    ndim = max((len(shape) for shape in shapes), default=0)
    result: list[int] = []
    clash: tuple[int, list[int]] | None = None  # the axis, from the right, and its sizes
    for axis in range(1, ndim + 1):  # from the right: the trailing axes are compared first
        sizes = [shape[-axis] for shape in shapes if len(shape) >= axis]
        big = {size for size in sizes if size != 1}
        if len(big) > 1:
            clash = (axis, sorted(big, key=sizes.index))
            break
        result.insert(0, big.pop() if big else 1)
    rows = [list(shape) for shape in shapes] + ([] if clash else [result])
    labels = names + ([] if clash else ["Result"])
    widths = [max([len(str(row[j - ndim + len(row)])) for row in rows if j - ndim + len(row) >= 0]
                  + [1]) for j in range(ndim)]
    label_width = max(len(label) for label in [*names, "Result"]) + 2

    def cells(row: list[int]) -> str:
        missing = ndim - len(row)  # a missing axis is a leading one: the blanks come first
        text = ""
        for j, width in enumerate(widths):
            separator = "" if j == 0 else " x " if j > missing else "   "
            text += separator + (f"{row[j - missing]:>{width}}" if j >= missing else " " * width)
        return text

    lines = [f"{label:<{label_width}}{cells(row)}".rstrip() for label, row in zip(labels, rows)]
    if clash:
        axis, sizes = clash
        j = ndim - axis
        column = label_width + sum(width + 3 for width in widths[:j]) + widths[j] - 1
        lines.append(" " * column + f"^ sizes {sizes[0]} and {sizes[1]} clash: they are not equal "
                                    f"and neither is 1")
    return "\n".join(lines)


def digits(images: Sequence, predicted: Sequence[int], true: Sequence[int], per_line: int = 4
           ) -> str:
    """MNIST images (784 values in [0, 1] each) in text, 14 rows of 28 characters each, with
    their predicted and true labels under them; a wrong prediction is marked."""
    blocks = []
    for image, guess, label in zip(images, predicted, true):
        pixels = [float(value) for value in image]
        rows = []
        for r in range(0, 28, 2):  # a character is about twice as tall as it is wide
            rows.append("".join(_SHADES[min(int((pixels[r * 28 + c] + pixels[(r + 1) * 28 + c]) / 2
                                                * len(_SHADES)), len(_SHADES) - 1)]
                                for c in range(28)))
        verdict = "" if int(guess) == int(label) else "  WRONG"
        rows.append(f"predicted {int(guess)}, true {int(label)}{verdict}".ljust(28))
        blocks.append(rows)
    lines = []
    for start in range(0, len(blocks), per_line):
        group = blocks[start:start + per_line]
        lines += ["  ".join(block[row] for block in group).rstrip() for row in range(len(group[0]))]
        lines.append("")
    return "\n".join(lines).rstrip()


def loss_curve(losses: Sequence[float], width: int = 64, height: int = 12) -> str:
    """The losses (one per batch) as a text chart: each column is the mean of its share of
    the batches, the y axis runs from the smallest to the largest of those means.

    >>> print(loss_curve([2.0, 1.0, 0.5, 0.25], width=4, height=3))
     2.000 |*
           | *
     0.250 |  **
           +----
            batch 1 to 4
            each * is the loss of one batch
    """
    if not losses:
        return "(no losses recorded)"
    width = min(width, len(losses))
    bins = [statistics.fmean(losses[i * len(losses) // width:(i + 1) * len(losses) // width])
            for i in range(width)]
    low, high = min(bins), max(bins)
    span = (high - low) or 1.0
    levels = [round((value - low) / span * (height - 1)) for value in bins]
    lines = []
    for level in range(height - 1, -1, -1):
        label = f"{high:6.3f}" if level == height - 1 else f"{low:6.3f}" if level == 0 else " " * 6
        lines.append(f"{label} |" + "".join("*" if at == level else " " for at in levels).rstrip())
    lines += [" " * 7 + "+" + "-" * width, " " * 8 + f"batch 1 to {len(losses)}",
              " " * 8 + _what_a_point_averages(len(losses), width)]
    return "\n".join(lines)


def _what_a_point_averages(batches: int, width: int) -> str:
    """Say how many batches' losses each column of ``loss_curve`` averages."""
    sizes = sorted({(i + 1) * batches // width - i * batches // width for i in range(width)})
    if sizes == [1]:
        return "each * is the loss of one batch"
    return f"each * is the mean loss over {' or '.join(map(str, sizes))} batches"


def loss_curve_png(losses: Sequence[float], path: Path) -> None:
    """Draw the losses into the PNG file at ``path`` (needs matplotlib: the ``plot`` extra)."""
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError("drawing a PNG needs matplotlib: pip install -e \".[plot]\" "
                           "(the text curve needs nothing)") from None
    matplotlib.use("Agg")  # a file, never a window
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4))
    axes.plot(range(1, len(losses) + 1), losses, linewidth=0.8)
    axes.set(xlabel="batch", ylabel="training loss", title="kata mnist: the last run")
    figure.savefig(path, dpi=120, bbox_inches="tight")
    pyplot.close(figure)
