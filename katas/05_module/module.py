# Kata 05_module: fill in each function and class below, then run `pytest katas/05_module`.
"""Kata 05: what ``torch.nn.Module`` does for us, written from scratch.

A module is an object that holds parameters and maps inputs to outputs. The work that
``nn.Module`` hides is bookkeeping: when you assign a ``nn.Parameter`` (or another module)
to an attribute, it is *registered*, so that ``parameters()`` can hand every one of them
to an optimizer, ``zero_grad()`` can clear their gradients and ``to(device)`` can move
them. Calling a module calls its ``forward``.

This kata uses ``log_softmax`` from your kata 04.
"""

import torch
from torch import nn
from softmax import log_softmax


class Module:
    """The base class of every layer and model: registers parameters and child modules.

    >>> class Scale(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.factor = nn.Parameter(torch.tensor(2.0))
    ...     def forward(self, x):
    ...         return self.factor * x
    >>> scale = Scale()
    >>> [p.item() for p in scale.parameters()]
    [2.0]
    >>> scale(torch.tensor([1.0, 3.0]))
    tensor([2., 6.], grad_fn=<MulBackward0>)
    """

    def __init__(self):
        """Start with no registered parameters or children."""
        raise NotImplementedError(
            'kata 05_module: Module.__init__() is yours to write, in katas/05_module/module.py. The README beside it explains the idea, and each failing test shows a hint.'
        )

    def __setattr__(self, name, value):
        """Assign an attribute; a ``nn.Parameter`` or a ``Module`` is also registered.

        Raises ``AttributeError`` when a subclass assigns a ``nn.Parameter`` before calling
        ``super().__init__()``.
        """
        raise NotImplementedError(
            'kata 05_module: Module.__setattr__() is yours to write, in katas/05_module/module.py. The README beside it explains the idea, and each failing test shows a hint.'
        )

    def __call__(self, *args, **kwargs):
        """Calling a module runs its ``forward``, which every subclass defines."""
        raise NotImplementedError(
            'kata 05_module: Module.__call__() is yours to write, in katas/05_module/module.py. The README beside it explains the idea, and each failing test shows a hint.'
        )

    def parameters(self):
        """Yield the module's own parameters, then its children's, each object once.

        It yields the very ``Parameter`` objects that were assigned, never copies: the
        module's own in assignment order, then each child's in turn, depth first, and a
        parameter held in two places only once. Plain tensors (even with
        ``requires_grad``) and other values are stored, not registered. An attribute counts
        for what it holds now: after ``m.w = p0; m.w = p1`` only ``p1`` is a parameter, and a
        plain tensor assigned to ``m.w`` then leaves none under that name.
        """
        raise NotImplementedError(
            'kata 05_module: Module.parameters() is yours to write, in katas/05_module/module.py. The README beside it explains the idea, and each failing test shows a hint.'
        )

    def zero_grad(self):
        """Clear the gradient of every parameter: set it to ``None`` (or to zeros). A fresh
        model has no gradients yet, and clearing them then does nothing."""
        raise NotImplementedError(
            'kata 05_module: Module.zero_grad() is yours to write, in katas/05_module/module.py. The README beside it explains the idea, and each failing test shows a hint.'
        )

    def to(self, device):
        """Move every parameter to ``device`` in place and return the module itself.

        The ``Parameter`` objects stay the same, so an optimizer made before the move still
        holds them: only their data moves.
        """
        raise NotImplementedError(
            'kata 05_module: Module.to() is yours to write, in katas/05_module/module.py. The README beside it explains the idea, and each failing test shows a hint.'
        )


def get_weights(*dims):
    """A ``nn.Parameter`` of shape ``dims`` drawn as ``randn(dims) / dims[0]``, as in the lesson.

    Returns a ``nn.Parameter``, so that a module it is assigned to registers it.

    >>> get_weights(784, 10).shape
    torch.Size([784, 10])
    """
    raise NotImplementedError(
        'kata 05_module: get_weights() is yours to write, in katas/05_module/module.py. The README beside it explains the idea, and each failing test shows a hint.'
    )


class Linear(Module):
    """``x @ weight + bias``, with ``weight`` of shape ``(n_in, n_out)`` and ``bias`` ``(n_out,)``.

    Its ``parameters()`` are ``weight``, then ``bias``.

    >>> layer = Linear(3, 2)
    >>> layer(torch.ones(4, 3)).shape
    torch.Size([4, 2])
    """

    def __init__(self, n_in, n_out):
        """Draw the weight with ``get_weights``; the bias starts at zero."""
        raise NotImplementedError(
            'kata 05_module: Linear.__init__() is yours to write, in katas/05_module/module.py. The README beside it explains the idea, and each failing test shows a hint.'
        )

    def forward(self, x):
        """``x @ weight + bias``: one row of outputs per row of ``x``."""
        raise NotImplementedError(
            'kata 05_module: Linear.forward() is yours to write, in katas/05_module/module.py. The README beside it explains the idea, and each failing test shows a hint.'
        )


class ReLU(Module):
    """Element-wise ``max(x, 0)``; no parameters.

    >>> ReLU()(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """

    def forward(self, x):
        """Negative entries become 0, the rest pass through.

        It returns a new tensor and leaves ``x`` as it was: the caller, and autograd, may
        still need it.
        """
        raise NotImplementedError(
            'kata 05_module: ReLU.forward() is yours to write, in katas/05_module/module.py. The README beside it explains the idea, and each failing test shows a hint.'
        )


class Sequential(Module):
    """Layers called in turn, each on the previous one's output.

    Its ``parameters()`` are its layers' parameters, layer by layer, in order, each one
    once: a layer used twice gives its parameters once.

    >>> model = Sequential(Linear(3, 2), ReLU())
    >>> len(list(model.parameters()))
    2
    """

    def __init__(self, *layers):
        """Register each layer as a child, in order."""
        raise NotImplementedError(
            'kata 05_module: Sequential.__init__() is yours to write, in katas/05_module/module.py. The README beside it explains the idea, and each failing test shows a hint.'
        )

    def forward(self, x):
        """Feed ``x`` through every layer."""
        raise NotImplementedError(
            'kata 05_module: Sequential.forward() is yours to write, in katas/05_module/module.py. The README beside it explains the idea, and each failing test shows a hint.'
        )


class LogSoftmax(Module):
    """``log_softmax`` over the last axis, from kata 04, as a layer.

    >>> LogSoftmax()(torch.zeros(1, 2))
    tensor([[-0.6931, -0.6931]])
    """

    def forward(self, x):
        """Log-probabilities along the last axis.

        It returns a new tensor and leaves ``x`` as it was: the caller, and autograd, may
        still need it.
        """
        raise NotImplementedError(
            'kata 05_module: LogSoftmax.forward() is yours to write, in katas/05_module/module.py. The README beside it explains the idea, and each failing test shows a hint.'
        )


class LogReg(Module):
    """The lesson's logistic regression: 784 pixels to 10 log-probabilities.

    >>> model = LogReg()
    >>> model(torch.zeros(2, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(self):
        """``l1_w`` of shape ``(784, 10)`` and ``l1_b`` of shape ``(10,)``."""
        raise NotImplementedError(
            'kata 05_module: LogReg.__init__() is yours to write, in katas/05_module/module.py. The README beside it explains the idea, and each failing test shows a hint.'
        )

    def forward(self, x):
        """Flatten each image to 784 numbers, apply the linear map, take log-softmax."""
        raise NotImplementedError(
            'kata 05_module: LogReg.forward() is yours to write, in katas/05_module/module.py. The README beside it explains the idea, and each failing test shows a hint.'
        )


def mlp(n_in=784, n_hidden=100, n_out=10):
    """One hidden layer of ReLU units: Linear, ReLU, Linear, log-softmax.

    Returns your ``Sequential`` of your layers: a ``Module`` of this kata, not torch's.

    >>> model = mlp(4, 3, 2)
    >>> [tuple(p.shape) for p in model.parameters()]
    [(4, 3), (3,), (3, 2), (2,)]
    """
    raise NotImplementedError(
        'kata 05_module: mlp() is yours to write, in katas/05_module/module.py. The README beside it explains the idea, and each failing test shows a hint.'
    )
