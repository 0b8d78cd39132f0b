"""Kata 02: outer operations from unit axes and broadcasting.

Give one vector a trailing unit axis and the other a leading one, and any element-wise
operation between them broadcasts to a table of every pair: ``a[:, None] * b[None, :]`` is
the outer product, ``a[:, None] + b[None, :]`` the outer sum, ``a[:, None] > b[None, :]`` the
outer greater-than. The same move with one more axis gives every pairwise distance.
"""

import torch


def outer(a, b, op):
    """The table of ``op`` over every pair: ``result[i, j] == op(a[i], b[j])``.

    ``a`` has shape ``(n,)``, ``b`` shape ``(m,)``, the result shape ``(n, m)``; ``op`` is any
    element-wise function of two tensors (``torch.add``, ``torch.maximum``, a lambda...).
    Raises ``ValueError`` unless both inputs are 1-D.

    >>> outer(torch.tensor([1, 2]), torch.tensor([10, 20, 30]), torch.add)
    tensor([[11, 21, 31],
            [12, 22, 32]])
    """
    if a.dim() != 1 or b.dim() != 1:
        raise ValueError(f"outer needs two 1-D tensors; got shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    return op(a[:, None], b[None, :])


def outer_product(a, b):
    """``result[i, j] == a[i] * b[j]``, shape ``(n, m)``.

    >>> outer_product(torch.tensor([1, 2]), torch.tensor([3, 4, 5]))
    tensor([[ 3,  4,  5],
            [ 6,  8, 10]])
    """
    return outer(a, b, torch.mul)


def outer_sum(a, b):
    """``result[i, j] == a[i] + b[j]``, shape ``(n, m)``.

    >>> outer_sum(torch.tensor([1, 2]), torch.tensor([10, 20]))
    tensor([[11, 21],
            [12, 22]])
    """
    return outer(a, b, torch.add)


def outer_greater(a, b):
    """``result[i, j] == (a[i] > b[j])``, a bool tensor of shape ``(n, m)``.

    >>> outer_greater(torch.tensor([1, 3]), torch.tensor([2]))
    tensor([[False],
            [ True]])
    """
    return outer(a, b, torch.gt)


def grid(h, w):
    """An open grid like ``numpy.ogrid[:h, :w]``: row indices ``(h, 1)`` and column indices
    ``(1, w)``, int64. Broadcast together they address every cell of an ``h x w`` image.
    Returns the pair ``(rows, cols)`` as a tuple.

    >>> rows, cols = grid(2, 3)
    >>> rows
    tensor([[0],
            [1]])
    >>> cols
    tensor([[0, 1, 2]])
    >>> rows * 10 + cols
    tensor([[ 0,  1,  2],
            [10, 11, 12]])
    """
    return torch.arange(h)[:, None], torch.arange(w)[None, :]


def pairwise_distances(x, y):
    """Euclidean distance between every row of ``x`` ``(n, d)`` and every row of ``y``
    ``(m, d)``, shape ``(n, m)``: never NaN, and exactly 0 from a point to itself.

    Raises ``ValueError`` naming both shapes unless both are 2-D with the same ``d``.

    >>> pairwise_distances(torch.tensor([[0.0, 0.0], [3.0, 4.0]]), torch.tensor([[0.0, 0.0]]))
    tensor([[0.],
            [5.]])
    """
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"pairwise_distances needs shapes (n, d) and (m, d); got "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    differences = x[:, None, :] - y[None, :, :]
    return (differences ** 2).sum(-1).sqrt()
