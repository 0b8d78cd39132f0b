"""Tests for kata 03, the matrix product. Run them with `pytest katas/03_matmul`.

The oracles are torch.matmul and a loop-based spec written out below, never your own
functions. The sizes n, k and m always differ, so a transposed operand or result fails.
Integer results must be exact; float results may differ from the exact product only by the
rounding error that any order of summation can make (see kata.tolerances).
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from kata.assertions import assert_tensor, assert_true, raises_value_error
from kata.strategies import FLOAT_DTYPES, INT_DTYPES, broadcastable_shapes, clashing_shapes, distinct_sizes, tensors
from kata.tolerances import dot_product_error


def matvec_spec(m, c):
    """The definition, one entry at a time: ``result[i] = sum over j of m[i, j] * c[j]``."""
    return torch.stack([sum(m[i, j] * c[j] for j in range(m.shape[1])) for i in range(m.shape[0])])


def exact_product(a, b):
    """torch.matmul in float64 (or int64): exact for our sizes, cast back by the caller."""
    wide = torch.float64 if a.dtype.is_floating_point else torch.int64
    return torch.matmul(a.to(wide), b.to(wide))


def check_product(result, a, b, call):
    """Compare with the exact product, allowing the rounding error of a k-term dot product."""
    expected = exact_product(a, b)
    assert_tensor(result, expected, dtype=a.dtype, atol=dot_product_error(a, b), call=call)


@st.composite
def operands(draw, batch_dims=0, vector=False, dtypes=FLOAT_DTYPES + INT_DTYPES):
    """a (..., n, k) and b (..., k, m) of one dtype (one of ``dtypes``), n, k and m all
    different; with ``vector=True``, b is a vector (k,) instead."""
    dtype = draw(st.sampled_from(dtypes), label="dtype")
    sizes = draw(distinct_sizes("n", "k", "m"), label="sizes")
    batch_a, batch_b = (draw(broadcastable_shapes(2, max_dims=batch_dims, max_side=3), label="batch")
                        if batch_dims else ((), ()))
    a = draw(tensors(batch_a + (sizes["n"], sizes["k"]), dtype, bound=10))
    b_shape = (sizes["k"],) if vector else batch_b + (sizes["k"], sizes["m"])
    return a, draw(tensors(b_shape, dtype, bound=10))


@pytest.mark.matvec
@given(operands(vector=True))
def test_matvec_matches_loop_spec(impl, operands):
    m, c = operands
    wide = torch.float64 if m.dtype.is_floating_point else torch.int64
    expected = matvec_spec(m.to(wide), c.to(wide))
    assert_tensor(impl.matvec(m, c), expected, dtype=m.dtype,
                  atol=dot_product_error(m, c[:, None])[:, 0], call="matvec(m, c)")


@pytest.mark.matmul_by_columns
@given(operands())
def test_matmul_by_columns_matches_torch(impl, operands):
    a, b = operands
    check_product(impl.matmul_by_columns(a, b), a, b, "matmul_by_columns(a, b)")


@pytest.mark.matmul
@given(operands())
def test_matmul_matches_torch(impl, operands):
    a, b = operands
    check_product(impl.matmul(a, b), a, b, "matmul(a, b)")


_EACH_FUNCTION = [pytest.param("matvec", marks=pytest.mark.matvec),
                  pytest.param("matmul_by_columns", marks=pytest.mark.matmul_by_columns),
                  pytest.param("matmul", marks=pytest.mark.matmul)]


@pytest.mark.parametrize("function", _EACH_FUNCTION)
@pytest.mark.parametrize("dtype", INT_DTYPES, ids=str)
@given(st.data())
def test_integer_inputs_give_exact_results_of_their_dtype(impl, function, dtype, data):
    # every function's docstring says so; a run of the other tests may draw no int32 at all
    a, b = data.draw(operands(vector=function == "matvec", dtypes=(dtype,)), label="operands")
    check_product(getattr(impl, function)(a, b), a, b, f"{function}(a, b) with {dtype} inputs")


@pytest.mark.matmul
@given(operands(batch_dims=2))
def test_matmul_broadcasts_batch_axes(impl, operands):
    a, b = operands
    check_product(impl.matmul(a, b), a, b,
                  f"matmul(a of shape {tuple(a.shape)}, b of shape {tuple(b.shape)})")


@pytest.mark.matmul
@given(operands())
def test_identity_is_neutral(impl, operands):
    a, _ = operands
    n, k = a.shape
    assert_tensor(impl.matmul(torch.eye(n, dtype=a.dtype), a), a, call="matmul(eye(n), a)")
    assert_tensor(impl.matmul(a, torch.eye(k, dtype=a.dtype)), a, call="matmul(a, eye(k))")


@pytest.mark.matmul
@given(operands())
def test_transpose_of_product_is_product_of_transposes(impl, operands):
    a, b = operands
    # b.T and a.T are views with swapped strides: memory that is not laid out row by row
    assert_tensor(impl.matmul(b.T, a.T), exact_product(a, b).T, dtype=a.dtype,
                  atol=dot_product_error(a, b).T, call="matmul(b.T, a.T) against (a @ b).T")


@pytest.mark.parametrize("function", _EACH_FUNCTION)
@given(operands(), st.integers(1, 3))
def test_mismatched_inner_size_is_a_value_error(impl, function, operands, extra):
    a, b = operands
    b = torch.cat([b, torch.ones(extra, b.shape[1], dtype=b.dtype)])  # k + extra rows
    other = b[:, 0] if function == "matvec" else b
    with raises_value_error(f"{function}(a of shape {tuple(a.shape)}, b of shape "
                            f"{tuple(other.shape)})", contract=f"{function}.misfit",
                            shapes=(tuple(a.shape), tuple(other.shape))):
        getattr(impl, function)(a, other)


def _call_id(function: str, shapes: tuple[tuple[int, ...], ...]) -> str:
    """A parametrized case's name, with its input shapes: ``matvec(3x2, 2x1)``."""
    return f"{function}({', '.join('x'.join(map(str, shape)) for shape in shapes)})"


@pytest.mark.parametrize("function, shapes", [
    pytest.param(function, shapes, marks=marks, id=_call_id(function, shapes))
    for function, shapes, marks in [
        ("matvec", ((3, 2), (2, 1)), pytest.mark.matvec),
        ("matvec", ((2,), (2,)), pytest.mark.matvec),
        ("matmul_by_columns", ((4, 3, 2), (2, 5)), pytest.mark.matmul_by_columns),
        ("matmul_by_columns", ((3, 2), (2,)), pytest.mark.matmul_by_columns),
        ("matmul", ((3,), (3, 2)), pytest.mark.matmul),
        ("matmul", ((2, 3), (3,)), pytest.mark.matmul),
    ]])
def test_wrong_number_of_axes_is_a_value_error(impl, function, shapes):
    a, b = torch.ones(shapes[0]), torch.ones(shapes[1])
    with raises_value_error(f"{function}(a of shape {shapes[0]}, b of shape {shapes[1]})",
                            contract=f"{function}.misfit", shapes=shapes):
        getattr(impl, function)(a, b)


@pytest.mark.matmul
@given(clashing_shapes(max_dims=2, max_side=4), distinct_sizes("n", "k", "m"))
def test_matmul_rejects_batch_axes_that_do_not_broadcast(impl, clash, sizes):
    a = torch.ones(clash.first + (sizes["n"], sizes["k"]))
    b = torch.ones(clash.second + (sizes["k"], sizes["m"]))
    with raises_value_error(f"matmul(a of shape {tuple(a.shape)}, b of shape {tuple(b.shape)})",
                            contract="matmul.misfit", shapes=(tuple(a.shape), tuple(b.shape))):
        impl.matmul(a, b)


@pytest.mark.matmul
@given(operands(batch_dims=1))
def test_matmul_runs_on_the_chosen_device(impl, device, operands):
    a, b = (t.to(device) for t in operands)
    result = impl.matmul(a, b)
    assert_tensor(result.cpu() if isinstance(result, torch.Tensor) else result,
                  exact_product(*operands), dtype=a.dtype, atol=dot_product_error(*operands),
                  call=f"matmul(a, b) on {device}")
    assert_true(result.device.type == device.type,
                f"matmul(a, b) on {device} returned a result on {result.device}")
