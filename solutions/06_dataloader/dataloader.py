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
        if len(x) != len(y):
            raise ValueError(f"x and y must have the same length: x has shape "
                             f"{tuple(x.shape)}, y has shape {tuple(y.shape)}")
        self.x, self.y = x, y

    def __len__(self):
        """The number of examples."""
        return len(self.x)

    def __getitem__(self, index):
        """``(x[index], y[index])``: one example for an int, a batch for a slice or an
        index tensor."""
        return self.x[index], self.y[index]


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
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle, self.drop_last, self.generator = shuffle, drop_last, generator

    def __len__(self):
        """The number of batches one epoch yields (the last may be smaller, unless
        ``drop_last``)."""
        full, rest = divmod(len(self.dataset), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self):
        """A generator of ``(xb, yb)`` batches, made lazily, one per ``next()``."""
        n = len(self.dataset)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        end = n - n % self.batch_size if self.drop_last else n
        for start in range(0, end, self.batch_size):
            stop = min(start + self.batch_size, n)
            yield self.dataset[order[start:stop] if order is not None else slice(start, stop)]
