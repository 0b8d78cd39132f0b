"""Tests for kata 07, the training loop. Run them with `pytest katas/07_training_loop`.

Oracles: torch's nll_loss, torch's SGD update (in float64, step for step), and a reference
training loop written in these tests. The fit tests train torch's own layers with torch's
SGD update, so a mistake in your SGD cannot hide a mistake in your fit, or the other way.
(``TorchSGD`` runs exactly what ``torch.optim.SGD.step`` runs, without the second that
building a ``torch.optim`` optimizer spends importing torch's compiler.)
"""

import copy

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from kata.assertions import assert_tensor, assert_true, assert_value, raises_value_error
from kata.oracles import TorchSGD
from kata.strategies import FLOAT_DTYPES, distinct_sizes, tensors
from kata.tolerances import SGDError, mean_error, unit_roundoff


@st.composite
def predictions(draw):
    """Log-probabilities (n, classes) with distinct sizes, and a target class for each row."""
    sizes = draw(distinct_sizes("n", "classes", min_size=2, max_size=9))
    dtype = draw(st.sampled_from(FLOAT_DTYPES), label="dtype")
    logits = draw(tensors((sizes["n"], sizes["classes"]), dtype, bound=20.0), label="logits")
    targets = draw(st.lists(st.integers(0, sizes["classes"] - 1), min_size=sizes["n"],
                            max_size=sizes["n"]), label="targets")
    return torch.log_softmax(logits, 1), torch.tensor(targets)


@pytest.mark.nll_loss
@given(predictions())
def test_nll_loss_matches_torch(impl, case):
    log_probs, targets = case
    picked = log_probs.gather(1, targets[:, None]).squeeze(1)
    assert_tensor(impl.nll_loss(log_probs, targets),
                  nn.functional.nll_loss(log_probs.double(), targets), dtype=log_probs.dtype,
                  atol=mean_error(picked, 0), call="nll_loss(log_probs, targets)")


@pytest.mark.nll_loss
@given(predictions())
def test_nll_loss_gradient_matches_torch(impl, case):
    log_probs, targets = case
    theirs = log_probs.clone().requires_grad_()
    ours = log_probs.double().requires_grad_()
    impl.nll_loss(theirs, targets).backward()
    nn.functional.nll_loss(ours, targets).backward()
    assert_true(theirs.grad is not None, "nll_loss(log_probs, targets) has no gradient")
    # -1/n at each row's target, 0 elsewhere: one rounding of 1/n
    assert_tensor(theirs.grad, ours.grad, dtype=log_probs.dtype,
                  rtol=unit_roundoff(log_probs.dtype), call="the gradient of nll_loss")


@pytest.mark.nll_loss
@given(distinct_sizes("rows", "targets", min_size=1, max_size=6))
def test_nll_loss_with_targets_that_do_not_fit_is_a_value_error(impl, sizes):
    log_probs = torch.log_softmax(torch.zeros(sizes["rows"], 3), 1)
    targets = torch.zeros(sizes["targets"], dtype=torch.long)
    with raises_value_error("nll_loss(log_probs, targets)",
                            shapes=(tuple(log_probs.shape), tuple(targets.shape))):
        impl.nll_loss(log_probs, targets)


@st.composite
def scores_without_ties(draw):
    """Outputs (n, classes) whose rows have one largest entry, and targets."""
    sizes = draw(distinct_sizes("n", "classes", min_size=2, max_size=9))
    n, classes = sizes["n"], sizes["classes"]
    seed = draw(st.integers(0, 2**31 - 1), label="seed")
    generator = torch.Generator().manual_seed(seed)
    outputs = torch.stack([torch.randperm(classes, generator=generator) for _ in range(n)]).float()
    targets = torch.randint(classes, (n,), generator=generator)
    hits = draw(st.lists(st.booleans(), min_size=n, max_size=n), label="right answers")
    targets = torch.where(torch.tensor(hits), outputs.argmax(1), targets)
    return outputs, targets


@pytest.mark.accuracy
@given(scores_without_ties())
def test_accuracy_is_the_fraction_of_rows_argmax_equals_target(impl, case):
    outputs, targets = case
    expected = (outputs.argmax(1) == targets).sum().item() / len(targets)
    # the count is exact; the division to a float32 mean rounds once, then the float is exact
    assert_value(impl.accuracy(outputs, targets), expected, rel=unit_roundoff(torch.float32),
                 call="accuracy(outputs, targets)")


sgd_settings = st.fixed_dictionaries({
    "lr": st.sampled_from([0.01, 0.1, 0.5]),
    "momentum": st.sampled_from([0.0, 0.5, 0.9]),
    "weight_decay": st.sampled_from([0.0, 0.01, 0.1]),
    "steps": st.integers(1, 6),
    "seed": st.integers(0, 2**31 - 1),
})


@pytest.mark.SGD
@given(sgd_settings)
def test_sgd_follows_torch_sgd_step_for_step(impl, settings):
    generator = torch.Generator().manual_seed(settings["seed"])
    shapes = [(3, 2), (4,), (1,)]
    params = [nn.Parameter(torch.randn(shape, generator=generator)) for shape in shapes]
    exact = [nn.Parameter(p.detach().double()) for p in params]
    hyper = {k: settings[k] for k in ("lr", "momentum", "weight_decay")}
    ours = impl.SGD(iter(params), **hyper)  # any iterable of parameters, even a one-pass one
    oracle = TorchSGD(exact, **hyper)
    bounds = [SGDError(torch.float32, **hyper) for _ in params]
    for step in range(settings["steps"]):
        for index, (p, q) in enumerate(zip(params, exact)):
            if step == 1 and index == 2:  # a parameter that got no gradient this step
                p.grad = q.grad = None
                continue
            grad = torch.randn(p.shape, generator=generator)
            p.grad, q.grad = grad.clone(), grad.double()
        before = [q.detach().clone() for q in exact]
        ours.step()
        oracle.step()
        for q, old, bound in zip(exact, before, bounds):
            if q.grad is None:
                continue
            d = q.grad + hyper["weight_decay"] * old
            v = oracle.state[q].get("momentum_buffer", d) if hyper["momentum"] else d
            bound.step(d, v, q.detach())
        for index, (p, q, bound) in enumerate(zip(params, exact, bounds)):
            assert_tensor(p.detach(), q.detach(), dtype=torch.float32, atol=bound.allowed(),
                          call=f"parameter {index} after step {step + 1} of SGD(params, "
                               f"lr={hyper['lr']}, momentum={hyper['momentum']}, "
                               f"weight_decay={hyper['weight_decay']})")


@pytest.mark.SGD
def test_sgd_updates_the_parameters_in_place(impl):
    p = nn.Parameter(torch.ones(3))
    opt = impl.SGD([p], lr=0.5)
    p.grad = torch.ones(3)
    version = p._version
    opt.step()
    assert_true(p._version != version and torch.equal(p.detach(), torch.full((3,), 0.5)),
                f"SGD.step() should change the parameter objects themselves, in place (p -= "
                f"lr * p.grad): after one step of lr 0.5 and gradient 1, p is {p.detach()}")
    assert_true(p.grad_fn is None and p.requires_grad,
                "SGD.step() should update under torch.no_grad(), leaving p a leaf that "
                "still requires grad")


@pytest.mark.SGD
def test_sgd_zero_grad_clears_every_gradient(impl):
    params = [nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(3))]
    opt = impl.SGD(params, lr=0.1)
    for p in params:
        p.grad = torch.ones_like(p)
    opt.zero_grad()
    assert_true(all(p.grad is None or not p.grad.any() for p in params),
                f"SGD.zero_grad() left gradients: {[p.grad for p in params]}")


def _problem(seed, sizes, n_features=3, n_classes=4):
    """A torch model and batches of the given sizes (the last may be smaller)."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(n_features, n_classes), nn.LogSoftmax(dim=1))
    batches = [(torch.randn(size, n_features, generator=generator),
                torch.randint(n_classes, (size,), generator=generator)) for size in sizes]
    return model, batches


def _reference_fit(model, loss_fn, opt, batches, epochs):
    """The lesson's loop, as the oracle: the loss of each batch."""
    losses = []
    for _ in range(epochs):
        for xb, yb in batches:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses


fit_settings = st.fixed_dictionaries({
    "seed": st.integers(0, 2**31 - 1),
    "sizes": st.lists(st.integers(1, 8), min_size=1, max_size=5),
    "epochs": st.integers(1, 3),
    "momentum": st.sampled_from([0.0, 0.9]),
})


@pytest.mark.fit
@given(fit_settings)
def test_fit_trains_exactly_as_the_lesson_loop_does(impl, settings):
    model, batches = _problem(settings["seed"], settings["sizes"])
    reference = copy.deepcopy(model)

    def make_opt(m):
        return TorchSGD(m.parameters(), lr=0.1, momentum=settings["momentum"])

    history = impl.fit(model, nn.functional.nll_loss, make_opt(model), batches,
                       epochs=settings["epochs"], log_every=0)
    losses = _reference_fit(reference, nn.functional.nll_loss, make_opt(reference), batches,
                            settings["epochs"])
    call = (f"fit(model, nll_loss, SGD(lr=0.1, momentum={settings['momentum']}), <batches of sizes "
            f"{settings['sizes']}>, epochs={settings['epochs']})")
    # The same operations in the same order give the same floats: no tolerance is needed.
    for index, (ours, theirs) in enumerate(zip(model.parameters(), reference.parameters())):
        assert_tensor(ours.detach(), theirs.detach(),
                      call=f"{call}: parameter {index} against the lesson's loop (zero_grad, "
                           f"forward, loss, backward, step for each batch)")
    assert_value(history.train_loss, losses, call=f"{call}: history.train_loss")
    assert_value((history.valid_loss, history.valid_accuracy), ([], []),
                 call=f"{call} without valid_dl: (history.valid_loss, history.valid_accuracy)")


class _Spy:
    """Wraps a model and an optimizer; records the order of what fit does with them."""

    def __init__(self, model, opt, valid_batches):
        self.model, self.opt, self.events = model, opt, []
        self.valid_inputs = {id(xb) for xb, _ in valid_batches}

    def __call__(self, xb):
        validating = id(xb) in self.valid_inputs
        self.events.append(("validate" if validating else "forward", torch.is_grad_enabled()))
        out = self.model(xb)
        if out.requires_grad:
            out.register_hook(lambda grad: self.events.append(("backward", None)))
        return out

    def parameters(self):
        return self.model.parameters()

    def zero_grad(self):
        self.events.append(("zero_grad", None))
        self.opt.zero_grad()

    def step(self):
        self.events.append(("step", None))
        self.opt.step()


@pytest.mark.fit
@given(fit_settings)
def test_fit_clears_gradients_before_each_backward_and_validates_without_them(impl, settings):
    model, batches = _problem(settings["seed"], settings["sizes"])
    _, valid = _problem(settings["seed"] + 1, [4, 4])
    spy = _Spy(model, TorchSGD(model.parameters(), lr=0.1), valid)
    history = impl.fit(spy, nn.functional.nll_loss, spy, batches, epochs=settings["epochs"],
                       valid_dl=valid, log_every=0)
    names = [name for name, _ in spy.events]
    counts = {name: names.count(name) for name in ("forward", "backward", "step", "validate")}
    expected = {"forward": len(batches), "backward": len(batches), "step": len(batches),
                "validate": len(valid)}
    assert_true(counts == {name: count * settings["epochs"] for name, count in expected.items()},
                f"fit should, for each batch, call zero_grad, forward, backward and step, and "
                f"validate each valid batch once per epoch; it did: {names}")
    pending_gradients = False
    for name, grad_enabled in spy.events:
        if name == "backward":
            assert_true(not pending_gradients, f"a backward() ran while the last batch's gradients "
                                               f"were still there (no zero_grad in between): {names}")
            pending_gradients = True
        elif name == "zero_grad":
            pending_gradients = False
        elif name == "step":
            assert_true(pending_gradients, f"step() ran without a fresh backward() before it: {names}")
        elif name == "validate":
            assert_true(not grad_enabled, "validation ran with gradients on: wrap it in torch.no_grad()")
    assert_value((len(history.valid_loss), len(history.valid_accuracy)), (settings["epochs"],) * 2,
                 call="(len(history.valid_loss), len(history.valid_accuracy))")


@pytest.mark.fit
def test_fit_reports_validation_loss_and_accuracy_over_all_examples(impl, capsys):
    model, batches = _problem(7, [8, 8, 5])
    _, valid = _problem(8, [6, 6])
    history = impl.fit(model, nn.functional.nll_loss, TorchSGD(model.parameters(), lr=0.1),
                       batches, epochs=1, valid_dl=valid, log_every=1)
    with torch.no_grad():
        x, y = torch.cat([xb for xb, _ in valid]), torch.cat([yb for _, yb in valid])
        out = model(x)
        loss = nn.functional.nll_loss(out, y).item()
        accuracy = (out.argmax(1) == y).double().mean().item()
    # batches of equal size: the mean of batch means is the mean over all examples, up to
    # a few roundings of numbers of size `loss`
    assert_value(history.valid_loss[0], loss, rel=64 * unit_roundoff(torch.float32),
                 call="history.valid_loss[0]")
    assert_value(history.valid_accuracy[0], accuracy, rel=4 * unit_roundoff(torch.float32),
                 call="history.valid_accuracy[0]")
    printed = capsys.readouterr().out
    assert_true("loss" in printed.lower(), f"fit should print the loss as it goes; it printed {printed!r}")


@pytest.mark.fit
def test_fit_learns_a_separable_problem(impl):
    generator = torch.Generator().manual_seed(3)
    y = torch.arange(60) % 2
    x = torch.randn(60, 2, generator=generator) * 0.5 + (2.0 * y[:, None] - 1) * 2
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 60, 16)]
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(2, 2), nn.LogSoftmax(dim=1))
    history = impl.fit(model, nn.functional.nll_loss, TorchSGD(model.parameters(), lr=0.5),
                       batches, epochs=10, valid_dl=batches, log_every=0)
    assert_true(history.train_loss[-1] < history.train_loss[0] / 4 and history.valid_accuracy[-1] == 1.0,
                f"on two well-separated blobs, fit should drive the loss down and the accuracy to "
                f"1: losses went {history.train_loss[0]:.3f} -> {history.train_loss[-1]:.3f}, "
                f"accuracy per epoch {history.valid_accuracy}")
