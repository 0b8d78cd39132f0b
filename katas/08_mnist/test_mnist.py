"""Tests for kata 08, the final exam. Run them with `pytest katas/08_mnist`.

First the pieces (normalize, predict), then sanity checks of your earlier katas on real
MNIST (they explain a low accuracy before you wait for training), then the exam: your
models trained by your own code on the 60,000 training images, scored by these tests on
the 10,000 test images. Training runs on the device chosen with --device (CUDA when there
is one); the test marked gpu trains on CUDA whatever --device says.

MNIST comes from the harness (kata.mnist_data): the directory in MNIST_DIR, else a
per-user cache that it fills by downloading once.

Your code runs in scenarios (the functions without a ``test_`` prefix): each builds and
trains your models from plain inputs (a seed, a device, the directory MNIST is read from)
and hands back what it saw (predictions, parameter values); the tests score those
against the labels they load themselves.
"""

import functools
import os

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from kata.assertions import assert_contract, assert_tensor, assert_true, assert_value
from kata.mnist_data import cache_dir, load_images, load_mnist
from kata.oracles import TorchSGD
from kata.strategies import distinct_sizes, tensors
from kata.tolerances import dot_product_error, log_softmax_error, unit_roundoff

TARGETS = {"train_logistic_regression": 0.91, "train_mlp": 0.97}


@functools.cache
def mnist(directory=None):
    """Raw training and test images (float32 in [0, 1], (n, 784)) and labels (int64), from
    ``directory`` (default: MNIST_DIR, else the per-user cache, filled on first use)."""
    return load_mnist("train", directory) + load_mnist("test", directory)


def mnist_directory():
    """Where MNIST lies once ``mnist()`` has found or fetched it: scenarios read it there,
    and nowhere else."""
    mnist()
    return os.environ.get("MNIST_DIR") or str(cache_dir())


@functools.cache
def normalized(directory=None):
    """What the exam's scenarios read: the training images and labels, and the test images,
    shifted and scaled by the training images' mean and std. Never the test labels: a
    scenario runs beside the learner's code, where they would be the answers."""
    x, y = load_mnist("train", directory)
    x_test = load_images("test", directory)
    mean, std = x.double().mean().item(), x.double().std().item()
    return (x - mean) / std, y, (x_test - mean) / std


@pytest.mark.normalize
@given(distinct_sizes("n", "features"), st.data())
def test_normalize_matches_the_formula(impl, sizes, data):
    x = data.draw(tensors((sizes["n"], sizes["features"]), bound=1.0), label="x")
    per_feature = data.draw(st.booleans(), label="per-feature statistics")
    shape = (sizes["features"],) if per_feature else ()
    mean = data.draw(tensors(shape, bound=1.0), label="mean")
    std = data.draw(tensors(shape, bound=1.0).map(lambda s: s.abs() + 0.125), label="std")
    if not per_feature:
        mean, std = mean.item(), std.item()
    expected = (x.double() - torch.as_tensor(mean).double()) / torch.as_tensor(std).double()
    u = unit_roundoff(torch.float32)
    # one rounding in the subtraction, one in the division
    allowed = u * (x.double().abs() + torch.as_tensor(mean).double().abs()) / torch.as_tensor(std).double() \
        + u * expected.abs()
    assert_tensor(impl.normalize(x, mean, std), expected, dtype=torch.float32, atol=2 * allowed,
                  call="normalize(x, mean, std)")


class _ScoringSpy:
    """A stand-in model: its scores are its inputs. Records every batch it is called on."""

    def __init__(self):
        self.calls = []

    def __call__(self, xb):
        self.calls.append((len(xb), torch.is_grad_enabled()))
        return xb.clone().requires_grad_()


def _classes(value):
    """The qualified names of the classes ``value`` is an instance of."""
    return [f"{kind.__module__}.{kind.__qualname__}" for kind in type(value).__mro__]


# --- scenarios: they run beside your code and return what they saw ------------------------

def predict_with_a_spy(local, x, batch_size):
    """Your predict with a model whose scores are its inputs: the predictions, and the size
    of each batch it was called on with whether gradients were on."""
    model = _ScoringSpy()
    return {"predicted": local.predict(model, x, batch_size=batch_size), "calls": model.calls}


def logreg_on_a_batch(local, seed, xb):
    """Your LogReg (kata 05), made after ``torch.manual_seed(seed)``: its weights and its
    log-probabilities for ``xb``."""
    torch.manual_seed(seed)
    model = local.LogReg()
    return {"l1_w": model.l1_w, "l1_b": model.l1_b, "out": model(xb)}


def gradients_on_a_batch(local, make, seed, xb, yb):
    """Your ``make()`` model (kata 05), made after ``torch.manual_seed(seed)``: its
    parameters and the gradients backward() of torch's nll_loss of its output leaves."""
    torch.manual_seed(seed)
    model = getattr(local, make)()
    nn.functional.nll_loss(model(xb), yb).backward()
    return [(p.detach(), p.grad) for p in model.parameters()]


def one_sgd_step(local, values, grads):
    """One step of your SGD (kata 07), lr 0.1 and momentum 0.9, over parameters holding
    ``values`` with gradients ``grads``: their values afterwards."""
    params = [nn.Parameter(value.clone()) for value in values]
    for p, grad in zip(params, grads):
        p.grad = grad
    local.SGD(params, lr=0.1, momentum=0.9).step()
    return [p.detach() for p in params]


def train_and_predict(local, trainer, device, directory):
    """Your ``trainer`` on MNIST's normalized training images (read from ``directory``) on
    ``device``: the classes of the model it returns, the devices of its parameters, and its
    predictions for the 10,000 test images."""
    x, y, x_test = normalized(directory)
    torch.manual_seed(0)
    model = getattr(local, trainer)(x, y, device)
    x_test = x_test.to(device)
    with torch.no_grad():
        predicted = torch.cat([model(x_test[i:i + 1000]).argmax(1) for i in range(0, len(x_test), 1000)])
    return {"classes": _classes(model), "devices": sorted({p.device.type for p in model.parameters()}),
            "predicted": predicted.cpu()}


# --- the tests --------------------------------------------------------------------------

@pytest.mark.predict
@given(st.integers(1, 40), st.integers(1, 16), st.integers(0, 2**31 - 1))
def test_predict_takes_argmax_in_batches_without_gradients(impl, n, batch_size, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.stack([torch.randperm(5, generator=generator) for _ in range(n)]).float()
    got = impl.scenario(predict_with_a_spy, x, batch_size)
    call = f"predict(model, x of {n} rows, batch_size={batch_size})"
    assert_tensor(got["predicted"], x.argmax(1), call=call)
    sizes = [size for size, _ in got["calls"]]
    assert_value(sizes, [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else []),
                 call=f"the sizes of the batches {call} called the model on (in order, the last "
                      f"one smaller)")
    assert_true(not any(grad for _, grad in got["calls"]),
                f"{call} called the model with gradients on: predict under torch.no_grad()")


def _first_batch():
    x, y, _ = normalized()
    return x[:64], y[:64]


@pytest.mark.train_logistic_regression
def test_sanity_your_loss_on_an_mnist_batch_is_torch_cross_entropy(impl_of):
    xb, yb = _first_batch()
    got = impl_of("05").scenario(logreg_on_a_batch, 0, xb)
    loss = impl_of("07").nll_loss(got["out"], yb)
    w, b = got["l1_w"].detach(), got["l1_b"].detach()
    logits = xb @ w + b
    expected = nn.functional.cross_entropy(xb.double() @ w.double() + b.double(), yb)
    allowed = (dot_product_error(xb, w).amax() + log_softmax_error(logits, -1).amax()
               + 64 * unit_roundoff(torch.float32) * expected.abs())
    assert_tensor(loss, expected, dtype=torch.float32, atol=allowed,
                  call="nll_loss(LogReg()(xb), yb) on the first 64 training images, against "
                       "torch's cross_entropy of the same logits (your kata 05 and 07)")


@pytest.mark.train_logistic_regression
@pytest.mark.train_mlp
@pytest.mark.parametrize("make", ["LogReg", "mlp"])
def test_sanity_one_sgd_step_moves_every_parameter(impl_of, make):
    xb, yb = _first_batch()
    found = impl_of("05").scenario(gradients_on_a_batch, make, 0, xb, yb)
    ungraded = [tuple(value.shape) for value, grad in found if grad is None or not grad.any()]
    assert_true(found and not ungraded,
                f"backward() of the loss of your {make}() on an MNIST batch left these parameters "
                f"without a gradient: {ungraded or 'it has no parameters'} (your kata 05)")
    values, grads = [value for value, _ in found], [grad for _, grad in found]
    after = impl_of("07").scenario(one_sgd_step, values, grads)
    expected = [nn.Parameter(value.clone()) for value in values]
    for p, grad in zip(expected, grads):
        p.grad = grad
    TorchSGD(expected, lr=0.1, momentum=0.9).step()
    for index, (ours, theirs) in enumerate(zip(after, expected)):
        # one step from a fresh velocity, p - lr * grad: each side rounds the product and
        # the difference at most once, each by u times |p| + lr |grad| at most
        allowed = 4 * unit_roundoff(torch.float32) * (values[index].abs() + 0.1 * grads[index].abs())
        assert_tensor(ours, theirs.detach(), atol=allowed,
                      call=f"parameter {index} of your {make}() after one step of your "
                           f"SGD(lr=0.1, momentum=0.9) on an MNIST batch (your kata 07)")


_trained = {}


def trained(impl, trainer, device):
    """What ``train_and_predict`` saw of the learner's ``trainer`` on ``device``, once per run."""
    if (trainer, device.type) not in _trained:
        _trained[trainer, device.type] = impl.scenario(train_and_predict, trainer, device, mnist_directory())
    return _trained[trainer, device.type]


def accuracy_on_test_images(predicted):
    """The fraction of the 10,000 test images whose label ``predicted`` holds."""
    labels = mnist()[3]
    assert_value(tuple(predicted.shape), tuple(labels.shape),
                 call="the shape of the model's predictions for the 10,000 test images")
    return (predicted == labels).double().mean().item()


@pytest.mark.training
@pytest.mark.train_logistic_regression
@pytest.mark.train_mlp
@pytest.mark.parametrize("trainer", TARGETS)
def test_exam_reaches_the_lessons_test_accuracy(impl, device, trainer):
    got = trained(impl, trainer, device)
    assert_contract("module.Module" in got["classes"],
                    f"{trainer} should return your Module from kata 05, got an object of "
                    f"{got['classes'][0]}", contract=f"{trainer}.your_model")
    assert_value(got["devices"], [device.type],
                 call=f"the devices of the parameters of the model {trainer}(x, y, {str(device)!r}) returns")
    accuracy = accuracy_on_test_images(got["predicted"])
    assert_true(accuracy >= TARGETS[trainer],
                f"{trainer} reached {accuracy:.4f} on the 10,000 test images; the exam asks for "
                f"{TARGETS[trainer]}. If the sanity checks above pass, look at the learning rate, "
                f"the number of epochs (at most 5) and shuffling.")


@pytest.mark.training
@pytest.mark.gpu
@pytest.mark.train_logistic_regression
def test_exam_trains_on_the_gpu(impl):
    got = trained(impl, "train_logistic_regression", torch.device("cuda"))
    # the batches must be on the GPU too: a CPU batch times CUDA weights would have failed
    assert_value(got["devices"], ["cuda"],
                 call="the devices of the parameters of train_logistic_regression(x, y, 'cuda')")
    accuracy = accuracy_on_test_images(got["predicted"])
    assert_true(accuracy >= TARGETS["train_logistic_regression"],
                f"on the GPU, logistic regression reached only {accuracy:.4f}")
