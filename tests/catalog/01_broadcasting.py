"""Kata 01 variants: classic broadcasting mistakes, forbidden shortcuts, correct alternatives."""

import torch

from kata.instructor.catalog import alternative, cheat, mistake


@mistake("broadcast_shape", "lines the shapes up from the left",
         caught_by=["test_broadcast_shape_matches_numpy"],
         explanation=("Broadcasting lines shapes up from the right: the last axes meet first, and "
                      "a shorter shape gets its missing axes at the front."))
def broadcast_shape_aligned_left(*shapes):
    ndim = max((len(s) for s in shapes), default=0)
    padded = [tuple(s) + (1,) * (ndim - len(s)) for s in shapes]
    result = []
    for sizes in zip(*padded):
        bigger = [s for s in sizes if s != 1]
        if len(set(bigger)) > 1:
            raise ValueError(f"axis {len(result) - ndim}: sizes {bigger[0]} and {bigger[1]} differ")
        result.append(bigger[0] if bigger else 1)
    return tuple(result)


@mistake("broadcast_shape", "checks the axes from the left, so it reports the wrong clash",
         caught_by=["test_broadcast_shape_rejects_clashing_shapes"],
         explanation=("Work from the last axis towards the first: the clash to name is the first "
                      "one met from the right (axis -1, then -2, ...)."))
def broadcast_shape_checked_from_the_left(*shapes):
    ndim = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    for axis in range(-ndim, 0):
        bigger = sorted({s[axis] for s in padded if s[axis] != 1})
        if len(bigger) > 1:
            raise ValueError(f"at axis {axis} the sizes {bigger[0]} and {bigger[1]} differ")
    return tuple(max(s[axis] for s in padded) if all(s[axis] != 0 for s in padded) else 0
                 for axis in range(ndim))


@mistake("broadcast_shape", "lets a size of 0 broadcast like a size of 1",
         caught_by=["test_broadcast_shape_rejects_clashing_shapes"],
         explanation=("Only a size of 1 stretches. A size of 0 is a size like any other: it fits "
                      "0 and 1 and clashes with anything else."))
def broadcast_shape_zero_fits_anything(*shapes):
    ndim = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    result = []
    for axis in range(-1, -ndim - 1, -1):
        sizes = {s[axis] for s in padded} - {1}
        if 0 in sizes:
            result.insert(0, 0)
            continue
        if len(sizes) > 1:
            a, b = sorted(sizes)
            raise ValueError(f"at axis {axis} the sizes {a} and {b} differ and neither is 1")
        result.insert(0, sizes.pop() if sizes else 1)
    return tuple(result)


@mistake("fraction_less", "divides by the size of a instead of the broadcast result",
         caught_by=["test_fraction_less_matches_numpy"],
         explanation=("a < b has the broadcast shape, which can hold more entries than a: the "
                      "fraction is over all of them."))
def fraction_less_counts_over_a(a, b):
    return ((a < b).sum() / a.numel()).item()


@mistake("broadcast_to", "adds 0, which makes a copy",
         caught_by=["test_broadcast_to_shares_memory_with_stride_0"],
         explanation=("x + 0 is a new tensor, so the view is lost: as_strided with stride 0 on "
                      "the broadcast axes gives a view with no copy."))
def broadcast_to_copies(x, shape):
    new_axes = len(shape) - x.dim()
    strides = [0] * new_axes + [0 if size == 1 and target != 1 else stride
                                for size, stride, target in zip(x.shape, x.stride(), shape[new_axes:])]
    if new_axes < 0 or any(s not in (1, t) for s, t in zip(x.shape, shape[new_axes:])):
        raise ValueError(f"cannot broadcast {tuple(x.shape)} to {tuple(shape)}")
    return x.as_strided(shape, strides) + 0


@mistake("broadcast_to", "computes strides as if x were contiguous",
         caught_by=["test_broadcast_to_matches_torch"],
         explanation=("x may be a transposed or stepped view: keep x.stride() for its own axes, "
                      "not the strides a fresh tensor of its shape has."))
def broadcast_to_assumes_contiguous(x, shape):
    new_axes = len(shape) - x.dim()
    if new_axes < 0 or any(s not in (1, t) for s, t in zip(x.shape, shape[new_axes:])):
        raise ValueError(f"cannot broadcast {tuple(x.shape)} to {tuple(shape)}")
    contiguous = torch.empty(x.shape).stride() if x.dim() else ()
    strides = [0] * new_axes + [0 if size == 1 else stride
                                for size, stride in zip(x.shape, contiguous)]
    return x.as_strided(shape, strides)


@mistake("subtract_channel_means", "takes the mean over the channel axis instead",
         caught_by=["test_subtract_channel_means_matches_numpy"],
         explanation=("Each channel's mean is over every axis but the last one: a mean over axis "
                      "-1 averages the channels of one pixel."))
def subtract_means_over_channels(images):
    if images.dim() < 3:
        raise ValueError(f"need (..., H, W, C), got {tuple(images.shape)}")
    return images - images.mean(dim=-1, keepdim=True)


@mistake("as_column", "returns a row", caught_by=["test_as_column_is_a_view_of_shape_n_1"],
         explanation=("v[None] puts the new axis first: (1, n), a row. A column is (n, 1): the "
                      "new axis goes after v's own axis."))
def as_column_as_row(v):
    return v[None]


@cheat("broadcast_shape", "asks torch for the answer", rule="no_broadcast_helpers",
       caught_by=["test_broadcast_shape_matches_numpy"])
def broadcast_shape_by_torch(*shapes):
    return tuple(torch.broadcast_shapes(*shapes))


@cheat("broadcast_to", "uses expand", rule="no_broadcast_helpers",
       caught_by=["test_broadcast_to_matches_torch"])
def broadcast_to_by_expand(x, shape):
    return x.expand(shape)


@cheat("subtract_channel_means", "loops over the channels", rule="no_loops",
       caught_by=["test_subtract_channel_means_matches_numpy"])
def subtract_channel_means_by_loop(images):
    return torch.stack([images[..., c] - images[..., c].mean() for c in range(images.shape[-1])], -1)


@alternative("broadcast_shape", "pads every shape with leading 1s, then compares sets of sizes")
def broadcast_shape_by_padding(*shapes):
    ndim = max(map(len, shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    result = ()
    for axis in range(-1, -ndim - 1, -1):
        sizes = sorted({s[axis] for s in padded} - {1})
        if len(sizes) > 1:
            raise ValueError(f"axis {axis}: sizes {sizes[0]} and {sizes[1]} clash")
        result = (sizes[0] if sizes else 1,) + result
    return result


@alternative("fraction_less", "counts with count_nonzero and divides by the result's size")
def fraction_less_by_counting(a, b):
    less = a < b
    return int(torch.count_nonzero(less)) / less.numel()


@alternative("as_column", "transposes a row view")
def as_column_by_transpose(v):
    return v[None].T


@mistake("fraction_less", "returns a 0-d tensor, where the docstring asks for a Python float",
         caught_by=["test_fraction_less_matches_numpy"],
         explanation=("The mean of a tensor is still a tensor (0-d); .item() turns it into the "
                      "Python float the docstring promises."))
def fraction_less_as_tensor(a, b):
    return (a < b).double().mean()


@mistake("as_row", "copies v before adding the unit axis", caught_by=["test_as_row_is_a_view_of_shape_1_n"],
         explanation=("v + 0 is a copy, so the result no longer shares v's memory: index v itself "
                      "with None to get a view."))
def as_row_copied(v):
    return (v + 0)[None]


@alternative("broadcast_shape", "returns a torch.Size, which is a tuple of ints")
def broadcast_shape_as_size(*shapes):
    ndim = max(map(len, shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    result = []
    for axis in range(-1, -ndim - 1, -1):
        big = sorted({s[axis] for s in padded} - {1})
        if len(big) > 1:
            raise ValueError(f"axis {axis}: {big[0]} vs {big[1]}, neither is 1")
        result.insert(0, big[0] if big else 1)
    return torch.Size(result)


@alternative("subtract_channel_means", "says in its own words why it needs three axes")
def subtract_channel_means_worded_otherwise(images):
    if images.ndim < 3:
        raise ValueError("images need a row, a column and a channel axis at least")
    return images - images.mean(dim=tuple(range(images.ndim - 1)))


@alternative("broadcast_to", "names the shapes as torch.Size in its error, and strides by list")
def broadcast_to_sized(x, shape):
    shape = torch.Size(shape)
    padded = [1] * (len(shape) - x.ndim) + list(x.shape)
    strides = [0] * (len(shape) - x.ndim) + list(x.stride())
    if len(shape) < x.ndim or any(p not in (1, t) for p, t in zip(padded, shape)):
        raise ValueError(f"{x.shape} cannot be broadcast to {shape}")
    return x.as_strided(shape, [0 if p != t else s for p, t, s in zip(padded, shape, strides)])


@mistake("broadcast_to", "returns a numpy view of x's memory instead of a tensor",
         caught_by=["test_broadcast_to_matches_torch", "test_broadcast_to_shares_memory_with_stride_0"],
         explanation=("The docstring asks for a tensor, and numpy's as_strided makes an ndarray: "
                      "Tensor.as_strided makes the same view as a tensor."))
def broadcast_to_in_numpy(x, shape):
    import numpy as np

    new_axes = len(shape) - x.dim()
    if new_axes < 0 or any(s not in (1, t) for s, t in zip(x.shape, shape[new_axes:])):
        raise ValueError(f"cannot broadcast {tuple(x.shape)} to {tuple(shape)}")
    strides = [0] * new_axes + [0 if size == 1 else stride * x.element_size()
                                for size, stride in zip(x.shape, x.stride())]
    return np.lib.stride_tricks.as_strided(x.numpy(), shape, strides)


@cheat("broadcast_to", "calls the dispatcher's expand, torch.ops.aten.expand", rule="no_broadcast_helpers",
       caught_by=["test_broadcast_to_matches_torch"])
def broadcast_to_by_aten_expand(x, shape):
    return torch.ops.aten.expand(x, list(shape))


@alternative("subtract_channel_means", "lists the axes to average with a generator over axis numbers")
def subtract_channel_means_with_axes_from_a_generator(images):
    if images.dim() < 3:
        raise ValueError(f"need at least 3 axes, got shape {tuple(images.shape)}")
    return images - images.mean(dim=tuple(axis for axis in range(images.dim()) if axis != images.dim() - 1))
