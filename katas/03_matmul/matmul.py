# Kata 03_matmul: fill in each function and class below, then run `pytest katas/03_matmul`.
"""Kata 03: the matrix product, built from element-wise multiplication and sum.

A matrix times a vector is every row of the matrix times the vector, summed: with
broadcasting that is one line, ``(m * c).sum(1)``. A matrix times a matrix is that for every
column of the second matrix. And with one more unit axis, broadcasting does all the columns
at once, with no Python loop left.
"""

import torch


def matvec(m, c):
    """Matrix times vector: ``m`` ``(n, k)`` and ``c`` ``(k,)`` give ``(n,)``.

    Entry i is ``sum_j m[i, j] * c[j]``: the element-wise product ``m * c`` (``c`` broadcasts
    along every row) summed along the rows' axis. Integer inputs give exact results of the
    same dtype. Raises ``ValueError`` naming both shapes when they do not fit.

    >>> matvec(torch.tensor([[1, 2], [3, 4], [5, 6]]), torch.tensor([10, 1]))
    tensor([12, 34, 56])
    """
    raise NotImplementedError(
        'kata 03_matmul: matvec() is yours to write, in katas/03_matmul/matmul.py. The README beside it explains the idea, and each failing test shows a hint.'
    )


def matmul_by_columns(a, b):
    """Matrix product ``(n, k)`` x ``(k, m)`` -> ``(n, m)``, one column at a time.

    Column j of the result is ``matvec(a, b[:, j])``; a Python loop over the m columns is
    allowed here, as in the lesson. Integer inputs give exact results of the same dtype.
    Raises ``ValueError`` naming both shapes when they do not fit.

    >>> matmul_by_columns(torch.tensor([[1, 2], [3, 4]]), torch.tensor([[1, 0], [0, 1]]))
    tensor([[1, 2],
            [3, 4]])
    """
    raise NotImplementedError(
        'kata 03_matmul: matmul_by_columns() is yours to write, in katas/03_matmul/matmul.py. The README beside it explains the idea, and each failing test shows a hint.'
    )


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
    raise NotImplementedError(
        'kata 03_matmul: matmul() is yours to write, in katas/03_matmul/matmul.py. The README beside it explains the idea, and each failing test shows a hint.'
    )
