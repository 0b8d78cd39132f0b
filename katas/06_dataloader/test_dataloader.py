"""Tests for kata 06, Dataset and DataLoader. Run them with `pytest katas/06_dataloader`.

The DataLoader tests run over a small dataset of the tests' own (not your Dataset), whose
example i holds the number i, so every batch says exactly which examples it took; the
expected batches are worked out from n, batch_size and drop_last alone.

Your classes run in scenarios (the functions without a ``test_`` prefix): each builds your
objects from plain inputs, walks them, and hands back what it saw (the batches, how often
the dataset was indexed); the tests judge those observations.
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from kata.assertions import assert_tensor, assert_true, assert_value, raises_value_error
from kata.strategies import distinct_sizes


class NumberedExamples:
    """n examples; example i is (i as a float feature row, i). Counts how it is indexed."""

    def __init__(self, n, device="cpu"):
        self.x = torch.arange(n, dtype=torch.float32, device=device)[:, None].expand(n, 3)
        self.y = torch.arange(n, device=device)
        self.lookups = 0

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        self.lookups += 1
        return self.x[index], self.y[index]


# --- scenarios: they run beside your code and return what they saw ------------------------

def index_a_dataset(local, x, y, index, slice_bounds=None):
    """``len(Dataset(x, y))`` and the two parts of ``Dataset(x, y)[index]``; with
    ``slice_bounds`` (a slice is not plain data), the index is ``slice(*slice_bounds)``."""
    dataset = local.Dataset(x, y)
    x_part, y_part = dataset[slice(*slice_bounds) if slice_bounds else index]
    return {"len": len(dataset), "x": x_part, "y": y_part}


def make_a_dataset(local, x, y):
    """Only build ``Dataset(x, y)`` (for inputs that must be refused)."""
    local.Dataset(x, y)


def make_a_loader(local, n, batch_size):
    """Only build a DataLoader over n numbered examples (for settings that must be refused)."""
    local.DataLoader(NumberedExamples(n), batch_size=batch_size)


def walk_epochs(local, n, batch_size, shuffle, drop_last, seed, epochs=1):
    """``len(loader)`` and the batches of ``epochs`` epochs over n numbered examples, with a
    generator seeded ``seed``."""
    loader = local.DataLoader(NumberedExamples(n), batch_size=batch_size, shuffle=shuffle,
                              drop_last=drop_last, generator=torch.Generator().manual_seed(seed))
    return {"len": len(loader),
            "epochs": [[(xb, yb) for xb, yb in loader] for _ in range(epochs)]}


def count_lookups(local, n, batch_size, shuffle):
    """How often the loader indexed the dataset: after ``iter()``, after one ``next()``,
    after the whole epoch; and whether that ``next()`` found a batch at all."""
    data = NumberedExamples(n)
    batches = iter(local.DataLoader(data, batch_size=batch_size, shuffle=shuffle))
    after_iter = data.lookups
    first = next(batches, None)  # None: the epoch ended before its first batch
    after_next = data.lookups
    for _ in batches:
        pass
    return {"after_iter": after_iter, "after_next": after_next, "after_epoch": data.lookups,
            "first_batch": first is not None}


def batches_on_a_device(local, x, y, seed):
    """The batches of your DataLoader over your Dataset of x and y, shuffled."""
    loader = local.DataLoader(local.Dataset(x, y), batch_size=4, shuffle=True,
                              generator=torch.Generator().manual_seed(seed))
    return [(xb, yb) for xb, yb in loader]


# --- the tests --------------------------------------------------------------------------

loader_settings = st.fixed_dictionaries({
    "n": st.integers(0, 40), "batch_size": st.integers(1, 45),
    "shuffle": st.booleans(), "drop_last": st.booleans()})


def _epochs(impl, settings, seed=0, epochs=1):
    return impl.scenario(walk_epochs, settings["n"], settings["batch_size"], settings["shuffle"],
                         settings["drop_last"], seed, epochs)


def _order(batches):
    """The example numbers of an epoch's batches, in the order they came."""
    return torch.cat([yb for _, yb in batches]).tolist() if batches else []


def _call(settings):
    return (f"DataLoader(<{settings['n']} examples>, batch_size={settings['batch_size']}, "
            f"shuffle={settings['shuffle']}, drop_last={settings['drop_last']})")


@pytest.mark.Dataset
@given(distinct_sizes("n", "features", min_size=2, max_size=7), st.data())
def test_dataset_indexes_x_and_y_together(impl, sizes, data):
    n = sizes["n"]
    generator = torch.Generator().manual_seed(n)
    x, y = torch.randn(n, sizes["features"], generator=generator), torch.randperm(n, generator=generator)
    index = data.draw(st.one_of(
        st.integers(-n, n - 1),
        st.builds(slice, st.integers(0, n), st.integers(0, n)),
        st.lists(st.integers(0, n - 1), max_size=n).map(lambda i: torch.tensor(i, dtype=torch.long))),
        label="index")
    shown = f"tensor({index.tolist()})" if torch.is_tensor(index) else index
    bounds = [index.start, index.stop] if isinstance(index, slice) else None
    got = impl.scenario(index_a_dataset, x, y, None if bounds else index, bounds)
    assert_value(got["len"], n, call=f"len(Dataset(x, y)) with x of shape {tuple(x.shape)}")
    assert_tensor(got["x"], x[index], call=f"Dataset(x, y)[{shown}][0]")
    assert_tensor(got["y"], y[index], call=f"Dataset(x, y)[{shown}][1]")


@pytest.mark.Dataset
@given(distinct_sizes("nx", "ny", min_size=0, max_size=6))
def test_dataset_with_lengths_that_differ_is_a_value_error(impl, sizes):
    x, y = torch.zeros(sizes["nx"], 2), torch.zeros(sizes["ny"])
    with raises_value_error(f"Dataset(x, y) with x of shape {tuple(x.shape)} and y of shape "
                            f"{tuple(y.shape)}", contract="Dataset.lengths_differ"):
        impl.scenario(make_a_dataset, x, y)


@pytest.mark.DataLoader
@given(loader_settings)
def test_an_epoch_yields_every_example_once_in_full_batches(impl, settings):
    n, size = settings["n"], settings["batch_size"]
    batches, = _epochs(impl, settings)["epochs"]
    full, rest = divmod(n, size)
    expected_sizes = [size] * full + ([rest] if rest and not settings["drop_last"] else [])
    sizes = [len(yb) for _, yb in batches]
    assert_true(not (rest and not settings["drop_last"] and sizes == expected_sizes[:-1]),
                f"{_call(settings)} left out the last, smaller batch of {rest} examples: its "
                f"batches had {sizes} examples. Only drop_last=True leaves it out.")
    assert_value(sizes, expected_sizes, call=f"[len(yb) for xb, yb in {_call(settings)}]")
    seen = _order(batches)
    assert_true(len(set(seen)) == len(seen),
                f"{_call(settings)} yielded some examples twice in one epoch: {seen}")
    if not settings["drop_last"]:
        assert_true(sorted(seen) == list(range(n)),
                    f"{_call(settings)} should yield each of the {n} examples once per epoch "
                    f"(the last batch may be smaller); it yielded {sorted(seen)}")
    for xb, yb in batches:
        assert_tensor(xb[:, 0], yb.float(), call=f"{_call(settings)}: a batch's x against its y")


@pytest.mark.DataLoader
@given(loader_settings)
def test_len_is_the_number_of_batches_an_epoch_yields(impl, settings):
    got = _epochs(impl, settings)
    full, rest = divmod(settings["n"], settings["batch_size"])
    assert_value(got["len"], full + (1 if rest and not settings["drop_last"] else 0),
                 call=f"len({_call(settings)}), the number of batches an epoch yields")


@pytest.mark.DataLoader
@given(loader_settings.map(lambda s: {**s, "shuffle": False}))
def test_without_shuffle_the_order_is_kept(impl, settings):
    batches, = _epochs(impl, settings)["epochs"]
    seen = _order(batches)
    assert_value(seen, list(range(len(seen))), call=f"the examples of {_call(settings)}, in order")


@pytest.mark.DataLoader
@given(st.integers(10, 40), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_shuffle_is_reproducible_and_fresh_every_epoch(impl, n, batch_size, seed):
    settings = {"n": n, "batch_size": batch_size, "shuffle": True, "drop_last": False}
    first, second = _epochs(impl, settings, seed, epochs=2)["epochs"]
    again, = _epochs(impl, settings, seed)["epochs"]
    assert_value(_order(again), _order(first),
                 call=f"{_call(settings)} with a generator seeded {seed}, made twice")
    # Two uniform permutations of n >= 10 items coincide with probability 1/n! < 3e-7.
    assert_true(_order(second) != _order(first),
                f"{_call(settings)} gave the same order in its second epoch as in its first: "
                f"shuffle afresh at the start of every epoch, not once in __init__")
    assert_true(_order(first) != list(range(n)),
                f"{_call(settings)} did not shuffle: the order is 0, 1, 2, ...")


@pytest.mark.DataLoader
@given(st.integers(1, 30), st.integers(1, 8), st.booleans())
def test_next_fetches_one_batch_lazily_with_one_lookup(impl, n, batch_size, shuffle):
    got = impl.scenario(count_lookups, n, batch_size, shuffle)
    call = f"DataLoader(<{n} examples>, batch_size={batch_size}, shuffle={shuffle})"
    batches = -(-n // batch_size)
    assert_true(got["first_batch"],
                f"the first next() of iter({call}) found no batch: the epoch ended at once, but "
                f"{n} examples in batches of {batch_size} make {batches} batch(es). Does the "
                f"loop over batch starts reach the last one? (range(0, n, batch_size) does; "
                f"range(0, n - batch_size, ...) misses it.)")
    assert_value(got["after_iter"], 0, call=f"dataset lookups after iter({call}), before next()")
    assert_value(got["after_next"], 1, call=f"dataset lookups after one next() of {call}: a "
                                            f"batch should be one indexing operation")
    assert_value(got["after_epoch"], batches,
                 call=f"dataset lookups after the whole epoch of {call} ({batches} batches)")


@pytest.mark.DataLoader
@given(loader_settings.map(lambda s: {**s, "shuffle": False}))
def test_iteration_restarts_every_epoch(impl, settings):
    first, second = _epochs(impl, settings, epochs=2)["epochs"]
    assert_value([yb.tolist() for _, yb in second], [yb.tolist() for _, yb in first],
                 call=f"the second epoch of {_call(settings)} against its first")


@pytest.mark.DataLoader
@given(st.integers(-3, 0))
def test_batch_size_below_one_is_a_value_error(impl, batch_size):
    with raises_value_error(f"DataLoader(<4 examples>, batch_size={batch_size})",
                            contract="DataLoader.batch_size"):
        impl.scenario(make_a_loader, 4, batch_size)


@pytest.mark.DataLoader
@pytest.mark.Dataset
def test_batches_of_your_dataset_stay_on_its_device(impl, device):
    x = torch.randn(10, 4, generator=torch.Generator().manual_seed(2)).to(device)
    y = torch.arange(10, device=device)
    batches = impl.scenario(batches_on_a_device, x, y, 1)
    places = sorted({str(t.device) for batch in batches for t in batch})
    assert_true(all(t.device.type == device.type for batch in batches for t in batch),
                f"DataLoader(Dataset(x, y), batch_size=4, shuffle=True) with x and y on {device}: "
                f"batches should stay on {device}, where the data is; they were on {places}")
    assert_value(sorted(torch.cat([yb for _, yb in batches]).tolist()), list(range(10)),
                 call="the examples of one epoch of DataLoader(Dataset(x, y), batch_size=4, shuffle=True)")
    for xb, yb in batches:
        assert_tensor(xb.cpu(), x[yb].cpu(), call="a batch's x against x[its y]")
