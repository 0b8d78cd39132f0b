"""Oracles from torch itself, without the start-up cost of the classes that wrap them.

``torch.optim.SGD`` is the oracle for SGD, but building any ``torch.optim.Optimizer`` first
imports torch's compiler (``torch._dynamo``): 1.1 s, in a kata run whose whole budget is
twice the 1.4 s of ``import torch``. ``TorchSGD`` runs the very update that
``torch.optim.SGD.step`` runs (``torch.optim.sgd.sgd``, torch's own code), and holds the
same state.

>>> import torch
>>> w = torch.nn.Parameter(torch.tensor([1.0]))
>>> opt = TorchSGD([w], lr=0.1, momentum=0.9)
>>> w.grad = torch.tensor([2.0])
>>> opt.step()
>>> w.data, opt.state[w]["momentum_buffer"]
(tensor([0.8000]), tensor([2.]))
"""

from __future__ import annotations

import torch
from torch.optim.sgd import sgd

__all__ = ["TorchSGD"]


class TorchSGD:
    """``torch.optim.SGD(params, lr, momentum, weight_decay)``'s update, state and
    ``zero_grad``, for tests to compare against or to train with."""

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        self.params = list(params)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.state: dict[torch.Tensor, dict[str, torch.Tensor]] = {}

    @torch.no_grad()
    def step(self) -> None:
        params = [p for p in self.params if p.grad is not None]
        buffers = [self.state.get(p, {}).get("momentum_buffer") for p in params]
        sgd(params, [p.grad for p in params], buffers, weight_decay=self.weight_decay,
            momentum=self.momentum, lr=self.lr, dampening=0.0, nesterov=False, maximize=False)
        if self.momentum:
            for p, buffer in zip(params, buffers, strict=True):
                assert buffer is not None  # with momentum, sgd fills in every missing buffer
                self.state.setdefault(p, {})["momentum_buffer"] = buffer

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None
