"""Kata 01: wrong code written apart from the catalog, to measure the diagnosis on (see
kata.instructor.catalog)."""

import torch

from kata.instructor.catalog import independent


@independent("broadcast_shape", "pads the shorter shapes with 1s at the end",
             caught_by=["test_broadcast_shape_matches_numpy"],
             diagnosed_as=["lines the shapes up from the left"])
def broadcast_shape_padding_the_end(*shapes):
    longest = max((len(shape) for shape in shapes), default=0)
    result = [1] * longest
    for shape in shapes:
        for axis, size in enumerate(list(shape) + [1] * (longest - len(shape))):
            if size != 1 and result[axis] not in (1, size):
                raise ValueError(f"axis {axis}: {result[axis]} against {size}")
            if size != 1:
                result[axis] = size
    return tuple(result)


@independent("fraction_less", "counts with sum() and divides by a's own number of entries",
             caught_by=["test_fraction_less_matches_numpy"],
             diagnosed_as=["divides by the size of a instead of the broadcast result"])
def fraction_less_over_a(a, b):
    return float(torch.sum(a < b)) / a.numel()


@independent("fraction_less", "divides by the broadcast result's last axis only",
             caught_by=["test_fraction_less_matches_numpy"], diagnosed_as=[])
def fraction_less_over_one_axis(a, b):
    less = a < b
    return float(less.sum()) / (less.shape[-1] if less.dim() else 1)
