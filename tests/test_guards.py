"""Unit tests of the rule guards (kata.harness.guards, kata.harness.loops): what each rule
catches, what it lets through, and that code cannot switch the guards off."""

import re
import sys
import textwrap
import warnings

import pytest
import torch

from kata.core.manifest import load_manifest
from kata.harness import guards
from kata.harness.guards import InputModified, RuleViolation, guarded
from kata.harness.loader import import_from_path

MANIFEST = load_manifest()
NO_LOOPS = MANIFEST.rules["no_loops"]
NO_MATMUL = MANIFEST.rules["no_library_matmul"]
NO_OUTER = MANIFEST.rules["no_library_outer"]
NO_SOFTMAX = MANIFEST.rules["no_library_softmax"]


def _learner(tmp_path, source, name="learner", folder="03_matmul"):
    """A learner module at ``tmp_path/<folder>/<name>.py``, laid out like a tree of katas."""
    path = tmp_path / folder / f"{name}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return import_from_path(path, f"{name}_{tmp_path.name}")


def _run(module, name, rules, *args):
    return guarded(getattr(module, name), rules, f"learner.{name}")(*args)


# --- no_loops: tensor operations inside loops, tensors walked element by element ---------

@pytest.mark.parametrize("body, loop", [
    ("for i in range(len(x)):\n        total = total + x[i]", "a `for` loop"),
    ("i = 0\n    while i < len(x):\n        total = total + x[i]\n        i += 1",
     "a `while` loop"),
    ("total = sum([x[i] for i in range(len(x))])", "a list comprehension"),
    ("total = sum(x[i] for i in range(len(x)))", "a generator expression"),
])
def test_a_tensor_operation_inside_a_loop_is_caught(tmp_path, body, loop):
    module = _learner(tmp_path, f"def total(x):\n    total = 0\n    {body}\n    return total\n")
    with pytest.raises(RuleViolation,
                       match=rf"`no_loops`: it runs torch.Tensor.__getitem__ inside {loop}"):
        _run(module, "total", [NO_LOOPS], torch.ones(3))


@pytest.mark.parametrize("body", [
    "torch.stack(list(map(lambda j: (a * b[:, j]).sum(1), range(b.shape[1]))), dim=1)",
    "functools.reduce(lambda x, y: x + y, (a * b).unbind(1))",
    "columns(a, b, b.shape[1] - 1)",
    "torch.stack(list(map(torch.mul, a.unbind(1), b.unbind(0)))).sum(0)",
    "sum((a * b).unbind(1))",
])
def test_a_loop_in_disguise_is_caught(tmp_path, body):
    """A function that map(), functools.reduce() or recursion calls over and over."""
    module = _learner(tmp_path, f"""
        import functools
        import torch
        def columns(a, b, j):
            column = (a * b[:, j]).sum(1)[:, None]
            return column if j == 0 else torch.cat([columns(a, b, j - 1), column], dim=1)
        def product(a, b):
            return {body}
    """)
    with pytest.raises(RuleViolation,
                       match=r"`no_loops`: it runs torch\.\S+ "
                             r"(in \S+, which .* calls )?over and over"):
        _run(module, "product", [NO_LOOPS], torch.ones(3, 3), torch.ones(3, 3))


def test_a_helper_called_from_two_places_is_no_loop(tmp_path):
    module = _learner(tmp_path, """
        def twice(x):
            return max(helper(x).max(), 0) * (helper(x) + helper(x))
        def helper(x):
            return x * 2
    """)
    assert torch.equal(_run(module, "twice", [NO_LOOPS], torch.ones(2)), torch.full((2,), 8.0))


def test_walking_a_tensor_element_by_element_is_caught(tmp_path):
    module = _learner(tmp_path, """
        def first_two(x):
            a, b = x
            return a + b
    """)
    with pytest.raises(RuleViolation,
                       match=r"walks a tensor element by element .* \(in first_two\)"):
        _run(module, "first_two", [NO_LOOPS], torch.ones(2, 3))


def test_loops_over_shapes_and_metadata_are_fine(tmp_path):
    module = _learner(tmp_path, """
        def last_axis_sum(x):
            for axis in range(x.dim()):
                if x.size(axis) != x.shape[axis] or x.stride(axis) < 0 or len(x) < 0:
                    raise ValueError("impossible")
            sizes = [size for size in x.shape if x.dtype.is_floating_point]
            return x.sum(-1) * len(sizes)
    """)
    assert torch.equal(_run(module, "last_axis_sum", [NO_LOOPS], torch.ones(2, 3)),
                       torch.full((2,), 6.0))


def test_a_loop_that_does_not_run_is_not_blamed(tmp_path):
    """The rule holds while the function runs: a comprehension on a line that this input
    never reaches breaks nothing."""
    module = _learner(tmp_path, """
        def f(x):
            if x.dim() == 0:
                return sum(v for v in x.reshape(-1))
            return x * 2
    """)
    assert torch.equal(_run(module, "f", [NO_LOOPS], torch.ones(2)), torch.full((2,), 2.0))


def test_a_loop_in_a_helper_method_or_another_learner_module_is_caught(tmp_path):
    _learner(tmp_path, """
        def add_up(x):
            total = 0
            while total < 3:
                total = total + x
            return total
    """, name="helpers", folder="01_helpers")
    sys.path.insert(0, str(tmp_path / "01_helpers"))
    try:
        module = _learner(tmp_path, """
            import helpers
            class Columns:
                @staticmethod
                def product(a, b):
                    return [(a * b[:, j]).sum(1) for j in range(b.shape[1])]
            def by_static_method(a, b):
                return Columns.product(a, b)
            def by_other_module(x):
                return helpers.add_up(x)
        """)
        with pytest.raises(RuleViolation, match=r"list comprehension at .*:6 \(in <listcomp>\)"):
            _run(module, "by_static_method", [NO_LOOPS], torch.ones(2, 2), torch.ones(2, 2))
        with pytest.raises(RuleViolation, match=r"`while` loop at .*helpers.py:4 \(in add_up\)"):
            _run(module, "by_other_module", [NO_LOOPS], torch.ones(2))
    finally:
        sys.path.remove(str(tmp_path / "01_helpers"))
        sys.modules.pop("helpers", None)


def test_a_guarded_call_inside_someone_elses_loop_is_judged_on_its_own_code(tmp_path):
    """A loop-free function called once per batch by a loop that may loop (a DataLoader
    indexing a Dataset) breaks nothing; its own loops still count."""
    module = _learner(tmp_path, """
        def double(x):
            return x * 2
        def loopy(x):
            return [v * 2 for v in range(2)] and x
        def batches(f, x):
            return [f(x[i:i + 1]) for i in range(len(x))]
    """)
    double = guarded(module.double, [NO_LOOPS], "learner.double")
    assert len(guarded(module.batches, [], "learner.batches")(double, torch.ones(3))) == 3
    loopy = guarded(module.loopy, [NO_LOOPS], "learner.loopy")
    assert torch.equal(guarded(module.batches, [], "learner.batches")(loopy, torch.ones(2))[0],
                       torch.ones(1))


def test_a_function_defined_in_a_loop_is_judged_where_it_runs(tmp_path):
    module = _learner(tmp_path, """
        def f(x):
            scales = []
            for k in range(2):
                def scale(t, k=k):
                    return t * k
                scales.append(scale)
            return scales[1](x)
    """)
    assert torch.equal(_run(module, "f", [NO_LOOPS], torch.ones(2)), torch.ones(2))


# --- operators seen at torch's dispatcher: forbidden ones, and allow-lists --------------------

def _not_allowed(operator):
    return f"it ran torch's operator {operator}, which is not among those the rule allows."


@pytest.mark.parametrize("expression, seen", [
    ("torch.ops.aten.matmul(a, b)", "it called torch.ops.aten.matmul."),
    ("torch.ops.aten.mm.default(a, b)", "it called torch.ops.aten.mm."),
    ("torch.zeros(2, 2).addmm_(a, b)", _not_allowed("aten.addmm_")),
    ("torch.zeros(2, 2).addbmm(a[None], b[None])", _not_allowed("aten.addbmm")),
    ("torch.nn.functional.conv1d(a[None], b.T[:, :, None])", _not_allowed("aten.convolution")),
    (("torch.nn.functional.embedding_bag(torch.arange(2).expand(2, 2), b, mode='sum', "
      "per_sample_weights=a)"), _not_allowed("aten._embedding_bag_forward_only")),
    ("torch.conv_tbc(a[None], b[None], torch.zeros(2))[0]", _not_allowed("aten.conv_tbc")),
    ("torch._C._nn.thnn_conv2d(a[:, :, None, None], b.T[:, :, None, None].contiguous(), (1, 1))",
     _not_allowed("aten._slow_conv2d_forward")),
    ("torch.cdist(a, b.T)", _not_allowed("aten._cdist_forward")),
    ("torch.sparse.mm(a.to_sparse_csr(), b)", _not_allowed("aten._to_sparse_csr")),
    ("torch.fft.irfft(torch.fft.rfft(a, 4) * torch.fft.rfft(b, 4), 4)",
     _not_allowed("aten.constant_pad_nd")),
])
def test_a_product_reached_without_a_forbidden_name_is_caught(tmp_path, expression, seen):
    """The allow-list trips on products that no list of forbidden ones would name."""
    module = _learner(tmp_path, f"import torch\ndef product(a, b):\n    return {expression}\n")
    with pytest.raises(RuleViolation, match=rf"`no_library_matmul`: {re.escape(seen)}"):
        _run(module, "product", [NO_MATMUL], torch.ones(2, 2), torch.ones(2, 2))


#: what learners write in katas 02-05 besides the lesson's one line: every line must pass
LESSON_IDIOMS = """
    import torch
    def idioms(a, b):
        products = (a[..., :, :, None] * b[..., None, :, :]).sum(-2, dtype=a.dtype)
        columns = torch.stack([(a * b[:, j]).sum(1) for j in range(b.shape[1])], dim=1)
        tiled = (a.unsqueeze(-1) * b.T.reshape(1, 2, 2).transpose(1, 2).repeat(2, 1, 1)).sum(1)
        out = torch.zeros(2, 2)
        out[:, 0] = a[:, 1]
        out[a > 0] = 1.0
        picked = a[a > 0].sum() + a[torch.tensor([0, 1])].sum() + a.T.reshape(-1).cumsum(0)[-1]
        made = torch.arange(2) // 1 + torch.eye(2) + torch.full((2,), 3.0) + a.new_zeros(2)
        dtype = torch.promote_types(a.dtype, torch.int64)
        e = (a - a.amax(-1, keepdim=True)).exp()
        stable = torch.exp(-torch.logaddexp(torch.zeros_like(a), -a)) + e / e.sum(-1, keepdim=True)
        distances = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1).sqrt()
        chosen = torch.where(a > 0, a, 0.0).clamp(min=0).masked_fill(a < -1, 0)
        return (products + columns + tiled + out + picked + made + stable + distances
                + chosen).double().to(dtype).sum().item()
"""


@pytest.mark.parametrize("rule", [NO_OUTER, NO_MATMUL, NO_SOFTMAX], ids=lambda rule: rule.name)
def test_the_lessons_building_blocks_pass_the_allow_lists(tmp_path, rule):
    """Element-wise operations, reductions, views, indexing, new tensors, copies and dtype
    questions: what the lesson builds from, and every operator torch runs below them."""
    module = _learner(tmp_path, LESSON_IDIOMS)
    assert isinstance(_run(module, "idioms", [rule], torch.ones(2, 2), torch.ones(2, 2)), float)


@pytest.mark.parametrize("expression, seen", [
    ("(1 + torch.tanh(x / 2)) / 2", "it ran torch's operator aten.tanh."),
    ("torch._C._nn.silu(x) / x", "it ran torch's operator aten.silu."),
    ("torch.exp(-torch._C._nn.softplus(-x))", "it called torch.nn.functional.softplus."),
    ("torch.logcumsumexp(x, -1)[..., -1]", _not_allowed("aten.logcumsumexp")),
    ("torch._safe_softmax(x, -1)", _not_allowed("aten._safe_softmax")),
    ("torch._C._nn.glu(torch.stack([torch.ones_like(x), x], -1), -1)", _not_allowed("aten.glu")),
    (("torch.ops.aten._scaled_dot_product_attention_math(x[None], torch.eye(2)[None], "
      "torch.eye(2)[None])"), _not_allowed("aten._safe_softmax")),
])
def test_a_softmax_or_sigmoid_under_another_name_is_caught(tmp_path, expression, seen):
    """Outside the allow-list, or one of its exceptions: element-wise or reducing, yet the
    library's sigmoid or logsumexp."""
    module = _learner(tmp_path, f"import torch\ndef f(x):\n    return {expression}\n",
                      folder="04_softmax")
    with pytest.raises(RuleViolation, match=rf"`no_library_softmax`: {re.escape(seen)}"):
        _run(module, "f", [NO_SOFTMAX], torch.ones(2, 2))


def test_no_library_softmax_allows_the_products_of_a_layer(tmp_path):
    """Kata 05's LogReg runs x @ w + b under no_library_softmax: a product makes no softmax."""
    module = _learner(tmp_path, """
        import torch
        def layer(x, w, b):
            return x @ w + b + torch.addmm(b, x, w) + torch.einsum("ij,jk->ik", x, w)
    """, folder="05_module")
    x, w, b = torch.ones(3, 4), torch.ones(4, 2), torch.ones(2)
    assert torch.equal(_run(module, "layer", [NO_SOFTMAX], x, w, b), torch.full((3, 2), 14.0))


def test_allowed_operators_come_with_their_twins_and_follow_torchs_tags():
    names = {op.__name__ for op in guards.allowed_operators(("tag:pointwise",))}
    # in place (`x.mul_`), and in place where torch tags only the operator (`eq_`)
    assert {"mul", "mul_", "exp", "eq", "eq_", "where", "clamp"} <= names
    assert {op.__name__ for op in guards.allowed_operators(("aten.fill",))} == {"fill", "fill_"}
    views = {op.__name__ for op in guards.allowed_operators(("schema:view",))}
    assert {"unsqueeze", "expand", "select", "slice", "permute", "detach", "unfold"} <= views
    assert not {"clone", "copy_", "mul", "_to_copy", "index"} & views
    for unknown in ("tag:nonsense", "schema:nonsense", "aten.nonsense"):
        with pytest.raises(ValueError):
            guards.allowed_operators((unknown,))


def test_no_allow_list_admits_a_library_product_or_softmax():
    """Torch's tags decide what the families hold: a torch that tagged a product pointwise
    or a softmax a reduction would fail here, not in a learner's hands."""
    products = {"mm", "bmm", "mv", "dot", "vdot", "addmm", "addmv", "addbmm", "baddbmm", "addr",
                "_int_mm", "_addmm_activation", "convolution", "_convolution", "conv_tbc",
                "_slow_conv2d_forward", "slow_conv3d_forward", "_embedding_bag",
                "_embedding_bag_forward_only", "embedding_bag", "_cdist_forward",
                "_euclidean_dist", "_trilinear", "_sparse_addmm", "hspmm",
                "sparse_sampled_addmm", "mkldnn_linear", "_fft_r2c", "_fft_c2c", "kron", "outer"}
    softmaxes = {"_softmax", "_log_softmax", "_safe_softmax", "logsumexp", "logcumsumexp",
                 "sigmoid", "tanh", "silu", "softplus", "log_sigmoid_forward", "glu",
                 "_scaled_dot_product_attention_math", "_masked_softmax"}
    for rule, forbidden in ((NO_OUTER, products), (NO_MATMUL, products), (NO_SOFTMAX, softmaxes)):
        allowed = {op.__name__ for op in guards.allowed_operators(rule.allowed_ops)}
        allowed -= {op.__name__ for name in rule.ops for op in guards.resolve_op(name)}
        assert not allowed & forbidden, (rule.name, sorted(allowed & forbidden))


def test_every_operator_in_the_manifest_exists_and_every_exception_is_needed():
    for rule in MANIFEST.rules.values():
        for name in rule.ops:
            assert guards.resolve_op(name), name
        if rule.allowed_ops:
            allowed = guards.allowed_operators(rule.allowed_ops)
            # an exception outside the allow-list is dead: the allow-list already trips on it
            assert all(set(guards.resolve_op(name)) <= allowed for name in rule.ops), rule.name


def test_an_unknown_operator_group_is_an_error():
    from kata.core.manifest import _parse
    data = {"rules": {"r": {"why": "w", "allowed_ops": ["elementwize"]}}, "katas": [],
            "op_groups": {"elementwise": ["tag:pointwise"]}}
    with pytest.raises(ValueError, match=r"unknown operator groups \['elementwize'\]"):
        _parse(data)


def test_the_lessons_product_and_autograd_pass_the_operator_guard(tmp_path):
    module = _learner(tmp_path, """
        import torch
        def matmul(a, b):
            return (a[..., :, :, None] * b[..., None, :, :]).sum(-2)
        def gradient(w, x):
            loss = (x @ w).sum() if False else (x[:, :, None] * w[None]).sum()
            loss.backward()
            return w.grad
    """)
    a, b = torch.randn(2, 3, 4), torch.randn(4, 5)
    torch.testing.assert_close(_run(module, "matmul", [NO_MATMUL], a, b), a @ b)
    w = torch.nn.Parameter(torch.ones(3, 2))
    assert torch.equal(_run(module, "gradient", [NO_MATMUL], w, torch.ones(4, 3)),
                       torch.full((3, 2), 4.0))


# --- switching the guards off ---------------------------------------------------------------

@pytest.mark.parametrize("switch", [
    "torch._C.DisableTorchFunction()",
    "torch.overrides._pop_mode_temporarily()",
    "torch.utils._python_dispatch._pop_mode_temporarily()",
    "_pop_dispatch_mode()",
])
def test_switching_the_guards_off_breaks_every_rule(tmp_path, switch):
    module = _learner(tmp_path, f"""
        import torch
        from torch.utils._python_dispatch import _pop_mode_temporarily as _pop_dispatch_mode
        def matmul(a, b):
            with {switch}:
                return a @ b
    """)
    rules = [NO_LOOPS, NO_MATMUL]
    with pytest.raises(RuleViolation,
                       match=r"broke the rules `no_loops`, `no_library_matmul`: it called"):
        _run(module, "matmul", rules, torch.ones(2, 2), torch.ones(2, 2))
    assert torch._C._len_torch_function_stack() == 0 and torch._C._len_torch_dispatch_stack() == 0
    from torch.utils._python_dispatch import _pop_mode_temporarily
    assert module._pop_dispatch_mode is _pop_mode_temporarily, \
        "the tripwires are removed afterwards"


def _pop_function_mode_from_outside(a):
    """Harness-looking code (not the learner's) that takes the function mode away: the
    tripwires let it through, the operator guard notices."""
    mode = torch._C._pop_torch_function_stack()
    try:
        return a * 2
    finally:
        torch._C._push_on_torch_function_stack(mode)


def test_each_mode_notices_when_the_other_is_gone(tmp_path):
    module = _learner(tmp_path, "def f(helper, a):\n    return helper(a)\n")
    with pytest.raises(RuleViolation, match="switched off the guard of torch functions"):
        _run(module, "f", [NO_MATMUL], _pop_function_mode_from_outside, torch.ones(2))


def test_torch_internals_that_use_the_switches_run_normally(tmp_path):
    """Parameters are a Tensor subclass: torch itself calls DisableTorchFunctionSubclass."""
    module = _learner(tmp_path, "def f(p):\n    return (p * 2).sum()\n")
    p = torch.nn.Parameter(torch.ones(3))
    assert _run(module, "f", [NO_LOOPS, NO_MATMUL], p).item() == 6.0


def test_changing_the_trace_function_or_the_guards_is_caught(tmp_path):
    module = _learner(tmp_path, """
        import sys
        import kata.harness.guards
        def trace(x):
            sys.settrace(None)
            return x
        def patch(x):
            kata.harness.guards._FunctionGuard.__torch_function__ = lambda *args, **kwargs: None
            return x
    """)
    with pytest.raises(RuleViolation, match=r"it called sys.settrace"):
        _run(module, "trace", [NO_LOOPS], torch.ones(1))
    original = guards._FunctionGuard.__dict__["__torch_function__"]
    try:
        with pytest.raises(RuleViolation, match=r"changed the rule guards "
                                                r"\(kata.harness.guards._FunctionGuard.__torch_function__\)"):
            _run(module, "patch", [NO_LOOPS], torch.ones(1))
    finally:
        guards._FunctionGuard.__torch_function__ = original


# --- inputs changed in place ------------------------------------------------------------------

def test_a_function_that_changes_its_input_in_place_is_caught(tmp_path):
    module = _learner(tmp_path, "def centre(x):\n    x -= x.mean()\n    return x\n")
    with pytest.raises(InputModified, match="argument 1 in place"):
        _run(module, "centre", [], torch.tensor([1.0, 3.0]))


def test_methods_may_update_the_tensors_they_are_given(tmp_path):
    """An optimizer's job is to change parameters in place, with `p -= ...` in a method
    that receives `p` or with the lesson's `p.data -= ...`."""
    module = _learner(tmp_path, """
        import torch
        class SGD:
            def __init__(self, params, lr):
                self.params, self.lr = list(params), lr
            def step(self):
                for p in self.params:
                    self.update(p, p.grad)
            def update(self, p, g):
                with torch.no_grad():
                    p -= self.lr * g
            def update_data(self, p, g):
                p.data -= self.lr * g
    """, folder="07_training_loop")
    SGD = guarded(module.SGD, [MANIFEST.rules["no_library_optim"]], "training_loop.SGD")
    p = torch.nn.Parameter(torch.ones(2))
    p.grad = torch.ones(2)
    opt = SGD([p], lr=0.5)
    opt.step()
    opt.update_data(p, p.grad)
    assert torch.equal(p.detach(), torch.zeros(2))


def test_loop_finder_docstring_examples_hold():
    import doctest

    from kata.harness import loops
    result = doctest.testmod(loops, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_computing_in_another_thread_breaks_every_rule(tmp_path):
    module = _learner(tmp_path, """
        import threading
        def matmul(a, b):
            out = []
            worker = threading.Thread(target=lambda: out.append(a @ b))
            worker.start()
            worker.join()
            return out[0]
    """)
    with pytest.raises(RuleViolation,
                       match=r"broke the rules `no_library_matmul`: it started a thread"):
        _run(module, "matmul", [NO_MATMUL], torch.ones(2, 2), torch.ones(2, 2))
    import threading
    worker = threading.Thread(target=lambda: None)
    worker.start()  # the tripwire is gone afterwards
    worker.join()


def test_a_warning_from_torch_inside_a_guarded_call_breaks_no_guard(tmp_path):
    """Python keeps a registry of the warnings a module has issued in that module's globals;
    torch warns from frames of the guards, so the guards' own module gains one. That is no
    change to the guards: the call, and every later one, runs."""
    module = _learner(tmp_path, "import torch\n"
                                "def copy_construct(x):\n    return torch.tensor(x) * 2\n"
                                "def plain(x):\n    return x * 2\n")
    rules = MANIFEST.rules_of(MANIFEST.kata("03"), "matvec")
    for name in ("plain", "copy_construct", "plain"):
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            assert torch.equal(guarded(getattr(module, name), rules, name)(torch.ones(2)),
                               torch.full((2,), 2.0))
