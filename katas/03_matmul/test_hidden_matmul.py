"""Hidden tests for kata 03: `kata grade` runs them, `kata release` leaves them out of the
learner's repository (see docs/instructors.md, "Hidden grading").

They demand nothing the docstrings do not state, on inputs that test_matmul.py's strategies
never draw: sides from 7 to 16 (the visible tests stop at 6) and the small integer dtypes
int8 and int16 (the visible ones draw int32 and int64), whose results must be exact and of
the inputs' dtype like any integer's. A module that does what its docstrings say passes
them; one shaped around the examples a learner's run shows (a sum over at most six terms, a
table of four dtypes) fails them. Values stay small enough that no exact product overflows:
at most 16 terms of at most 2 x 2 in int8, 10 x 10 in int16.
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from kata.assertions import assert_tensor
from kata.strategies import FLOAT_DTYPES, distinct_sizes, tensors
from kata.tolerances import dot_product_error

#: The unseen dtypes, each with the bound that keeps a 16-term exact sum within its range.
SMALL_INTEGERS = {torch.int8: 2, torch.int16: 10}
SIDES = {"min_size": 7, "max_size": 16}


def _drawn(draw, shape, dtype):
    """A tensor of ``shape`` and ``dtype``: small integers are drawn as int32 within their
    bound and cast (kata.strategies draws the four visible dtypes only)."""
    if dtype in SMALL_INTEGERS:
        return draw(tensors(shape, torch.int32, bound=SMALL_INTEGERS[dtype])).to(dtype)
    return draw(tensors(shape, dtype, bound=10))


@st.composite
def larger_operands(draw, vector=False):
    """a (n, k) and b (k, m), or the vector (k,) with ``vector=True``: n, k and m all
    different, from 7 to 16, in any of int8, int16, float32 and float64."""
    dtype = draw(st.sampled_from([*SMALL_INTEGERS, *FLOAT_DTYPES]), label="dtype")
    sizes = draw(distinct_sizes("n", "k", "m", **SIDES), label="sizes")
    a = _drawn(draw, (sizes["n"], sizes["k"]), dtype)
    return a, _drawn(draw, (sizes["k"],) if vector else (sizes["k"], sizes["m"]), dtype)


def check_against_torch(result, a, b, call):
    """``result`` against torch.matmul computed in float64 or int64 (exact here), in the
    inputs' dtype, within the rounding of a k-term dot product for floats."""
    wide = torch.float64 if a.dtype.is_floating_point else torch.int64
    expected = torch.matmul(a.to(wide), b.to(wide))
    error = dot_product_error(a, b.reshape(b.shape[0], -1)).reshape(expected.shape)
    assert_tensor(result, expected, dtype=a.dtype, atol=error, call=call)


@pytest.mark.matvec
@given(larger_operands(vector=True))
def test_matvec_on_larger_sizes_and_small_integers(impl, operands):
    m, c = operands
    check_against_torch(impl.matvec(m, c), m, c,
                        f"matvec(m of shape {tuple(m.shape)} and dtype {m.dtype}, c)")


@pytest.mark.matmul_by_columns
@given(larger_operands())
def test_matmul_by_columns_on_larger_sizes_and_small_integers(impl, operands):
    a, b = operands
    check_against_torch(impl.matmul_by_columns(a, b), a, b,
                        f"matmul_by_columns(a of shape {tuple(a.shape)} and dtype {a.dtype}, b)")


@pytest.mark.matmul
@given(larger_operands())
def test_matmul_on_larger_sizes_and_small_integers(impl, operands):
    a, b = operands
    check_against_torch(impl.matmul(a, b), a, b,
                        f"matmul(a of shape {tuple(a.shape)} and dtype {a.dtype}, b)")
