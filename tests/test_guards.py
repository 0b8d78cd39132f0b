"""Unit tests of the rule guards (kata.harness.guards, kata.harness.loops): what each rule
catches, what it lets through, and that code cannot switch the guards off."""

import sys
import textwrap

import pytest
import torch

from kata.core.manifest import load_manifest
from kata.harness import guards
from kata.harness.guards import InputModified, RuleViolation, guarded
from kata.harness.loader import import_from_path

MANIFEST = load_manifest()
NO_LOOPS = MANIFEST.rules["no_loops"]
NO_MATMUL = MANIFEST.rules["no_library_matmul"]


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


# --- forbidden operators, seen at torch's dispatcher ----------------------------------------

@pytest.mark.parametrize("expression, seen", [
    ("torch.ops.aten.matmul(a, b)", "it called torch.ops.aten.matmul"),
    ("torch.ops.aten.mm.default(a, b)", "it called torch.ops.aten.mm"),
    ("torch.zeros(2, 2).addmm_(a, b)", "it ran torch's operator aten.addmm_"),
    ("torch.zeros(2, 2).addbmm(a[None], b[None])", "it ran torch's operator aten.addbmm"),
    ("torch.nn.functional.conv1d(a[None], b.T[:, :, None])",
     "it ran torch's operator aten.convolution"),
    ("torch.sparse.mm(a.to_sparse(), b)", "it ran torch's operator aten._sparse_addmm"),
])
def test_a_product_reached_without_a_forbidden_name_is_caught(tmp_path, expression, seen):
    module = _learner(tmp_path, f"import torch\ndef product(a, b):\n    return {expression}\n")
    with pytest.raises(RuleViolation, match=rf"`no_library_matmul`: {seen}\."):
        _run(module, "product", [NO_MATMUL], torch.ones(2, 2), torch.ones(2, 2))


def test_every_forbidden_operator_in_the_manifest_exists():
    for rule in MANIFEST.rules.values():
        for name in rule.ops:
            assert guards.resolve_op(name), name


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
