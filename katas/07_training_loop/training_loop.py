# Kata 07_training_loop: fill in each function and class below, then run `pytest katas/07_training_loop`.
"""Kata 07: the training loop by hand: a loss, an accuracy, SGD, and ``fit``.

Training repeats four steps for every mini-batch: clear the old gradients (``zero_grad``),
compute the loss of the model's predictions, ``backward()`` to get fresh gradients, and
``step()`` to move each parameter a little against its gradient. Forget the first step and
gradients pile up from batch to batch, so every step is too large and points the wrong way.
"""

from dataclasses import dataclass, field
import torch


def nll_loss(log_probs, targets):
    """The mean negative log-likelihood: ``-log_probs[i, targets[i]]`` averaged over rows.

    One gather picks each row's log-probability of its target. Raises ``ValueError``
    unless ``log_probs`` is 2-D and ``targets`` holds one class index per row.

    >>> nll_loss(torch.tensor([[-0.5, -1.0], [-2.0, -0.1]]), torch.tensor([0, 1]))
    tensor(0.3000)
    """
    raise NotImplementedError(
        'kata 07_training_loop: nll_loss() is yours to write, in katas/07_training_loop/training_loop.py. The README beside it explains the idea, and each failing test shows a hint.'
    )


def accuracy(outputs, targets):
    """The fraction of rows whose largest output is at the target's index, as a float.

    >>> accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1]))
    0.5
    """
    raise NotImplementedError(
        'kata 07_training_loop: accuracy() is yours to write, in katas/07_training_loop/training_loop.py. The README beside it explains the idea, and each failing test shows a hint.'
    )


class SGD:
    """Stochastic gradient descent with optional momentum and weight decay, as
    ``torch.optim.SGD`` computes it.

    ``step()`` updates the very ``Parameter`` objects it was given, in place (``p -= ...``
    under ``torch.no_grad()``, or ``p.data -= ...``), so the model that holds them sees the
    new values.

    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> opt = SGD([w], lr=0.1)
    >>> (2 * w).sum().backward()
    >>> opt.step()
    >>> w
    Parameter containing:
    tensor([0.8000], requires_grad=True)
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        """Keep the parameters (any iterable, such as ``model.parameters()``) and the
        settings; the momentum buffers start empty."""
        raise NotImplementedError(
            'kata 07_training_loop: SGD.__init__() is yours to write, in katas/07_training_loop/training_loop.py. The README beside it explains the idea, and each failing test shows a hint.'
        )

    def step(self):
        """Update each parameter in place: ``p -= lr * v``, where ``v`` is the gradient
        plus ``weight_decay * p``, accumulated with momentum after the first step."""
        raise NotImplementedError(
            'kata 07_training_loop: SGD.step() is yours to write, in katas/07_training_loop/training_loop.py. The README beside it explains the idea, and each failing test shows a hint.'
        )

    def zero_grad(self):
        """Clear every parameter's gradient: set it to ``None`` (or to zeros)."""
        raise NotImplementedError(
            'kata 07_training_loop: SGD.zero_grad() is yours to write, in katas/07_training_loop/training_loop.py. The README beside it explains the idea, and each failing test shows a hint.'
        )


@dataclass
class History:
    """What ``fit`` measured: the loss of every training batch, and per epoch the
    validation loss and accuracy (empty lists when there is no validation data)."""

    train_loss: list = field(default_factory=list)
    valid_loss: list = field(default_factory=list)
    valid_accuracy: list = field(default_factory=list)


def fit(model, loss_fn, opt, train_dl, epochs=1, valid_dl=None, log_every=100):
    """Train ``model`` for ``epochs`` passes over ``train_dl`` and return a ``History``.

    For each batch: ``opt.zero_grad()``, forward, ``loss_fn``, ``backward()``,
    ``opt.step()``. After each epoch, with ``valid_dl``, the validation loss and accuracy
    are computed without gradients, averaged over examples (a smaller last batch weighs
    less than a full one). The ``History`` holds Python ``float``s (``loss.item()``), not
    tensors.

    After each epoch with ``valid_dl``, it prints one line that holds the epoch's
    validation loss and accuracy as numbers, in any format (``0 0.2931 0.9184`` will do;
    an accuracy in percent needs its ``%``). It may print more, such as the training loss
    every ``log_every`` batches.

    >>> model = torch.nn.Linear(1, 2)
    >>> batches = [(torch.tensor([[1.0], [-1.0]]), torch.tensor([1, 0]))]
    >>> loss = lambda out, y: torch.nn.functional.cross_entropy(out, y)
    >>> history = fit(model, loss, SGD(model.parameters(), lr=0.5), batches, epochs=3,
    ...               log_every=0)
    >>> len(history.train_loss), history.valid_loss
    (3, [])
    """
    raise NotImplementedError(
        'kata 07_training_loop: fit() is yours to write, in katas/07_training_loop/training_loop.py. The README beside it explains the idea, and each failing test shows a hint.'
    )
