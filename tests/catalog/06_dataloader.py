"""Kata 06 variants: classic data loader mistakes, a forbidden shortcut, correct alternatives."""

import torch

from kata.instructor.catalog import alternative, cheat, mistake


@mistake("DataLoader", "drops the last, smaller batch",
         caught_by=["test_an_epoch_yields_every_example_once_in_full_batches"],
         explanation=("n is rarely a multiple of batch_size: the last, smaller batch holds the "
                      "rest, and only drop_last=True leaves it out."))
class DataLoaderDroppingTheLastBatch(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for start in range(0, n - self.batch_size + 1, self.batch_size):
            yield self.dataset[order[start:start + self.batch_size]]


@mistake("DataLoader", "stops its batch starts one batch early, range(0, n - batch_size, batch_size)",
         caught_by=["test_next_fetches_one_batch_lazily_with_one_lookup",
                    "test_an_epoch_yields_every_example_once_in_full_batches"],
         explanation=("range stops before its end: starts below n - batch_size miss the last "
                      "batch, all of them when n is at most batch_size. range(0, n, batch_size) "
                      "reaches every one."))
class DataLoaderOneBatchShort(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for start in range(0, n - self.batch_size, self.batch_size):
            yield self.dataset[order[start:start + self.batch_size]]


@mistake("DataLoader", "shuffles once, in __init__, so every epoch has the same order",
         caught_by=["test_shuffle_is_reproducible_and_fresh_every_epoch"],
         explanation=("Each epoch needs a fresh order: draw the permutation at the start of "
                      "__iter__, not once in __init__."))
class DataLoaderShufflingOnce(DataLoader):
    def __init__(self, dataset, batch_size=64, shuffle=False, drop_last=False, generator=None):
        super().__init__(dataset, batch_size, shuffle, drop_last, generator)
        n = len(dataset)
        self.order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)

    def __iter__(self):
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self.dataset[self.order[start:start + self.batch_size]]


@mistake("DataLoader", "makes every batch of the epoch before the first next()",
         caught_by=["test_next_fetches_one_batch_lazily_with_one_lookup"],
         explanation=("A generator makes each batch when next() asks for it; making them all "
                      "first costs memory and time up front."))
class DataLoaderAllAtOnce(DataLoader):
    def __iter__(self):
        return iter(list(super().__iter__()))


@mistake("DataLoader", "builds each batch item by item, as torch's default collation does",
         caught_by=["test_next_fetches_one_batch_lazily_with_one_lookup"],
         explanation=("When the data is one tensor, a batch is one indexing operation, far faster "
                      "than one lookup per example."))
class DataLoaderItemByItem(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            items = [self.dataset[i] for i in range(start, min(start + self.batch_size, n))]
            yield torch.stack([x for x, _ in items]), torch.stack([y for _, y in items])


@mistake("DataLoader", "counts the last, smaller batch in len() even with drop_last",
         caught_by=["test_len_is_the_number_of_batches_an_epoch_yields"],
         explanation=("With drop_last the smaller last batch is never yielded, so len() must not "
                      "count it either."))
class DataLoaderLenIgnoringDropLast(DataLoader):
    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)


@mistake("Dataset", "accepts x and y of different lengths",
         caught_by=["test_dataset_with_lengths_that_differ_is_a_value_error"],
         explanation=("x and y must pair up, example for example: the docstring asks for a "
                      "ValueError when their lengths differ."))
class DatasetWithoutCheck(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y


@cheat("DataLoader", "hands the work to torch.utils.data.DataLoader", rule="no_library_dataloader",
       caught_by=["test_an_epoch_yields_every_example_once_in_full_batches"])
class DataLoaderFromTorch(DataLoader):
    def __iter__(self):
        yield from torch.utils.data.DataLoader(self.dataset, batch_size=self.batch_size,
                                               shuffle=self.shuffle, drop_last=self.drop_last)


@alternative("DataLoader", "splits an index tensor into batches with torch.split")
class DataLoaderBySplit(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        batches = order.split(self.batch_size) if n else ()
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches = batches[:-1]
        return (self.dataset[indices] for indices in batches)


@alternative("Dataset", "names both lengths, not the shapes, when they differ")
class DatasetNamingLengths(Dataset):
    def __init__(self, x, y):
        if len(x) != len(y):
            raise ValueError(f"{len(x)} inputs but {len(y)} targets")
        self.x, self.y = x, y


@alternative("DataLoader", "refuses a batch size below 1 in its own words")
class DataLoaderWithItsOwnWords(DataLoader):
    def __init__(self, dataset, batch_size=64, shuffle=False, drop_last=False, generator=None):
        if batch_size <= 0:
            raise ValueError("a batch needs at least one example")
        super().__init__(dataset, batch_size, shuffle, drop_last, generator)
