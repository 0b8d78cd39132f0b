"""Which torch device a run uses: ``auto`` means CUDA when there is one, else the CPU.

torch is imported only when a device is chosen, so that importing this module stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

#: The choices every command and option offers.
CHOICES = ("auto", "cpu", "cuda")


def chosen_device(choice: str) -> torch.device:
    """The ``torch.device`` for ``choice`` (one of ``CHOICES``): ``auto`` is CUDA when torch
    sees a GPU, else the CPU. ``ValueError`` for any other choice.

    >>> chosen_device("cpu")
    device(type='cpu')
    """
    import torch

    if choice not in CHOICES:
        raise ValueError(f"device must be one of {', '.join(CHOICES)}, not {choice!r}")
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(choice)
