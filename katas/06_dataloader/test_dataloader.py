"""Tests for kata 06, Dataset and DataLoader. Run them with `pytest katas/06_dataloader`.

The DataLoader tests run over a small dataset of the tests' own (not your Dataset), whose
example i holds the number i, so every batch says exactly which examples it took; the
expected batches are worked out from n, batch_size and drop_last alone.
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


loader_settings = st.fixed_dictionaries({
    "n": st.integers(0, 40), "batch_size": st.integers(1, 45),
    "shuffle": st.booleans(), "drop_last": st.booleans()})


def _epoch(impl, settings, seed=0):
    data = NumberedExamples(settings["n"])
    loader = impl.DataLoader(data, batch_size=settings["batch_size"], shuffle=settings["shuffle"],
                             drop_last=settings["drop_last"],
                             generator=torch.Generator().manual_seed(seed))
    return loader, [(xb, yb) for xb, yb in loader]


def _order(batches):
    """The example numbers of an epoch's batches, in the order they came."""
    return torch.cat([yb for _, yb in batches]).tolist()


def _call(settings):
    return (f"DataLoader(<{settings['n']} examples>, batch_size={settings['batch_size']}, "
            f"shuffle={settings['shuffle']}, drop_last={settings['drop_last']})")


@pytest.mark.Dataset
@given(distinct_sizes("n", "features", min_size=2, max_size=7), st.data())
def test_dataset_indexes_x_and_y_together(impl, sizes, data):
    n = sizes["n"]
    generator = torch.Generator().manual_seed(n)
    x, y = torch.randn(n, sizes["features"], generator=generator), torch.randperm(n, generator=generator)
    dataset = impl.Dataset(x, y)
    assert_value(len(dataset), n, call="len(Dataset(x, y))")
    index = data.draw(st.one_of(
        st.integers(-n, n - 1),
        st.builds(slice, st.integers(0, n), st.integers(0, n)),
        st.lists(st.integers(0, n - 1), max_size=n).map(lambda i: torch.tensor(i, dtype=torch.long))),
        label="index")
    got = dataset[index]
    assert_true(isinstance(got, tuple) and len(got) == 2,
                f"Dataset(x, y)[{index!r}] should be the pair (x[i], y[i]), got {got!r}")
    assert_tensor(got[0], x[index], call=f"Dataset(x, y)[{index!r}][0]")
    assert_tensor(got[1], y[index], call=f"Dataset(x, y)[{index!r}][1]")


@pytest.mark.Dataset
@given(distinct_sizes("nx", "ny", min_size=0, max_size=6))
def test_dataset_with_lengths_that_differ_is_a_value_error(impl, sizes):
    x, y = torch.zeros(sizes["nx"], 2), torch.zeros(sizes["ny"])
    with raises_value_error("Dataset(x, y)", shapes=(tuple(x.shape), tuple(y.shape))):
        impl.Dataset(x, y)


@pytest.mark.DataLoader
@given(loader_settings)
def test_an_epoch_yields_every_example_once_in_full_batches(impl, settings):
    n, size = settings["n"], settings["batch_size"]
    _, batches = _epoch(impl, settings)
    full, rest = divmod(n, size)
    expected_sizes = [size] * full + ([rest] if rest and not settings["drop_last"] else [])
    sizes = [len(yb) for _, yb in batches]
    assert_true(not (rest and not settings["drop_last"] and sizes == expected_sizes[:-1]),
                f"{_call(settings)} left out the last, smaller batch of {rest} examples: its "
                f"batches had {sizes} examples. Only drop_last=True leaves it out.")
    assert_value([len(yb) for _, yb in batches], expected_sizes,
                 call=f"[len(yb) for xb, yb in {_call(settings)}]")
    seen = torch.cat([yb for _, yb in batches]) if batches else torch.zeros(0, dtype=torch.long)
    assert_true(len(set(seen.tolist())) == len(seen),
                f"{_call(settings)} yielded some examples twice in one epoch: {seen.tolist()}")
    if not settings["drop_last"]:
        assert_true(sorted(seen.tolist()) == list(range(n)),
                    f"{_call(settings)} should yield each of the {n} examples once per epoch "
                    f"(the last batch may be smaller); it yielded {sorted(seen.tolist())}")
    for xb, yb in batches:
        assert_tensor(xb[:, 0], yb.float(), call=f"{_call(settings)}: a batch's x against its y")


@pytest.mark.DataLoader
@given(loader_settings)
def test_len_is_the_number_of_batches_an_epoch_yields(impl, settings):
    loader, batches = _epoch(impl, settings)
    assert_value(len(loader), len(batches), call=f"len({_call(settings)})")


@pytest.mark.DataLoader
@given(loader_settings.map(lambda s: {**s, "shuffle": False}))
def test_without_shuffle_the_order_is_kept(impl, settings):
    _, batches = _epoch(impl, settings)
    seen = torch.cat([yb for _, yb in batches]) if batches else torch.zeros(0, dtype=torch.long)
    assert_tensor(seen, torch.arange(len(seen)), call=f"the examples of {_call(settings)}, in order")


@pytest.mark.DataLoader
@given(st.integers(10, 40), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_shuffle_is_reproducible_and_fresh_every_epoch(impl, n, batch_size, seed):
    settings = {"n": n, "batch_size": batch_size, "shuffle": True, "drop_last": False}
    loader, first = _epoch(impl, settings, seed)
    second = list(loader)
    _, again = _epoch(impl, settings, seed)
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
    data = NumberedExamples(n)
    loader = impl.DataLoader(data, batch_size=batch_size, shuffle=shuffle)
    batches = iter(loader)
    assert_value(data.lookups, 0, call="dataset lookups after iter(loader), before next()")
    next(batches)
    assert_value(data.lookups, 1, call=f"dataset lookups after one next() (batch_size={batch_size}): "
                                       f"a batch should be one indexing operation")
    rest = sum(1 for _ in batches)
    assert_value(data.lookups, 1 + rest, call="dataset lookups after the whole epoch")


@pytest.mark.DataLoader
@given(loader_settings.map(lambda s: {**s, "shuffle": False}))
def test_iteration_restarts_every_epoch(impl, settings):
    loader, first = _epoch(impl, settings)
    second = list(loader)
    assert_value([yb.tolist() for _, yb in second], [yb.tolist() for _, yb in first],
                 call=f"the second epoch of {_call(settings)} against its first")


@pytest.mark.DataLoader
@given(st.integers(-3, 0))
def test_batch_size_below_one_is_a_value_error(impl, batch_size):
    with raises_value_error(f"DataLoader(data, batch_size={batch_size})", mentions=(str(batch_size),)):
        impl.DataLoader(NumberedExamples(4), batch_size=batch_size)


@pytest.mark.DataLoader
@pytest.mark.Dataset
def test_batches_of_your_dataset_stay_on_its_device(impl, device):
    x = torch.randn(10, 4, generator=torch.Generator().manual_seed(2)).to(device)
    y = torch.arange(10, device=device)
    loader = impl.DataLoader(impl.Dataset(x, y), batch_size=4, shuffle=True,
                             generator=torch.Generator().manual_seed(1))
    batches = list(loader)
    assert_true(all(xb.device.type == device.type and yb.device.type == device.type for xb, yb in batches),
                f"batches should stay on {device}, where the data is")
    for xb, yb in batches:
        assert_tensor(xb.cpu(), x[yb].cpu(), call="a batch's x against x[its y]")
