"""Tests for kata 01, broadcasting. Run them with `pytest katas/01_broadcasting`.

The oracles are torch and numpy, never your own functions.
"""

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from kata.assertions import (assert_contract, assert_tensor, assert_value, raises_value_error,
                             shown_on_failure, tensor_result)
from kata.pictures import shapes_aligned
from kata.strategies import (FLOAT_DTYPES, Clash, arange_views, broadcastable_shapes, clashing_shapes,
                             shapes_broadcastable_to, shapes_with_distinct_sides, tensors)
from kata.tolerances import mean_error, unit_roundoff


def _lined_up(shapes, names=None) -> str:
    return "The shapes, lined up from the right:\n" + shapes_aligned(shapes, names)


def memory_of(local, function: str, x, *args):
    """Scenario: ``function(x, *args)`` called beside the learner's code, and where its
    result lives: its strides, its storage offset, and the address of its storage beside
    ``x``'s (a view shares ``x``'s storage)."""
    result = getattr(local, function)(x, *args)
    if not isinstance(result, torch.Tensor):
        return {"result": result}
    return {"result": result, "stride": result.stride(), "storage_offset": result.storage_offset(),
            "storage": result.untyped_storage().data_ptr(),
            "storage_of_x": x.untyped_storage().data_ptr()}


@pytest.mark.fraction_less
@given(st.data())
def test_fraction_less_matches_numpy(impl, data):
    shape_a, shape_b = data.draw(broadcastable_shapes(2), label="shapes")
    # small integers, so that ties (a == b, which do not count) are common
    a = data.draw(tensors(shape_a, torch.int64, bound=3), label="a")
    b = data.draw(tensors(shape_b, torch.int64, bound=3), label="b")
    expected = float(np.mean(a.numpy() < b.numpy()))
    # a float32 mean of 0/1 values rounds once, in the division
    assert_value(impl.fraction_less(a, b), expected, call="fraction_less(a, b)",
                 rel=unit_roundoff(torch.float32))


@pytest.mark.broadcast_shape
@given(broadcastable_shapes(st.integers(1, 4), min_side=0))
@example(shapes=((0,), (1,)))
@example(shapes=((3, 1), (0,)))
@example(shapes=((256, 256, 3), (3,)))
def test_broadcast_shape_matches_numpy(impl, shapes):
    # numpy's rules are torch's; torch.broadcast_shapes would cost 0.4 s of lazy imports here
    expected = tuple(np.broadcast_shapes(*shapes))
    with shown_on_failure(_lined_up(shapes)):
        assert_value(impl.broadcast_shape(*shapes), expected,
                     call=f"broadcast_shape{tuple(shapes)}")


@pytest.mark.broadcast_shape
@given(clashing_shapes())
@example(clash=Clash((3,), (3, 4), -1, 3, 4))
@example(clash=Clash((0,), (2,), -1, 0, 2))
def test_broadcast_shape_rejects_clashing_shapes(impl, clash):
    first, second, axis, first_size, second_size = clash
    call = f"broadcast_shape({first}, {second})"
    with shown_on_failure(_lined_up([first, second])), \
            raises_value_error(call, contract="broadcast_shape.clash",
                               mentions=(str(axis), str(first_size), str(second_size))):
        impl.broadcast_shape(first, second)


@pytest.mark.broadcast_shape
@given(broadcastable_shapes(2, min_side=0))
def test_broadcast_shape_is_commutative(impl, shapes):
    first, second = shapes
    # the other order than test_broadcast_shape_matches_numpy, against the same oracle
    with shown_on_failure(_lined_up([second, first])):
        assert_value(impl.broadcast_shape(second, first), np.broadcast_shapes(first, second),
                     call=f"broadcast_shape({second}, {first})")


@pytest.mark.broadcast_shape
@given(shapes_with_distinct_sides(min_dims=0, max_dims=4))
def test_empty_shape_is_neutral(impl, shape):
    assert_value(impl.broadcast_shape(shape, ()), shape, call=f"broadcast_shape({shape}, ())")
    assert_value(impl.broadcast_shape((), shape), shape, call=f"broadcast_shape((), {shape})")
    assert_value(impl.broadcast_shape(), (), call="broadcast_shape()")


def _unit_axis_result(impl, function: str, v: torch.Tensor, expected: torch.Tensor) -> dict:
    """The scenario's observations, once the result's values are checked."""
    seen = impl.scenario(memory_of, function, v)
    assert_tensor(seen["result"], expected, call=f"{function}(v)")
    return seen


@pytest.mark.as_row
@given(st.integers(1, 6).flatmap(lambda n: arange_views((n,))))
def test_as_row_is_a_view_of_shape_1_n(impl, v):
    seen = _unit_axis_result(impl, "as_row", v, v.reshape(1, -1))
    assert_contract(seen["storage"] == seen["storage_of_x"],
                    "as_row(v) should be a view of v, but its result lives in new memory.",
                    contract="as_row.view")


@pytest.mark.as_column
@given(st.integers(1, 6).flatmap(lambda n: arange_views((n,))))
def test_as_column_is_a_view_of_shape_n_1(impl, v):
    seen = _unit_axis_result(impl, "as_column", v, v.reshape(-1, 1))
    assert_contract(seen["storage"] == seen["storage_of_x"],
                    "as_column(v) should be a view of v, but its result lives in new memory.",
                    contract="as_column.view")


@st.composite
def _broadcast_to_cases(draw):
    target = draw(shapes_with_distinct_sides(min_dims=0, max_dims=4, min_side=2), label="shape")
    x = draw(shapes_broadcastable_to(target).flatmap(arange_views), label="x")
    return x, target


@pytest.mark.broadcast_to
@given(_broadcast_to_cases())
def test_broadcast_to_matches_torch(impl, case):
    x, shape = case
    with shown_on_failure(_lined_up([tuple(x.shape), shape], names=["x", "target"])):
        assert_tensor(impl.broadcast_to(x, shape), torch.broadcast_to(x, shape),
                      call=f"broadcast_to(x, {shape})")


@pytest.mark.broadcast_to
@given(_broadcast_to_cases())
def test_broadcast_to_shares_memory_with_stride_0(impl, case):
    x, shape = case
    seen = impl.scenario(memory_of, "broadcast_to", x, shape)
    call = f"broadcast_to(x of shape {tuple(x.shape)} and strides {x.stride()}, {shape})"
    tensor_result(seen["result"], call=call)
    assert_contract(seen["storage"] == seen["storage_of_x"],
                    f"{call} should be a view of x, sharing its memory, but it is a copy.",
                    contract="broadcast_to.view")
    new_axes = len(shape) - x.dim()
    broadcast = [axis for axis, target in enumerate(shape)
                 if (1 if axis < new_axes else x.shape[axis - new_axes]) == 1]
    assert_contract(all(seen["stride"][axis] == 0 for axis in broadcast),
                    f"{call}: axes {broadcast} are broadcast (new, or of size 1), so their "
                    f"strides should be 0; the result's strides are {seen['stride']}.",
                    contract="broadcast_to.stride_0")


@pytest.mark.broadcast_to
@given(clashing_shapes())
@example(clash=Clash((1, 3), (3,), -2, 1, 1))
def test_broadcast_to_rejects_shapes_that_do_not_fit(impl, clash):
    x = torch.zeros(clash.first)
    call = f"broadcast_to(x of shape {clash.first}, {clash.second})"
    with shown_on_failure(_lined_up([clash.first, clash.second], names=["x", "target"])), \
            raises_value_error(call, contract="broadcast_to.misfit", shapes=(clash.first, clash.second)):
        impl.broadcast_to(x, clash.second)


@pytest.mark.subtract_channel_means
@given(st.data())
def test_subtract_channel_means_matches_numpy(impl, data):
    shape = data.draw(shapes_with_distinct_sides(min_dims=3, max_dims=4), label="shape")
    images = data.draw(tensors(shape, data.draw(st.sampled_from(FLOAT_DTYPES))), label="images")
    other_axes = tuple(range(images.dim() - 1))
    as_array = images.double().numpy()
    expected = torch.from_numpy(as_array - as_array.mean(axis=other_axes))
    # the mean's own error, then one rounding in the subtraction
    allowed = mean_error(images, other_axes) + 2 * unit_roundoff(images.dtype) * images.double().abs().max()
    assert_tensor(impl.subtract_channel_means(images), expected, dtype=images.dtype, atol=allowed,
                  call="subtract_channel_means(images)")


@pytest.mark.subtract_channel_means
@given(shapes_with_distinct_sides(min_dims=0, max_dims=2))
def test_subtract_channel_means_rejects_fewer_than_3_axes(impl, shape):
    with raises_value_error(f"subtract_channel_means(images of shape {shape})",
                            contract="subtract_channel_means.few_axes"):
        impl.subtract_channel_means(torch.zeros(shape))
