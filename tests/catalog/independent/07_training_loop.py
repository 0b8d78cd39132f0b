"""Kata 07: wrong code written apart from the catalog, to measure the diagnosis on (see
kata.instructor.catalog)."""

import torch

from kata.instructor.catalog import independent


@independent("nll_loss", "averages the picked log-probabilities without negating them",
             caught_by=["test_nll_loss_matches_torch"], diagnosed_as=["forgets the minus sign"])
def nll_loss_positive(log_probs, targets):
    if log_probs.ndim != 2 or targets.shape != (len(log_probs),):
        raise ValueError(f"shapes {tuple(log_probs.shape)} and {tuple(targets.shape)} do not fit")
    return log_probs[range(len(targets)), targets].mean()


@independent("nll_loss", "sums the picked log-probabilities instead of averaging them",
             caught_by=["test_nll_loss_matches_torch"], diagnosed_as=[])
def nll_loss_summed(log_probs, targets):
    if log_probs.ndim != 2 or targets.shape != (len(log_probs),):
        raise ValueError(f"shapes {tuple(log_probs.shape)} and {tuple(targets.shape)} do not fit")
    return -log_probs.gather(1, targets[:, None]).sum()


@independent("accuracy", "compares the argmax over the rows with the targets",
             caught_by=["test_accuracy_is_the_fraction_of_rows_argmax_equals_target"],
             diagnosed_as=["takes the argmax over the wrong axis"])
def accuracy_over_rows(outputs, targets):
    predicted = torch.argmax(outputs, 0)
    n = min(len(predicted), len(targets))
    return (predicted[:n] == targets[:n]).float().mean().item()
