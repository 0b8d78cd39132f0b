"""Kata 03: wrong code written apart from the catalog, to measure the diagnosis on (see
kata.instructor.catalog)."""

import torch

from kata.instructor.catalog import independent


@independent("matvec", "multiplies c in as a row and adds up the columns",
             caught_by=["test_matvec_matches_loop_spec"],
             diagnosed_as=["sums over axis 0 instead of axis 1"])
def matvec_adding_columns(m, c):
    if m.ndim != 2 or c.ndim != 1 or m.shape[1] != c.shape[0]:
        raise ValueError(f"matvec cannot take {tuple(m.shape)} and {tuple(c.shape)}")
    return torch.sum(c[None, :] * m, dim=0, dtype=m.dtype)


@independent("matvec", "sums the last axis without a dtype",
             caught_by=["test_matvec_matches_loop_spec"],
             diagnosed_as=["lets sum promote int32 to int64"])
def matvec_promoting(m, c):
    if m.ndim != 2 or c.ndim != 1 or m.shape[-1] != c.shape[0]:
        raise ValueError(f"matvec cannot take {tuple(m.shape)} and {tuple(c.shape)}")
    return torch.sum(m * c, dim=-1)


@independent("matvec", "asks sum for float32 whatever the inputs",
             caught_by=["test_matvec_matches_loop_spec"], diagnosed_as=[])
def matvec_in_float32(m, c):
    if m.ndim != 2 or c.ndim != 1 or m.shape[1] != c.shape[0]:
        raise ValueError(f"matvec cannot take {tuple(m.shape)} and {tuple(c.shape)}")
    return (m * c).sum(1, dtype=torch.float32)


@independent("matmul", "unsqueezes and sums the last axis, m",
             caught_by=["test_matmul_matches_torch"],
             diagnosed_as=["sums over the wrong axis of the broadcast product"])
def matmul_unsqueezed_summing_m(a, b):
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul cannot take {tuple(a.shape)} and {tuple(b.shape)}")
    return (a.unsqueeze(-1) * b.unsqueeze(-3)).sum(-1)


@independent("matmul_by_columns", "stacks each column's sum without saying where",
             caught_by=["test_matmul_by_columns_matches_torch"],
             diagnosed_as=["stacks the columns as rows (a transposed result)"])
def by_columns_stacked_as_rows(a, b):
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul_by_columns cannot take {tuple(a.shape)} and {tuple(b.shape)}")
    columns = []
    for j in range(b.shape[1]):
        columns.append((a * b[:, j]).sum(dim=1))
    return torch.stack(columns)
