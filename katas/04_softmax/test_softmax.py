"""Tests for kata 04, softmax and its family. Run them with `pytest katas/04_softmax`.

The oracles are torch's own softmax, log_softmax, logsumexp and sigmoid, computed in float64,
never your own functions. Inputs reach 1e4 in size, where exp overflows float32, and `dim`
may be any axis, negative ones included; every axis has a different size. Tolerances follow
from rounding analysis (see kata.tolerances).
"""

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from kata.assertions import assert_tensor, assert_true, tensor_result
from kata.strategies import FLOAT_DTYPES, dims, shapes_with_distinct_sides, tensors
from kata.tolerances import log_softmax_error, logsumexp_error, softmax_error, unit_roundoff


@st.composite
def scores(draw, bound=None):
    """A float tensor of 1 to 3 axes with distinct sizes, and a dim to work along."""
    dtype = draw(st.sampled_from(FLOAT_DTYPES), label="dtype")
    shape = draw(shapes_with_distinct_sides(1, 3), label="shape")
    bound = bound or draw(st.sampled_from([10.0, 1e4]), label="bound")
    x = draw(tensors(shape, dtype, bound=bound), label="x")
    return x, draw(dims(x.dim()), label="dim")


@pytest.mark.softmax
@given(scores())
def test_softmax_matches_torch(impl, case):
    x, dim = case
    absolute, relative = softmax_error(x, dim)
    assert_tensor(impl.softmax(x, dim), torch.softmax(x.double(), dim), dtype=x.dtype,
                  atol=absolute, rtol=relative, call=f"softmax(x, dim={dim})")


@pytest.mark.softmax
@given(scores())
def test_softmax_is_a_distribution_along_dim(impl, case):
    x, dim = case
    p = tensor_result(impl.softmax(x, dim), call=f"softmax(x, dim={dim})")
    assert_true(p.shape == x.shape,
                f"softmax(x, dim={dim}) should return a tensor of x's shape {tuple(x.shape)}, "
                f"got {tuple(p.shape)}")
    assert_true(((p >= 0) & (p <= 1)).all(),
                f"softmax(x, dim={dim}) has entries that are no probabilities (outside [0, 1], or "
                f"NaN):\n{p}")
    absolute, relative = softmax_error(x, dim)
    allowed = (absolute + relative).sum(dim) + x.shape[dim] * unit_roundoff(x.dtype)
    total = p.double().sum(dim)
    off = ~((total - 1).abs() <= allowed)  # a NaN sum is off too
    first = tuple(int(i) for i in off.nonzero()[0]) if off.any() else ()
    # printed in full: a sum of 0.9999 prints as 1.0000 among the others
    assert_true(not off.any(),
                f"softmax(x, dim={dim}) should sum to 1 along dim {dim}, but {int(off.sum())} of "
                f"{off.numel()} slices do not: the first, at {list(first)}, sums to "
                f"{total[first].item()!r}, {abs(total[first].item() - 1):.3g} away from 1 (allowed: "
                f"{allowed[first].item():.3g})" if off.any() else "")


@pytest.mark.softmax
@given(scores(bound=100.0), st.floats(-100, 100, width=32))
def test_softmax_ignores_a_constant_added_along_dim(impl, case, shift):
    x, dim = case
    shifted = x + shift
    absolute, relative = softmax_error(shifted, dim)
    # x + shift rounds once more per entry, up to u max|x + shift| in each exponent: a further
    # 2 u max|x + shift| of relative error in p, within twice the bound
    assert_tensor(impl.softmax(shifted, dim), torch.softmax(x.double(), dim), dtype=x.dtype,
                  atol=absolute, rtol=2 * relative, call=f"softmax(x + {shift}, dim={dim}) against softmax(x)")


@pytest.mark.softmax
@given(scores())
def test_softmax_keeps_the_argmax(impl, case):
    x, dim = case
    p = impl.softmax(x, dim)
    absolute, relative = softmax_error(x, dim)
    at_argmax = p.gather(dim, x.argmax(dim, keepdim=True))
    assert_true((at_argmax >= p.amax(dim, keepdim=True) - (absolute + relative).amax(dim, keepdim=True)).all(),
                f"softmax(x, dim={dim}) is not largest where x is largest:\n{p}")


@pytest.mark.softmax
@given(scores(bound=1e4))
@example(case=(torch.tensor([1e4, 0.0, -1e4]), 0))
def test_softmax_is_finite_for_large_inputs(impl, case):
    x, dim = case
    p = impl.softmax(x, dim)
    assert_true(torch.isfinite(p).all(),
                f"softmax(x, dim={dim}) is not finite for inputs this large:\n{p}\n"
                f"exp(89.0) is already inf in float32.")


@pytest.mark.log_softmax
@given(scores())
@example(case=(torch.tensor([0.0, -1e4]), 0))
def test_log_softmax_matches_torch(impl, case):
    x, dim = case
    assert_tensor(impl.log_softmax(x, dim), torch.log_softmax(x.double(), dim), dtype=x.dtype,
                  atol=log_softmax_error(x, dim), call=f"log_softmax(x, dim={dim})")


@pytest.mark.log_softmax
@given(scores())
def test_exp_of_log_softmax_is_softmax(impl, case):
    x, dim = case
    absolute, relative = softmax_error(x, dim)
    # exp turns log_softmax's absolute error e into a relative error of about e
    relative = relative + log_softmax_error(x, dim) * 2
    assert_tensor(impl.log_softmax(x, dim).exp(), torch.softmax(x.double(), dim), dtype=x.dtype,
                  atol=absolute, rtol=relative, call=f"exp(log_softmax(x, dim={dim}))")


@pytest.mark.logsumexp
@given(scores())
def test_logsumexp_matches_torch(impl, case):
    x, dim = case
    assert_tensor(impl.logsumexp(x, dim), torch.logsumexp(x.double(), dim), dtype=x.dtype,
                  atol=logsumexp_error(x, dim), call=f"logsumexp(x, dim={dim})")


@pytest.mark.logsumexp
@given(scores())
def test_logsumexp_is_at_least_the_max(impl, case):
    x, dim = case
    result = tensor_result(impl.logsumexp(x, dim), call=f"logsumexp(x, dim={dim})")
    assert_true(result.shape == x.amax(dim).shape,
                f"logsumexp(x, dim={dim}) should drop axis {dim}: expected shape "
                f"{tuple(x.amax(dim).shape)}, got {tuple(result.shape)}")
    assert_true((result.double() >= x.amax(dim).double() - logsumexp_error(x, dim)).all(),
                f"logsumexp(x, dim={dim}) is below max(x), which it can never be:\n"
                f"  logsumexp: {result}\n  max:       {x.amax(dim)}")


def _values(bound):
    return st.sampled_from(FLOAT_DTYPES).flatmap(
        lambda dtype: shapes_with_distinct_sides(0, 2).flatmap(
            lambda shape: tensors(shape, dtype, bound=bound)))


@pytest.mark.sigmoid
@given(_values(1e4))
@example(x=torch.tensor([1e4, -1e4, 0.0]))
def test_sigmoid_matches_torch(impl, x):
    # 1 / (1 + exp(-x)): exp rounds (2 u), the sum and the division once each
    u = unit_roundoff(x.dtype)
    assert_tensor(impl.sigmoid(x), torch.sigmoid(x.double()), dtype=x.dtype, atol=4 * u, rtol=4 * u,
                  call="sigmoid(x)")


@pytest.mark.sigmoid
@given(_values(100.0))
def test_sigmoid_is_symmetric(impl, x):
    u = unit_roundoff(x.dtype)
    assert_tensor(impl.sigmoid(-x), 1 - torch.sigmoid(x.double()), dtype=x.dtype, atol=4 * u,
                  rtol=4 * u, call="sigmoid(-x) against 1 - sigmoid(x)")


@pytest.mark.sigmoid
@pytest.mark.softmax
@given(_values(100.0))
def test_sigmoid_is_the_two_class_softmax(impl, x):
    u = unit_roundoff(x.dtype)
    two_class = torch.stack([x, torch.zeros_like(x)], dim=-1)
    absolute, relative = softmax_error(two_class, -1)
    assert_tensor(impl.sigmoid(x), torch.softmax(two_class.double(), -1)[..., 0], dtype=x.dtype,
                  atol=4 * u, rtol=4 * u, call="sigmoid(x) against softmax(stack([x, 0]))[..., 0]")
    assert_tensor(impl.softmax(two_class, -1)[..., 0], torch.sigmoid(x.double()), dtype=x.dtype,
                  atol=absolute[..., 0], rtol=relative[..., 0],
                  call="softmax(stack([x, 0]), -1)[..., 0] against sigmoid(x)")
