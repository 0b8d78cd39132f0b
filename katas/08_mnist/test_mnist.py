"""Tests for kata 08, the final exam. Run them with `pytest katas/08_mnist`.

First the pieces (normalize, predict), then sanity checks of your earlier katas on real
MNIST (they explain a low accuracy before you wait for training), then the exam: your
models trained by your own code on the 60,000 training images, scored by these tests on
the 10,000 test images. Training runs on the device chosen with --device (CUDA when there
is one); the test marked gpu trains on CUDA whatever --device says.

MNIST comes from the harness (kata.mnist_data): the directory in MNIST_DIR, else a
per-user cache that it fills by downloading once.
"""

import functools

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from kata.assertions import assert_tensor, assert_true
from kata.mnist_data import load_mnist
from kata.strategies import distinct_sizes, tensors
from kata.tolerances import dot_product_error, log_softmax_error, unit_roundoff

TARGETS = {"train_logistic_regression": 0.91, "train_mlp": 0.97}


@functools.cache
def mnist():
    """Raw training and test images (float32 in [0, 1], (n, 784)) and labels (int64)."""
    return load_mnist("train") + load_mnist("test")


@functools.cache
def training_statistics():
    x = mnist()[0].double()
    return x.mean().item(), x.std().item()


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


@pytest.mark.predict
@given(st.integers(1, 40), st.integers(1, 16), st.integers(0, 2**31 - 1))
def test_predict_takes_argmax_in_batches_without_gradients(impl, n, batch_size, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.stack([torch.randperm(5, generator=generator) for _ in range(n)]).float()
    model = _ScoringSpy()
    predicted = impl.predict(model, x, batch_size=batch_size)
    call = f"predict(model, x of {n} rows, batch_size={batch_size})"
    assert_tensor(predicted, x.argmax(1), call=call)
    sizes = [size for size, _ in model.calls]
    assert_true(sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else []),
                f"{call} should call the model on batches of {batch_size} rows in order, the last "
                f"one smaller; it called it on batches of {sizes}")
    assert_true(not any(grad for _, grad in model.calls),
                f"{call} called the model with gradients on: predict under torch.no_grad()")


def _first_batch():
    x, y, _, _ = mnist()
    mean, std = training_statistics()
    return (x[:64] - mean) / std, y[:64]


@pytest.mark.train_logistic_regression
def test_sanity_your_loss_on_an_mnist_batch_is_torch_cross_entropy(impl_of):
    torch.manual_seed(0)
    model = impl_of("05").LogReg()
    xb, yb = _first_batch()
    loss = impl_of("07").nll_loss(model(xb), yb)
    w, b = model.l1_w.detach(), model.l1_b.detach()
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
    torch.manual_seed(0)
    model = getattr(impl_of("05"), make)()
    training = impl_of("07")
    opt = training.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = [p.detach().clone() for p in model.parameters()]
    xb, yb = _first_batch()
    opt.zero_grad()
    training.nll_loss(model(xb), yb).backward()
    opt.step()
    unmoved = [tuple(p.shape) for p, old in zip(model.parameters(), before) if torch.equal(p.detach(), old)]
    assert_true(before and not unmoved,
                f"one step of your SGD on {make}() left these parameters where they were: "
                f"{unmoved or 'it has no parameters'} (your kata 05 and 07)")


_trained = {}


def trained(impl, trainer, device):
    """The learner's model from ``trainer`` on ``device``, trained once per run."""
    if (trainer, device.type) not in _trained:
        x, y, _, _ = mnist()
        mean, std = training_statistics()
        torch.manual_seed(0)
        model = getattr(impl, trainer)(impl.normalize(x, mean, std), y, device)
        _trained[trainer, device.type] = model
    return _trained[trainer, device.type]


def accuracy_on_test_images(model, device):
    """The fraction of the 10,000 test images that ``model`` classifies right."""
    _, _, x, y = mnist()
    mean, std = training_statistics()
    x = ((x - mean) / std).to(device)
    with torch.no_grad():
        predicted = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return (predicted.cpu() == y).double().mean().item()


@pytest.mark.train_logistic_regression
@pytest.mark.train_mlp
@pytest.mark.parametrize("trainer", TARGETS)
def test_exam_reaches_the_lessons_test_accuracy(impl, impl_of, device, trainer):
    model = trained(impl, trainer, device)
    assert_true(isinstance(model, impl_of("05").Module),
                f"{trainer} should return your Module from kata 05, got {type(model).__name__}")
    placed = {p.device.type for p in model.parameters()}
    assert_true(placed == {device.type},
                f"{trainer}(x, y, {str(device)!r}) should train on {device}; its parameters are on {placed}")
    accuracy = accuracy_on_test_images(model, device)
    assert_true(accuracy >= TARGETS[trainer],
                f"{trainer} reached {accuracy:.4f} on the 10,000 test images; the exam asks for "
                f"{TARGETS[trainer]}. If the sanity checks above pass, look at the learning rate, "
                f"the number of epochs (at most 5) and shuffling.")


@pytest.mark.gpu
@pytest.mark.train_logistic_regression
def test_exam_trains_on_the_gpu(impl):
    cuda = torch.device("cuda")
    model = trained(impl, "train_logistic_regression", cuda)
    placed = {p.device.type for p in model.parameters()}
    # the batches must be on the GPU too: a CPU batch times CUDA weights would have failed
    assert_true(placed == {"cuda"}, f"train_logistic_regression(x, y, 'cuda') left parameters on {placed}")
    accuracy = accuracy_on_test_images(model, cuda)
    assert_true(accuracy >= TARGETS["train_logistic_regression"],
                f"on the GPU, logistic regression reached only {accuracy:.4f}")
