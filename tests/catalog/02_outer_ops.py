"""Kata 02 variants: classic outer-operation mistakes, forbidden shortcuts, alternatives."""

import torch

from kata.instructor.catalog import alternative, cheat, mistake


@mistake("outer", "puts the unit axes the wrong way round (a transposed table)",
         caught_by=["test_outer_matches_loop_spec", "test_outer_product_matches_torch"],
         explanation=("Row i of the table belongs to a[i]: a gets the trailing unit axis, a[:, "
                      "None], and b the leading one, b[None, :]."))
def outer_transposed(a, b, op):
    if a.dim() != 1 or b.dim() != 1:
        raise ValueError(f"need 1-D tensors, got {tuple(a.shape)} and {tuple(b.shape)}")
    return op(a[None, :], b[:, None])


@mistake("outer", "swaps the operands: op(b[j], a[i])",
         caught_by=["test_outer_matches_loop_spec", "test_outer_greater_matches_numpy"],
         explanation=("Entry [i, j] is op(a[i], b[j]): a stays op's first operand, which matters "
                      "for -, / and comparisons."))
def outer_swapped_operands(a, b, op):
    if a.dim() != 1 or b.dim() != 1:
        raise ValueError(f"need 1-D tensors, got {tuple(a.shape)} and {tuple(b.shape)}")
    return op(b[None, :], a[:, None])


@mistake("outer", "accepts matrices and returns a 3-D table",
         caught_by=["test_outer_rejects_non_vectors"],
         explanation=("The docstring asks for a ValueError unless both inputs are 1-D: check "
                      "a.ndim and b.ndim first."))
def outer_without_checks(a, b, op):
    return op(a[:, None], b[None, :])


@mistake("outer_greater", "uses >=, so ties count as greater",
         caught_by=["test_outer_greater_matches_numpy", "test_outer_greater_is_a_strict_order"],
         explanation=("Strictly greater: where a[i] equals b[j] the entry is False, and >= counts "
                      "those ties as True."))
def outer_greater_or_equal(a, b):
    if a.dim() != 1 or b.dim() != 1:
        raise ValueError(f"need 1-D tensors, got {tuple(a.shape)} and {tuple(b.shape)}")
    return a[:, None] >= b[None, :]


@mistake("pairwise_distances", "expands |x - y|^2 as |x|^2 + |y|^2 - 2 x.y",
         caught_by=["test_pairwise_distances_match_cdist"],
         explanation=("That expansion subtracts large numbers, so rounding can swamp a small "
                      "distance, and a point's distance to itself is not exactly 0."))
def distances_by_expansion(x, y):
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"need (n, d) and (m, d), got {tuple(x.shape)} and {tuple(y.shape)}")
    dots = (x[:, None, :] * y[None, :, :]).sum(-1)
    squared = (x ** 2).sum(1)[:, None] + (y ** 2).sum(1)[None, :] - 2 * dots
    return squared.clamp(min=0).sqrt()


@mistake("pairwise_distances", "adds a small epsilon under the square root",
         caught_by=["test_distance_from_a_point_to_itself_is_exactly_0"],
         explanation=("sqrt(d + 1e-12) is never exactly 0, yet a point's distance to itself must "
                      "be: take the root of the exact sum."))
def distances_with_epsilon(x, y):
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"need (n, d) and (m, d), got {tuple(x.shape)} and {tuple(y.shape)}")
    return (((x[:, None, :] - y[None, :, :]) ** 2).sum(-1) + 1e-12).sqrt()


@mistake("pairwise_distances", "sums over the points instead of the coordinates",
         caught_by=["test_pairwise_distances_match_cdist"],
         explanation=("x[:, None, :] - y[None, :, :] has shape (n, m, d): the coordinates are the "
                      "last axis, so sum over -1 to get (n, m)."))
def distances_summed_over_points(x, y):
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"need (n, d) and (m, d), got {tuple(x.shape)} and {tuple(y.shape)}")
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(0).sqrt()


@mistake("grid", "returns two flat aranges", caught_by=["test_grid_matches_numpy_ogrid"],
         explanation=("The pair should broadcast into the (h, w) grid: the rows as (h, 1), the "
                      "columns as (1, w), each with a unit axis."))
def grid_flat(h, w):
    return torch.arange(h), torch.arange(w)


@cheat("outer_product", "calls torch.outer", rule="no_library_outer",
       caught_by=["test_outer_product_matches_torch"])
def outer_product_by_torch(a, b):
    return torch.outer(a, b)


@cheat("pairwise_distances", "calls torch.cdist", rule="no_library_outer",
       caught_by=["test_pairwise_distances_match_cdist"])
def distances_by_cdist(x, y):
    return torch.cdist(x, y)


@cheat("outer_sum", "builds the table with a comprehension", rule="no_loops",
       caught_by=["test_outer_sum_matches_numpy"])
def outer_sum_by_comprehension(a, b):
    return torch.stack([a[i] + b for i in range(len(a))])


@alternative("outer", "adds the unit axes with unsqueeze")
def outer_by_unsqueeze(a, b, op):
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer needs vectors, not shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return op(a.unsqueeze(1), b.unsqueeze(0))


@alternative("pairwise_distances", "takes the norm of the differences")
def distances_by_norm(x, y):
    if x.ndim != 2 or y.ndim != 2 or x.shape[-1] != y.shape[-1]:
        raise ValueError(f"shapes {tuple(x.shape)} and {tuple(y.shape)} do not fit")
    return (x.unsqueeze(1) - y.unsqueeze(0)).norm(dim=-1)


@alternative("outer", "says in its own words that it takes vectors")
def outer_worded_otherwise(a, b, op):
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError("outer takes two vectors")
    return op(a[:, None], b[None, :])


@cheat("outer_product", "calls the dispatcher's outer, torch.ops.aten.outer", rule="no_library_outer",
       caught_by=["test_outer_product_matches_torch"])
def outer_product_by_aten(a, b):
    return torch.ops.aten.outer(a, b)


@cheat("outer_product", "adds the outer product to zeros with Tensor.addr_", rule="no_library_outer",
       caught_by=["test_outer_product_matches_torch"])
def outer_product_by_addr(a, b):
    return torch.zeros(len(a), len(b), dtype=torch.promote_types(a.dtype, b.dtype)).addr_(a, b)


# --- shortcuts that no list of forbidden operators named: the allow-list trips on them ---------

@cheat("outer_product", "multiplies a column by a row with @", rule="no_library_outer",
       caught_by=["test_outer_product_matches_torch"])
def outer_product_by_matmul(a, b):
    return a[:, None] @ b[None, :]


@cheat("outer_product", "weights bags of one row of b by a with embedding_bag",
       rule="no_library_outer", caught_by=["test_outer_product_matches_torch"])
def outer_product_by_embedding_bag(a, b):
    bags = torch.zeros(len(a), 1, dtype=torch.long)
    table = torch.nn.functional.embedding_bag(bags, b[None, :].double(), mode="sum",
                                              per_sample_weights=a[:, None].double())
    return table.to(torch.promote_types(a.dtype, b.dtype))


@cheat("outer_product", "reshapes torch.kron, which runs the lesson's own multiplication",
       rule="no_library_outer", caught_by=["test_outer_product_matches_torch"])
def outer_product_by_kron(a, b):
    return torch.kron(a, b).reshape(len(a), len(b))
