"""Kata 03: the matrix product, built from element-wise multiplication and sum.

A matrix times a vector is every row of the matrix times the vector, summed: with
broadcasting that is one line, ``(m * c).sum(1)``. A matrix times a matrix is that for every
column of the second matrix. And with one more unit axis, broadcasting does all the columns
at once, with no Python loop left.
"""

import torch


def _check_inner(a, b, inner_a, inner_b, name):
    if inner_a != inner_b:
        raise ValueError(f"{name}: shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit: "
                         f"the inner sizes {inner_a} and {inner_b} differ")


def matvec(m, c):
    """Matrix times vector: ``m`` ``(n, k)`` and ``c`` ``(k,)`` give ``(n,)``.

    Entry i is ``sum_j m[i, j] * c[j]``: the element-wise product ``m * c`` (``c`` broadcasts
    along every row) summed along the rows' axis. Integer inputs give exact results of the
    same dtype. Raises ``ValueError`` naming both shapes when they do not fit.

    >>> matvec(torch.tensor([[1, 2], [3, 4], [5, 6]]), torch.tensor([10, 1]))
    tensor([12, 34, 56])
    """
    if m.dim() != 2 or c.dim() != 1:
        raise ValueError(f"matvec needs shapes (n, k) and (k,); got {tuple(m.shape)} and "
                         f"{tuple(c.shape)}")
    _check_inner(m, c, m.shape[1], c.shape[0], "matvec")
    return (m * c).sum(1, dtype=m.dtype)


def matmul_by_columns(a, b):
    """Matrix product ``(n, k)`` x ``(k, m)`` -> ``(n, m)``, one column at a time.

    Column j of the result is ``matvec(a, b[:, j])``; a Python loop over the m columns is
    allowed here, as in the lesson. Integer inputs give exact results of the same dtype.
    Raises ``ValueError`` naming both shapes when they do not fit.

    >>> matmul_by_columns(torch.tensor([[1, 2], [3, 4]]), torch.tensor([[1, 0], [0, 1]]))
    tensor([[1, 2],
            [3, 4]])
    """
    if a.dim() != 2 or b.dim() != 2:
        raise ValueError(f"matmul_by_columns needs two matrices; got shapes {tuple(a.shape)} "
                         f"and {tuple(b.shape)}")
    _check_inner(a, b, a.shape[1], b.shape[0], "matmul_by_columns")
    return torch.stack([matvec(a, b[:, j]) for j in range(b.shape[1])], dim=1)


def matmul(a, b):
    """Matrix product with no Python loop: ``(..., n, k)`` x ``(..., k, m)`` -> ``(..., n, m)``.

    Both inputs need at least 2 axes; leading (batch) axes broadcast against each other, as
    in ``torch.matmul``. Give a and b one unit axis each so that every product a[i, j] * b[j, l]
    appears at once in one broadcast tensor, then sum over j. Integer inputs give exact results
    of the same dtype. Raises ``ValueError`` naming both shapes when they do not fit.

    >>> matmul(torch.tensor([[1, 2], [3, 4]]), torch.tensor([[5], [6]]))
    tensor([[17],
            [39]])
    """
    if a.dim() < 2 or b.dim() < 2:
        raise ValueError(f"matmul needs at least 2 axes on each side; got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    _check_inner(a, b, a.shape[-1], b.shape[-2], "matmul")
    try:
        products = a[..., :, :, None] * b[..., None, :, :]
    except RuntimeError:  # torch's message for batch axes that do not broadcast
        raise ValueError(f"matmul: the batch axes of shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)} do not broadcast") from None
    return products.sum(-2, dtype=a.dtype)
