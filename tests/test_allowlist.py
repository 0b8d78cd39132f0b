"""The allow-list (kata.harness.allowlist): every attack has a finding, every correct style
none, the repository's own code (solutions, stubs, catalog alternatives) none, and a module
with a finding does not run: its tests fail saying which line and why."""

import doctest
import textwrap

import pytest

from kata.core.manifest import load_manifest
from kata.harness import allowlist
from kata.harness.allowlist import Finding, check
from kata.instructor.checks import allowlist_problems

pytest_plugins = ["pytester"]
KATA = {kata.folder[:2]: kata for kata in load_manifest().katas}


def findings(source: str, kata: str = "03") -> list[Finding]:
    return check(textwrap.dedent(source), KATA[kata])


ATTACKS = {
    "the red team's line": """
        import torch
        setattr(getattr(torch.sys, "modules")["kata.loader"], "guarded", lambda f, *a, **k: f)
        def matmul(a, b):
            return a @ b
        """,
    "torch.sys.modules": "import torch\nloader = torch.sys.modules['kata.loader']\n",
    "torch.os.system": "import torch\ntorch.os.system('true')\n",
    "getattr(torch, '_C')": "import torch\nC = getattr(torch, '_C')\n",
    "getattr(torch, 'mm'): a string names the attribute": """
        import torch
        mm = getattr(torch, 'mm')
        """,
    "vars(torch)": "import torch\nvars(torch)['matmul'] = None\n",
    "import importlib": "import importlib\n",
    "__import__": "os = __import__('os')\n",
    "a lambda's __globals__": "g = (lambda: 0).__globals__\n",
    "__subclasses__ from a tuple": "classes = ().__class__.__bases__[0].__subclasses__()\n",
    "type(x).__mro__": "def f(x):\n    return type(x).__mro__\n",
    "exec": "exec('import os')\n",
    "eval": "eval('1')\n",
    "compile": "code = compile('1', 'f', 'eval')\n",
    "torch.ops.aten.mm": "import torch\ndef matmul(a, b):\n    return torch.ops.aten.mm(a, b)\n",
    "torch._C._nn": "import torch\nnn = torch._C._nn\n",
    "from torch import _C": "from torch import _C\n",
    "import torch.overrides": "import torch.overrides\n",
    "torch.utils._python_dispatch": "import torch\nd = torch.utils._python_dispatch\n",
    "import sys": "import sys\nsys.modules['kata.loader'].guarded = None\n",
    "object.__getattribute__(torch, 'sys')": """
        import torch
        s = object.__getattribute__(torch, 'sys')
        """,
    "F.__dict__": "import torch\nd = torch.nn.functional.__dict__\n",
    "globals()": "globals()['x'] = 1\n",
    "import builtins": "import builtins\n",
    "a decorator smuggles it": "import torch\n@torch.sys.modules.get\ndef f():\n    pass\n",
    "a default argument smuggles it": "import torch\ndef f(m=torch.sys.modules):\n    return m\n",
    "a default argument smuggles eval": "def f(run=eval):\n    return run('1')\n",
    "a module rebound to a name": "import torch\nt = torch\ns = t.sys\n",
    "a module passed to a function": "import torch\ndef f(m):\n    return m.sys\nf(torch)\n",
    "a module returned by a dotted name": "import torch\nF = torch.nn.functional\n",
    "from torch import sys": "from torch import sys\n",
    "from torch.nn.functional import importlib": "from torch.nn.functional import importlib\n",
    "torch.Tensor.__matmul__": """
        import torch
        def matmul(a, b):
            return torch.Tensor.__matmul__(a, b)
        """,
    "assignment to a module's attribute": "import torch\ntorch.matmul = lambda a, b: a\n",
    "augmented assignment to a module's attribute": "import torch\ntorch.e += 1\n",
    "del of a module's attribute": "import torch\ndel torch.matmul\n",
    "assignment to a library class's attribute": "from torch import Tensor\nTensor.eq = None\n",
    "setattr on a library": "import torch\nsetattr(torch.Tensor, 'eq', None)\n",
    "an imported name rebound": "import torch\ndef f(torch):\n    return torch.sys\n",
    "a global rebound to a module": """
        import torch
        import numpy
        def f():
            global numpy
            numpy = torch
        """,
    "a star import": "from torch import *\n",
    "a relative import": "from . import softmax\n",
    "a kata this one does not use": "from softmax import log_softmax\n",
    "another kata's insides": ("from softmax import torch\n", "05"),
    # found while building the allow-list: public names that defeat the guards today
    "torch.DisableTorchFunction, the public alias of the guard switch": """
        import torch
        def as_row(v):
            with torch.DisableTorchFunction():
                return torch.Tensor.unsqueeze(v, 0)
        """,
    "functools.wraps points the guards' inspect.unwrap at numpy": """
        import functools
        import numpy
        import torch
        @functools.wraps(numpy.linalg.norm)
        def matmul(a, b):
            return torch.stack([(a * b[:, j]).sum(1) for j in range(b.shape[1])], dim=1)
        """,
    "torch.get_device_module hands out a module": """
        import torch
        m = torch.get_device_module('cpu')
        """,
    "typing.get_args hands out ForwardRefs, whose _evaluate evals": """
        import typing
        class Unlock:
            def _evaluate(self):
                pass
        ref = typing.get_args(typing.List["__import__('os')"])[0]
        ref._evaluate({}, {}, frozenset())
        """,
    "a generator's frame leads to its caller's globals": """
        def walk():
            yield
        g = walk()
        caller = g.gi_frame.f_back.f_globals
        """,
    "numpy's ctypes bridge": "import numpy\nc = numpy.ones(2).ctypes\n",
    "numpy's cffi bridge": "import numpy\nc = numpy.random.default_rng().bit_generator.cffi\n",
    "torch.load runs pickles": "import torch\nm = torch.load('m.pt', weights_only=False)\n",
    "numpy.load through torch.nn.functional's own numpy": """
        import torch.nn.functional as F
        F.np.load('x.npy', allow_pickle=True)
        """,
    "torch.compile": "import torch\nf = torch.compile(lambda x: x)\n",
    "nn.Module.compile": "import torch\ndef f(model):\n    model.compile()\n",
    "operator.attrgetter": "import operator\nget = operator.attrgetter('__globals__')\n",
    "a DataLoader's multiprocessing context hands out a module": """
        import torch
        def escape(data):
            loader = torch.utils.data.DataLoader(data, num_workers=1)
            loader.multiprocessing_context = "spawn"
            return loader.multiprocessing_context.reducer.sys.modules
        """,
    "Cython's func_globals in numpy.random": """
        import numpy
        b = numpy.random.RandomState.seed.func_globals["__builtins__"]
        """,
    "torch.from_file maps files": "import torch\nt = torch.from_file('/tmp/x', True, 8)\n",
    "a metaclass": "class Meta(type):\n    def mro(cls):\n        return [cls, object]\n",
    "a metaclass keyword": "class M:\n    pass\nclass X(metaclass=M):\n    pass\n",
    "type() with three arguments": "X = type('X', (), {})\n",
    "type reached as type(type(x))": "Q = type(type(1))('Q', (), {'__torch_function__': None})\n",
    "type reached as x.__class__.__class__": "Q = (1).__class__.__class__('Q', (), {})\n",
    "a class from type(x) used as a value": "def f(x):\n    return type(x).mro()\n",
    "a __torch_function__ of its own": """
        import torch
        class Quiet(torch.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                return func(*args, **(kwargs or {}))
        """,
    "a __reduce__ of its own": """
        class P:
            def __reduce__(self):
                return (print, ('x',))
        """,
    "writing __wrapped__ into an instance's __dict__": """
        import torch.nn.functional as F
        class Callable:
            def __init__(self):
                self.__dict__["__wrapped__"] = F.relu
        """,
    "vars(self) written": "class A:\n    def f(self):\n        vars(self).update(x=1)\n",
    "vars of another object": "def f(x):\n    return vars(x)\n",
    "__dict__ of another object": "def f(x):\n    return x.__dict__.get('a')\n",
    "object.__setattr__ of a dunder": """
        class A:
            def __init__(self, k):
                object.__setattr__(self, '__class__', k)
        """,
    "object.__setattr__ on another object": "def f(fn, v):\n    object.__setattr__(fn, 'x', v)\n",
    "super() around a foreign object": """
        import torch.nn.functional as F
        super(object, F.relu).__setattr__('__defaults__', (1,))
        """,
    "__setattr__ that renames what it is handed": """
        class A:
            def __setattr__(self, name, value):
                name = "__wrapped__"
                object.__setattr__(self, name, value)
        """,
    "__getattr__ that looks up what a format string asks for": """
        import torch.nn.functional as F
        STASH = []
        class Spy:
            def __getattr__(self, name):
                STASH.append(getattr(self.fn, name))
        spy = Spy()
        spy.fn = F.relu
        "{0.__globals__}".format(spy)
        """,
    "a public function that is an object answering for its __code__": """
        import torch
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
        """,
    "a public function made by a decorator of the learner's": """
        def as_is(f):
            return f
        @as_is
        def matmul(a, b):
            return (a[..., :, :, None] * b[..., None, :, :]).sum(-2)
        """,
    "a public function rebound inside a function": """
        def matmul(a, b):
            return (a[..., :, :, None] * b[..., None, :, :]).sum(-2)
        def swap():
            global matmul
            matmul = lambda a, b: a @ b
        """,
    "a public function rebound by a walrus in a comprehension": """
        def matmul(a, b):
            return (a[..., :, :, None] * b[..., None, :, :]).sum(-2)
        swapped = [matmul := f for f in [lambda a, b: a @ b]]
        """,
    "setattr with a computed name": "def f(obj, name):\n    setattr(obj, name, 1)\n",
    "getattr with a computed name": """
        def f(obj, suffix):
            return getattr(obj, '__glob' + suffix)
        """,
    "a private name of torch's": "def f(t):\n    return t._base\n",
    "a private name owned to unlock torch's": """
        class Mine:
            def _make_subclass(self):
                pass
        def f(t):
            return t._make_subclass
        """,
    "a refused builtin read at module level after a binding that may not run": """
        if False:
            eval = len
        eval('1')
        """,
    "a comprehension's first iterable is read outside it": "xs = [eval for eval in eval('[1]')]\n",
    "open": "data = open('/etc/passwd').read()\n",
    "breakpoint": "breakpoint()\n",
    "__builtins__": "b = __builtins__\n",
    "a class body renaming its module": "class A:\n    __module__ = 'kata.guards'\n",
    "len.__self__ is the builtins module": "b = len.__self__\n",
}


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_each_attack_has_a_finding(attack):
    source, kata = attack if isinstance(attack, tuple) else (attack, "03")
    found = findings(source, kata)
    assert found, "no finding"
    assert all(finding.line >= 1 and finding.what and finding.why for finding in found)


CORRECT = {
    "the lesson's matvec and matmul": """
        import torch

        def matvec(m, c):
            if m.ndim != 2 or c.ndim != 1 or m.shape[1] != c.shape[0]:
                raise ValueError(f"shapes {tuple(m.shape)} and {tuple(c.shape)} do not fit")
            return (m * c).sum(1)

        def matmul(a, b):
            return (a[..., :, :, None] * b[..., None, :, :]).sum(-2)
        """,
    "torch functions, dtypes, constants, no_grad and where": """
        import math
        import torch

        def f(x: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                y = torch.where(x > 0, x, torch.zeros_like(x)).to(torch.float32)
            return y * math.pi + torch.pi + torch.finfo(torch.float32).eps
        """,
    "F.relu, nn.init, import ... as": """
        import torch.nn.functional as F
        from torch import nn
        from torch.nn import init

        def f(x, w):
            init.kaiming_normal_(w)
            return F.relu(x @ w) + nn.functional.softplus(x)
        """,
    "a Module of its own, as kata 05 writes it": """
        import torch
        from torch import nn

        class Module:
            def __init__(self):
                object.__setattr__(self, "_params", {})
                object.__setattr__(self, "_children", {})

            def __setattr__(self, name, value):
                if isinstance(value, nn.Parameter):
                    self._params[name] = value
                elif isinstance(value, Module):
                    self._children[name] = value
                super().__setattr__(name, value)

            def __getattr__(self, name):
                raise AttributeError(f"{type(self).__name__} has no {name!r}")

            def __call__(self, *args, **kwargs):
                return self.forward(*args, **kwargs)

            def __repr__(self):
                return f"{self.__class__.__name__}({len(self._params)} parameters)"

            def parameters(self):
                yield from self._params.values()
                for child in self._children.values():
                    yield from child.parameters()

        class Linear(Module):
            def __init__(self, n_in, n_out):
                super().__init__()
                self.w = nn.Parameter(torch.randn(n_in, n_out) / math.sqrt(n_in))
                self.b = nn.Parameter(torch.zeros(n_out))

            def forward(self, x):
                return x @ self.w + self.b

        class Sequential(Module):
            def __init__(self, *layers):
                Module.__init__(self)
                for i, layer in enumerate(layers):
                    setattr(self, f"layer{i}", layer)
                self.layers = layers

            def forward(self, x):
                for layer in self.layers:
                    x = layer(x)
                return x

        import math
        """,
    "vars(self) and self.__dict__, read": """
        class A:
            def __setattr__(self, name, value):
                if "ready" not in self.__dict__ and name != "ready":
                    raise AttributeError(name)
                object.__setattr__(self, name, value)

            def names(self):
                return [k for k, v in vars(self).items() if v is not None] + list(self.__dict__)
        """,
    "a generator-based __iter__, __len__, __getitem__, math.ceil": """
        import math
        import torch

        class DataLoader:
            def __init__(self, dataset, batch_size=64, shuffle=False):
                self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle

            def __len__(self):
                return math.ceil(len(self.dataset) / self.batch_size)

            def __iter__(self):
                n = len(self.dataset)
                order = torch.randperm(n) if self.shuffle else torch.arange(n)
                for i in range(0, n, self.batch_size):
                    yield self.dataset[order[i:i + self.batch_size]]
        """,
    "functools, itertools, operator, collections, typing, dataclasses": """
        from __future__ import annotations

        import functools
        import itertools
        import operator
        from collections import OrderedDict, defaultdict
        from dataclasses import dataclass, field
        from typing import Callable, Iterable, Optional

        @dataclass
        class History:
            losses: list = field(default_factory=list)
            best: Optional[float] = None

        def product(sizes: Iterable[int]) -> int:
            return functools.reduce(operator.mul, sizes, 1)

        def pairs(xs):
            return list(itertools.combinations(xs, 2)), OrderedDict(), defaultdict(list)

        def apply(f: Callable[[int], int], xs):
            return sorted(map(f, xs), key=lambda v: -v)
        """,
    "builtins of every day": """
        def f(xs, ys):
            total = sum(abs(x) for x in xs) + max(ys, default=0) - min(xs or [0])
            pairs = dict(zip(xs, ys))
            print(f"{total:.3f}", len(pairs), round(2.5), divmod(7, 2), repr(pairs))
            assert isinstance(total, (int, float)), type(total).__name__
            assert type(xs) is type(ys), xs.__class__.__qualname__
            assert issubclass(type(total), object)
            return tuple(reversed(sorted(set(xs)))), list(enumerate(ys)), range(3), slice(1, 2)
        """,
    "numpy, for a quick comparison": """
        import numpy as np

        def f(x):
            return np.allclose(x.numpy(), np.zeros(3))
        """,
    "the device, as kata 08 picks it": """
        import torch

        def device():
            if torch.cuda.is_available():
                return torch.device("cuda")
            return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
        """,
    "a private helper method, a property, a static method": """
        class SGD:
            def __init__(self, params, lr):
                self.params, self._lr = list(params), lr

            @property
            def lr(self):
                return self._lr

            @staticmethod
            def _scaled(g, lr):
                return g * lr

            def step(self):
                for p in self.params:
                    p.data -= SGD._scaled(p.grad, self._lr)
        """,
    "hasattr and getattr with names known before the code runs": """
        class Sequential:
            def __init__(self, *layers):
                for i, layer in enumerate(layers):
                    setattr(self, f"layer{i}", layer)
                self.n = len(layers)

            def forward(self, x):
                for i in range(self.n):
                    layer = getattr(self, f"layer{i}")
                    x = layer(x) if hasattr(layer, "forward") or callable(layer) else x
                return x
        """,
    "a parameter named like a builtin it shadows": """
        def forward(input, compile=False):
            return input if compile else -input
        """,
    "an exception of its own, raised with a message": """
        class ShapeError(ValueError):
            pass

        def check(x):
            try:
                x.reshape(-1)
            except RuntimeError as error:
                raise ShapeError(f"cannot flatten {tuple(x.shape)}: {error}") from None
        """,
    "if __name__ == '__main__'": """
        def main():
            print('hi')

        if __name__ == '__main__':
            main()
        """,
    "public functions decorated by the library": """
        import functools
        import torch

        @torch.no_grad()
        def matvec(m, c):
            return (m * c).sum(1)

        @functools.lru_cache(maxsize=None)
        def matmul_by_columns(a, b):
            return torch.stack([matvec(a, b[:, j]) for j in range(b.shape[1])], dim=1)
        """,
    "a local variable and a nested helper named like public functions": """
        import torch

        def matvec(m, c):
            return (m * c).sum(1)

        def matmul(a, b):
            matvec = (a[..., :, :, None] * b[..., None, :, :])
            def matmul(t):
                return t.sum(-2)
            return matmul(matvec)
        """,
    "the same module imported in two ways": "import torch.nn as nn\nfrom torch import nn\n",
    "module-level private functions and constants": """
        _EPS = 1e-8

        def _norm(x):
            return x / (x.norm() + _EPS)
        """,
}


@pytest.mark.parametrize("source", CORRECT.values(), ids=CORRECT.keys())
def test_each_correct_style_has_no_finding(source):
    assert findings(source) == []


def test_the_earlier_katas_a_kata_uses_are_imported_by_their_public_names():
    assert findings("from softmax import log_softmax\nimport softmax\ny = softmax.sigmoid\n",
                    "05") == []
    assert findings("from dataloader import DataLoader, Dataset\n"
                    "from training_loop import SGD, History, fit, nll_loss\n", "08") == []
    assert findings("import softmax\nt = softmax.torch\n", "05")


@pytest.mark.parametrize("kata", load_manifest().katas, ids=lambda kata: kata.folder)
def test_solutions_stubs_and_the_catalogs_alternatives_have_no_finding(kata):
    checked, problems = allowlist_problems(kata)
    assert checked >= 2 and problems == []


def test_a_finding_names_its_line_and_why():
    found = findings("import torch\n\n\ndef f(a):\n    return torch.ops.aten.mm(a, a)\n")
    assert [(f.line, f.what) for f in found] == [(5, "torch.ops.aten.mm")]
    assert str(found[0]).startswith("line 5: torch.ops.aten.mm (")


def test_a_module_that_does_not_parse_cannot_be_vouched_for():
    assert [f.what for f in findings("def f(:\n")] == ["the module does not parse"]


def test_the_modules_examples_hold():
    assert doctest.testmod(allowlist).failed == 0


def test_a_module_outside_the_allow_list_does_not_run_and_its_tests_say_why(pytester):
    """The trusted side reads the module before any of it runs: its code never runs (here it
    would write a file), every test fails saying which line, and the kind is recorded."""
    pytester.makeconftest('pytest_plugins = ["kata.harness.plugin"]')
    folder = pytester.mkdir("katas") / "03_matmul"
    folder.mkdir()
    ran = pytester.path / "it ran"
    (folder / "matmul.py").write_text(f"import pathlib\npathlib.Path({str(ran)!r}).touch()\n"
                                      "def matvec(m, c):\n    return (m * c).sum(1)\n")
    (folder / "test_it.py").write_text("def test_matvec(impl):\n"
                                       "    impl.matvec(__import__('torch').ones(1, 1), "
                                       "__import__('torch').ones(1))\n")
    result = pytester.runpytest("katas/03_matmul")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*03_matmul/matmul.py line 1: import pathlib*"])
    assert not ran.exists()
