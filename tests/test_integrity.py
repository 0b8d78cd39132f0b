"""The integrity scan (kata.grading.integrity): what a learner's module does that no kata needs is
flagged for the instructor's review; the reference solutions and the stubs have no flag."""

import doctest

import pytest

from kata.core.layout import REPO_ROOT
from kata.core.manifest import load_manifest
from kata.grading import integrity
from kata.grading.integrity import scan
from kata.instructor.catalog import load_catalog

KATAS = load_manifest().katas


@pytest.mark.parametrize("tree", ["solutions", "katas"])
def test_the_solutions_and_the_stubs_have_no_flags(tree):
    for kata in KATAS:
        path = kata.path_in(REPO_ROOT / tree)
        assert scan(path.read_text()) == [], path


def test_the_catalogs_correct_alternatives_have_no_flags():
    catalog = load_catalog()
    for kata in KATAS:
        variants, imports = catalog.get(kata.folder, ([], ""))
        solution = kata.path_in(REPO_ROOT / "solutions").read_text()
        for variant in variants:
            if variant.kind == "alternative":
                assert scan(variant.module_text(solution, imports)) == [], variant.label


@pytest.mark.parametrize("source, what", [
    ("import os", "import os"),
    ("import os.path as p", "import os.path"),
    ("from subprocess import run", "from subprocess import run"),
    ("import sys\nsys.modules['kata'] = None", "sys.modules"),
    ("import importlib", "import importlib"),
    ("import builtins", "import builtins"),
    ("open('/etc/passwd')", "open()"),
    ("exec('x = 1')", "exec()"),
    ("eval('1')", "eval()"),
    ("compile('1', 'f', 'eval')", "compile()"),
    ("__import__('os')", "__import__()"),
    ("x = __builtins__", "__builtins__"),
    ("import torch\ntorch._C.DisableTorchFunction()", "torch._C.DisableTorchFunction"),
    ("import torch\ntorch.ops.aten.mm(a, b)", "torch.ops.aten.mm"),
    ("from torch.overrides import _pop_mode_temporarily",
     "from torch.overrides import _pop_mode_temporarily"),
    ("from torch.utils._python_dispatch import TorchDispatchMode",
     "from torch.utils._python_dispatch import TorchDispatchMode"),
    ("from torch import _C", "from torch import _C"),
    ("import pytest", "import pytest"),
    ("import _pytest.reports", "import _pytest.reports"),
    ("from kata import assertions", "from kata import assertions"),
    ("import atexit", "import atexit"),
    ("import ctypes", "import ctypes"),
    ("import signal", "import signal"),
    ("import socket", "import socket"),
    ("import inspect", "import inspect"),
    ("import gc", "import gc"),
    ("import sys\nf = sys._getframe(1)", "sys._getframe"),
    ("def f(g):\n    return g.f_back.f_globals", ".f_back"),
    ("def f(g):\n    return g.__globals__", ".__globals__"),
    ("x = object.__subclasses__()", ".__subclasses__"),
    ("import torch\ntorch.matmul = lambda a, b: a", "assignment to torch.matmul"),
    ("import torch\ntorch.Tensor.__eq__ = lambda a, b: True", "assignment to torch.Tensor.__eq__"),
    ("import torch\nsetattr(torch, 'matmul', None)", "setattr(torch, ...)"),
    ("import torch\nobject.__setattr__(torch.Tensor, 'eq', None)", "setattr(torch.Tensor, ...)"),
    ("import torch\nvars(torch)['matmul'] = None", "vars(torch)"),
    ("import torch\ntorch.__dict__['matmul'] = None", "torch.__dict__"),
    ("import torch\nname = 'mat' + 'mul'\ngetattr(torch, name)", "getattr(torch, <computed name>)"),
    ("import pickle", "import pickle"),
])
def test_each_construct_a_kata_never_needs_is_flagged(source, what):
    flags = scan(source)
    assert what in [flag.what for flag in flags], flags
    assert all(flag.why and flag.line >= 1 for flag in flags)


def test_the_modules_example_holds():
    assert doctest.testmod(integrity).failed == 0


def test_a_flag_names_the_line():
    flags = scan("import torch\n\n\ndef f(a):\n    return torch.ops.aten.mm(a, a)\n")
    assert [(flag.line, flag.what) for flag in flags] == [(5, "torch.ops.aten.mm")]


@pytest.mark.parametrize("source", [
    "import torch\nfrom torch import nn\nfrom dataclasses import dataclass, field",
    "class M:\n    def __setattr__(self, name, value):\n"
    "        object.__setattr__(self, name, value)",
    "class S:\n    def __init__(self):\n        setattr(self, 'layer0', 1)\n"
    "        self.__dict__.get('x')",
    "import torch\ntorch.manual_seed(0)\nx = getattr(torch, 'float32')",
    "def f(self):\n    return vars(self)",
    "def f(:\n",
])
def test_what_katas_do_is_not_flagged(source):
    assert scan(source) == []
