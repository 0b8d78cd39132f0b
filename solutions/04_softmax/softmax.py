"""Kata 04: softmax and its family, written so that they never overflow.

softmax turns a row of scores into probabilities: exponentiate, then divide by the sum.
exp overflows to inf for scores above about 88 in float32, so we first subtract the row's
maximum; the common factor cancels in the division, and the largest exponent becomes
exp(0) = 1. The logarithms (log-softmax, logsumexp) use the same trick, and never take the
log of a probability that may have underflowed to 0.
"""

import torch


def logsumexp(x, dim=-1):
    """``log(sum(exp(x)))`` along ``dim`` (that axis is removed), finite for large ``x``.

    With ``m`` the maximum along ``dim``: ``m + log(sum(exp(x - m)))``.

    >>> logsumexp(torch.tensor([0.0, 0.0]))
    tensor(0.6931)
    >>> logsumexp(torch.tensor([1e4, 0.0]))
    tensor(10000.)
    """
    # m cancels out of the value, so it needs no gradient: detached, backward skips amax
    m = x.amax(dim, keepdim=True).detach()
    return (m + (x - m).exp().sum(dim, keepdim=True).log()).squeeze(dim)


def softmax(x, dim=-1):
    """``exp(x) / sum(exp(x))`` along ``dim``: non-negative entries that sum to 1.

    Computed as ``exp(x - max)`` over its sum, so inputs up to 1e4 in size stay finite.

    >>> softmax(torch.tensor([1.0, 1.0, 1.0, 1.0]))
    tensor([0.2500, 0.2500, 0.2500, 0.2500])
    >>> softmax(torch.tensor([1e4, 0.0]))
    tensor([1., 0.])
    """
    e = (x - x.amax(dim, keepdim=True)).exp()
    return e / e.sum(dim, keepdim=True)


def log_softmax(x, dim=-1):
    """``log(softmax(x))`` along ``dim``, computed as ``x - logsumexp(x)``: never ``-inf``
    for finite inputs, even where softmax underflows to 0.

    >>> log_softmax(torch.tensor([0.0, -1e4]))
    tensor([     0., -10000.])
    """
    return x - logsumexp(x, dim).unsqueeze(dim)


def sigmoid(x):
    """``1 / (1 + exp(-x))``, element-wise: the softmax of ``[x, 0]``, finite for any ``x``.

    Written so that no intermediate is ``inf / inf`` (which would be NaN).

    >>> sigmoid(torch.tensor([0.0, 1e4, -1e4]))
    tensor([0.5000, 1.0000, 0.0000])
    """
    return torch.exp(-torch.logaddexp(torch.zeros_like(x), -x))
