"""Hypothesis strategies shared by every kata's tests.

Shapes draw a *distinct* size for each named dimension, so that code which swaps two axes
cannot pass by luck (the Tensor-Puzzles habit). Values stay in bounds that keep float
results finite, and "exact" floats are multiples of 1/8, so that sums and products of a few
of them are exact in float32 and a comparison can demand equality.

>>> from hypothesis import given
>>> @given(distinct_sizes("n", "k", "m"))
... def check(sizes):
...     assert len(set(sizes.values())) == 3
>>> check()
"""

from __future__ import annotations

import functools
from typing import Literal, NamedTuple

import hypothesis.extra.numpy as hnp
import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.vendor import pretty

__all__ = ["FLOAT_DTYPES", "INT_DTYPES", "Clash", "ModuleTree", "arange_views",
           "broadcastable_shapes", "clashing_shapes", "dims", "distinct_sizes", "module_trees",
           "shapes_broadcastable_to", "shapes_with_distinct_sides", "strided_view", "tensors"]

FLOAT_DTYPES = (torch.float32, torch.float64)
INT_DTYPES = (torch.int32, torch.int64)
_NUMPY_DTYPE = {torch.float32: np.float32, torch.float64: np.float64,
                torch.int32: np.int32, torch.int64: np.int64}


def distinct_sizes(*names: str, min_size: int = 1, max_size: int = 6
                   ) -> st.SearchStrategy[dict[str, int]]:
    """One size per name, all different: ``{"n": 3, "k": 1, "m": 4}``."""
    return st.lists(st.integers(min_size, max_size), min_size=len(names), max_size=len(names),
                    unique=True).map(lambda sizes: dict(zip(names, sizes)))


def shapes_with_distinct_sides(min_dims: int = 1, max_dims: int = 3, min_side: int = 1,
                               max_side: int = 6) -> st.SearchStrategy[tuple[int, ...]]:
    """A shape whose axes all have different sizes, e.g. ``(2, 5, 3)``."""
    return st.integers(min_dims, max_dims).flatmap(
        lambda ndim: st.lists(st.integers(min_side, max_side), min_size=ndim, max_size=ndim,
                              unique=True).map(tuple))


def tensors(shape: tuple[int, ...], dtype: torch.dtype = torch.float32, *,
            bound: float = 100.0, exact: bool = False) -> st.SearchStrategy[torch.Tensor]:
    """Tensors of ``shape`` and ``dtype`` with values in ``[-bound, bound]``.

    Floats are finite and normal; with ``exact=True`` they are multiples of 1/8 (so that
    a few products and sums of them are exact). Integers are whole numbers in the bound.
    """
    return _tensors(tuple(shape), dtype, bound, exact)


@functools.lru_cache(maxsize=4096)
def _tensors(shape: tuple[int, ...], dtype: torch.dtype, bound: float,
             exact: bool) -> st.SearchStrategy[torch.Tensor]:
    # one strategy per kind of tensor: composite strategies ask for one per example, and
    # hypothesis checks each new strategy before its first draw
    if dtype.is_floating_point and exact:
        elements = st.integers(int(-bound * 8), int(bound * 8)).map(lambda k: k / 8)
    elif dtype.is_floating_point:
        width: Literal[32, 64] = 32 if dtype == torch.float32 else 64
        elements = st.floats(-bound, bound, width=width, allow_nan=False, allow_subnormal=False)
    else:
        elements = st.integers(int(-bound), int(bound))
    return hnp.arrays(_NUMPY_DTYPE[dtype], shape, elements=elements).map(torch.from_numpy)


def strided_view(shape: tuple[int, ...], strides: tuple[int, ...], storage_offset: int
                 ) -> torch.Tensor:
    """A float tensor of ``shape`` laid out in memory with ``strides`` from ``storage_offset``
    in a storage holding 0, 1, 2, ...: its values are distinct wherever its positions are.

    >>> strided_view((2, 3), (1, 2), 0)
    tensor([[0., 2., 4.],
            [1., 3., 5.]])
    >>> strided_view((), (), 1)
    tensor(1.)
    """
    reach = sum((size - 1) * stride for size, stride in zip(shape, strides)) if all(shape) else 0
    storage = torch.arange(storage_offset + reach + 1, dtype=torch.float32)
    return storage.as_strided(shape, strides, storage_offset)


def _row_major(shape: tuple[int, ...], step: int = 1) -> tuple[int, ...]:
    strides: list[int] = []
    stride = step
    for size in reversed(shape):
        strides.insert(0, stride)
        stride *= max(size, 1)
    return tuple(strides)


def arange_views(shape: tuple[int, ...]) -> st.SearchStrategy[torch.Tensor]:
    """Float tensors of ``shape`` holding distinct values, laid out in memory three ways:
    contiguous, transposed (column-major strides), or every other element of a larger tensor
    (stride 2 and a storage offset of 1). Code that assumes contiguous memory fails on the
    last two. A falsifying example shows such a view's shape, strides and storage offset.
    """
    shape = tuple(shape)
    column_major = tuple(reversed(_row_major(tuple(reversed(shape)))))
    layouts = [(_row_major(shape), 0), (column_major, 0), (_row_major(shape, step=2), 1)]
    return st.sampled_from(layouts).flatmap(lambda layout: st.just(strided_view(shape, *layout)))


def _pretty_tensor(tensor: torch.Tensor, printer, cycle: bool) -> None:
    """How a falsifying example shows a tensor: its repr, and where its memory is not laid
    out row by row from the start (a transposed or stepped view), its layout too."""
    text = repr(tensor)
    if tensor.stride() != _row_major(tuple(tensor.shape)) or tensor.storage_offset():
        text = (f"<view of shape {tuple(tensor.shape)}, strides {tensor.stride()}, storage "
                f"offset {tensor.storage_offset()}: {text}>")
    printer.text(text)


pretty.for_type_by_name("torch", "Tensor", _pretty_tensor)


def broadcastable_shapes(num_shapes: int | st.SearchStrategy[int] = 2, *, min_side: int = 1,
                         max_side: int = 5, max_dims: int = 4
                         ) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """Mutually broadcastable shapes, such as ``((3, 1), (4,), (2, 1, 1))``."""
    counts = num_shapes if isinstance(num_shapes, st.SearchStrategy) else st.just(num_shapes)
    return counts.flatmap(lambda n: hnp.mutually_broadcastable_shapes(
        num_shapes=n, min_side=min_side, max_side=max_side, max_dims=max_dims)
        .map(lambda drawn: tuple(drawn.input_shapes)))


@st.composite
def shapes_broadcastable_to(draw: st.DrawFn, target: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts to ``target``: a suffix of it, some axes shrunk to 1.

    ``(3, 1)`` and ``(4,)`` and ``()`` all broadcast to ``(2, 3, 4)``.
    """
    kept = draw(st.integers(0, len(target)))
    suffix = target[len(target) - kept:]
    return tuple(draw(st.sampled_from([size, 1])) for size in suffix)


class Clash(NamedTuple):
    """Two shapes that do not broadcast, and where the first clash is, counted from the right."""

    first: tuple[int, ...]
    second: tuple[int, ...]
    axis: int  # negative: -1 is the last axis
    first_size: int
    second_size: int


@st.composite
def clashing_shapes(draw: st.DrawFn, max_dims: int = 4, max_side: int = 5) -> Clash:
    """Two shapes that cannot broadcast: at some aligned axis the sizes differ and neither is 1.

    Sizes of 0 are included (0 broadcasts only with 0 and 1), and several axes may clash:
    ``axis`` is always the first clash found from the right.
    """
    aligned = draw(st.integers(1, max_dims))
    first: list[int] = []
    second: list[int] = []
    clashes: list[int] = []
    for position in range(aligned):
        kind = draw(st.sampled_from(["equal", "first is 1", "second is 1", "clash"]))
        if kind == "clash" or (position == aligned - 1 and not clashes):
            a, b = draw(st.lists(st.integers(0, max_side).filter(lambda s: s != 1),
                                 min_size=2, max_size=2, unique=True))
            clashes.append(position)
        else:
            size = draw(st.integers(0, max_side))
            a, b = {"equal": (size, size), "first is 1": (1, size), "second is 1": (size, 1)}[kind]
        first.insert(0, a)
        second.insert(0, b)
    extra = draw(st.lists(st.integers(0, max_side), max_size=max_dims - aligned))
    if draw(st.booleans()):
        first = extra + first
    else:
        second = extra + second
    axis = -1 - clashes[0]
    return Clash(tuple(first), tuple(second), axis, first[axis], second[axis])


def dims(ndim: int) -> st.SearchStrategy[int]:
    """Any valid ``dim`` argument for a tensor of ``ndim`` axes, negative ones included."""
    return st.integers(-ndim, ndim - 1)


class ModuleTree(NamedTuple):
    """A plan for a tree of modules: for each module (0 is the root), its attribute
    assignments in order, each ``(kind, index)``: ``("parameter", i)`` assigns parameter i
    of a shared pool, ``("tensor", i)`` a plain tensor, ``("child", j)`` module j."""

    assignments: tuple[tuple[tuple[str, int], ...], ...]
    pool_size: int


@st.composite
def module_trees(draw: st.DrawFn, max_modules: int = 4, max_parameters: int = 5) -> ModuleTree:
    """Trees of modules where parameters, and whole modules, may be shared: a parameter
    may be assigned to several modules (or twice to one), a module to two parents."""
    count = draw(st.integers(1, max_modules), label="modules")
    pool = draw(st.integers(1, max_parameters), label="parameters in the pool")
    nodes: list[list[tuple[str, int]]] = [[] for _ in range(count)]
    for child in range(1, count):
        parents = st.lists(st.integers(0, child - 1), min_size=1, max_size=2, unique=True)
        for parent in draw(parents):
            nodes[parent].append(("child", child))
    leaves = st.tuples(st.sampled_from(["parameter", "tensor"]), st.integers(0, pool - 1))
    plans = tuple(tuple(draw(st.permutations(node + draw(st.lists(leaves, max_size=4)))))
                  for node in nodes)
    return ModuleTree(plans, pool)
