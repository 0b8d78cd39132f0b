"""Tests for kata 05, Module from scratch. Run them with `pytest katas/05_module`.

The oracle for registration is torch.nn.Module itself: every tree of modules the tests
build from your Module is built again from torch's, with the same plan of assignments,
and the two must list the same parameters in the same order. Layers are compared with
torch's functions on copied weights, in float64, within rounding bounds from
kata.tolerances.

Your classes run in scenarios (the functions without a ``test_`` prefix): each builds your
objects from plain inputs (seeds, sizes, tensors), uses them, and hands back what it saw
(values, and which of the objects it assigned came back, by position); the tests judge
those observations against torch.
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from kata.assertions import assert_contract, assert_tensor, assert_true, assert_value, raises
from kata.oracles import TorchSGD
from kata.strategies import distinct_sizes, module_trees, tensors
from kata.tolerances import dot_product_error, gamma, log_softmax_error, unit_roundoff

SEED = 20260101


def _pool(size):
    """The shared parameters a tree of modules is built from: parameter i is i, (i + 1) times."""
    return [nn.Parameter(torch.full((index + 1,), float(index))) for index in range(size)]


def _build_tree(module_class, assignments, pool):
    """A tree of ``module_class`` instances that follows ``assignments`` (see
    kata.strategies.ModuleTree); returns its modules, the root first."""
    modules = [module_class() for _ in assignments]
    for node, plan in enumerate(assignments):
        for position, (kind, index) in enumerate(plan):
            value = {"parameter": lambda: pool[index], "tensor": lambda: torch.zeros(2, requires_grad=True),
                     "child": lambda: modules[index]}[kind]()
            setattr(modules[node], f"{kind}{position}", value)
    return modules


def _which(found, known, kind="parameter"):
    """For each object of ``found``, its position in ``known`` ("parameter 2"), or what it is
    when it is none of them (a copy, a new object)."""
    positions = {id(candidate): index for index, candidate in enumerate(known)}
    return [f"{kind} {positions[id(item)]}" if id(item) in positions
            else f"a new {type(item).__name__}" + (f" of shape {tuple(item.shape)}"
                                                    if torch.is_tensor(item) else "")
            for item in found]


def _classes(value):
    """The qualified names of the classes ``value`` is an instance of."""
    return [f"{kind.__module__}.{kind.__qualname__}" for kind in type(value).__mro__]


# --- scenarios: they run beside your code and return what they saw ------------------------

def list_parameters(local, assignments, pool_size):
    """Which pool parameters ``parameters()`` of the tree yields, in order."""
    pool = _pool(pool_size)
    root = _build_tree(local.Module, assignments, pool)[0]
    return _which(root.parameters(), pool)


def assign_plain_values(local):
    """A module given a plain tensor that requires grad, an int and one parameter."""
    module = local.Module()
    weights, scale = torch.ones(3, requires_grad=True), nn.Parameter(torch.ones(1))
    module.weights = weights
    module.size = 3
    module.scale = scale
    return {"parameters": _which(module.parameters(), [weights, scale]),
            "weights": module.weights, "size": module.size}


def reassign(local):
    """``m.w = p0; m.w = p1``, then ``m.w = <plain tensor>``: the parameters after each."""
    module = local.Module()
    pool = _pool(2)
    module.w = pool[0]
    module.w = pool[1]
    after_two = _which(module.parameters(), pool)
    module.w = torch.zeros(1)
    return {"after_two": after_two, "after_plain": _which(module.parameters(), pool)}


def call_a_module(local, x, shift):
    """A subclass whose forward is ``2 * x + shift``, called with and without ``shift``."""
    class Shifted(local.Module):
        def forward(self, x, shift=0.0):
            return 2 * x + shift

    module = Shifted()
    return {"with_shift": module(x, shift=shift), "without": module(x)}


def clear_gradients(local, assignments, pool_size, has_grad):
    """The pool parameters' gradients after ``zero_grad()`` of the tree; parameter i had a
    gradient of ones before when ``has_grad[i]``, none at all otherwise."""
    pool = _pool(pool_size)
    root = _build_tree(local.Module, assignments, pool)[0]
    for parameter, given_grad in zip(pool, has_grad):
        parameter.grad = torch.ones_like(parameter) if given_grad else None
    root.zero_grad()
    return [parameter.grad for parameter in pool]


def move_tree(local, assignments, pool_size, device):
    """``to(device)`` of the tree: what it returned, and its parameters before and after."""
    pool = _pool(pool_size)
    modules = _build_tree(local.Module, assignments, pool)
    before = list(modules[0].parameters())
    returned = modules[0].to(device)
    after = list(modules[0].parameters())
    return {"returned": _which([returned], modules, "module")[0],
            "before": _which(before, pool), "after": _which(after, pool),
            "devices": [str(p.device) for p in after], "values": [p.detach().cpu() for p in after]}


def forget_super_init(local):
    """A subclass that assigns a parameter without calling ``super().__init__()``."""
    class Forgetful(local.Module):
        def __init__(self):
            self.w = nn.Parameter(torch.zeros(1))

    Forgetful()


def make_weights(local, seed, *dims):
    """``get_weights(*dims)`` after ``torch.manual_seed(seed)``, and the classes it is of."""
    torch.manual_seed(seed)
    weights = local.get_weights(*dims)
    return {"weights": weights, "classes": _classes(weights)}


def run_linear(local, seed, n_in, n_out, bias, x):
    """``Linear(n_in, n_out)`` made after ``torch.manual_seed(seed)``, its bias set to
    ``bias``, applied to ``x``."""
    torch.manual_seed(seed)
    layer = local.Linear(n_in, n_out)
    order = _which(layer.parameters(), [layer.weight, layer.bias])
    with torch.no_grad():
        layer.bias.copy_(bias)
    return {"weight": layer.weight, "bias": layer.bias, "order": order, "out": layer(x)}


def apply_layer(local, name, x):
    """``name()(x)`` for a layer without arguments, the number of its parameters, and ``x``
    as the layer left it."""
    layer = getattr(local, name)()
    return {"out": layer(x), "parameters": len(list(layer.parameters())), "x_after": x}


#: the layers of the Sequential test, by name: plain functions both sides can recompute
STEPS = {"double": lambda t: 2 * t, "add_one": lambda t: t + 1, "square": lambda t: t * t}


def run_sequential(local, steps, x, order=None):
    """``Sequential`` of one layer per step (each with a parameter of its own), in ``order``
    (indexes into ``steps``, a layer used twice where one repeats; default: each once, in
    turn), applied to x, and which layer's parameter ``parameters()`` yields, in order."""
    class Step(local.Module):
        def __init__(self, step):
            super().__init__()
            self.step = step
            self.p = nn.Parameter(torch.zeros(1))

        def forward(self, t):
            return STEPS[self.step](t)

    layers = [Step(step) for step in steps]
    model = local.Sequential(*(layers[index] for index in (order or range(len(steps)))))
    return {"out": model(x), "order": _which(model.parameters(), [layer.p for layer in layers], "layer")}


def logreg_shapes(local):
    """The shapes of a fresh ``LogReg``'s parameters, and of its ``l1_w`` and ``l1_b``."""
    model = local.LogReg()
    return {"parameters": [tuple(p.shape) for p in model.parameters()],
            "l1_w": tuple(model.l1_w.shape), "l1_b": tuple(model.l1_b.shape)}


def run_logreg(local, seed, x):
    """A ``LogReg`` made after ``torch.manual_seed(seed)``: its weights and its output on x."""
    torch.manual_seed(seed)
    model = local.LogReg()
    return {"l1_w": model.l1_w, "l1_b": model.l1_b, "out": model(x)}


def gradients_after_backward(local, make, seed, x, y):
    """The gradients of ``make()``'s parameters after backward() of torch's nll_loss of its
    output on x (None for a parameter that got none)."""
    torch.manual_seed(seed)
    model = getattr(local, make)()
    nn.functional.nll_loss(model(x), y).backward()
    return [(tuple(p.shape), p.grad) for p in model.parameters()]


def run_mlp(local, sizes, inputs):
    """``mlp(*sizes)`` (the defaults when ``sizes`` is empty): the classes it is of, its
    parameters, and its outputs on each of ``inputs``."""
    torch.manual_seed(SEED)
    model = local.mlp(*sizes)
    return {"classes": _classes(model), "parameters": list(model.parameters()),
            "outs": [model(x) for x in inputs]}


def step_with_torchs_sgd(local, seed, x, y):
    """A ``LogReg`` stepped once by torch's SGD update: its parameters before and after."""
    torch.manual_seed(seed)
    model = local.LogReg()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = TorchSGD(model.parameters(), lr=0.1)
    nn.functional.nll_loss(model(x), y).backward()
    optimizer.step()
    return {"before": before, "after": list(model.parameters())}


# --- the tests --------------------------------------------------------------------------

def _expected_parameters(tree):
    """The pool parameters torch's nn.Module yields for ``tree``, in order."""
    pool = _pool(tree.pool_size)
    return _which(_build_tree(nn.Module, tree.assignments, pool)[0].parameters(), pool)


def _tree_call(tree, call):
    """``call`` of the tree, with the tree as the code that builds it: modules m0 (the root),
    m1, ..., and pool[i] for parameter i, each one held in two places said so."""
    lines = [f"m{node}.{kind}{position} = " + {"parameter": f"pool[{index}]", "child": f"m{index}",
                                               "tensor": "torch.zeros(2, requires_grad=True)"}[kind]
             for node, plan in enumerate(tree.assignments)
             for position, (kind, index) in enumerate(plan)]
    held = [index for node, plan in enumerate(tree.assignments) for kind, index in plan
            if kind == "parameter"]
    shared = sorted({index for index in held if held.count(index) > 1})
    return (f"{call} of this tree of modules (m0 is the root; parameter i is pool[i])\n  "
            + "\n  ".join(lines or ["(no assignments)"])
            + "".join(f"\n  (pool[{index}] is held in {held.count(index)} places: tied weights, "
                      f"listed once)" for index in shared) + "\n")


@pytest.mark.Module
@given(module_trees())
def test_parameters_lists_each_registered_parameter_once_in_order(impl, tree):
    found = impl.scenario(list_parameters, tree.assignments, tree.pool_size)
    expected = _expected_parameters(tree)
    assert_contract(found == expected,
                    f"{_tree_call(tree, 'parameters()')}yielded the wrong objects (expected: as "
                    f"torch.nn.Module lists them):\n  expected: {expected}\n  actual:   {found}",
                    contract="Module.parameters")


@pytest.mark.Module
def test_plain_tensors_and_other_values_are_not_parameters(impl):
    got = impl.scenario(assign_plain_values)
    assert_contract(got["parameters"] == ["parameter 1"],
                    f"only nn.Parameter attributes are parameters; a plain tensor (even with "
                    f"requires_grad) and an int are not. After `m.weights = <tensor>; m.size = 3; "
                    f"m.scale = <Parameter>`, parameters() should yield m.scale alone (parameter 1 "
                    f"here), it yielded {got['parameters']}", contract="Module.parameters")
    assert_tensor(got["weights"], torch.ones(3), call="m.weights, a plain tensor assigned to the module")
    assert_value(got["size"], 3, call="m.size, an int assigned to the module")


@pytest.mark.Module
def test_reassigning_an_attribute_replaces_its_registration(impl):
    got = impl.scenario(reassign)
    assert_contract(got["after_two"] == ["parameter 1"],
                    f"after `m.w = p0; m.w = p1`, parameters() should yield p1 alone (parameter "
                    f"1), it yielded {got['after_two']}", contract="Module.parameters")
    assert_value(got["after_plain"], [], call="after `m.w = p0; m.w = p1; m.w = <plain tensor>`, "
                                              "the parameters() of m (w is no parameter any more)")


@pytest.mark.Module
@given(tensors((3,)), st.floats(-10, 10, width=32))
def test_calling_a_module_calls_forward(impl, x, shift):
    got = impl.scenario(call_a_module, x, shift)
    assert_tensor(got["with_shift"], 2 * x + shift,
                  call="module(x, shift=shift) of a Module whose forward is 2 * x + shift")
    assert_tensor(got["without"], 2 * x, call="module(x) of a Module whose forward is 2 * x + shift")


def _cleared(grads, reachable, call):
    """Every reachable parameter's gradient is gone (None) or all zeros, as the docstring
    allows."""
    left = [index for index in reachable if grads[index] is not None and grads[index].any()]
    assert_true(not left, f"{call} left gradients on parameters {left}: "
                          f"{[grads[index] for index in left]}")


@pytest.mark.Module
@given(module_trees().flatmap(lambda tree: st.tuples(
    st.just(tree), st.lists(st.booleans(), min_size=tree.pool_size, max_size=tree.pool_size))))
def test_zero_grad_clears_every_gradient(impl, case):
    tree, has_grad = case
    grads = impl.scenario(clear_gradients, tree.assignments, tree.pool_size, has_grad)
    reachable = sorted({int(label.split()[1]) for label in _expected_parameters(tree)})
    _cleared(grads, reachable, _tree_call(tree, f"zero_grad() (parameters with a gradient before: "
                                                f"{[i for i, g in enumerate(has_grad) if g]})"))


@pytest.mark.Module
def test_zero_grad_of_a_fresh_model_does_nothing(impl):
    plan = ((("parameter", 0), ("child", 1)), (("parameter", 1),))  # no backward has run yet
    grads = impl.scenario(clear_gradients, plan, 2, [False, False])
    _cleared(grads, [0, 1], f"zero_grad() of a fresh model whose parameters have no gradients "
                            f"yet (assignments {plan})")


@pytest.mark.Module
@given(module_trees())
def test_to_moves_parameters_and_keeps_them_the_same_objects(impl, device, tree):
    got = impl.scenario(move_tree, tree.assignments, tree.pool_size, device)
    call = _tree_call(tree, f"to({str(device)!r})")
    assert_contract(got["returned"] == "module 0",
                    f"{call} should return the module itself; it returned {got['returned']}",
                    contract="Module.to.returns_module")
    assert_contract(got["after"] == got["before"],
                    f"{call} must keep the same Parameter objects (move their data), or an "
                    f"optimizer made before the move would update parameters the model no longer "
                    f"uses:\n  before: {got['before']}\n  after:  {got['after']}",
                    contract="Module.to.same_objects")
    assert_true(all(place.split(":")[0] == device.type for place in got["devices"]),
                f"{call} left parameters on {sorted(set(got['devices']))}")
    pool = _pool(tree.pool_size)
    for label, value in zip(got["after"], got["values"]):
        assert_tensor(value, pool[int(label.split()[1])].detach(), call=f"{call}: {label}")


@pytest.mark.Module
def test_forgetting_super_init_is_an_attribute_error(impl):
    with raises(AttributeError, "a subclass of Module whose __init__ assigns a parameter without "
                                "calling super().__init__() first", contract="Module.super_init"):
        impl.scenario(forget_super_init)


@pytest.mark.get_weights
@given(distinct_sizes("rows", "cols", min_size=2, max_size=8))
def test_get_weights_is_a_parameter_of_the_given_shape(impl, sizes):
    call = f"get_weights({sizes['rows']}, {sizes['cols']})"
    got = impl.scenario(make_weights, SEED, sizes["rows"], sizes["cols"])
    assert_contract("torch.nn.parameter.Parameter" in got["classes"],
                    f"{call} should return an nn.Parameter, got {got['classes'][0]}",
                    contract="get_weights.parameter")
    assert_value(tuple(got["weights"].shape), (sizes["rows"], sizes["cols"]), call=f"{call}.shape")
    assert_value(got["weights"].dtype, torch.float32, call=f"{call}.dtype")


@pytest.mark.get_weights
def test_get_weights_is_standard_normal_over_the_first_dim(impl):
    rows, cols = 400, 50
    w = impl.scenario(make_weights, SEED, rows, cols)["weights"].double() * rows  # standard normal if right
    n = w.numel()
    # For n standard normal draws the sample mean has sd 1/sqrt(n) and the sample sd has
    # sd about 1/sqrt(2n): 6 of those is one chance in 10^9 of a false alarm.
    assert_true(abs(w.mean().item()) <= 6 / n ** 0.5 and abs(w.std().item() - 1) <= 6 / (2 * n) ** 0.5,
                f"get_weights({rows}, {cols}) * {rows} should look standard normal (randn / dims[0]): "
                f"its mean is {w.mean().item():.4f} and its std {w.std().item():.4f}")


@pytest.mark.Linear
@given(distinct_sizes("batch", "n_in", "n_out"), st.integers(0, 2**31 - 1))
def test_linear_matches_torch(impl, sizes, seed):
    generator = torch.Generator().manual_seed(seed)
    bias = torch.randn(sizes["n_out"], generator=generator)
    x = torch.randn(sizes["batch"], sizes["n_in"], generator=generator)
    call = f"Linear({sizes['n_in']}, {sizes['n_out']})"
    got = impl.scenario(run_linear, seed, sizes["n_in"], sizes["n_out"], bias, x)
    assert_value((tuple(got["weight"].shape), tuple(got["bias"].shape)),
                 ((sizes["n_in"], sizes["n_out"]), (sizes["n_out"],)),
                 call=f"the shapes of {call}'s (weight, bias): (n_in, n_out) and (n_out,)")
    assert_contract(got["order"] == ["parameter 0", "parameter 1"],
                    f"{call}.parameters() should yield weight (parameter 0), then bias (parameter "
                    f"1); it yielded {got['order']}", contract="Linear.parameters")
    w, b = got["weight"].detach(), got["bias"].detach()
    expected = nn.functional.linear(x.double(), w.double().T, b.double())
    error = dot_product_error(x, w) + gamma(1, torch.float32) * expected.abs()
    assert_tensor(got["out"], expected, dtype=torch.float32, atol=error,
                  call=f"{call}(x) with x of shape {tuple(x.shape)}")


def _changed_input(got, x, call):
    """How the layer changed the caller's ``x``, or "" where it left it as it was."""
    return "" if torch.equal(got["x_after"], x) else (
        f"{call} changed x, the caller's tensor, in place: x was\n{x}\nand is now\n{got['x_after']}")


@pytest.mark.ReLU
@given(tensors((3, 4)))
def test_relu_matches_torch(impl, x):
    got = impl.scenario(apply_layer, "ReLU", x)
    assert_tensor(got["out"], torch.relu(x), call="ReLU()(x)")
    assert_value(got["parameters"], 0, call="len(list(ReLU().parameters()))")
    changed = _changed_input(got, x, "ReLU()(x)")
    assert_contract(not changed, changed, contract="ReLU.keeps_input")


@pytest.mark.Sequential
@given(st.lists(st.sampled_from(sorted(STEPS)), min_size=0, max_size=5),
       tensors((2, 3), bound=4.0, exact=True))
def test_sequential_calls_its_layers_in_turn(impl, steps, x):
    got = impl.scenario(run_sequential, steps, x)
    expected = x
    for step in steps:
        expected = STEPS[step](expected)
    call = f"Sequential({', '.join(steps)})"
    assert_tensor(got["out"], expected, call=f"{call}(x)")
    assert_contract(got["order"] == [f"layer {index}" for index in range(len(steps))],
                    f"{call}.parameters() should yield its layers' parameters, in layer order "
                    f"(each layer has one); it yielded those of {got['order']}",
                    contract="Sequential.parameters")


@pytest.mark.Sequential
@given(tensors((2, 3), bound=4.0, exact=True))
def test_sequential_lists_a_layer_used_twice_once(impl, x):
    got = impl.scenario(run_sequential, ["double", "add_one"], x, [0, 1, 0])
    call = "Sequential(double, add_one, double), its first layer used twice,"
    assert_tensor(got["out"], 2 * (2 * x + 1), call=f"{call} applied to x")
    assert_contract(got["order"] == ["layer 0", "layer 1"],
                    f"{call} should list each parameter once, as its layers hold them: the first "
                    f"layer's, then the second's. Its parameters() yielded those of "
                    f"{got['order']}; an optimizer would step the first layer's twice per step.",
                    contract="Sequential.parameters")


@pytest.mark.LogSoftmax
@given(st.sampled_from([(2, 3), (4, 5, 3)]).flatmap(lambda shape: tensors(shape, bound=50.0)))
def test_log_softmax_layer_matches_torch_over_the_last_axis(impl, x):
    got = impl.scenario(apply_layer, "LogSoftmax", x)
    call = f"LogSoftmax()(x) with x of shape {tuple(x.shape)}"
    assert_tensor(got["out"], torch.log_softmax(x.double(), -1), dtype=x.dtype,
                  atol=log_softmax_error(x, -1), call=call)
    changed = _changed_input(got, x, call)
    assert_contract(not changed, changed, contract="LogSoftmax.keeps_input")


@pytest.mark.LogReg
def test_logreg_has_the_lessons_7850_parameters(impl):
    got = impl.scenario(logreg_shapes)
    assert_value((got["l1_w"], got["l1_b"]), ((784, 10), (10,)),
                 call="the shapes of LogReg()'s (l1_w, l1_b)")
    assert_value(got["parameters"], [(784, 10), (10,)],
                 call="the shapes of LogReg().parameters(): l1_w, then l1_b (7,850 numbers)")


def _torch_logreg(l1_w, l1_b):
    """The lesson's LogReg from torch's layers, with the learner's weights copied in."""
    linear = nn.Linear(784, 10).double()
    with torch.no_grad():
        linear.weight.copy_(l1_w.T)
        linear.bias.copy_(l1_b)
    return nn.Sequential(nn.Flatten(), linear, nn.LogSoftmax(dim=1))


def _check_logreg(got, x, call):
    """LogReg's output on x against torch's layers with its own weights, within the rounding
    of the product and of log-softmax; each row exponentiates to probabilities."""
    w, b = got["l1_w"].detach(), got["l1_b"].detach()
    expected = _torch_logreg(w, b)(x.double())
    flat = x.reshape(len(x), 784)
    error = dot_product_error(flat, w) + log_softmax_error(flat @ w + b, -1)
    assert_tensor(got["out"], expected, dtype=torch.float32, atol=error, call=call)
    # each entry is within `error` of the exact one, so each row's sum of exp is within
    # expm1(max error) of 1
    total = got["out"].detach().double().exp().sum(1)
    assert_true(((total - 1).abs() <= torch.expm1(error.amax(1))).all(),
                f"LogReg's rows should exponentiate to probabilities that sum to 1: {total}")


@pytest.mark.LogReg
@given(st.integers(1, 5), st.booleans(), st.integers(0, 2**31 - 1))
def test_logreg_matches_torch_layers_with_the_same_weights(impl, n, as_images, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand((n, 28, 28) if as_images else (n, 784), generator=generator)
    got = impl.scenario(run_logreg, seed, x)
    _check_logreg(got, x, f"LogReg()(x) with x of shape {tuple(x.shape)}")


@pytest.mark.LogReg
def test_logreg_is_finite_for_large_inputs(impl):
    # pixels up to 1e4 make logits of a few hundred: exp overflows float32 above about 88
    x = torch.rand(4, 784, generator=torch.Generator().manual_seed(SEED)) * 1e4
    got = impl.scenario(run_logreg, SEED, x)
    call = "LogReg()(x) with pixel values up to 1e4"
    assert_true(torch.isfinite(got["out"]).all(),
                f"{call} is not finite: its logits reach a few hundred, and exp of them is inf "
                f"in float32. Your log_softmax of kata 04 subtracts the max first; "
                f"log(softmax(...)) without that overflows:\n{got['out']}")
    _check_logreg(got, x, call)


@pytest.mark.LogReg
@pytest.mark.mlp
@pytest.mark.parametrize("make", ["LogReg", "mlp"])
def test_gradients_reach_every_parameter(impl, make):
    generator = torch.Generator().manual_seed(SEED)
    x, y = torch.randn(16, 784, generator=generator), torch.arange(16) % 10
    got = impl.scenario(gradients_after_backward, make, SEED, x, y)
    missing = [shape for shape, grad in got if grad is None or not grad.any()]
    assert_true(got and not missing,
                f"after backward() of a loss of {make}()'s output, these parameters have no "
                f"gradient: {missing or 'it has no parameters'}")


def _affirm_your_module(classes, call):
    assert_contract("module.Module" in classes,
                    f"{call} should build your Module (a Sequential of this kata), got an object "
                    f"of {classes[0]}", contract="mlp.your_module")


@pytest.mark.mlp
@given(distinct_sizes("n_in", "n_hidden", "n_out", min_size=2, max_size=9))
def test_mlp_is_linear_relu_linear_with_log_softmax(impl, sizes):
    n_in, n_hidden, n_out = sizes.values()
    call = f"mlp({n_in}, {n_hidden}, {n_out})"
    x = torch.randn(3, n_in, generator=torch.Generator().manual_seed(SEED))
    got = impl.scenario(run_mlp, [n_in, n_hidden, n_out], [x])
    _affirm_your_module(got["classes"], call)
    shapes = [tuple(p.shape) for p in got["parameters"]]
    assert_value(shapes, [(n_in, n_hidden), (n_hidden,), (n_hidden, n_out), (n_out,)],
                 call=f"the shapes of {call}.parameters()")
    out, = got["outs"]
    assert_value(tuple(out.shape), (3, n_out), call=f"{call}(x).shape with x of shape (3, {n_in})")
    allowed = torch.expm1(_mlp_log_probability_error(x, *(p.detach() for p in got["parameters"])))
    total = out.detach().double().exp().sum(1)
    assert_true(((total - 1).abs() <= allowed).all(),
                f"{call}'s output rows should be log-probabilities (exp sums to 1); got sums {total}")


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
    a = torch.randn(32, 784, generator=torch.Generator().manual_seed(SEED)) * 10
    got = impl.scenario(run_mlp, [], [a, -a, torch.zeros_like(a)])
    _affirm_your_module(got["classes"], "mlp()")
    assert_value([tuple(p.shape) for p in got["parameters"]], [(784, 100), (100,), (100, 10), (10,)],
                 call="the shapes of mlp().parameters(): 784 inputs, 100 hidden units, 10 outputs")
    # The difference of two classes' log-probabilities is the difference of two logits,
    # which is affine in x if the hidden layer has no ReLU: then d(a) + d(-a) - 2 d(0)
    # vanishes up to rounding, at most a few gamma_884 times the sizes of the terms.
    d_a, d_minus_a, d_0 = (out.detach().double()[:, 0] - out.detach().double()[:, 1] for out in got["outs"])
    curvature = (d_a + d_minus_a - 2 * d_0).abs()
    scale = d_a.abs() + d_minus_a.abs() + 2 * d_0.abs()
    rounding = 8 * gamma(884, torch.float32) * scale
    assert_true((curvature > 100 * rounding).any(),
                "mlp() behaves as an affine map: d(a) + d(-a) = 2 d(0) for every input tried. "
                "Is the ReLU between the two Linear layers missing?")


@pytest.mark.LogReg
def test_your_modules_work_with_torchs_sgd(impl):
    generator = torch.Generator().manual_seed(SEED)
    got = impl.scenario(step_with_torchs_sgd, SEED, torch.randn(8, 784, generator=generator), torch.arange(8))
    unmoved = [tuple(old.shape) for new, old in zip(got["after"], got["before"])
               if torch.equal(new.detach(), old)]
    assert_true(got["before"] and not unmoved,
                f"torch's SGD update did not move these parameters of LogReg: {unmoved}")
