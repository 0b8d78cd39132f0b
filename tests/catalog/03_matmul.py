"""Kata 03 variants: classic matrix-product mistakes, forbidden shortcuts, alternatives."""

import torch

from kata.catalog import alternative, cheat, mistake


@mistake("matvec", "sums over the wrong axis", caught_by=["test_matvec_matches_loop_spec"])
def matvec_wrong_axis(m, c):
    if m.dim() != 2 or c.dim() != 1 or m.shape[1] != c.shape[0]:
        raise ValueError(f"shapes {tuple(m.shape)} and {tuple(c.shape)} do not fit")
    return (m * c[:, None].T).sum(0, dtype=m.dtype)


@mistake("matvec", "lets sum promote int32 to int64", caught_by=["test_matvec_matches_loop_spec"])
def matvec_promotes_int32(m, c):
    if m.dim() != 2 or c.dim() != 1 or m.shape[1] != c.shape[0]:
        raise ValueError(f"shapes {tuple(m.shape)} and {tuple(c.shape)} do not fit")
    return (m * c).sum(1)


@mistake("matmul", "returns floats for integer inputs", caught_by=["test_matmul_matches_torch"])
def matmul_int_to_float(a, b):
    if a.dim() < 2 or b.dim() < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit")
    return (a[..., :, :, None].double() * b[..., None, :, :]).sum(-2).float()


@mistake("matmul", "sums over the wrong axis of the broadcast product",
         caught_by=["test_matmul_matches_torch", "test_identity_is_neutral"])
def matmul_sums_wrong_axis(a, b):
    if a.dim() < 2 or b.dim() < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit")
    return (a[..., :, :, None] * b[..., None, :, :]).sum(-1, dtype=a.dtype)


@mistake("matmul", "never checks the inner sizes",
         caught_by=["test_mismatched_inner_size_is_a_value_error"])
def matmul_unchecked(a, b):
    k = min(a.shape[-1], b.shape[-2])
    return (a[..., :, :k, None] * b[..., None, :k, :]).sum(-2, dtype=a.dtype)


@mistake("matmul_by_columns", "stacks the columns as rows (a transposed result)",
         caught_by=["test_matmul_by_columns_matches_torch"])
def by_columns_transposed(a, b):
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit")
    return torch.stack([matvec(a, b[:, j]) for j in range(b.shape[1])])


@cheat("matmul", "uses @", rule="no_library_matmul", caught_by=["test_matmul_matches_torch"])
def matmul_by_at(a, b):
    return a @ b


@cheat("matvec", "calls torch.mv through an alias", rule="no_library_matmul",
       caught_by=["test_matvec_matches_loop_spec"])
def matvec_by_mv(m, c):
    product = torch.mv
    return product(m, c)


@cheat("matvec", "goes through numpy", rule="stay_in_torch",
       caught_by=["test_matvec_matches_loop_spec"])
def matvec_by_numpy(m, c):
    import numpy
    return torch.from_numpy(numpy.asarray(m) @ numpy.asarray(c))


@cheat("matmul", "loops over the columns", rule="no_loops",
       caught_by=["test_matmul_matches_torch"])
def matmul_by_loop(a, b):
    return matmul_by_columns(a, b)


@alternative("matmul", "multiplies a transposed b and sums the last axis")
def matmul_by_transposing(a, b):
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"need matrices, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"inner sizes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    try:
        return (a.unsqueeze(-2) * b.transpose(-1, -2).unsqueeze(-3)).sum(-1).to(a.dtype)
    except RuntimeError as error:
        raise ValueError(f"batch axes of {tuple(a.shape)} and {tuple(b.shape)}: {error}") from None


@alternative("matvec", "makes c an explicit row, sums the last axis and casts back to the input dtype")
def matvec_by_keepdim(m, c):
    if m.ndim != 2 or c.ndim != 1 or m.shape[-1] != c.shape[-1]:
        raise ValueError(f"matvec: {tuple(m.shape)} and {tuple(c.shape)} do not fit")
    return (m * c[None, :]).sum(-1).to(m.dtype)
