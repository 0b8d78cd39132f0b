"""Kata 04 variants: classic softmax mistakes, forbidden shortcuts, correct alternatives."""

import torch

from kata.instructor.catalog import alternative, cheat, mistake


@mistake("softmax", "normalizes over the wrong axis (always the last)",
         caught_by=["test_softmax_matches_torch", "test_softmax_is_a_distribution_along_dim"],
         explanation=("dim says which axis the probabilities lie along: take the max and the sum "
                      "along dim, not along the last axis."))
def softmax_last_axis(x, dim=-1):
    e = (x - x.amax(-1, keepdim=True)).exp()
    return e / e.sum(-1, keepdim=True)


@mistake("softmax", "skips the max-subtraction", caught_by=["test_softmax_is_finite_for_large_inputs"],
         explanation=("exp overflows to inf above about 88 in float32, and inf / inf is NaN: "
                      "subtracting the max first keeps every exponent <= 0."))
def softmax_without_max(x, dim=-1):
    e = x.exp()
    return e / e.sum(dim, keepdim=True)


@mistake("softmax", "subtracts the largest entry of the whole tensor, not of each slice along dim",
         caught_by=["test_softmax_matches_torch"],
         explanation=("A slice far below the tensor's largest entry underflows to 0 / 0, which is "
                      "NaN: subtract each slice's own max along dim."))
def softmax_global_max(x, dim=-1):
    e = (x - x.amax()).exp()
    return e / e.sum(dim, keepdim=True)


@mistake("softmax", "sums without keepdim, so the division broadcasts along the wrong axis",
         caught_by=["test_softmax_matches_torch"],
         explanation=("e.sum(dim) drops the axis, so the division lines the sums up with the "
                      "wrong axis; keepdim=True keeps it as size 1."))
def softmax_without_keepdim(x, dim=-1):
    e = (x - x.amax(dim, keepdim=True)).exp()
    return e / e.sum(dim)


@mistake("softmax", "subtracts the max in place, changing the caller's x",
         caught_by=["test_softmax_matches_torch"],
         explanation=("x -= ... writes into the caller's tensor; x - ... makes a new one and "
                      "leaves x as it was."))
def softmax_in_place(x, dim=-1):
    x -= x.amax(dim, keepdim=True)
    e = x.exp()
    return e / e.sum(dim, keepdim=True)


@mistake("log_softmax", "takes log(softmax(x)), which is -inf where softmax underflows",
         caught_by=["test_log_softmax_matches_torch"],
         explanation=("Where softmax underflows to 0, its log is -inf; x - logsumexp(x) is finite "
                      "for every finite x."))
def log_softmax_as_log_of_softmax(x, dim=-1):
    e = (x - x.amax(dim, keepdim=True)).exp()
    return (e / e.sum(dim, keepdim=True)).log()


@mistake("logsumexp", "skips the max-subtraction", caught_by=["test_logsumexp_matches_torch"],
         explanation=("exp(x) overflows to inf above about 88 in float32; with m the max, m + "
                      "log(sum(exp(x - m))) does not."))
def logsumexp_without_max(x, dim=-1):
    return x.exp().sum(dim).log()


@mistake("logsumexp", "keeps the reduced axis", caught_by=["test_logsumexp_is_at_least_the_max"],
         explanation=("logsumexp removes axis dim, as sum(dim) does: keepdim=True leaves it in as "
                      "an axis of size 1."))
def logsumexp_keepdim(x, dim=-1):
    m = x.amax(dim, keepdim=True)
    return m + (x - m).exp().sum(dim, keepdim=True).log()


@mistake("sigmoid", "divides exp(x) by 1 + exp(x), which is inf / inf for large x",
         caught_by=["test_sigmoid_matches_torch"],
         explanation=("For x above about 88, exp(x) is inf in float32 and inf / inf is NaN; 1 / "
                      "(1 + exp(-x)) is finite there."))
def sigmoid_inf_over_inf(x):
    return x.exp() / (1 + x.exp())


@cheat("softmax", "calls torch.softmax", rule="no_library_softmax",
       caught_by=["test_softmax_matches_torch"])
def softmax_by_torch(x, dim=-1):
    return torch.softmax(x, dim)


@cheat("log_softmax", "calls the Tensor method", rule="no_library_softmax",
       caught_by=["test_log_softmax_matches_torch"])
def log_softmax_by_method(x, dim=-1):
    return x.log_softmax(dim)


@cheat("sigmoid", "hides torch.sigmoid behind a broad except", rule="no_library_softmax",
       caught_by=["test_sigmoid_matches_torch"])
def sigmoid_hidden(x):
    try:
        return torch.sigmoid(x)
    except Exception:
        return 1 / (1 + torch.exp(-x))


@alternative("softmax", "exponentiates log_softmax")
def softmax_from_log(x, dim=-1):
    return log_softmax(x, dim).exp()


@alternative("sigmoid", "picks exp(x) / (1 + exp(x)) or 1 / (1 + exp(-x)) by the sign of x")
def sigmoid_by_sign(x):
    e = torch.exp(-x.abs())
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


@alternative("logsumexp", "uses torch.max and squeezes")
def logsumexp_by_max(x, dim=-1):
    m = torch.max(x, dim=dim, keepdim=True).values
    return (torch.log(torch.sum(torch.exp(x - m), dim=dim, keepdim=True)) + m).squeeze(dim)


@cheat("softmax", "calls the dispatcher's softmax kernel, torch.ops.aten._softmax",
       rule="no_library_softmax", caught_by=["test_softmax_matches_torch"])
def softmax_by_aten(x, dim=-1):
    return torch.ops.aten._softmax(x, dim, False)


@alternative("sigmoid", "is 1 / (1 + exp(-x)): for large negative x, exp(-x) is inf and 1 / inf is "
                        "exactly 0 in torch, so it never overflows into a wrong value")
def sigmoid_as_in_the_docstring(x):
    return 1 / (1 + torch.exp(-x))


# --- the library's functions under other names: the allow-list trips on them -------------------

@cheat("sigmoid", "rescales torch.tanh, which is sigmoid in disguise", rule="no_library_softmax",
       caught_by=["test_sigmoid_matches_torch"])
def sigmoid_by_tanh(x):
    return (1 + torch.tanh(x / 2)) / 2


@cheat("logsumexp", "takes the last entry of torch.logcumsumexp", rule="no_library_softmax",
       caught_by=["test_logsumexp_matches_torch"])
def logsumexp_by_logcumsumexp(x, dim=-1):
    return torch.logcumsumexp(x, dim).select(dim, -1)


@cheat("softmax", "calls torch._safe_softmax, the kernel of attention", rule="no_library_softmax",
       caught_by=["test_softmax_matches_torch"])
def softmax_by_safe_softmax(x, dim=-1):
    return torch._safe_softmax(x, dim)
