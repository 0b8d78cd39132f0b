"""Tests for kata 07, the training loop. Run them with `pytest katas/07_training_loop`.

Oracles: torch's nll_loss, torch's SGD update (in float64, step for step), and a reference
training loop written in these tests. The fit tests train torch's own layers with torch's
SGD update, so a mistake in your SGD cannot hide a mistake in your fit, or the other way.
(``TorchSGD`` runs exactly what ``torch.optim.SGD.step`` runs, without the second that
building a ``torch.optim`` optimizer spends importing torch's compiler.)

Your SGD and fit run in scenarios (the functions without a ``test_`` prefix): each builds
the parameters, model and batches from plain inputs (seeds, sizes, tensors), runs your
code on them, and hands back what it saw (parameter values, the History's lists, what was
printed); the tests recompute the expected values from the same inputs.
"""

import contextlib
import io
import re

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from kata.assertions import (assert_contract, assert_tensor, assert_true, assert_type, assert_value,
                             raises_value_error)
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


def nll_loss_gradient(local, log_probs, targets):
    """The gradient that backward() of your nll_loss leaves on ``log_probs``, and whether it
    left one at all."""
    log_probs = log_probs.detach().clone().requires_grad_()
    local.nll_loss(log_probs, targets).backward()
    return {"grad": log_probs.grad, "left_one": log_probs.grad is not None}


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
    ours = log_probs.double().clone().requires_grad_()  # .double() of float64 is log_probs itself
    nn.functional.nll_loss(ours, targets).backward()
    got = impl.scenario(nll_loss_gradient, log_probs, targets)
    call = "the gradient that backward() of nll_loss(log_probs, targets) leaves on log_probs"
    assert_true(got["left_one"], f"{call} is None: the loss is not computed from log_probs by "
                                 f"tensor operations (a detour through .item(), a list or numpy "
                                 f"cuts the graph)")
    # -1/n at each row's target, 0 elsewhere: one rounding of 1/n
    assert_tensor(got["grad"], ours.grad, dtype=log_probs.dtype, rtol=unit_roundoff(log_probs.dtype),
                  call=call)


@pytest.mark.nll_loss
@given(distinct_sizes("rows", "targets", min_size=1, max_size=6))
def test_nll_loss_with_targets_that_do_not_fit_is_a_value_error(impl, sizes):
    log_probs = torch.log_softmax(torch.zeros(sizes["rows"], 3), 1)
    targets = torch.zeros(sizes["targets"], dtype=torch.long)
    with raises_value_error(f"nll_loss(log_probs, targets) with log_probs of shape "
                            f"{tuple(log_probs.shape)} and targets of shape {tuple(targets.shape)}",
                            contract="nll_loss.misfit"):
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


# --- SGD ----------------------------------------------------------------------------------

def run_sgd(local, initial, gradients, hyper):
    """Your SGD over parameters that start at ``initial``: before step k, parameter i gets
    the gradient ``gradients[k][i]`` (None: no gradient that step). The parameters' values
    after every step."""
    params = [nn.Parameter(value.clone()) for value in initial]
    opt = local.SGD(iter(params), **hyper)  # any iterable of parameters, even a one-pass one
    seen = []
    for step_gradients in gradients:
        for p, grad in zip(params, step_gradients):
            p.grad = None if grad is None else grad.clone()
        opt.step()
        seen.append([p.detach().clone() for p in params])
    return seen


def step_a_model(local, weight, bias, lr):
    """One step of ``SGD(model.parameters(), lr)`` on a torch Linear layer whose gradients
    are all ones: the layer's weight and bias afterwards, whether they are still leaves
    that require grad, and the gradients a second backward() gives them."""
    model = nn.Linear(*weight.shape[::-1])
    with torch.no_grad():
        model.weight.copy_(weight)
        model.bias.copy_(bias)
    opt = local.SGD(model.parameters(), lr=lr)
    model.weight.grad, model.bias.grad = torch.ones_like(weight), torch.ones_like(bias)
    opt.step()
    after = [p.detach().clone() for p in (model.weight, model.bias)]
    leaves = [(p.is_leaf, p.requires_grad) for p in (model.weight, model.bias)]
    model.zero_grad()
    model(torch.ones(1, weight.shape[1])).sum().backward()
    return {"after": after, "leaves": leaves, "grads": [model.weight.grad, model.bias.grad]}


def clear_with_sgd(local, has_grad):
    """Your SGD's zero_grad() over parameters, parameter i with a gradient of ones when
    ``has_grad[i]`` and none at all otherwise: the gradients afterwards."""
    params = [nn.Parameter(torch.ones(size + 1)) for size in range(len(has_grad))]
    opt = local.SGD(params, lr=0.1)
    for p, given_grad in zip(params, has_grad):
        p.grad = torch.ones_like(p) if given_grad else None
    opt.zero_grad()
    return [p.grad for p in params]


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
    initial = [torch.randn(shape, generator=generator) for shape in shapes]
    # parameter 2 gets no gradient in step 2
    gradients = [[None if (step, index) == (1, 2) else torch.randn(shape, generator=generator)
                  for index, shape in enumerate(shapes)] for step in range(settings["steps"])]
    hyper = {k: settings[k] for k in ("lr", "momentum", "weight_decay")}
    seen = impl.scenario(run_sgd, initial, gradients, hyper)
    exact = [nn.Parameter(value.double()) for value in initial]
    oracle = TorchSGD(exact, **hyper)
    bounds = [SGDError(torch.float32, **hyper) for _ in exact]
    call = (f"SGD(params, lr={hyper['lr']}, momentum={hyper['momentum']}, "
            f"weight_decay={hyper['weight_decay']})")
    for step, (step_gradients, values) in enumerate(zip(gradients, seen)):
        before = [q.detach().clone() for q in exact]
        for q, grad in zip(exact, step_gradients):
            q.grad = None if grad is None else grad.double()
        oracle.step()
        for q, old, bound in zip(exact, before, bounds):
            if q.grad is None:
                continue
            d = q.grad + hyper["weight_decay"] * old
            v = oracle.state[q].get("momentum_buffer", d) if hyper["momentum"] else d
            bound.step(d, v, q.detach())
        for index, (value, q, bound) in enumerate(zip(values, exact, bounds)):
            assert_tensor(value, q.detach(), dtype=torch.float32, atol=bound.allowed(),
                          call=f"parameter {index} after step {step + 1} of {call}"
                               + (" (it had no gradient in step 2)" if index == 2 and step >= 1 else ""))


@pytest.mark.SGD
def test_sgd_updates_the_parameters_it_was_given_in_place(impl):
    weight, bias = torch.arange(6.0).reshape(2, 3), torch.tensor([1.0, -1.0])
    got = impl.scenario(step_a_model, weight, bias, 0.5)
    call = "one step of SGD(model.parameters(), lr=0.5) with every gradient 1"
    moved = [torch.equal(value, expected) for value, expected in zip(got["after"], (weight - 0.5, bias - 0.5))]
    assert_contract(all(moved),
                    f"after {call}, the model's own weight and bias should be 0.5 lower: they are "
                    f"{got['after'][0].tolist()} and {got['after'][1].tolist()} (they were "
                    f"{weight.tolist()} and {bias.tolist()})", contract="SGD.in_place")
    assert_contract(got["leaves"] == [(True, True), (True, True)],
                    f"after {call}, the model's parameters should still be leaves that require "
                    f"grad, so that training goes on; (is_leaf, requires_grad) of weight and bias: "
                    f"{got['leaves']}. Update under torch.no_grad(), or through p.data.",
                    contract="SGD.in_place")
    assert_tensor(got["grads"][0], torch.ones(2, 3),
                  call=f"the weight's gradient of a second backward() after {call}")


@pytest.mark.SGD
@given(st.lists(st.booleans(), min_size=1, max_size=4))
def test_sgd_zero_grad_clears_every_gradient(impl, has_grad):
    grads = impl.scenario(clear_with_sgd, has_grad)
    left = [index for index, grad in enumerate(grads) if grad is not None and grad.any()]
    assert_true(not left, f"SGD.zero_grad() left gradients on parameters {left} (parameters with "
                          f"a gradient before: {[i for i, g in enumerate(has_grad) if g]})")


# --- fit ----------------------------------------------------------------------------------

def _problem(seed, sizes, n_features=3, n_classes=4):
    """A torch model and batches of the given sizes (the last may be smaller)."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(n_features, n_classes), nn.LogSoftmax(dim=1))
    batches = [(torch.randn(size, n_features, generator=generator),
                torch.randint(n_classes, (size,), generator=generator)) for size in sizes]
    return model, batches


def _history(history):
    return {"train_loss": history.train_loss, "valid_loss": history.valid_loss,
            "valid_accuracy": history.valid_accuracy}


def train_with_fit(local, seed, sizes, epochs, momentum=0.0, valid_sizes=None, log_every=0):
    """Your fit on ``_problem(seed, sizes)``'s model and batches, with torch's SGD update,
    validating on ``_problem(seed + 1, valid_sizes)``'s batches when given: the model's
    parameters afterwards, the History's lists and what fit printed."""
    model, batches = _problem(seed, sizes)
    valid = _problem(seed + 1, valid_sizes)[1] if valid_sizes else None
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        history = local.fit(model, nn.functional.nll_loss, TorchSGD(model.parameters(), lr=0.1, momentum=momentum),
                            batches, epochs=epochs, valid_dl=valid, log_every=log_every)
    return {"parameters": [p.detach() for p in model.parameters()], **_history(history),
            "printed": printed.getvalue()}


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

    def train(self, mode=True):
        self.model.train(mode)
        return self

    def eval(self):
        self.model.eval()
        return self

    def zero_grad(self):
        self.events.append(("zero_grad", None))
        self.opt.zero_grad()

    def step(self):
        self.events.append(("step", None))
        self.opt.step()


def watch_fit(local, seed, sizes, epochs):
    """What your fit does, in order, with a model and optimizer that record it (validating on
    two batches of 4), and the lengths of the History's validation lists."""
    model, batches = _problem(seed, sizes)
    _, valid = _problem(seed + 1, [4, 4])
    spy = _Spy(model, TorchSGD(model.parameters(), lr=0.1), valid)
    history = local.fit(spy, nn.functional.nll_loss, spy, batches, epochs=epochs, valid_dl=valid,
                        log_every=0)
    return {"events": spy.events, "valid_lengths": (len(history.valid_loss), len(history.valid_accuracy))}


def fit_blobs(local, seed):
    """Your fit on two well-separated blobs, ten epochs: the History's lists."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(60) % 2
    x = torch.randn(60, 2, generator=generator) * 0.5 + (2.0 * y[:, None] - 1) * 2
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 60, 16)]
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 2), nn.LogSoftmax(dim=1))
    return _history(local.fit(model, nn.functional.nll_loss, TorchSGD(model.parameters(), lr=0.5),
                              batches, epochs=10, valid_dl=batches, log_every=0))


def _reference_fit(seed, sizes, epochs, momentum=0.0, valid_sizes=None):
    """The lesson's loop, as the oracle, on the same problem as ``train_with_fit``: the
    model's parameters, the loss of each batch, and after each epoch the loss and accuracy
    over all validation examples at once."""
    model, batches = _problem(seed, sizes)
    opt = TorchSGD(model.parameters(), lr=0.1, momentum=momentum)
    losses, valid_losses, valid_accuracies = [], [], []
    for _ in range(epochs):
        for xb, yb in batches:
            opt.zero_grad()
            loss = nn.functional.nll_loss(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        if valid_sizes:
            valid = _problem(seed + 1, valid_sizes)[1]
            x, y = torch.cat([xb for xb, _ in valid]), torch.cat([yb for _, yb in valid])
            with torch.no_grad():
                out = model(x)
            valid_losses.append(nn.functional.nll_loss(out, y).item())
            valid_accuracies.append((out.argmax(1) == y).double().mean().item())
    return {"parameters": [p.detach() for p in model.parameters()], "train_loss": losses,
            "valid_loss": valid_losses, "valid_accuracy": valid_accuracies}


def _assert_floats(values, expected, *, call, rel=0.0):
    """``values`` is a list of Python floats, each equal to ``expected``'s (within ``rel``)."""
    assert_value(len(values), len(expected), call=f"len({call})")
    for index, (value, want) in enumerate(zip(values, expected)):
        assert_type(value, float, call=f"{call}[{index}]", contract="fit.history_floats")
        assert_value(value, want, rel=rel, call=f"{call}[{index}]")


fit_settings = st.fixed_dictionaries({
    "seed": st.integers(0, 2**31 - 1),
    "sizes": st.lists(st.integers(1, 8), min_size=1, max_size=5),
    "epochs": st.integers(1, 3),
    "momentum": st.sampled_from([0.0, 0.9]),
})


@pytest.mark.fit
@given(fit_settings)
def test_fit_trains_exactly_as_the_lesson_loop_does(impl, settings):
    problem = (settings["seed"], settings["sizes"], settings["epochs"], settings["momentum"])
    got = impl.scenario(train_with_fit, *problem)
    expected = _reference_fit(*problem)
    call = (f"fit(model, nll_loss, SGD(lr=0.1, momentum={settings['momentum']}), <batches of sizes "
            f"{settings['sizes']}>, epochs={settings['epochs']})")
    # The same operations in the same order give the same floats: no tolerance is needed.
    for index, (ours, theirs) in enumerate(zip(got["parameters"], expected["parameters"])):
        assert_tensor(ours, theirs, call=f"{call}: parameter {index} against the lesson's loop "
                                         f"(zero_grad, forward, loss, backward, step for each batch)")
    _assert_floats(got["train_loss"], expected["train_loss"], call=f"{call}: history.train_loss")
    assert_value((got["valid_loss"], got["valid_accuracy"]), ([], []),
                 call=f"{call} without valid_dl: (history.valid_loss, history.valid_accuracy)")


@pytest.mark.fit
@given(fit_settings)
def test_fit_clears_gradients_before_each_backward_and_validates_without_them(impl, settings):
    got = impl.scenario(watch_fit, settings["seed"], settings["sizes"], settings["epochs"])
    names = [name for name, _ in got["events"]]
    counts = {name: names.count(name) for name in ("forward", "backward", "step", "validate")}
    batches = len(settings["sizes"])
    expected = {"forward": batches, "backward": batches, "step": batches, "validate": 2}
    assert_value(counts, {name: count * settings["epochs"] for name, count in expected.items()},
                 call=f"fit over {settings['epochs']} epochs of {batches} training batches and 2 "
                      f"validation batches should, for each training batch, zero_grad, forward, "
                      f"backward and step, and validate each validation batch once per epoch. It "
                      f"made these calls: {names}. Counted, they")
    pending_gradients = False
    for name, grad_enabled in got["events"]:
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
    assert_value(got["valid_lengths"], (settings["epochs"],) * 2,
                 call="(len(history.valid_loss), len(history.valid_accuracy))")


#: validation batches whose last one is smaller: a mean of batch means would weigh its
#: examples more than the others
VALID_SIZES = [6, 6, 3]


@pytest.mark.fit
def test_fit_reports_validation_loss_and_accuracy_over_all_examples(impl):
    problem = (7, [8, 8, 5], 2, 0.0, VALID_SIZES)
    got = impl.scenario(train_with_fit, *problem)
    expected = _reference_fit(*problem)
    call = (f"fit(..., epochs=2, valid_dl=<batches of sizes {VALID_SIZES}>), whose validation "
            f"loss and accuracy are averaged over all examples, not over batches:")
    # each example's loss weighs the same; the learner's sum of batch sums and the
    # oracle's one mean differ by a few roundings of numbers of size `loss`
    _assert_floats(got["valid_loss"], expected["valid_loss"], rel=64 * unit_roundoff(torch.float32),
                   call=f"{call} history.valid_loss")
    _assert_floats(got["valid_accuracy"], expected["valid_accuracy"], rel=4 * unit_roundoff(torch.float32),
                   call=f"{call} history.valid_accuracy")


_NUMBER = re.compile(r"[-+]?(\d+(?:\.(\d*))?|\.(\d+))(?:[eE]([-+]?\d+))?(%?)")


def _printed_numbers(line):
    """Each number in ``line`` as (value, half a unit of its last printed digit); a number
    followed by % counts as a fraction."""
    numbers = []
    for match in _NUMBER.finditer(line):
        decimals = len(match.group(2) or match.group(3) or "")
        exponent = int(match.group(4) or 0)
        scale = 100.0 if match.group(5) else 1.0
        numbers.append((float(match.group(0).rstrip("%")) / scale, 0.5 * 10.0 ** (exponent - decimals) / scale))
    return numbers


def _shows(line, loss, accuracy):
    """``line`` holds two different numbers that round to ``loss`` and ``accuracy``."""
    numbers = _printed_numbers(line)

    def near(number, value):
        # the printed rounding, and the roundings in which fit's value and the oracle's differ
        return abs(number[0] - value) <= number[1] + 1e-4 * abs(value)
    return any(near(a, loss) and near(b, accuracy) for a in numbers for b in numbers if a is not b)


@pytest.mark.fit
def test_fit_prints_each_epochs_validation_loss_and_accuracy(impl):
    problem = (11, [8, 8, 5], 3, 0.0, [5, 3])
    got = impl.scenario(train_with_fit, *problem, log_every=1)
    expected = _reference_fit(*problem)
    lines = got["printed"].splitlines()
    position = 0
    for epoch, (loss, accuracy) in enumerate(zip(expected["valid_loss"], expected["valid_accuracy"])):
        found = next((index for index in range(position, len(lines))
                      if _shows(lines[index], loss, accuracy)), None)
        assert_contract(found is not None,
                        f"fit(..., epochs=3, valid_dl=<batches of sizes [5, 3]>, log_every=1) should "
                        f"print, after epoch {epoch + 1}, a line holding its validation loss "
                        f"{loss:.4f} and accuracy {accuracy:.4f} (as numbers, in any format; when "
                        f"history.valid_loss is wrong too, fix that first); after the line of the "
                        f"epoch before, it printed:\n{chr(10).join(lines[position:]) or '(nothing)'}",
                        contract="fit.progress")
        position = found + 1


@pytest.mark.fit
def test_fit_learns_a_separable_problem(impl):
    history = impl.scenario(fit_blobs, 3)
    losses, accuracies = history["train_loss"], history["valid_accuracy"]
    assert_true(len(losses) == 40 and losses[-1] < losses[0] / 4 and accuracies[-1] == 1.0,
                f"on two well-separated blobs (4 batches, 10 epochs), fit should drive the loss "
                f"down and the accuracy to 1: losses went {losses[:1]} ... {losses[-1:]} "
                f"({len(losses)} in all), accuracy per epoch {accuracies}")
