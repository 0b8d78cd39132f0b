"""Tests for kata 05, Module from scratch. Run them with `pytest katas/05_module`.

The oracle for registration is torch.nn.Module itself: every tree of modules the tests
build from your Module is built again from torch's, with the very same Parameter objects,
and the two must list the same parameters in the same order. Layers are compared with
torch's functions on copied weights, in float64, within rounding bounds from
kata.tolerances.
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from kata.assertions import assert_tensor, assert_true
from kata.oracles import TorchSGD
from kata.strategies import distinct_sizes, module_trees, tensors
from kata.tolerances import dot_product_error, gamma, log_softmax_error, unit_roundoff

SEED = 20260101


def _build(module_class, tree):
    """The same tree twice: from the learner's Module and from torch.nn.Module."""
    pool = [nn.Parameter(torch.full((index + 1,), float(index))) for index in range(tree.pool_size)]
    theirs = [module_class() for _ in tree.assignments]
    mirror = [nn.Module() for _ in tree.assignments]
    for node, plan in enumerate(tree.assignments):
        for position, (kind, index) in enumerate(plan):
            name = f"{kind}{position}"
            if kind == "parameter":
                values = pool[index], pool[index]
            elif kind == "tensor":
                plain = torch.zeros(2, requires_grad=True)
                values = plain, plain
            else:
                values = theirs[index], mirror[index]
            setattr(theirs[node], name, values[0])
            setattr(mirror[node], name, values[1])
    return theirs[0], mirror[0]


def _describe(parameters):
    return [f"Parameter {p.tolist()}" for p in parameters]


@pytest.mark.Module
@given(module_trees())
def test_parameters_lists_each_registered_parameter_once_in_order(impl, tree):
    module, mirror = _build(impl.Module, tree)
    found = module.parameters()
    expected = list(mirror.parameters())
    found = list(found)
    assert_true([id(p) for p in found] == [id(p) for p in expected],
                f"parameters() of this tree of modules (assignments per module, root first: "
                f"{tree.assignments}) should yield its own parameters in assignment order, then "
                f"each child's, recursively, each object once:\n"
                f"  expected: {_describe(expected)}\n  actual:   {_describe(found)}")


@pytest.mark.Module
def test_plain_tensors_and_other_values_are_not_parameters(impl):
    module = impl.Module()
    module.weights = torch.ones(3, requires_grad=True)
    module.size = 3
    module.scale = nn.Parameter(torch.ones(1))
    found = list(module.parameters())
    assert_true(len(found) == 1 and found[0] is module.scale,
                f"only nn.Parameter attributes are parameters; a plain tensor (even with "
                f"requires_grad) and an int are not. parameters() gave {_describe(found)}")
    assert_true(torch.equal(module.weights, torch.ones(3)) and module.size == 3,
                "plain attributes must still be stored: module.weights and module.size changed")


@pytest.mark.Module
def test_reassigning_an_attribute_replaces_its_registration(impl):
    module = impl.Module()
    first, second = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.ones(1))
    module.w = first
    module.w = second
    found = list(module.parameters())
    assert_true(len(found) == 1 and found[0] is second,
                f"after `m.w = p1; m.w = p2`, parameters() should give p2 alone, got {_describe(found)}")
    module.w = torch.zeros(1)
    found = list(module.parameters())
    assert_true(found == [], f"after `m.w = <plain tensor>`, the old parameter w must be gone "
                             f"from parameters(), got {_describe(found)}")


@pytest.mark.Module
@given(tensors((3,)), st.floats(-10, 10, width=32))
def test_calling_a_module_calls_forward(impl, x, shift):
    class Shifted(impl.Module):
        def forward(self, x, shift=0.0):
            return 2 * x + shift

    module = Shifted()
    assert_tensor(module(x, shift=shift), 2 * x + shift, call="module(x, shift=shift)")
    assert_tensor(module(x), 2 * x, call="module(x)")


@pytest.mark.Module
@given(module_trees())
def test_zero_grad_clears_every_gradient(impl, tree):
    module, mirror = _build(impl.Module, tree)
    for p in mirror.parameters():
        p.grad = torch.ones_like(p)
    module.zero_grad()
    left = [p for p in mirror.parameters() if p.grad is not None and p.grad.any()]
    assert_true(not left, f"zero_grad() left gradients on {_describe(left)} (tree: {tree.assignments})")


@pytest.mark.Module
@given(module_trees())
def test_to_moves_parameters_and_keeps_them_the_same_objects(impl, device, tree):
    module, mirror = _build(impl.Module, tree)
    expected = list(mirror.parameters())
    values = [p.detach().clone() for p in expected]
    held = [TorchSGD(expected, lr=0.1).params] if expected else []
    returned = module.to(device)
    assert_true(returned is module, f"to(device) should return the module itself, got {returned!r}")
    moved = list(module.parameters())
    assert_true([id(p) for p in moved] == [id(p) for p in expected],
                "to(device) must keep the same Parameter objects (move their data), or an "
                "optimizer made before the move would update parameters the model no longer uses")
    assert_true(all(p.device.type == device.type and isinstance(p, nn.Parameter) for p in moved),
                f"to({str(device)!r}) left parameters on {sorted({str(p.device) for p in moved})}")
    assert_true(all(torch.equal(p.detach().cpu(), v) for p, v in zip(moved, values)),
                f"to({str(device)!r}) changed the parameters' values")
    assert_true(all(p is q for params in held for p, q in zip(params, moved)),
                "the optimizer no longer holds the module's parameters")


@pytest.mark.Module
def test_forgetting_super_init_says_to_call_it(impl):
    class Forgetful(impl.Module):
        def __init__(self):
            self.w = nn.Parameter(torch.zeros(1))

    try:
        Forgetful()
    except NotImplementedError:
        raise
    except Exception as error:
        assert_true("super().__init__()" in str(error),
                    f"a subclass that assigns a parameter before super().__init__() should get an "
                    f"error that says to call super().__init__() first; it got "
                    f"{type(error).__name__}: {error}")
    else:
        raise AssertionError("a subclass that forgets super().__init__() and assigns a parameter "
                             "should get an error saying to call super().__init__() first; "
                             "it got none")


@pytest.mark.get_weights
@given(distinct_sizes("rows", "cols", min_size=2, max_size=8))
def test_get_weights_is_a_parameter_of_the_given_shape(impl, sizes):
    w = impl.get_weights(sizes["rows"], sizes["cols"])
    assert_true(isinstance(w, nn.Parameter) and w.requires_grad,
                f"get_weights should return an nn.Parameter, got {type(w).__name__}")
    assert_true(tuple(w.shape) == (sizes["rows"], sizes["cols"]) and w.dtype == torch.float32,
                f"get_weights({sizes['rows']}, {sizes['cols']}) has shape {tuple(w.shape)} "
                f"and dtype {w.dtype}")


@pytest.mark.get_weights
def test_get_weights_is_standard_normal_over_the_first_dim(impl):
    torch.manual_seed(SEED)
    rows, cols = 400, 50
    w = impl.get_weights(rows, cols).detach().double() * rows  # standard normal if right
    n = w.numel()
    # For n standard normal draws the sample mean has sd 1/sqrt(n) and the sample sd has
    # sd about 1/sqrt(2n): 6 of those is one chance in 10^9 of a false alarm.
    assert_true(abs(w.mean().item()) <= 6 / n ** 0.5 and abs(w.std().item() - 1) <= 6 / (2 * n) ** 0.5,
                f"get_weights({rows}, {cols}) * {rows} should look standard normal (randn / dims[0]): "
                f"its mean is {w.mean().item():.4f} and its std {w.std().item():.4f}")


@pytest.mark.Linear
@given(distinct_sizes("batch", "n_in", "n_out"), st.integers(0, 2**31 - 1))
def test_linear_matches_torch(impl, sizes, seed):
    torch.manual_seed(seed)
    layer = impl.Linear(sizes["n_in"], sizes["n_out"])
    assert_true(tuple(layer.weight.shape) == (sizes["n_in"], sizes["n_out"])
                and tuple(layer.bias.shape) == (sizes["n_out"],),
                f"Linear({sizes['n_in']}, {sizes['n_out']}) should have weight of shape (n_in, n_out) "
                f"= {(sizes['n_in'], sizes['n_out'])} and bias (n_out,); got "
                f"{tuple(layer.weight.shape)} and {tuple(layer.bias.shape)}")
    assert_true([id(p) for p in layer.parameters()] == [id(layer.weight), id(layer.bias)],
                "Linear's parameters() should be [weight, bias]")
    with torch.no_grad():
        layer.bias.copy_(torch.randn(sizes["n_out"]))
    x = torch.randn(sizes["batch"], sizes["n_in"])
    w, b = layer.weight.detach(), layer.bias.detach()
    expected = nn.functional.linear(x.double(), w.double().T, b.double())
    error = dot_product_error(x, w) + gamma(1, torch.float32) * expected.abs()
    assert_tensor(layer(x), expected, dtype=torch.float32, atol=error, call="Linear(n_in, n_out)(x)")


@pytest.mark.ReLU
@given(tensors((3, 4)))
def test_relu_matches_torch(impl, x):
    relu = impl.ReLU()
    assert_tensor(relu(x), torch.relu(x), call="ReLU()(x)")
    assert_true(list(relu.parameters()) == [], "ReLU has no parameters")


@pytest.mark.Sequential
@given(st.lists(st.sampled_from(["double", "add_one", "square"]), min_size=0, max_size=5),
       tensors((2, 3), bound=4.0, exact=True))
def test_sequential_calls_its_layers_in_turn(impl, steps, x):
    functions = {"double": lambda t: 2 * t, "add_one": lambda t: t + 1, "square": lambda t: t * t}

    def layer(step):
        class Step(impl.Module):
            def __init__(self):
                super().__init__()
                self.p = nn.Parameter(torch.zeros(1))

            def forward(self, t):
                return functions[step](t)
        return Step()

    layers = [layer(step) for step in steps]
    model = impl.Sequential(*layers)
    expected = x
    for step in steps:
        expected = functions[step](expected)
    assert_tensor(model(x), expected, call=f"Sequential({', '.join(steps)})(x)")
    assert_true([id(p) for p in model.parameters()] == [id(layer.p) for layer in layers],
                "Sequential's parameters() should be its layers' parameters, in layer order")


@pytest.mark.LogSoftmax
@given(st.sampled_from([(2, 3), (4, 5, 3)]).flatmap(lambda shape: tensors(shape, bound=50.0)))
def test_log_softmax_layer_matches_torch_over_the_last_axis(impl, x):
    assert_tensor(impl.LogSoftmax()(x), torch.log_softmax(x.double(), -1), dtype=x.dtype,
                  atol=log_softmax_error(x, -1), call="LogSoftmax()(x)")


@pytest.mark.LogReg
def test_logreg_has_the_lessons_7850_parameters(impl):
    model = impl.LogReg()
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert_true(shapes == [(784, 10), (10,)] and model.l1_w.shape == (784, 10) and model.l1_b.shape == (10,),
                f"LogReg should have l1_w (784, 10) and l1_b (10,), registered in that order; "
                f"parameters() gave shapes {shapes}")
    assert_true(sum(p.numel() for p in model.parameters()) == 7850, "LogReg should have 7,850 parameters")


def _torch_logreg(model):
    """The lesson's LogReg from torch's layers, with the learner's weights copied in."""
    linear = nn.Linear(784, 10).double()
    with torch.no_grad():
        linear.weight.copy_(model.l1_w.detach().T)
        linear.bias.copy_(model.l1_b.detach())
    return nn.Sequential(nn.Flatten(), linear, nn.LogSoftmax(dim=1))


@pytest.mark.LogReg
@given(st.integers(1, 5), st.booleans(), st.integers(0, 2**31 - 1))
def test_logreg_matches_torch_layers_with_the_same_weights(impl, n, as_images, seed):
    torch.manual_seed(seed)
    model = impl.LogReg()
    x = torch.rand(n, 28, 28) if as_images else torch.rand(n, 784)
    expected = _torch_logreg(model)(x.double())
    flat = x.reshape(n, 784)
    logits = flat @ model.l1_w.detach() + model.l1_b.detach()
    error = dot_product_error(flat, model.l1_w.detach()) + log_softmax_error(logits, -1)
    out = model(x)
    assert_tensor(out, expected, dtype=torch.float32, atol=error,
                  call=f"LogReg()(x) with x of shape {tuple(x.shape)}")
    # each entry is within `error` of the exact one, so each row's sum of exp is within
    # expm1(max error) of 1
    total = out.detach().double().exp().sum(1)
    assert_true(((total - 1).abs() <= torch.expm1(error.amax(1))).all(),
                f"LogReg's rows should exponentiate to probabilities that sum to 1: {total}")


@pytest.mark.LogReg
@pytest.mark.mlp
@pytest.mark.parametrize("make", ["LogReg", "mlp"])
def test_gradients_reach_every_parameter(impl, make):
    torch.manual_seed(SEED)
    model = getattr(impl, make)()
    x, y = torch.randn(16, 784), torch.arange(16) % 10
    nn.functional.nll_loss(model(x), y).backward()
    missing = [tuple(p.shape) for p in model.parameters() if p.grad is None or not p.grad.any()]
    assert_true(not missing, f"after backward() of a loss of {make}()'s output, these parameters "
                             f"have no gradient: {missing}")


@pytest.mark.mlp
@given(distinct_sizes("n_in", "n_hidden", "n_out", min_size=2, max_size=9))
def test_mlp_is_linear_relu_linear_with_log_softmax(impl, sizes):
    model = impl.mlp(sizes["n_in"], sizes["n_hidden"], sizes["n_out"])
    assert_true(isinstance(model, impl.Module), f"mlp() should build your Module, got {type(model)}")
    shapes = [tuple(p.shape) for p in model.parameters()]
    n_in, n_hidden, n_out = sizes.values()
    assert_true(shapes == [(n_in, n_hidden), (n_hidden,), (n_hidden, n_out), (n_out,)],
                f"mlp({n_in}, {n_hidden}, {n_out}) should have parameters of shapes "
                f"{[(n_in, n_hidden), (n_hidden,), (n_hidden, n_out), (n_out,)]}, got {shapes}")
    torch.manual_seed(SEED)
    x = torch.randn(3, n_in)
    out = model(x).detach().double()
    assert_true(out.shape == (3, n_out), f"mlp({n_in}, {n_hidden}, {n_out})(x) has shape {tuple(out.shape)}")
    allowed = torch.expm1(_mlp_log_probability_error(x, *(p.detach() for p in model.parameters())))
    total = out.exp().sum(1)
    assert_true(((total - 1).abs() <= allowed).all(),
                f"mlp's output rows should be log-probabilities (exp sums to 1); got sums {total}")


def _mlp_log_probability_error(x, w1, b1, w2, b2):
    """Per row, how far a float32 Linear-ReLU-Linear-log-softmax may put an output entry from
    the exact one: the logits' error (each dot product's, the first layer's carried through
    |w2|, one rounding per bias add), twice (the entry and logsumexp each carry it), plus
    the log-softmax's own rounding."""
    u = unit_roundoff(torch.float32)
    hidden = x.double() @ w1.double() + b1.double()
    hidden_error = dot_product_error(x, w1) + u * hidden.abs()
    h = hidden.clamp_min(0)
    logits = h @ w2.double() + b2.double()
    logits_error = (hidden_error @ w2.double().abs() + dot_product_error(h.float(), w2)
                    + u * logits.abs())
    return 2 * logits_error.amax(1) + log_softmax_error(logits.float(), -1).amax(1)


@pytest.mark.mlp
def test_mlp_default_sizes_and_it_is_not_affine(impl):
    torch.manual_seed(SEED)
    model = impl.mlp()
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert_true(shapes == [(784, 100), (100,), (100, 10), (10,)],
                f"mlp() should default to 784 inputs, 100 hidden units, 10 outputs; got {shapes}")
    a = torch.randn(32, 784) * 10
    # The difference of two classes' log-probabilities is the difference of two logits,
    # which is affine in x if the hidden layer has no ReLU: then d(a) + d(-a) - 2 d(0)
    # vanishes up to rounding, at most a few gamma_884 times the sizes of the terms.
    def d(x):
        out = model(x).detach().double()
        return out[:, 0] - out[:, 1]
    curvature = (d(a) + d(-a) - 2 * d(torch.zeros_like(a))).abs()
    scale = d(a).abs() + d(-a).abs() + 2 * d(torch.zeros_like(a)).abs()
    rounding = 8 * gamma(884, torch.float32) * scale
    assert_true((curvature > 100 * rounding).any(),
                "mlp() behaves as an affine map: d(a) + d(-a) = 2 d(0) for every input tried. "
                "Is the ReLU between the two Linear layers missing?")


@pytest.mark.LogReg
def test_your_modules_work_with_torchs_sgd(impl):
    torch.manual_seed(SEED)
    model = impl.LogReg()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = TorchSGD(model.parameters(), lr=0.1)
    nn.functional.nll_loss(model(torch.randn(8, 784)), torch.arange(8)).backward()
    optimizer.step()
    unmoved = [tuple(p.shape) for p, old in zip(model.parameters(), before) if torch.equal(p, old)]
    assert_true(not unmoved, f"torch's SGD update did not move these parameters of LogReg: {unmoved}")
