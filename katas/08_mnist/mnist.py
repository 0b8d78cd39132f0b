# Kata 08_mnist: fill in each function and class below, then run `pytest katas/08_mnist`.
"""Kata 08, the final exam: train your own pieces on MNIST.

Everything here is yours from earlier katas: ``LogReg`` and ``mlp`` (kata 05), ``Dataset``
and ``DataLoader`` (kata 06), ``nll_loss``, ``SGD`` and ``fit`` (kata 07). Put them together,
train on the device you are given, and reach the lesson's accuracy on the 10,000 test
images that training never sees: about 92% with logistic regression, and over 97% with
one hidden layer of 100 ReLU units.
"""

import torch
from dataloader import DataLoader, Dataset
from module import LogReg, mlp
from training_loop import SGD, fit, nll_loss


def normalize(x, mean, std):
    """``(x - mean) / std``: inputs with mean 0 and standard deviation 1 train faster.

    Use the *training* set's mean and std for every split, so that all are shifted alike.

    >>> normalize(torch.tensor([0.0, 1.0]), 0.5, 0.5)
    tensor([-1.,  1.])
    """
    raise NotImplementedError(
        'kata 08_mnist: normalize() is yours to write, in katas/08_mnist/mnist.py. The README beside it explains the idea, and each failing test shows a hint.'
    )


def predict(model, x, batch_size=1024):
    """The predicted class (int64) of each row of ``x``, computed ``batch_size`` rows at a
    time and without gradients.

    >>> predict(lambda xb: xb, torch.tensor([[0.1, 0.9], [0.7, 0.3], [0.2, 0.8]]), batch_size=2)
    tensor([1, 0, 1])
    """
    raise NotImplementedError(
        'kata 08_mnist: predict() is yours to write, in katas/08_mnist/mnist.py. The README beside it explains the idea, and each failing test shows a hint.'
    )


def train_logistic_regression(x, y, device):
    """A ``LogReg`` trained on normalized images ``x`` ``(n, 784)`` and labels ``y`` on
    ``device``: mini-batches of 64, shuffled, SGD with momentum 0.9 and a learning rate of
    0.005, for two epochs. Returns your ``LogReg``, a ``Module`` of kata 05.

    What ``fit`` prints on the way is your kata 07's to word, so the example keeps it quiet:

    >>> import contextlib, io
    >>> with contextlib.redirect_stdout(io.StringIO()):
    ...     model = train_logistic_regression(torch.randn(64, 784),
    ...                                       torch.zeros(64, dtype=torch.long), "cpu")
    >>> predict(model, torch.randn(3, 784)).shape
    torch.Size([3])
    """
    raise NotImplementedError(
        'kata 08_mnist: train_logistic_regression() is yours to write, in katas/08_mnist/mnist.py. The README beside it explains the idea, and each failing test shows a hint.'
    )


def train_mlp(x, y, device):
    """An ``mlp()`` (784, 100 ReLU units, 10) trained like ``train_logistic_regression``,
    with a learning rate of 0.02, for four epochs. Returns your ``mlp()``, a ``Module`` of
    kata 05.

    >>> import contextlib, io
    >>> with contextlib.redirect_stdout(io.StringIO()):  # fit's progress lines, in your words
    ...     model = train_mlp(torch.randn(64, 784), torch.zeros(64, dtype=torch.long), "cpu")
    >>> [tuple(p.shape) for p in model.parameters()]
    [(784, 100), (100,), (100, 10), (10,)]
    """
    raise NotImplementedError(
        'kata 08_mnist: train_mlp() is yours to write, in katas/08_mnist/mnist.py. The README beside it explains the idea, and each failing test shows a hint.'
    )
