"""Red team: every way around the rule guards that issue 11 reported, and the products that
no list of forbidden operators named (which made `no_library_matmul` an allow-list), is a
catalog cheat, and each one, laid into a tree of solutions and called once through the guards,
breaks its rule.

The catalog run (tests/test_catalog.py) grades the same cheats against the kata tests; this
file grades them directly, in milliseconds, so that a guard that stops seeing a bypass fails
here by name.
"""

import pytest
import torch

from kata.core.manifest import load_manifest
from kata.harness import loader
from kata.harness.guards import RuleViolation
from kata.instructor.catalog import load_catalog, write_tree

#: the bypass as issue 11 names it -> (kata, text the cheat's source holds, rule it breaks)
BYPASSES = {
    "torch.ops.aten.matmul": ("03_matmul", "torch.ops.aten.matmul", "no_library_matmul"),
    "torch._C.DisableTorchFunction()": ("03_matmul", "torch._C.DisableTorchFunction()",
                                        "no_library_matmul"),
    "torch.overrides._pop_mode_temporarily()": ("03_matmul", "_pop_mode_temporarily()",
                                                "no_library_matmul"),
    "numpy.from_dlpack": ("03_matmul", "numpy.from_dlpack", "stay_in_torch"),
    "Tensor.addmm_": ("03_matmul", ".addmm_(", "no_library_matmul"),
    "Tensor.addbmm": ("03_matmul", ".addbmm(", "no_library_matmul"),
    "Tensor.baddbmm": ("03_matmul", ".baddbmm(", "no_library_matmul"),
    "conv1d": ("03_matmul", "conv1d(", "no_library_matmul"),
    "torch.sparse.mm": ("03_matmul", "torch.sparse.mm(", "no_library_matmul"),
    "a for loop in a static method": ("03_matmul", "def product_by_columns", "no_loops"),
    "embedding_bag with per_sample_weights": ("03_matmul", "embedding_bag(", "no_library_matmul"),
    "torch.conv_tbc": ("03_matmul", "torch.conv_tbc(", "no_library_matmul"),
    "torch.hspmm": ("03_matmul", "torch.hspmm(", "no_library_matmul"),
}

#: small operands for each function the cheats replace
OPERANDS = {
    "matvec": lambda: (torch.ones(2, 3), torch.ones(3)),
    "matmul": lambda: (torch.ones(2, 3), torch.ones(3, 4)),
    "matmul_by_columns": lambda: (torch.ones(2, 3), torch.ones(3, 4)),
}


def _cheat_for(bypass):
    kata, text, rule = BYPASSES[bypass]
    variants, imports = load_catalog()[kata]
    found = [variant for variant in variants
             if variant.kind == "cheat" and variant.rule == rule and text in variant.source]
    assert found, f"no catalog cheat in tests/catalog/{kata}.py uses {bypass} against `{rule}`"
    return found[0], imports


@pytest.fixture
def own_tree():
    """The process's tree of kata modules is handed back afterwards."""
    previous = loader.use_tree(None)
    yield
    loader.use_tree(previous)


@pytest.mark.parametrize("bypass", BYPASSES)
def test_each_bypass_is_a_catalog_cheat_that_breaks_its_rule(tmp_path, own_tree, bypass):
    variant, imports = _cheat_for(bypass)
    kata = load_manifest().kata(variant.kata)
    write_tree(tmp_path, {kata.folder: (variant, imports)})
    function = getattr(loader.GuardedModule(kata, tmp_path), variant.replaces)
    with pytest.raises(RuleViolation, match=rf"`{variant.rule}`"):
        function(*OPERANDS[variant.replaces]())


#: Ways past the guards found while building the allow-list: the allow-list refuses the
#: first three before they run, but the guards must hold on their own too (a learner's own
#: runs, a module the allow-list lets through). Each is laid at the end of its kata's
#: solution: (kata, public name, call, source, the rule it breaks).
PAST_THE_GUARDS = {
    # torch's top level holds the switch that the guards swapped only under torch._C
    "torch.DisableTorchFunction": ("01", "as_row", lambda f: f(torch.ones(3)), """
def as_row(v):
    with torch.DisableTorchFunction():
        return torch.Tensor.unsqueeze(v, 0)
""", "unit_axes_with_none"),
    # __wrapped__ once decided which files were the learner's
    "functools.wraps": ("03", "matmul", lambda f: f(torch.ones(2, 3), torch.ones(3, 4)), """
import functools
import numpy
@functools.wraps(numpy.linalg.norm)
def matmul(a, b):
    return torch.stack([(a * b[:, j]).sum(1) for j in range(b.shape[1])], dim=1)
""", "no_loops"),
    # an object that answers for its own __code__ once did the same
    "an object's __code__": ("03", "matmul", lambda f: f(torch.ones(2, 3), torch.ones(3, 4)), """
class _Code:
    co_filename = "/elsewhere/pkg/mod.py"
class _Product:
    def __getattr__(self, name):
        if name == "__code__":
            return _Code()
        raise AttributeError(name)
    def __call__(self, a, b):
        return torch.stack([(a * b[:, j]).sum(1) for j in range(b.shape[1])], dim=1)
matmul = _Product()
""", "no_loops"),
    # only plain functions were wrapped: a static special method ran unguarded
    "a @staticmethod __getitem__": ("06", "Dataset",
                                    lambda f: f(torch.arange(6.0), torch.arange(6))[
                                        torch.tensor([0, 2])], """
_DATA = {}
class Dataset(Dataset):
    def __init__(self, x, y):
        super().__init__(x, y)
        _DATA["xy"] = (x, y)
    @staticmethod
    def __getitem__(index):
        x, y = _DATA["xy"]
        rows = torch.arange(len(x))[index].reshape(-1)
        return torch.stack([x[r] for r in rows]), torch.stack([y[r] for r in rows])
""", "no_loops"),
}


@pytest.mark.parametrize("way", PAST_THE_GUARDS)
def test_ways_past_the_guards_found_beside_the_allow_list_break_their_rule(tmp_path, own_tree,
                                                                            way):
    number, name, call, source, rule = PAST_THE_GUARDS[way]
    kata = load_manifest().kata(number)
    write_tree(tmp_path, {})
    module = kata.path_in(tmp_path)
    module.write_text(module.read_text() + source)
    public = getattr(loader.GuardedModule(kata, tmp_path), name)
    with pytest.raises(RuleViolation, match=rf"`{rule}`"):
        call(public)
