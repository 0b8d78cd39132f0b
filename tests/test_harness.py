"""Unit tests of the harness itself: manifest, guards, strategies, assertions, plugin."""

import doctest
import importlib
import textwrap

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kata import assertions, strategies
from kata.core.layout import REPO_ROOT
from kata.core.manifest import load_manifest
from kata.harness import guards, loader
from kata.harness.guards import RuleViolation, guarded
from kata.harness.loader import KataImportError, import_from_path, import_kata
from kata.oracles import TorchSGD

pytest_plugins = ["pytester"]
MANIFEST = load_manifest()
HARNESS_MODULES = ["kata.core.manifest", "kata.harness.guards", "kata.strategies",
                   "kata.assertions", "kata.tolerances", "kata.harness.loader", "kata.runs.runner",
                   "kata.pictures", "kata.oracles"]


@pytest.mark.parametrize("name", HARNESS_MODULES)
def test_harness_docstring_examples_hold(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("kata", MANIFEST.katas, ids=lambda kata: kata.folder)
def test_solution_docstring_examples_hold(kata):
    """The examples that every stub shows its learner are true."""
    module = import_kata(kata, REPO_ROOT / "solutions")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_katas_are_found_by_number_folder_or_module():
    assert MANIFEST.kata("3") is MANIFEST.kata("03") is MANIFEST.kata("03_matmul") \
        is MANIFEST.kata("matmul")
    with pytest.raises(KeyError, match="01_broadcasting, 02_outer_ops"):
        MANIFEST.kata("99")


def test_every_forbidden_name_in_the_manifest_exists():
    for rule in MANIFEST.rules.values():
        for dotted in rule.calls:
            assert guards._resolve(dotted), dotted


def test_each_public_function_has_one_to_three_hints():
    for kata in MANIFEST.katas:
        assert kata.hints.keys() == kata.functions.keys(), kata.folder
        assert all(1 <= len(hints) <= 3 for hints in kata.hints.values()), kata.folder


def _learner_module(tmp_path, source):
    path = tmp_path / "learner.py"
    path.write_text(textwrap.dedent(source))
    return import_from_path(path, f"learner_{tmp_path.name}")


def test_a_forbidden_name_imported_under_an_alias_is_caught(tmp_path):
    module = _learner_module(tmp_path, """
        from numpy import broadcast_shapes as shapes
        def broadcast_shape(*s):
            return shapes(*s)
    """)
    rule = MANIFEST.rules["no_broadcast_helpers"]
    with pytest.raises(RuleViolation, match=r"no_broadcast_helpers.*numpy.broadcast_shapes"):
        guarded(module.broadcast_shape, [rule], "learner.broadcast_shape")((2, 1), (3,))
    assert np.broadcast_shapes((2, 1), (3,)) == (2, 3), "the tripwire must be removed afterwards"


def test_a_clean_function_runs_under_the_guards_unchanged(tmp_path):
    module = _learner_module(tmp_path, """
        def matvec(m, c):
            return (m * c).sum(1)
    """)
    kata = MANIFEST.kata("03")
    result = guarded(module.matvec, MANIFEST.rules_of(kata, "matvec"), "matmul.matvec")(
        torch.ones(2, 3), torch.ones(3))
    assert torch.equal(result, torch.full((2,), 3.0))


def test_a_module_that_does_not_import_says_where(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import torch\n\ndef f(:\n    pass\n")
    with pytest.raises(KataImportError, match="SyntaxError at line 3"):
        import_from_path(path, "broken")


@given(strategies.clashing_shapes())
def test_clashing_shapes_do_not_broadcast_and_name_the_first_clash(clash):
    with pytest.raises(ValueError):
        np.broadcast_shapes(clash.first, clash.second)
    right = -clash.axis - 1
    assert np.broadcast_shapes(clash.first[len(clash.first) - right:] if right else (),
                               clash.second[len(clash.second) - right:] if right else ()
                               ) is not None
    assert clash.first[clash.axis] == clash.first_size != clash.second_size \
        == clash.second[clash.axis]


@given(strategies.shapes_with_distinct_sides(0, 4).flatmap(
    lambda target: st.tuples(st.just(target), strategies.shapes_broadcastable_to(target))))
def test_shapes_broadcastable_to_a_target_broadcast_to_it(pair):
    target, shape = pair
    assert np.broadcast_to(np.zeros(shape), target).shape == target


@settings(max_examples=30)
@given(strategies.shapes_with_distinct_sides(1, 3).flatmap(strategies.arange_views))
def test_arange_views_hold_distinct_values(view):
    assert view.unique().numel() == view.numel()


def test_assertions_check_shape_then_dtype_then_values():
    expected = torch.tensor([1.0, 2.0])
    with pytest.raises(assertions.Mismatch, match="wrong shape"):
        assertions.assert_tensor(torch.tensor([[1.0, 2.0]], dtype=torch.float64), expected,
                                 call="f")
    with pytest.raises(assertions.Mismatch, match="wrong dtype"):
        assertions.assert_tensor(torch.tensor([1, 2]), expected, call="f")
    with pytest.raises(assertions.Mismatch, match=r"at \[1\]: expected 2.0, got nan"):
        assertions.assert_tensor(torch.tensor([1.0, float("nan")]), expected, call="f", atol=1.0)
    assertions.assert_tensor(torch.tensor([float("inf")]), torch.tensor([float("inf")]), call="f")


def test_raises_value_error_wants_the_shapes_named():
    with pytest.raises(assertions.Mismatch, match=r"should name \(2, 3\)"):
        with assertions.raises_value_error("f", contract="matmul.misfit", shapes=((2, 3),)):
            raise ValueError("bad shapes")
    with pytest.raises(assertions.Mismatch, match="but raised RuntimeError"):
        with assertions.raises_value_error("f", contract="matmul.misfit"):
            raise RuntimeError("size mismatch")
    with assertions.raises_value_error("f", contract="matmul.misfit", shapes=((2, 3), (3,))):
        raise ValueError("shapes torch.Size([2, 3]) and [3] do not fit")


def _plugin_project(pytester, test_source):
    pytester.makeconftest('pytest_plugins = ["kata.harness.plugin"]')
    pytester.makepyfile(test_source)


def test_gpu_tests_are_skipped_visibly_or_failed_with_require_gpu(pytester):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    _plugin_project(pytester, "import pytest\n@pytest.mark.gpu\ndef test_on_gpu():\n    pass\n")
    skipped = pytester.runpytest("-rs")
    skipped.assert_outcomes(skipped=1)
    skipped.stdout.fnmatch_lines(["*needs a CUDA GPU*"])
    pytester.runpytest("--require-gpu").assert_outcomes(failed=1)
    assert pytester.runpytest("--device", "cuda").ret == pytest.ExitCode.USAGE_ERROR


def test_solutions_and_impl_cannot_be_combined(pytester):
    _plugin_project(pytester, "def test_nothing():\n    pass\n")
    assert pytester.runpytest("--solutions", "--impl", ".").ret == pytest.ExitCode.USAGE_ERROR


def test_a_learner_sees_a_short_report_with_the_line_and_a_hint(pytester):
    pytester.makeconftest('pytest_plugins = ["kata.harness.plugin"]')
    kata = pytester.mkdir("katas") / "03_matmul"
    kata.mkdir()
    (kata / "matmul.py").write_text("def matvec(m, c):\n    return m.sum(2)\n")
    (kata / "test_matmul.py").write_text(textwrap.dedent("""
        import pytest, torch
        @pytest.mark.matvec
        def test_matvec(impl):
            impl.matvec(torch.ones(2, 3), torch.ones(3))
    """))
    result = pytester.runpytest("katas/03_matmul")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["code under test: your katas in *katas",
                                 "IndexError: Dimension out of range*",
                                 "  raised at matmul.py:2:  return m.sum(2)",
                                 "Hint 1 of 3 for matvec: m has shape*",
                                 "  (kata hint 03 matvec shows the next)"])
    assert "Traceback" not in result.stdout.str()
    # once `kata hint` has shown the last hint, a failure shows that one
    pytester.mkdir(".kata")
    (pytester.path / ".kata" / "state.json").write_text(
        '{"hints_shown": {"03_matmul": {"matvec": 3}}}')
    result = pytester.runpytest("katas/03_matmul")
    result.stdout.fnmatch_lines(["Hint 3 of 3 for matvec: Give sum a dtype*"])
    assert "Hint 1 of" not in result.stdout.str() and "shows the next" not in result.stdout.str()


@given(strategies.broadcastable_shapes(st.integers(1, 4), min_side=0))
def test_numpy_and_torch_broadcast_shapes_agree(shapes):
    """Kata 01 uses numpy's broadcast_shapes as its oracle (torch's first call costs 0.4 s of
    lazy imports, too much for a learner's quick run); this keeps it equal to torch's."""
    assert np.broadcast_shapes(*shapes) == tuple(torch.broadcast_shapes(*shapes))


@pytest.fixture
def two_trees(tmp_path):
    """Two trees laid out like katas/ whose 04 and 05 know which tree they are in; the
    process's tree is handed back afterwards."""
    for tree in ("first", "second"):
        (tmp_path / tree / "04_softmax").mkdir(parents=True)
        (tmp_path / tree / "04_softmax" / "softmax.py").write_text(f"TREE = {tree!r}\n")
        (tmp_path / tree / "05_module").mkdir()
        (tmp_path / tree / "05_module" / "module.py").write_text("from softmax import TREE\n")
    previous = loader.use_tree(None)
    yield tmp_path
    loader.use_tree(previous)


def test_kata_modules_import_earlier_katas_from_the_tree_under_test(two_trees):
    module_kata = MANIFEST.kata("05")
    assert import_kata(module_kata, two_trees / "first").TREE == "first"
    assert import_kata(module_kata, two_trees / "second").TREE == "second"


def test_an_earlier_kata_that_does_not_import_is_named(two_trees):
    (two_trees / "first" / "04_softmax" / "softmax.py").write_text("def f(:\n")
    with pytest.raises(KataImportError,
                       match=r"04_softmax/softmax.py does not import: SyntaxError at line 1"):
        import_kata(MANIFEST.kata("05"), two_trees / "first")


def test_a_class_may_not_inherit_a_forbidden_base(tmp_path):
    module = _learner_module(tmp_path, """
        import torch
        class Module(torch.nn.Module):
            pass
    """)
    with pytest.raises(RuleViolation,
                       match=r"`write_module_yourself`: it inherits from torch.nn.Module"):
        guarded(module.Module, [MANIFEST.rules["write_module_yourself"]], "module.Module")


def test_a_class_runs_its_methods_and_generators_under_the_rules(tmp_path):
    module = _learner_module(tmp_path, """
        import torch
        class Loader:
            def __init__(self, data):
                self.data = data
            def __iter__(self):
                yield from torch.utils.data.DataLoader(self.data)
    """)
    Loader = guarded(module.Loader, [MANIFEST.rules["no_library_dataloader"]], "dataloader.Loader")
    loader = Loader(torch.arange(3))
    assert isinstance(loader, module.Loader)
    batches = iter(loader)  # nothing runs until the first next()
    with pytest.raises(RuleViolation,
                       match=r"Loader.__iter__\(\) broke the rule `no_library_dataloader`"):
        next(batches)
    assert list(torch.utils.data.DataLoader(torch.arange(2))) == [torch.tensor([0]),
                                                                  torch.tensor([1])]


def test_torch_sgd_oracle_matches_torch_optim_sgd_bit_for_bit():
    generator = torch.Generator().manual_seed(0)
    for momentum, weight_decay in [(0.0, 0.0), (0.9, 0.0), (0.9, 0.01), (0.0, 0.1)]:
        ours = [torch.nn.Parameter(torch.randn(shape, generator=generator, dtype=torch.float64))
                for shape in [(3, 2), (4,)]]
        theirs = [torch.nn.Parameter(p.detach().clone()) for p in ours]
        oracle = TorchSGD(ours, lr=0.1, momentum=momentum, weight_decay=weight_decay)
        reference = torch.optim.SGD(theirs, lr=0.1, momentum=momentum, weight_decay=weight_decay)
        for step in range(4):
            for index, (p, q) in enumerate(zip(ours, theirs)):
                if step == 1 and index == 1:  # a parameter without a gradient this step
                    p.grad = q.grad = None
                    continue
                grad = torch.randn(p.shape, generator=generator, dtype=torch.float64)
                p.grad, q.grad = grad.clone(), grad.clone()
            oracle.step()
            reference.step()
            for p, q in zip(ours, theirs):
                assert torch.equal(p, q)
                if momentum:
                    assert torch.equal(oracle.state[p]["momentum_buffer"],
                                       reference.state[q]["momentum_buffer"])
