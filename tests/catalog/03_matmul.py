"""Kata 03 variants: classic matrix-product mistakes, forbidden shortcuts, alternatives."""

import torch

from kata.instructor.catalog import alternative, cheat, mistake


@mistake("matvec", "sums over axis 0 instead of axis 1", caught_by=["test_matvec_matches_loop_spec"],
         explanation=("(m * c) has shape (n, k); the k products of row i lie along axis 1, so "
                      "that is the axis to sum."))
def matvec_wrong_axis(m, c):
    if m.dim() != 2 or c.dim() != 1 or m.shape[1] != c.shape[0]:
        raise ValueError(f"shapes {tuple(m.shape)} and {tuple(c.shape)} do not fit")
    return (m * c[:, None].T).sum(0, dtype=m.dtype)


@mistake("matvec", "lets sum promote int32 to int64", caught_by=["test_matvec_matches_loop_spec"],
         explanation=("sum() widens int32 to int64 unless told otherwise: ask it for the inputs' "
                      "dtype to give int32 back for int32."))
def matvec_promotes_int32(m, c):
    if m.dim() != 2 or c.dim() != 1 or m.shape[1] != c.shape[0]:
        raise ValueError(f"shapes {tuple(m.shape)} and {tuple(c.shape)} do not fit")
    return (m * c).sum(1)


@mistake("matmul", "returns floats for integer inputs", caught_by=["test_matmul_matches_torch"],
         explanation=("Integer inputs give exact results of their own dtype: a detour through "
                      "floats rounds large values and changes the dtype."))
def matmul_int_to_float(a, b):
    if a.dim() < 2 or b.dim() < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit")
    return (a[..., :, :, None].double() * b[..., None, :, :]).sum(-2).float()


@mistake("matmul", "sums over the wrong axis of the broadcast product",
         caught_by=["test_matmul_matches_torch", "test_identity_is_neutral"],
         explanation=("a[..., :, :, None] * b[..., None, :, :] has shape (..., n, k, m): the "
                      "shared k is axis -2, the one to sum."))
def matmul_sums_wrong_axis(a, b):
    if a.dim() < 2 or b.dim() < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit")
    return (a[..., :, :, None] * b[..., None, :, :]).sum(-1, dtype=a.dtype)


@mistake("matmul", "never checks the inner sizes",
         caught_by=["test_mismatched_inner_size_is_a_value_error"],
         explanation=("When a.shape[-1] != b.shape[-2] there is no product: raise ValueError "
                      "naming both shapes instead of cutting one short."))
def matmul_unchecked(a, b):
    k = min(a.shape[-1], b.shape[-2])
    return (a[..., :, :k, None] * b[..., None, :k, :]).sum(-2, dtype=a.dtype)


@mistake("matmul_by_columns", "stacks the columns as rows (a transposed result)",
         caught_by=["test_matmul_by_columns_matches_torch"],
         explanation=("torch.stack adds its new axis first (dim=0), so each column becomes a row; "
                      "dim=1 lays them side by side as columns."))
def by_columns_transposed(a, b):
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit")
    return torch.stack([(a * b[:, j]).sum(1, dtype=a.dtype) for j in range(b.shape[1])])


@mistake("matmul_by_columns", "lets sum promote int32 to int64 in each column",
         caught_by=["test_integer_inputs_give_exact_results_of_their_dtype"],
         explanation=("sum() widens int32 to int64 unless told otherwise, and the stack keeps "
                      "that dtype: the columns need the inputs' dtype."))
def by_columns_promoting_int32(a, b):
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit")
    return torch.stack([(a * b[:, j]).sum(1) for j in range(b.shape[1])], dim=1)


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


# --- issue 11: products that reach torch's dispatcher without a forbidden Python name ----------

@cheat("matmul", "calls torch.ops.aten.matmul", rule="no_library_matmul",
       caught_by=["test_matmul_matches_torch"])
def matmul_by_aten(a, b):
    return torch.ops.aten.matmul(a, b)


@cheat("matmul", "switches torch functions off with torch._C.DisableTorchFunction",
       rule="no_library_matmul", caught_by=["test_matmul_matches_torch"])
def matmul_without_torch_function(a, b):
    with torch._C.DisableTorchFunction():
        return torch.matmul(a, b)


@cheat("matmul", "takes the guard's mode off its stack with _pop_mode_temporarily",
       rule="no_library_matmul", caught_by=["test_matmul_matches_torch"])
def matmul_with_the_mode_popped(a, b):
    from torch.overrides import _pop_mode_temporarily
    with _pop_mode_temporarily():
        return a @ b


@cheat("matmul_by_columns", "hands the columns to numpy through DLPack", rule="stay_in_torch",
       caught_by=["test_matmul_by_columns_matches_torch"])
def by_columns_through_dlpack(a, b):
    import numpy
    return torch.from_numpy(numpy.from_dlpack(a) @ numpy.from_dlpack(b))


@cheat("matvec", "accumulates with Tensor.addmv_ into zeros", rule="no_library_matmul",
       caught_by=["test_matvec_matches_loop_spec"])
def matvec_by_addmv(m, c):
    return torch.zeros(m.shape[0], dtype=m.dtype).addmv_(m, c)


@cheat("matmul", "adds batched products with Tensor.baddbmm", rule="no_library_matmul",
       caught_by=["test_matmul_matches_torch"])
def matmul_by_baddbmm(a, b):
    n, m = a.shape[-2], b.shape[-1]
    return torch.zeros(1, n, m, dtype=a.dtype).baddbmm(a.reshape(-1, n, a.shape[-1]),
                                                       b.reshape(-1, b.shape[-2], m))[0]


@cheat("matvec", "sums batched products with Tensor.addbmm", rule="no_library_matmul",
       caught_by=["test_matvec_matches_loop_spec"])
def matvec_by_addbmm(m, c):
    return torch.zeros(m.shape[0], 1, dtype=m.dtype).addbmm(m[None], c[None, :, None])[:, 0]


@cheat("matvec", "convolves with conv1d, one output channel per row", rule="no_library_matmul",
       caught_by=["test_matvec_matches_loop_spec"])
def matvec_by_conv1d(m, c):
    return torch.nn.functional.conv1d(c[None, :, None], m[:, :, None])[0, :, 0]


@cheat("matvec", "multiplies a sparse copy with torch.sparse.mm", rule="no_library_matmul",
       caught_by=["test_matvec_matches_loop_spec"])
def matvec_by_sparse_mm(m, c):
    return torch.sparse.mm(m.to_sparse(), c[:, None])[:, 0]


@cheat("matmul", "hides a loop over the columns in a static method of a helper class",
       rule="no_loops", caught_by=["test_matmul_matches_torch"])
def matmul_by_static_method(a, b):
    class Columns:
        @staticmethod
        def product(a, b):
            return torch.stack([(a * b[:, j]).sum(1) for j in range(b.shape[1])], dim=1)
    return Columns.product(a, b)


@alternative("matmul", "checks every batch axis in a loop over the shapes (Python ints only)")
def matmul_checking_batch_axes_in_a_loop(a, b):
    if a.dim() < 2 or b.dim() < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit")
    for size_a, size_b in zip(reversed(a.shape[:-2]), reversed(b.shape[:-2])):
        if size_a != size_b and 1 not in (size_a, size_b):
            raise ValueError(f"the batch axes of {tuple(a.shape)} and {tuple(b.shape)} clash")
    return (a[..., :, :, None] * b[..., None, :, :]).sum(-2, dtype=a.dtype)


@alternative("matvec", "checks the inner sizes with a generator expression that never sees a tensor")
def matvec_checking_with_a_generator(m, c):
    if m.dim() != 2 or c.dim() != 1 or any(k != j for k, j in zip(m.shape[1:], c.shape)):
        raise ValueError(f"shapes {tuple(m.shape)} and {tuple(c.shape)} do not fit")
    return (m * c).sum(1, dtype=m.dtype)


@alternative("matvec", "names the shapes as torch.Size in its own words")
def matvec_worded_otherwise(m, c):
    if m.ndim != 2 or c.ndim != 1 or m.shape[-1] != len(c):
        raise ValueError(f"cannot multiply a {m.shape} matrix by a {c.shape} vector")
    return (m * c).sum(-1, dtype=m.dtype)


@cheat("matmul_by_columns", "accumulates the product into zeros with Tensor.addmm_",
       rule="no_library_matmul", caught_by=["test_matmul_by_columns_matches_torch"])
def by_columns_by_addmm(a, b):
    return torch.zeros(a.shape[0], b.shape[1], dtype=a.dtype).addmm_(a, b)


@cheat("matmul", "runs a for loop over the columns in a static method of a helper class",
       rule="no_loops", caught_by=["test_matmul_matches_torch"])
def matmul_by_a_for_loop_in_a_static_method(a, b):
    class Product:
        @staticmethod
        def product_by_columns(a, b):
            columns = []
            for j in range(b.shape[-1]):
                columns.append((a * b[..., None, :, j]).sum(-1))
            return torch.stack(columns, dim=-1)
    if a.dim() < 2 or b.dim() < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit")
    return Product.product_by_columns(a, b)


@alternative("matvec", "names the shapes as torch.Size in its own words")
def matvec_worded_otherwise(m, c):
    if m.ndim != 2 or c.ndim != 1 or m.shape[-1] != len(c):
        raise ValueError(f"cannot multiply a {m.shape} matrix by a {c.shape} vector")
    return (m * c).sum(-1, dtype=m.dtype)


# --- products that no list of forbidden operators named: the allow-list trips on them ----------

@cheat("matvec", "weights bags of c's entries by m's rows with embedding_bag",
       rule="no_library_matmul", caught_by=["test_matvec_matches_loop_spec"])
def matvec_by_embedding_bag(m, c):
    bags = torch.arange(c.shape[0])[None, :].expand(m.shape[0], -1)
    sums = torch.nn.functional.embedding_bag(bags, c[:, None].double(), mode="sum",
                                             per_sample_weights=m.double())
    return sums[:, 0].to(m.dtype)


@cheat("matmul", "convolves with torch.conv_tbc, a time-batch-channel convolution of length 1",
       rule="no_library_matmul", caught_by=["test_matmul_matches_torch"])
def matmul_by_conv_tbc(a, b):
    bias = torch.zeros(b.shape[-1], dtype=torch.float64)
    return torch.conv_tbc(a.double()[None], b.double()[None], bias)[0].to(a.dtype)


@cheat("matmul_by_columns", "multiplies a sparse copy of a with torch.hspmm",
       rule="no_library_matmul", caught_by=["test_matmul_by_columns_matches_torch"])
def by_columns_by_hspmm(a, b):
    return torch.hspmm(a.double().to_sparse(), b.double()).to_dense().to(a.dtype)
