"""Kata 02: wrong code written apart from the catalog, to measure the diagnosis on (see
kata.instructor.catalog)."""

import torch

from kata.instructor.catalog import independent


@independent("outer", "reshapes a into a row and b into a column",
             caught_by=["test_outer_matches_loop_spec"],
             diagnosed_as=["puts the unit axes the wrong way round (a transposed table)"])
def outer_by_reshaping_the_wrong_way(a, b, op):
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer takes vectors, not {tuple(a.shape)} and {tuple(b.shape)}")
    return op(a.reshape(1, -1), b.reshape(-1, 1))


@independent("pairwise_distances", "sums the squared differences over the second axis, m",
             caught_by=["test_pairwise_distances_match_cdist"], diagnosed_as=[])
def distances_over_the_wrong_axis(x, y):
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"shapes {tuple(x.shape)} and {tuple(y.shape)} do not fit")
    return torch.sqrt(((x[:, None] - y[None]) ** 2).sum(1))
