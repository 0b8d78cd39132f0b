"""Tests for kata 02, outer operations. Run them with `pytest katas/02_outer_ops`.

The oracles are torch, numpy and a loop-based spec written out below, never your own
functions. Vectors a and b always have different lengths, so a transposed table fails.
"""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from kata.assertions import (assert_tensor, assert_true, assert_type, assert_value, raises_value_error,
                             tensor_result)
from kata.strategies import distinct_sizes, tensors
from kata.tolerances import distance_error

# Element-wise operations to build tables from; sub and gt are not symmetric, so swapping
# a and b cannot pass.
OPS = [torch.add, torch.sub, torch.mul, torch.maximum, torch.gt]


def outer_spec(a, b, op):
    """The definition, one pair at a time: ``result[i][j] = op(a[i], b[j])``."""
    return torch.stack([torch.stack([op(a[i], b[j]) for j in range(len(b))])
                        for i in range(len(a))])


@st.composite
def vector_pairs(draw, dtype=None):
    """Two vectors of different lengths n and m; values on a 1/8 grid (or small ints)."""
    sizes = draw(distinct_sizes("n", "m"))
    dtype = dtype or draw(st.sampled_from([torch.float32, torch.int64]))
    a = draw(tensors((sizes["n"],), dtype, bound=4, exact=True), label="a")
    b = draw(tensors((sizes["m"],), dtype, bound=4, exact=True), label="b")
    return a, b


@st.composite
def point_sets(draw, exact=True):
    """Points x (n, d) and y (m, d) with n, m and d all different, near the origin or in a
    cluster far from it (where |x|^2 + |y|^2 - 2 x.y loses every digit to cancellation)."""
    sizes = draw(distinct_sizes("n", "m", "d"))
    offset = draw(st.sampled_from([0.0, 1000.0]), label="offset")
    x = draw(tensors((sizes["n"], sizes["d"]), bound=10, exact=exact), label="x") + offset
    y = draw(tensors((sizes["m"], sizes["d"]), bound=10, exact=exact), label="y") + offset
    return x, y


@pytest.mark.outer
@given(vector_pairs(), st.sampled_from(OPS))
def test_outer_matches_loop_spec(impl, vectors, op):
    a, b = vectors
    assert_tensor(impl.outer(a, b, op), outer_spec(a, b, op),
                  call=f"outer(a, b, {op.__name__})")


@pytest.mark.outer
@given(vector_pairs(torch.float32))
def test_outer_rejects_non_vectors(impl, vectors):
    a, b = vectors
    matrix = torch.stack([a, a + 1], dim=1)  # shape (n, 2)
    with raises_value_error(f"outer(a matrix of shape {tuple(matrix.shape)}, b, torch.add)",
                            contract="outer.not_vectors"):
        impl.outer(matrix, b, torch.add)


@pytest.mark.outer_product
@given(vector_pairs())
def test_outer_product_matches_torch(impl, vectors):
    a, b = vectors
    assert_tensor(impl.outer_product(a, b), torch.outer(a, b), call="outer_product(a, b)")


@pytest.mark.outer_sum
@given(vector_pairs())
def test_outer_sum_matches_numpy(impl, vectors):
    a, b = vectors
    assert_tensor(impl.outer_sum(a, b), torch.from_numpy(np.add.outer(a.numpy(), b.numpy())),
                  call="outer_sum(a, b)")


@pytest.mark.outer_greater
@given(vector_pairs())
def test_outer_greater_matches_numpy(impl, vectors):
    a, b = vectors
    assert_tensor(impl.outer_greater(a, b),
                  torch.from_numpy(np.greater.outer(a.numpy(), b.numpy())),
                  call="outer_greater(a, b)")


@pytest.mark.outer_greater
@given(vector_pairs())
def test_outer_greater_is_a_strict_order(impl, vectors):
    a, _ = vectors
    greater = tensor_result(impl.outer_greater(a, a), call="outer_greater(a, a)")
    assert_true(not greater.diagonal().any(),
                f"outer_greater(a, a) has True on its diagonal, but no number is greater than "
                f"itself:\n{greater}")
    assert_true(not (greater & greater.T).any(),
                f"outer_greater(a, a) says both a[i] > a[j] and a[j] > a[i] somewhere:\n{greater}")


@pytest.mark.grid
@given(distinct_sizes("h", "w"))
def test_grid_matches_numpy_ogrid(impl, sizes):
    h, w = sizes["h"], sizes["w"]
    result = impl.grid(h, w)
    assert_type(result, tuple, call=f"grid({h}, {w})", contract="grid.pair")
    assert_value(len(result), 2, call=f"len(grid({h}, {w}))")
    rows, cols = np.ogrid[:h, :w]
    assert_tensor(result[0], torch.from_numpy(rows).long(), call=f"grid({h}, {w})[0] (rows)")
    assert_tensor(result[1], torch.from_numpy(cols).long(), call=f"grid({h}, {w})[1] (cols)")


@pytest.mark.pairwise_distances
@given(point_sets(exact=False))
def test_pairwise_distances_match_cdist(impl, points):
    x, y = points
    expected = torch.cdist(x.double(), y.double(), compute_mode="donot_use_mm_for_euclid_dist")
    absolute, relative = distance_error(x.shape[1], x.dtype)
    assert_tensor(impl.pairwise_distances(x, y), expected, dtype=x.dtype, atol=absolute,
                  rtol=relative, call="pairwise_distances(x, y)")


@pytest.mark.pairwise_distances
@given(point_sets())
def test_pairwise_distances_are_symmetric(impl, points):
    x, y = points
    forward = torch.cdist(x.double(), y.double(), compute_mode="donot_use_mm_for_euclid_dist")
    absolute, relative = distance_error(x.shape[1], x.dtype)
    assert_tensor(impl.pairwise_distances(y, x), forward.T, dtype=x.dtype, atol=absolute,
                  rtol=relative, call="pairwise_distances(y, x) against the distances from x to y, transposed")


@pytest.mark.pairwise_distances
@given(point_sets(exact=False))
def test_distance_from_a_point_to_itself_is_exactly_0(impl, points):
    x, _ = points
    distances = tensor_result(impl.pairwise_distances(x, x), call="pairwise_distances(x, x)")
    assert_true(not distances.isnan().any(), f"pairwise_distances(x, x) contains NaN:\n{distances}")
    assert_true((distances.diagonal() == 0).all(),
                f"pairwise_distances(x, x) should be exactly 0 on the diagonal, got "
                f"{distances.diagonal()}")
    assert_true((distances >= 0).all(), f"pairwise_distances(x, x) has negative entries:\n{distances}")


@pytest.mark.pairwise_distances
@given(point_sets(exact=False))
def test_pairwise_distances_obey_the_triangle_inequality(impl, points):
    x, _ = points
    d = impl.pairwise_distances(x, x).double()
    detour = d[:, :, None] + d[None, :, :]  # detour[i, j, k] = d(i, j) + d(j, k)
    absolute, relative = distance_error(x.shape[1], x.dtype)
    slack = 3 * (absolute + relative * detour)  # each of the three distances may be off
    assert_true((d[:, None, :] <= detour + slack).all(),
                f"pairwise_distances(x, x) breaks the triangle inequality d(i, k) <= d(i, j) + "
                f"d(j, k):\n{d}")


@pytest.mark.pairwise_distances
@given(point_sets(), st.integers(1, 3))
def test_pairwise_distances_reject_different_dimensions(impl, points, extra):
    x, y = points
    wider = torch.cat([y, torch.zeros(y.shape[0], extra)], dim=1)
    with raises_value_error(f"pairwise_distances(x of shape {tuple(x.shape)}, y of shape "
                            f"{tuple(wider.shape)})", contract="pairwise_distances.misfit",
                            shapes=(tuple(x.shape), tuple(wider.shape))):
        impl.pairwise_distances(x, wider)
