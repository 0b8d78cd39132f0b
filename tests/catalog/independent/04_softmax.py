"""Kata 04: wrong code written apart from the catalog, to measure the diagnosis on (see
kata.instructor.catalog)."""

import torch

from kata.instructor.catalog import independent


@independent("softmax", "exponentiates x as it is",
             caught_by=["test_softmax_matches_torch", "test_softmax_is_finite_for_large_inputs"],
             diagnosed_as=["skips the max-subtraction"])
def softmax_raw(x, dim=-1):
    return torch.exp(x) / torch.exp(x).sum(dim=dim, keepdim=True)


@independent("softmax", "subtracts the largest entry of the whole tensor",
             caught_by=["test_softmax_matches_torch"],
             diagnosed_as=["subtracts the largest entry of the whole tensor, not of each slice along dim"])
def softmax_shifted_by_the_global_max(x, dim=-1):
    e = torch.exp(x - torch.max(x))
    return e / torch.sum(e, dim=dim, keepdim=True)


@independent("log_softmax", "takes log of the sum of exp without the max-subtraction",
             caught_by=["test_log_softmax_matches_torch"], diagnosed_as=[])
def log_softmax_unshifted(x, dim=-1):
    return x - torch.log(torch.exp(x).sum(dim, keepdim=True))


@independent("logsumexp", "logs the sum of raw exponentials",
             caught_by=["test_logsumexp_matches_torch"],
             diagnosed_as=["skips the max-subtraction"])
def logsumexp_raw(x, dim=-1):
    return torch.log(torch.sum(torch.exp(x), dim=dim))


@independent("sigmoid", "divides exp(x) by exp(x) + 1",
             caught_by=["test_sigmoid_matches_torch"],
             diagnosed_as=["divides exp(x) by 1 + exp(x), which is inf / inf for large x"])
def sigmoid_from_exp(x):
    e = torch.exp(x)
    return e / (e + 1)
