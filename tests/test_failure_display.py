"""A failing test shows the input it failed on: a strided view by its layout, not only its
values (kata.strategies registers how hypothesis prints tensors)."""

import torch
from hypothesis.vendor.pretty import pretty

from kata.strategies import strided_view


def test_a_view_shows_its_shape_strides_and_storage_offset():
    stepped = strided_view((2, 3), (6, 2), 1)
    assert pretty(stepped) == ("<view of shape (2, 3), strides (6, 2), storage offset 1: "
                               f"{stepped!r}>")


def test_a_tensor_laid_out_row_by_row_shows_its_values_only():
    assert pretty(torch.arange(6.0).reshape(2, 3)) == repr(torch.arange(6.0).reshape(2, 3))
