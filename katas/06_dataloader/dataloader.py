# Kata 06_dataloader: fill in each function and class below, then run `pytest katas/06_dataloader`.
"""Kata 06: a Dataset and a DataLoader, the way the lesson walks them with ``iter``/``next``.

A dataset pairs inputs with targets. A data loader cuts it into mini-batches, in order or
shuffled afresh every epoch, and hands them out one at a time: ``next(iter(loader))`` is
the first batch. When the whole dataset is one tensor, a batch is one indexing operation,
``x[indices]``, which is far faster than gathering items one by one.
"""

import torch


class Dataset:
    """Inputs ``x`` and targets ``y`` of the same length, indexed together.

    >>> ds = Dataset(torch.arange(10.0), torch.arange(10) % 2)
    >>> len(ds)
    10
    >>> ds[2:4]
    (tensor([2., 3.]), tensor([0, 1]))
    """

    def __init__(self, x, y):
        """Keep ``x`` and ``y``.

        Raises ``ValueError`` when ``x`` and ``y`` have different lengths.
        """
        raise NotImplementedError(
            'kata 06_dataloader: Dataset.__init__() is yours to write, in katas/06_dataloader/dataloader.py. The README beside it explains the idea, and each failing test shows a hint.'
        )

    def __len__(self):
        """The number of examples."""
        raise NotImplementedError(
            'kata 06_dataloader: Dataset.__len__() is yours to write, in katas/06_dataloader/dataloader.py. The README beside it explains the idea, and each failing test shows a hint.'
        )

    def __getitem__(self, index):
        """``(x[index], y[index])``: one example for an int, a batch for a slice or an
        index tensor."""
        raise NotImplementedError(
            'kata 06_dataloader: Dataset.__getitem__() is yours to write, in katas/06_dataloader/dataloader.py. The README beside it explains the idea, and each failing test shows a hint.'
        )


class DataLoader:
    """Mini-batches of a dataset, shuffled afresh every epoch when asked.

    >>> ds = Dataset(torch.arange(5.0), torch.arange(5))
    >>> [yb.tolist() for xb, yb in DataLoader(ds, batch_size=2)]
    [[0, 1], [2, 3], [4]]
    >>> len(DataLoader(ds, batch_size=2, drop_last=True))
    2
    """

    def __init__(self, dataset, batch_size=64, shuffle=False, drop_last=False, generator=None):
        """Keep the settings; ``generator`` (a ``torch.Generator``) draws the shuffles, so
        equally seeded generators give equal batches.

        Raises ``ValueError`` when ``batch_size`` is less than 1.
        """
        raise NotImplementedError(
            'kata 06_dataloader: DataLoader.__init__() is yours to write, in katas/06_dataloader/dataloader.py. The README beside it explains the idea, and each failing test shows a hint.'
        )

    def __len__(self):
        """The number of batches one epoch yields (the last may be smaller, unless
        ``drop_last``)."""
        raise NotImplementedError(
            'kata 06_dataloader: DataLoader.__len__() is yours to write, in katas/06_dataloader/dataloader.py. The README beside it explains the idea, and each failing test shows a hint.'
        )

    def __iter__(self):
        """A generator of ``(xb, yb)`` batches, made lazily, one per ``next()``."""
        raise NotImplementedError(
            'kata 06_dataloader: DataLoader.__iter__() is yours to write, in katas/06_dataloader/dataloader.py. The README beside it explains the idea, and each failing test shows a hint.'
        )
