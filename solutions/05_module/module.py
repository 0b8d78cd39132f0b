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
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_children", {})

    def __setattr__(self, name, value):
        """Assign an attribute; a ``nn.Parameter`` or a ``Module`` is also registered.

        Raises ``AttributeError`` when a subclass assigns a ``nn.Parameter`` before calling
        ``super().__init__()``.
        """
        if isinstance(value, (nn.Parameter, Module)) and "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot register {name!r} on {type(self).__name__}: call super().__init__() "
                f"first, at the top of {type(self).__name__}.__init__")
        registries = self.__dict__.get("_parameters", {}), self.__dict__.get("_children", {})
        for registry in registries:
            registry.pop(name, None)
        if isinstance(value, nn.Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._children[name] = value
        object.__setattr__(self, name, value)

    def __call__(self, *args, **kwargs):
        """Calling a module runs its ``forward``, which every subclass defines."""
        return self.forward(*args, **kwargs)

    def parameters(self):
        """Yield the module's own parameters, then its children's, each object once.

        It yields the very ``Parameter`` objects that were assigned, never copies: the
        module's own in assignment order, then each child's in turn, depth first, and a
        parameter held in two places only once. Plain tensors (even with
        ``requires_grad``) and other values are stored, not registered. An attribute counts
        for what it holds now: after ``m.w = p0; m.w = p1`` only ``p1`` is a parameter, and a
        plain tensor assigned to ``m.w`` then leaves none under that name.
        """
        seen = set()
        for parameter in self._all_parameters():
            if id(parameter) not in seen:
                seen.add(id(parameter))
                yield parameter

    def _all_parameters(self):
        yield from self._parameters.values()
        for child in self._children.values():
            yield from child._all_parameters()

    def zero_grad(self):
        """Clear the gradient of every parameter: set it to ``None`` (or to zeros). A fresh
        model has no gradients yet, and clearing them then does nothing."""
        for parameter in self.parameters():
            parameter.grad = None

    def to(self, device):
        """Move every parameter to ``device`` in place and return the module itself.

        The ``Parameter`` objects stay the same, so an optimizer made before the move still
        holds them: only their data moves.
        """
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.data = parameter.data.to(device)
        return self


def get_weights(*dims):
    """A ``nn.Parameter`` of shape ``dims`` drawn as ``randn(dims) / dims[0]``, as in the lesson.

    Returns a ``nn.Parameter``, so that a module it is assigned to registers it.

    >>> get_weights(784, 10).shape
    torch.Size([784, 10])
    """
    return nn.Parameter(torch.randn(dims) / dims[0])


class Linear(Module):
    """``x @ weight + bias``, with ``weight`` of shape ``(n_in, n_out)`` and ``bias`` ``(n_out,)``.

    Its ``parameters()`` are ``weight``, then ``bias``.

    >>> layer = Linear(3, 2)
    >>> layer(torch.ones(4, 3)).shape
    torch.Size([4, 2])
    """

    def __init__(self, n_in, n_out):
        """Draw the weight with ``get_weights``; the bias starts at zero."""
        super().__init__()
        self.weight = get_weights(n_in, n_out)
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        """``x @ weight + bias``: one row of outputs per row of ``x``."""
        return x @ self.weight + self.bias


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
        return x.clamp_min(0.0)


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
        super().__init__()
        self.layers = list(layers)
        for index, layer in enumerate(layers):
            setattr(self, f"layer{index}", layer)

    def forward(self, x):
        """Feed ``x`` through every layer."""
        for layer in self.layers:
            x = layer(x)
        return x


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
        return log_softmax(x, dim=-1)


class LogReg(Module):
    """The lesson's logistic regression: 784 pixels to 10 log-probabilities.

    >>> model = LogReg()
    >>> model(torch.zeros(2, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(self):
        """``l1_w`` of shape ``(784, 10)`` and ``l1_b`` of shape ``(10,)``."""
        super().__init__()
        self.l1_w = get_weights(784, 10)
        self.l1_b = get_weights(10)

    def forward(self, x):
        """Flatten each image to 784 numbers, apply the linear map, take log-softmax."""
        x = x.reshape(x.shape[0], -1)
        return log_softmax(x @ self.l1_w + self.l1_b, dim=-1)


def mlp(n_in=784, n_hidden=100, n_out=10):
    """One hidden layer of ReLU units: Linear, ReLU, Linear, log-softmax.

    Returns your ``Sequential`` of your layers: a ``Module`` of this kata, not torch's.

    >>> model = mlp(4, 3, 2)
    >>> [tuple(p.shape) for p in model.parameters()]
    [(4, 3), (3,), (3, 2), (2,)]
    """
    return Sequential(Linear(n_in, n_hidden), ReLU(), Linear(n_hidden, n_out), LogSoftmax())
