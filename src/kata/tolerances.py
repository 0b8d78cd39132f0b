"""How far a correct float result may lie from the exact one: bounds from rounding analysis.

Every kata compares the learner's result with an oracle computed in float64 (exact for our
purposes). The allowed error is not a number found by trial: it follows from the standard
model of floating-point arithmetic, fl(x op y) = (x op y)(1 + d) with |d| <= u, where u is the
unit roundoff (2**-24 for float32), plus an absolute term for underflow near zero (Higham,
*Accuracy and Stability of Numerical Algorithms*, ch. 2-3). The bounds hold for any order of
summation, so they accept every correct way of writing the code.

>>> import torch
>>> unit_roundoff(torch.float32) == 2.0 ** -24
True
>>> round(gamma(10, torch.float32) / unit_roundoff(torch.float32), 3)
10.0
"""

from __future__ import annotations

import torch

__all__ = ["SGDError", "distance_error", "dot_product_error", "gamma", "log_softmax_error",
           "logsumexp_error", "mean_error", "softmax_error", "sum_error", "underflow",
           "unit_roundoff"]


def unit_roundoff(dtype: torch.dtype) -> float:
    """u: half the distance from 1 to the next float of ``dtype``; 0 for exact (integer) types."""
    if not dtype.is_floating_point:
        return 0.0
    return torch.finfo(dtype).eps / 2


def underflow(dtype: torch.dtype) -> float:
    """The absolute error one operation may make near zero: the smallest normal number."""
    return torch.finfo(dtype).tiny if dtype.is_floating_point else 0.0


def gamma(n: int, dtype: torch.dtype) -> float:
    """gamma_n = n u / (1 - n u): the relative error bound of n chained roundings."""
    u = unit_roundoff(dtype)
    return n * u / (1 - n * u)


def dot_product_error(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Allowed error of each entry of ``a @ b`` (batched shapes allowed), as a float64 tensor.

    For an inner product of length k, |fl(x.y) - x.y| <= gamma_k |x|.|y| (Higham, eq. 3.5),
    however the k terms are added up, plus k underflows.
    """
    k = a.shape[-1]
    magnitude = torch.matmul(a.double().abs(), b.double().abs())
    return gamma(k, a.dtype) * magnitude + k * underflow(a.dtype)


def sum_error(x: torch.Tensor, dim: int | tuple[int, ...]) -> torch.Tensor:
    """Allowed error of ``x.sum(dim)``: gamma_{n-1} times the sum of |x| (Higham, eq. 4.4)."""
    n = x.numel() // max(1, x.sum(dim).numel())
    return gamma(max(n - 1, 1), x.dtype) * x.double().abs().sum(dim) + n * underflow(x.dtype)


def mean_error(x: torch.Tensor, dim: int | tuple[int, ...]) -> torch.Tensor:
    """Allowed error of ``x.mean(dim)``: the sum's error over n, plus the division's rounding."""
    n = x.numel() // max(1, x.sum(dim).numel())
    return sum_error(x, dim) / max(n, 1) + unit_roundoff(x.dtype) * x.double().abs().amax(dim)


def softmax_error(x: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(absolute, relative) error allowed for each entry of softmax(x) along ``dim``.

    With m = max(x) and S = sum(exp(x - m)): x_i - m carries an error of u |x_i - m| (or
    2u max|x| when written as x - logsumexp(x)), which exp turns into a relative error of the
    same size; S adds gamma_n; the division one more u. So p_i is within
    (4 max|x| + n + 4) u relative, plus (n + 4) u absolute for underflow of the small terms.
    """
    u = unit_roundoff(x.dtype)
    n = x.shape[dim]
    scale = x.double().abs().amax(dim, keepdim=True)
    relative = u * (4 * scale + n + 4)
    absolute = torch.full_like(relative, u * (n + 4) + n * underflow(x.dtype))
    return absolute.expand(x.shape), relative.expand(x.shape)


def log_softmax_error(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Absolute error allowed for each entry of log_softmax(x) = x - logsumexp(x).

    Each of x_i, m and log S is at most max|x| + log n in size, and each of the three
    operations that combine them rounds once: (4 max|x| + 2n + 4) u covers them all.
    """
    u = unit_roundoff(x.dtype)
    n = x.shape[dim]
    scale = x.double().abs().amax(dim, keepdim=True)
    return (u * (4 * scale + 2 * n + 4)).expand(x.shape)


def logsumexp_error(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Absolute error allowed for logsumexp(x) along ``dim`` (the reduced shape)."""
    return log_softmax_error(x, dim).amax(dim)


def distance_error(d: int, dtype: torch.dtype) -> tuple[float, float]:
    """(absolute, relative) error allowed for a Euclidean distance over ``d`` coordinates.

    Relative: each squared difference carries 3 roundings (difference, square, and its place
    in the sum), the sum of d of them gamma_{d+2} in all; the square root halves that and
    adds one more rounding, so gamma_{d+2} + u bounds it. Absolute: a square below the
    smallest normal number may flush to 0, so the sum may lose (d + 2) tiny, and the square
    root turns that into sqrt((d + 2) tiny).
    """
    return (((d + 2) * underflow(dtype)) ** 0.5, gamma(d + 2, dtype) + unit_roundoff(dtype))


class SGDError:
    """Allowed error of parameters after SGD steps in ``dtype``, against exact arithmetic.

    Feed it each step's exact values (from a float64 oracle): the gradient plus weight
    decay ``d``, the velocity ``v`` (``d`` itself without momentum) and the new parameter
    ``p``. One step rounds at most 4 times in forming ``d`` and ``v`` (a product and a sum
    each) and 2 times in ``p - lr v``, and it carries the errors of the step before: the
    velocity's shrink by ``momentum``, the parameter's through weight decay. So, with
    e_v and e_p the bounds on the velocity and parameter errors,

        e_v <- momentum e_v + weight_decay e_p + 4 u (|d| + |v|)
        e_p <- e_p + lr e_v + 2 u (|p| + lr |v|)

    to first order in u; ``allowed()`` doubles e_p to cover the second-order terms.
    """

    def __init__(self, dtype: torch.dtype, lr: float, momentum: float, weight_decay: float):
        self.u = unit_roundoff(dtype)
        self.tiny = underflow(dtype)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.velocity = self.parameter = torch.zeros((), dtype=torch.float64)

    def step(self, d: torch.Tensor, v: torch.Tensor, p: torch.Tensor) -> None:
        """Account for one step whose exact values were ``d``, ``v`` and ``p``."""
        d, v, p = d.double().abs(), v.double().abs(), p.double().abs()
        self.velocity = (self.momentum * self.velocity + self.weight_decay * self.parameter
                         + 4 * self.u * (d + v) + 2 * self.tiny)
        self.parameter = (self.parameter + self.lr * self.velocity
                          + 2 * self.u * (p + self.lr * v) + self.tiny)

    def allowed(self) -> torch.Tensor:
        return 2 * self.parameter
