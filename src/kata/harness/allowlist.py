"""The allow-list verifier: a kata module is checked, from its source and before any of it
runs, against what kata code may name, so that the code that runs is the code the guards see.

``check(source, kata)`` reads the module with ``ast`` (it never runs it) and returns one
``Finding`` per construct outside the allow-list; an empty list means the module is within
it. A module with a finding earns no rule point.

What passing guarantees. Every name the module reaches is one of:

- the learner's own code: this module, and the public names of the earlier katas it
  ``uses`` (which must pass too: check every module of the tree the loader imports);
- an allowed module's allowed names (``MODULES``), each dotted name resolved here, in the
  trusted process with the real libraries imported, never to a module outside ``MODULES``,
  never through a private (``_x``) component, never to an object in ``DENIED`` or from a
  module in ``DENIED_HOMES``;
- an allowed builtin (``BUILTINS``), or ``type``/``super``/``vars``/``getattr``/``setattr``/
  ``hasattr``/``delattr`` in the forms ``_Verifier`` lists, with attribute names known before
  the code runs.

So a verified module cannot name ``sys``, ``os``, ``importlib``, ``builtins``, the harness
(``kata``), ``eval``/``exec``/``compile``/``__import__``/``globals``/``open``, torch's insides
(``torch._C``, ``torch.ops``, ``torch.overrides``) or its switches
(``torch.DisableTorchFunction``), nor hold a module as a value (no ``t = torch``, so no
``t.sys``), nor ``type`` (so no class it has not written as a ``class`` statement). It cannot
read the dunders that lead from an object to code, globals, classes' subclasses or frames
(``__globals__``, ``__subclasses__``, ``__mro__``, ``__self__``...), nor the plain names that
do the same (``gi_frame``, ``f_back``, Cython's ``func_globals``...). It cannot assign or delete
a library's attributes (``torch.matmul = ...``), write an object's ``__dict__``, define a
metaclass or the hooks by which an object takes over torch's or numpy's dispatch
(``__torch_function__``...), nor set ``__wrapped__`` (``functools.wraps``). Its public names
are its own ``def`` and ``class`` statements. (The guards read a public function's file
through ``__wrapped__`` and ``__code__`` to tell the learner's code from the libraries'.)

What stays advisory (measured, not proven):

- Attribute reads on values. ``x.name`` works on whatever ``x`` holds at run time, which no
  reading of the source can know. Public names, and private ones, reach no module, frame, code
  object or refused builtin within four reads of what ``MODULES`` allows (``reach.py`` walks
  them, through dicts and sequences too); a private name must also be the module's own, and on
  anything but ``self`` not one of the libraries', so that defining a name cannot unlock a
  library internal.
- A plain method called through its class with another object as ``self``
  (``Module.parameters(other)``) gives that object ``self``'s allowances: it reads its
  attributes (``vars(self)``), which is what the point above measures, and sets attributes of
  it by names known before the code runs.
- What calls return and do is the libraries' documented behaviour, not walked: files written
  by methods of values (``ndarray.tofile``) are the box's to stop, threads the guards'.
- Which guard wraps what: a special method that is not a plain function (a ``@staticmethod``
  ``__getitem__``) passes the verifier, and the guards do not wrap it.

>>> from kata.core.manifest import load_manifest
>>> kata = load_manifest().kata("03")
>>> check("import torch\\n\\ndef matvec(m, c):\\n    return (m * c).sum(1)\\n", kata)
[]
>>> [str(f) for f in check("import torch\\nt = torch.sys\\n", kata)]
['line 2: torch.sys (torch.sys is a module outside the allow-list (sys))']
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

from kata.core.manifest import Kata, load_manifest

# --- the allow-list --------------------------------------------------------------------------

#: a module's policy: every public name of it
PUBLIC = "public"
#: torch's own policy: its tensor operations (those of ``torch._C._VariableFunctions`` and of
#: ``torch.functional``), its constants (dtypes, layouts, ``pi``...), and ``TORCH_NAMES``
TENSOR_API = "tensor API"

#: The modules a kata may import, each with the names it may reach there (a policy, or the
#: names themselves). A submodule is reached only when listed here itself, whatever its parent.
#: Not torch.utils.data: a DataLoader turns ``multiprocessing_context = "spawn"`` into a
#: context whose ``reducer`` is a module (and its ``sys``); no kata needs it, and the rules
#: forbid it where it would do a kata's work. Nor torch.optim, torch.autograd, torch.fft...:
#: no kata needs them either, and each module listed is surface to vouch for.
MODULES: dict[str, str | frozenset[str]] = {
    "torch": TENSOR_API,
    "torch.nn": PUBLIC,
    "torch.nn.functional": PUBLIC,
    "torch.nn.init": PUBLIC,
    "torch.linalg": PUBLIC,
    "torch.special": PUBLIC,
    "torch.cuda": frozenset({"is_available", "device_count", "current_device", "get_device_name",
                             "synchronize", "manual_seed", "manual_seed_all", "empty_cache",
                             "memory_allocated", "max_memory_allocated"}),
    "torch.backends": frozenset(),  # only the way to torch.backends.mps
    "torch.backends.mps": frozenset({"is_available", "is_built"}),
    # numpy's arrays everywhere (the rules forbid its twins where a kata is about them); not
    # numpy.random, whose Cython functions hold their globals under plain names (func_globals)
    "numpy": PUBLIC,
    "math": PUBLIC,
    "itertools": PUBLIC,
    "operator": PUBLIC,
    "collections.abc": PUBLIC,
    "collections": frozenset({"OrderedDict", "defaultdict", "Counter", "deque", "namedtuple",
                              "ChainMap"}),
    # not wraps/update_wrapper (they set __wrapped__, which the guards follow to tell the
    # learner's files from the libraries'), nor singledispatch (it evaluates annotations)
    "functools": frozenset({"reduce", "partial", "cache", "lru_cache", "cached_property",
                            "total_ordering", "cmp_to_key"}),
    "dataclasses": frozenset({"dataclass", "field", "fields", "asdict", "astuple", "replace",
                              "is_dataclass", "InitVar", "KW_ONLY", "FrozenInstanceError"}),
    # the words of annotations; not get_type_hints, get_args or ForwardRef, which evaluate or
    # hand out annotations that are strings
    "typing": frozenset({"Any", "Callable", "ClassVar", "Dict", "Final", "FrozenSet",
                         "Generator", "Generic", "Iterable", "Iterator", "List", "Literal",
                         "Mapping", "NamedTuple", "Optional", "Protocol", "Sequence", "Set",
                         "TYPE_CHECKING", "Tuple", "Type", "TypeVar", "Union", "cast",
                         "overload"}),
    "__future__": frozenset({"annotations"}),
}

#: torch's names beyond its tensor operations and constants.
TORCH_NAMES = frozenset({
    "Tensor", "Size", "Generator", "default_generator", "device", "dtype", "layout",
    "memory_format", "finfo", "iinfo", "no_grad", "enable_grad", "inference_mode",
    "set_grad_enabled", "is_grad_enabled", "manual_seed", "seed", "initial_seed",
    "get_rng_state", "set_rng_state", "get_default_dtype", "set_default_dtype",
    "get_default_device", "set_default_device", "set_printoptions", "is_tensor", "typename",
    "use_deterministic_algorithms", "are_deterministic_algorithms_enabled", "get_num_threads",
    "set_num_threads", "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor",
    "LongTensor", "IntTensor", "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor",
})

_CODE = "turns bytes into objects (pickle) or source into code: code the guards never read"
_FILES = "reads or writes files; a kata's code only computes"
_DYNAMIC = "looks attributes up by strings, which hides what the code reaches"
_RUNNER = "runs another program inside this process"
_IMPORTS = "imports modules by their names, at run time"

#: Objects refused although their module allows them (compared by identity, so that
#: ``torch.nn.functional.np.load`` is ``numpy.load`` too), and why. Names a version lacks
#: (``numpy.DataSource`` and ``numpy.lookfor`` are numpy 1's) are skipped.
DENIED = {
    "numpy.load": _CODE, "torch.from_file": _FILES, "numpy.save": _FILES,
    "numpy.savez": _FILES, "numpy.savez_compressed": _FILES, "numpy.savetxt": _FILES,
    "numpy.loadtxt": _FILES, "numpy.genfromtxt": _FILES, "numpy.fromfile": _FILES,
    "numpy.fromregex": _FILES, "numpy.memmap": _FILES, "numpy.DataSource": _FILES,
    "operator.attrgetter": _DYNAMIC, "operator.methodcaller": _DYNAMIC,
    "numpy.test": _RUNNER, "numpy.info": _RUNNER, "numpy.lookfor": _IMPORTS,
}
#: Modules whose objects are refused wherever they are reached from, and why: today
#: ``F.handle_torch_function`` (from torch.overrides); tomorrow whatever a module added to
#: ``MODULES`` re-exports from them (``torch.load`` lives in torch.serialization).
DENIED_HOMES = {
    **dict.fromkeys(("torch.serialization", "torch.jit", "torch.fx", "torch._dynamo",
                     "torch.compiler", "torch.export", "torch.package", "torch.hub",
                     "torch.library"), _CODE),
    **dict.fromkeys(("torch.overrides", "torch.utils._python_dispatch", "torch._ops"),
                    "is torch's dispatch machinery, where the rule guards live"),
    "torch.multiprocessing": "starts processes, where the guards cannot see",
}

#: Builtins a kata may use freely: computing, containers, iteration, classes, printing, and
#: every exception class.
BUILTINS = frozenset({
    "abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "callable", "chr",
    "classmethod", "complex", "dict", "divmod", "enumerate", "filter", "float", "format",
    "frozenset", "hash", "hex", "id", "int", "isinstance", "issubclass", "iter", "len", "list",
    "map", "max", "memoryview", "min", "next", "object", "oct", "ord", "pow", "print", "property",
    "range", "repr", "reversed", "round", "set", "slice", "sorted", "staticmethod", "str", "sum",
    "tuple", "zip", "Ellipsis", "NotImplemented",
}) | {name for name, value in vars(builtins).items()
       if isinstance(value, type) and issubclass(value, BaseException)}
#: Builtins allowed in one form only (see ``_Verifier``): a bare use hands out the builtin.
RESTRICTED = frozenset({"type", "super", "vars", "getattr", "setattr", "hasattr", "delattr"})

#: Special methods a class may define, and ``super()`` may reach.
SPECIAL_METHODS = frozenset({
    "__init__", "__post_init__", "__call__", "__repr__", "__str__", "__format__", "__len__",
    "__iter__", "__next__", "__reversed__", "__contains__", "__getitem__", "__setitem__",
    "__delitem__", "__getattr__", "__setattr__", "__delattr__", "__eq__", "__ne__", "__lt__",
    "__le__", "__gt__", "__ge__", "__hash__", "__bool__", "__enter__", "__exit__", "__int__",
    "__float__", "__index__", "__round__", "__neg__", "__pos__", "__abs__", "__invert__",
    *(f"__{prefix}{op}__" for op in ("add", "sub", "mul", "matmul", "truediv", "floordiv",
                                     "mod", "pow", "and", "or", "xor", "lshift", "rshift")
      for prefix in ("", "r", "i")),
})
#: Special methods of a base class that a method may call on its own ``self``:
#: ``Module.__init__(self)``, ``object.__setattr__(self, name, value)``.
BASE_CALLS = frozenset({"__init__", "__setattr__", "__delattr__"})
#: Dunder attributes that only name things: readable on anything.
DUNDER_READS = frozenset({"__name__", "__qualname__", "__doc__"})
#: What may be done with a class reached as ``type(x)`` or ``x.__class__``: name it. As a
#: value it would lead to its own class, ``type``, which makes classes the checks never read.
CLASS_READS = frozenset({"__name__", "__qualname__"})
#: Attribute names refused on any value: the roads from a generator, a coroutine or a
#: traceback to frames (and from frames to every module); the Python 2 names that Cython's
#: functions (numpy.random's) keep for ``__globals__``, ``__code__``...; numpy's bridges to C
#: memory (``ndarray.ctypes``, ``BitGenerator.cffi``); torch's compiler (``nn.Module.compile``).
INTERNALS = frozenset({
    "f_back", "f_builtins", "f_code", "f_globals", "f_locals", "f_trace", "gi_frame", "gi_code",
    "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame", "ag_code", "ag_await",
    "tb_frame", "tb_next", "func_globals", "func_code", "func_closure", "func_dict",
    "func_defaults", "im_func", "im_self", "im_class", "ctypes", "cffi", "compile",
})
#: What may be done with ``vars(self)`` or ``self.__dict__``: read it (its methods that read,
#: builtins that only read their arguments), never write it.
DICT_READS = frozenset({"get", "keys", "values", "items", "copy"})
READING_BUILTINS = frozenset({"len", "list", "tuple", "dict", "set", "frozenset", "sorted", "iter",
                              "reversed", "enumerate", "repr", "str", "print"})


@dataclass(frozen=True)
class Finding:
    """A line of a kata module outside the allow-list: what is there, and why it is refused."""

    line: int
    what: str
    why: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.what} ({self.why})"


def check(source: str, kata: Kata) -> list[Finding]:
    """The findings of kata module ``source`` of ``kata``, in line order; [] when the module is
    within the allow-list. A module that does not parse has one finding: nothing of it can be
    vouched for."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as error:
        return [Finding(getattr(error, "lineno", None) or 1, "the module does not parse",
                        str(error))]
    verifier = _Verifier(tree, kata)
    verifier.visit(tree)
    return sorted(set(verifier.findings), key=lambda finding: (finding.line, finding.what))


# --- the libraries, as the trusted process sees them ----------------------------------------

@functools.cache
def _denied() -> dict[int, tuple[str, str]]:
    """id of each ``DENIED`` object -> (its name, why); names this version lacks are skipped."""
    found = {}
    for dotted, why in DENIED.items():
        module, _, name = dotted.rpartition(".")
        value = getattr(importlib.import_module(module), name, None)
        if value is not None:
            found[id(value)] = (dotted, why)
    return found


@functools.cache
def _library_private() -> frozenset[str]:
    """The private names of the allowed modules' objects and of their types: names a
    learner's module may not make its own (so that it cannot unlock a library's insides)."""
    holders: dict[int, object] = {}  # each object once: thousands of values share a type
    for module_name, policy in MODULES.items():
        # what the module holds now: vars(), not getattr(), which would import numpy's and
        # torch's lazy submodules (modules, which are never values)
        namespace = vars(importlib.import_module(module_name))
        for name in namespace if policy in (PUBLIC, TENSOR_API) else policy:
            value = namespace.get(name)
            if not isinstance(value, types.ModuleType):
                for holder in (value, type(value)):
                    holders.setdefault(id(holder), holder)
    return frozenset(name for holder in holders.values() for name in dir(holder)
                     if _is_private(name))


def _allowed_in(module: types.ModuleType, name: str, value: object) -> bool:
    """Whether ``MODULES`` lets ``module``'s ``name`` (holding ``value``) be reached."""
    policy = MODULES[module.__name__]
    if policy == PUBLIC:
        return True
    if policy == TENSOR_API:
        import torch  # the trusted side may look under torch: _VariableFunctions holds its ops
        return (name in TORCH_NAMES or getattr(torch._C._VariableFunctions, name, None) is value
                or getattr(value, "__module__", None) == "torch.functional"
                or isinstance(value, (bool, int, float, complex, str, type(None), torch.dtype,
                                      torch.layout, torch.memory_format)))
    return name in policy


@functools.cache
def _resolve(module_name: str, path: tuple[str, ...]) -> tuple[str | None, object]:
    """(why it is refused, or None; the object) for the allowed module ``module_name``
    followed by the attributes ``path`` (no dunders: the verifier judges those)."""
    value = importlib.import_module(module_name)
    shown = module_name
    for attribute in path:
        shown = f"{shown}.{attribute}"
        if attribute.startswith("_"):
            return f"{shown} is private: the libraries' insides are not a kata's", None
        if attribute in INTERNALS:
            return f"{shown} {_INTERNALS}", None
        try:
            child = getattr(value, attribute)
        except Exception:  # noqa: BLE001 - whatever the library raises, it is not there
            return f"{shown} is not found, so it cannot be vouched for", None
        if isinstance(child, types.ModuleType):
            if child.__name__ not in MODULES:
                return f"{shown} is a module outside the allow-list ({child.__name__})", None
        elif isinstance(value, types.ModuleType) and not _allowed_in(value, attribute, child):
            return f"{shown} is not among the names the allow-list gives {value.__name__}", None
        if id(child) in _denied():
            name, why = _denied()[id(child)]
            return f"{shown} is {name}, which {why}", None
        home = getattr(child, "__module__", None)
        if isinstance(home, str) and not isinstance(child, types.ModuleType):
            for denied, why in DENIED_HOMES.items():
                if home == denied or home.startswith(denied + "."):
                    return f"{shown} comes from {home}, which {why}", None
        value = child
    return None, value


# --- the verifier ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Root:
    """What a name bound by an import stands for: ``module`` (an allowed module, or an earlier
    kata's) followed by the attributes ``path``."""

    module: str
    path: tuple[str, ...]
    kata: Kata | None = None  # the earlier kata, for a kata module


@dataclass
class _Scope:
    kind: str  # "module", "class" or "function" (lambdas and comprehensions are functions)
    bound: set[str]
    #: a method's first parameter (the instance, unless the method rebinds it)
    self_name: str | None = None
    #: the attribute name that Python hands ``__setattr__``/``__delattr__``: one the checked
    #: code spelled out (not ``__getattr__``'s, which ``"{0.__globals__}".format(x)`` spells)
    name_param: str | None = None


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp,
           ast.SetComp, ast.DictComp, ast.GeneratorExp)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _own_nodes(nodes: Sequence[ast.AST]) -> Iterator[ast.AST]:
    """Every node of ``nodes`` (a scope's statements) and below, but not inside a nested
    scope: a nested ``def``, ``class``, lambda or comprehension is yielded, not entered."""
    todo = list(nodes)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, _SCOPES):
            todo.extend(ast.iter_child_nodes(node))


def _binding(node: ast.AST) -> str | None:
    """The name that ``node`` binds in its scope, if it binds one."""
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        return node.id
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, ast.alias):
        return node.asname or node.name.split(".")[0]
    if isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)):
        return node.name
    return node.rest if isinstance(node, ast.MatchMapping) else None


def _bound(nodes: Sequence[ast.AST]) -> set[str]:
    """The names that ``nodes`` (a scope's statements) bind in that scope, those declared
    ``global`` left out."""
    names: set[str] = set()
    declared_global: set[str] = set()
    for node in _own_nodes(nodes):
        bound = _binding(node)
        if bound is not None:
            names.add(bound)
        if isinstance(node, ast.Global):
            declared_global.update(node.names)
    return names - declared_global


def _parameters(args: ast.arguments) -> list[str]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return [arg.arg for arg in every if arg is not None]


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not _is_dunder(name)


def _shown(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


_INTERNALS = "leads to frames (and from them to every module), to C memory or to compiled code"
_MODULE_VALUE = ("a module is only ever the start of a dotted name: as a value it would hand "
                 "out all of its names")
_DYNAMIC_NAME = "the attribute name is computed at run time, so what it reaches cannot be checked"
_LIBRARY_STATE = "changes a library's object for every caller, the harness's guards included"
_FRAMES = "leads from an object to frames, code, globals or every class, where the harness lives"
_CLASS_VALUE = ("a class reached this way is only named or compared: as a value it leads to "
                "type, which makes classes the checks never read")


class _Verifier(ast.NodeVisitor):
    """Walks a module once, scope by scope, and records what lies outside the allow-list.

    The forms in which a restricted builtin or dunder is allowed:

    - ``type(x)`` and ``x.__class__``, to name or compare the class (``type(x).__name__``,
      ``type(a) is type(b)``); ``super()`` and ``super(C, self)``, only as ``super().attribute``;
    - ``getattr``/``hasattr(x, NAME)``, ``setattr(x, NAME, value)``, ``delattr(x, NAME)`` on
      anything but a library name, NAME known before the code runs (see ``_static_name``);
    - ``vars(self)`` and ``self.__dict__``, read only (``.get``, ``.items()``, ``in``, ``[key]``,
      iteration, ``list(...)``...), ``self`` being a method's first parameter;
    - ``super().__special__(...)`` for the special methods a class may define, and
      ``Base.__init__(self, ...)``, ``Base.__setattr__(self, NAME, value)`` and
      ``Base.__delattr__(self, NAME)`` (``object.__setattr__(self, "_params", {})``);
    - ``__name__``, ``__qualname__`` and ``__doc__`` read on anything.
    """

    def __init__(self, tree: ast.Module, kata: Kata):
        self.findings: list[Finding] = []
        self.scopes: list[_Scope] = []
        self.parents = {child: parent for parent in ast.walk(tree)
                        for child in ast.iter_child_nodes(parent)}
        self.vetted: set[ast.AST] = set()  # restricted builtins whose call form was checked
        manifest = load_manifest()
        self.uses = {manifest.kata(folder).module: manifest.kata(folder) for folder in kata.uses}
        self.roots: dict[str, _Root] = {}
        self.owned: set[str] = set()  # the private attribute names this module defines
        self._read_imports_and_owned_names(tree)
        self._check_public_names(tree, {*kata.functions, *kata.given})

    def find(self, node: ast.AST, what: str, why: str) -> None:
        self.findings.append(Finding(getattr(node, "lineno", 1), what, why))

    # --- what the module imports and defines, read before the walk ---------------------------

    def _read_imports_and_owned_names(self, tree: ast.Module) -> None:
        """What each imported name stands for, and the private attribute names the module
        defines (assigns, defines in a class, or sets with setattr and a string)."""
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    root, bound = self._imported(node, alias), _binding(alias)
                    if root is not None and bound is not None and \
                            self.roots.setdefault(bound, root) != root:
                        self.find(node, bound, "bound to two different imports")
            elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
                self.owned.add(node.attr)
            elif isinstance(node, ast.ClassDef):
                self.owned.update(_bound(node.body))
            elif isinstance(node, ast.Call) and isinstance(
                    setter := self._attribute_setter(node), ast.Constant):
                self.owned.add(str(setter.value))
        self.owned = {name for name in self.owned if _is_private(name)}
        for node in ast.walk(tree):  # an imported name is never bound otherwise
            names = _parameters(node) if isinstance(node, ast.arguments) else [_binding(node)]
            for name in {name for name in names if name is not None} & self.roots.keys():
                if not isinstance(node, ast.alias):
                    self.find(node, name, f"rebinds {name}, which this module imports: the "
                                          f"checks read {name} as the import everywhere")

    def _check_public_names(self, tree: ast.Module, public: set[str]) -> None:
        """The kata's public names are bound in the module's globals only by its own top-level
        ``def`` and ``class`` statements, decorated by library names (``@torch.no_grad()``,
        ``@dataclass``): the guards read a public function's code and file from the object
        itself, which an object of the learner's could answer for (``__getattr__`` asked for
        ``__code__``)."""
        for node in ast.walk(tree):
            name = _binding(node)
            if name not in public or not self._binds_a_global(node, name):
                continue
            if not (node in tree.body and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                             ast.ClassDef))
                    and all(self._from_library(d) for d in node.decorator_list)):
                self.find(node, name, f"{name} is one of the kata's public names: only this "
                                      f"module's def or class binds it, decorated by library names")

    def _binds_a_global(self, node: ast.AST, name: str) -> bool:
        """Whether binding ``name`` at ``node`` binds the module's global of that name: at the
        top level, or in a function that declares it ``global``."""
        walrus = isinstance(self.parents.get(node), ast.NamedExpr)
        scope = self.parents.get(node)
        while (scope is not None and not isinstance(scope, _SCOPES)) or \
                (walrus and isinstance(scope, _COMPREHENSIONS)):  # a walrus binds outside them
            scope = self.parents.get(scope)
        if scope is None:
            return True
        return isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
            isinstance(n, ast.Global) and name in n.names for n in _own_nodes(scope.body))

    def _from_library(self, node: ast.AST) -> bool:
        """Whether ``node`` is a library's name or dotted name, or a call of one."""
        node = node.func if isinstance(node, ast.Call) else node
        while isinstance(node, ast.Attribute):
            node = node.value
        root = self.roots.get(node.id) if isinstance(node, ast.Name) else None
        return root is not None and root.kata is None

    def _imported(self, node: ast.Import | ast.ImportFrom, alias: ast.alias) -> _Root | None:
        """What ``alias`` of import ``node`` binds, or None (with a finding) when refused."""
        path: tuple[str, ...]
        if isinstance(node, ast.Import):
            what, module, path = f"import {alias.name}", alias.name, ()
            if alias.asname is None:
                module = alias.name.split(".")[0]
        else:
            module, path = node.module or "", (alias.name,)
            what = f"from {'.' * node.level}{module} import {alias.name}"
            if node.level or alias.name == "*":
                self.find(node, what, "a relative or star import hides what it binds")
                return None
        top = alias.name if isinstance(node, ast.Import) else module
        if top in self.uses:
            kata = self.uses[top]
            if path and path[0] not in {*kata.functions, *kata.given}:
                self.find(node, what, f"only the public names of kata {kata.folder} "
                                      f"({', '.join(kata.functions)}) are this kata's to use")
                return None
            return _Root(top, path, kata)
        if top not in MODULES:
            self.find(node, what, f"{top} is not on the allow-list: a kata imports torch, "
                                  f"numpy, a few of Python's computing modules and the earlier "
                                  f"katas it uses ({', '.join(self.uses) or 'none here'})")
            return None
        if path and _is_dunder(path[0]):
            self.find(node, what, _FRAMES)
            return None
        why, value = _resolve(module, path)
        if why:
            self.find(node, what, why)
            return None
        if isinstance(value, types.ModuleType):  # from torch import nn: the module torch.nn
            return _Root(value.__name__, ())
        return _Root(module, path)

    def _attribute_setter(self, call: ast.Call) -> ast.AST | None:
        """The name argument of a call that sets or deletes an attribute by name, else None."""
        func, args = call.func, call.args
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and len(args) >= 2:
            return args[1]
        if isinstance(func, ast.Attribute) and func.attr in ("__setattr__", "__delattr__"):
            on_super = isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name) \
                and func.value.func.id == "super"
            index = 0 if on_super else 1
            return args[index] if len(args) > index else None
        return None

    # --- scopes -------------------------------------------------------------------------------

    def _binding_scope(self, name: str) -> _Scope | None:
        """The innermost function scope that binds ``name``; None when the name is read from
        the module's globals or the builtins (class scopes do not enclose functions)."""
        for scope in reversed(self.scopes):
            if scope.kind == "function" and name in scope.bound:
                return scope
        return None

    def _is_self(self, node: ast.AST) -> bool:
        """Whether ``node`` is a method's first parameter, the instance."""
        if not isinstance(node, ast.Name):
            return False
        scope = self._binding_scope(node.id)
        return scope is not None and scope.self_name == node.id

    def _builtin(self, node: ast.AST, name: str | None = None) -> TypeGuard[ast.Name]:
        """Whether ``node`` is a Name that may read the builtin ``name`` (any builtin: None)."""
        return isinstance(node, ast.Name) and (name is None or node.id == name) and \
            node.id not in self.roots and self._binding_scope(node.id) is None and \
            hasattr(builtins, node.id)

    def visit_Module(self, node: ast.Module) -> None:
        self.scopes.append(_Scope("module", set()))
        self.generic_visit(node)

    def _visit_function(self, node: ast.AST, args: ast.arguments, body: Sequence[ast.AST]) -> None:
        for default in [*args.defaults, *args.kw_defaults]:
            if default is not None:
                self.visit(default)  # defaults, decorators, annotations: the enclosing scope
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None and arg.annotation is not None:
                self.visit(arg.annotation)
        scope = _Scope("function", set(_parameters(args)) | _bound(body))
        in_class = self.scopes[-1].kind == "class" and not isinstance(node, ast.Lambda)
        decorators = {d.id for d in getattr(node, "decorator_list", ()) if isinstance(d, ast.Name)}
        positional = [arg.arg for arg in [*args.posonlyargs, *args.args]]
        if in_class and positional and not decorators & {"staticmethod", "classmethod"}:
            rebound = _bound(body)
            scope.self_name = positional[0] if positional[0] not in rebound else None
            if getattr(node, "name", None) in ("__setattr__", "__delattr__") and \
                    len(positional) > 1:
                scope.name_param = positional[1] if positional[1] not in rebound else None
        self.scopes.append(scope)
        for statement in body:
            self.visit(statement)
        self.scopes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if _is_dunder(node.name) and not (self.scopes[-1].kind == "class"
                                          and node.name in SPECIAL_METHODS):
            self.find(node, f"def {node.name}", "not a special method a kata's class may define: "
                      "the others take over dispatch, pickling, classes or modules")
        for decorator in node.decorator_list:
            self.visit(decorator)
        if node.returns is not None:
            self.visit(node.returns)
        self._visit_function(node, node.args, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_function(node, node.args, [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for keyword in node.keywords:
            self.find(keyword, f"class {node.name}({keyword.arg or '**'}=...)",
                      "a metaclass or class keyword decides what the class is, past the checks")
        for expression in [*node.bases, *node.decorator_list]:
            self.visit(expression)
        self.scopes.append(_Scope("class", set()))
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()

    def _visit_comprehension(self, node) -> None:
        first, *rest = node.generators
        self.visit(first.iter)  # the first iterable is read in the enclosing scope
        self.scopes.append(_Scope("function", _bound([g.target for g in node.generators])))
        for part in [first.target, *first.ifs, *rest]:
            self.visit(part)
        for field in ("elt", "key", "value"):
            if hasattr(node, field):
                self.visit(getattr(node, field))
        self.scopes.pop()

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    # --- names ----------------------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        name, scope = node.id, self.scopes[-1]
        if not isinstance(node.ctx, ast.Load):
            allowed = (scope.kind == "module" and name == "__all__") or (
                scope.kind == "class" and name in SPECIAL_METHODS | {"__slots__"})
            if _is_dunder(name) and not allowed:
                self.find(node, name, "binds a dunder the interpreter reads (__builtins__, "
                                      "__module__...), past the checks")
            return
        root = self.roots.get(name)
        if root is not None:
            if self._root_is_module(root):
                self.find(node, name, _MODULE_VALUE)
            return
        if self._binding_scope(name) is not None or node in self.vetted:
            return
        if _is_dunder(name):
            if name != "__name__" and not (scope.kind == "class" and name in SPECIAL_METHODS):
                self.find(node, name, "reads one of the module's dunders, which the import "
                                      "machinery sets (__builtins__, __loader__, __spec__...)")
        elif name in RESTRICTED:
            self.find(node, name, f"{name} is allowed in one form only (see the verifier), "
                                  f"never as a value that could be called any way")
        elif hasattr(builtins, name) and name not in BUILTINS:
            self.find(node, name, f"the builtin {name} is not on the allow-list: it reaches "
                                  f"code, files, frames or the interpreter")

    def _root_is_module(self, root: _Root) -> bool:
        if root.kata is not None:
            return not root.path
        return isinstance(_resolve(root.module, root.path)[1], types.ModuleType)

    # --- attributes -----------------------------------------------------------------------------

    def _library_chain(self, node: ast.AST) -> tuple[_Root, list[str]] | None:
        """(root, attributes) when ``node`` is a dotted name on an imported name with no dunder
        in it (``torch.nn.functional.relu``), else None."""
        attributes = []
        while isinstance(node, ast.Attribute) and not _is_dunder(node.attr):
            attributes.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.roots and attributes:
            return self.roots[node.id], attributes[::-1]
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain = self._library_chain(node)
        if chain is not None:
            parent = self.parents.get(node)
            if not (isinstance(parent, ast.Attribute) and self._library_chain(parent)):
                self._check_library_chain(node, *chain)
            return  # the inner parts of a chain are judged with it
        attribute = node.attr
        why = None
        if _is_dunder(attribute):
            why = self._dunder_refused(node)
        elif attribute in INTERNALS:
            why = f"{attribute} {_INTERNALS}"
        elif _is_private(attribute):
            why = self._private_refused(attribute, self._is_self(node.value),
                                        stored=not isinstance(node.ctx, ast.Load))
        if why:
            self.find(node, _shown(node), why)
        self.generic_visit(node)

    def _check_library_chain(self, node: ast.Attribute, root: _Root, attributes: list[str]) -> None:
        shown = ".".join([root.module, *root.path, *attributes])
        if not isinstance(node.ctx, ast.Load):
            self.find(node, shown, _LIBRARY_STATE)
            return
        if root.kata is not None:
            path = [*root.path, *attributes]
            if len(path) != 1 or path[0] not in {*root.kata.functions, *root.kata.given}:
                self.find(node, shown, f"only kata {root.kata.folder}'s public names are this "
                                       f"kata's to use, not their insides")
            return
        why, value = _resolve(root.module, (*root.path, *attributes))
        parent = self.parents.get(node)
        on_dunder = isinstance(parent, ast.Attribute) and _is_dunder(parent.attr)
        if why is None and isinstance(value, types.ModuleType) and not on_dunder:
            why = _MODULE_VALUE
        if why:
            self.find(node, shown, why)

    def _dunder_refused(self, node: ast.Attribute) -> str | None:
        """Why the dunder attribute ``node`` is refused, or None (the forms the class
        docstring lists)."""
        attribute, value, parent = node.attr, node.value, self.parents.get(node)
        called = isinstance(parent, ast.Call) and parent.func is node
        if not isinstance(node.ctx, ast.Load):
            return "sets a dunder, which the interpreter reads"
        if attribute in DUNDER_READS:
            return None
        if attribute == "__class__":
            return None if self._class_only_named(node) else _CLASS_VALUE
        if attribute == "__dict__":
            if self._is_self(value) and self._read_only(node):
                return None
            return "an object's __dict__ is read only, and on self only (vars(self) alike)"
        if self._is_super(value):
            if attribute not in SPECIAL_METHODS:
                return "super() reaches the special methods a class may define, no others"
            return self._names_statically(parent) if isinstance(parent, ast.Call) and called \
                else None
        if attribute in BASE_CALLS:
            if isinstance(parent, ast.Call) and called and parent.args and \
                    self._is_self(parent.args[0]):
                return self._names_statically(parent)
            return f"a base class's {attribute} is called on self, as Base.{attribute}(self, ...)"
        return _FRAMES

    def _names_statically(self, call: ast.Call) -> str | None:
        """Why a call on ``self`` that sets or deletes an attribute is refused for the name it
        gives (None for the other calls: they give none)."""
        name = self._attribute_setter(call)
        return None if name is None else self._static_name(name, on_self=True, stored=True)

    def _class_only_named(self, node: ast.AST) -> bool:
        """Whether ``node`` (``type(x)`` or ``x.__class__``) is only named or compared where it
        stands: ``type(x).__name__``, ``type(a) is type(b)``, ``issubclass(type(x), C)``."""
        parent = self.parents.get(node)
        if isinstance(parent, ast.Attribute):
            return parent.attr in CLASS_READS
        if isinstance(parent, ast.Call) and node in parent.args:
            return self._builtin(parent.func) and parent.func.id in ("isinstance", "issubclass")
        return isinstance(parent, ast.Compare)

    def _is_super(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Call) and self._builtin(node.func, "super")

    def _read_only(self, node: ast.AST) -> bool:
        """Whether ``node`` (an object's attribute dict) is only read where it stands."""
        parent = self.parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.attr in DICT_READS:
            call = self.parents.get(parent)
            return isinstance(call, ast.Call) and call.func is parent
        if isinstance(parent, ast.Compare):
            return any(comparator is node and isinstance(op, (ast.In, ast.NotIn))
                       for op, comparator in zip(parent.ops, parent.comparators, strict=True))
        if isinstance(parent, ast.Subscript):
            return parent.value is node and isinstance(parent.ctx, ast.Load)
        if isinstance(parent, ast.Call) and node in parent.args:
            return self._builtin(parent.func) and parent.func.id in READING_BUILTINS
        return isinstance(parent, (ast.For, ast.comprehension)) and parent.iter is node

    def _private_refused(self, name: str, on_self: bool, stored: bool) -> str | None:
        """Why the private attribute ``name`` is refused, or None. Private names are the
        module's own: read, one it defines (an assignment defines it); on another object than
        ``self``, also not one of the libraries' (``_version``), which owning cannot unlock."""
        if not stored and name not in self.owned:
            return f"{name} is not a private name this module defines: private names are its own"
        if not on_self and name in _library_private():
            return f"{name} is also a private name of the libraries: use it on self only"
        return None

    def _static_name(self, node: ast.AST, on_self: bool, stored: bool) -> str | None:
        """Why the attribute name ``node`` is refused, or None: a string that names no dunder
        (and no private name ``_private_refused`` refuses), an f-string that starts with a
        letter, or the name that Python handed ``__setattr__``/``__delattr__``."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _is_dunder(node.value):
                return "names a dunder, which the interpreter reads (__class__, __wrapped__...)"
            if _is_private(node.value):
                return self._private_refused(node.value, on_self, stored)
            return None
        if isinstance(node, ast.JoinedStr) and node.values and \
                isinstance(node.values[0], ast.Constant) and \
                str(node.values[0].value)[:1].isalpha():
            return None
        if isinstance(node, ast.Name):
            scope = self._binding_scope(node.id)
            if scope is not None and scope.name_param == node.id:
                return None
        return _DYNAMIC_NAME

    # --- calls ----------------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        func, args = node.func, node.args
        if self._builtin(func) and func.id in RESTRICTED:
            why = self._restricted_call(node, func.id, args)
            if why:
                self.find(node, _shown(node), why)
            self.vetted.add(func)
        self.generic_visit(node)

    def _restricted_call(self, node: ast.Call, name: str, args: Sequence[ast.AST]) -> str | None:
        """Why this call of the restricted builtin ``name`` is refused, or None."""
        if name == "type":
            if len(args) != 1 or node.keywords:
                return "type() makes classes when given three arguments; a kata only asks type(x)"
            return None if self._class_only_named(node) else _CLASS_VALUE
        if name == "super":
            parent = self.parents.get(node)
            used = isinstance(parent, ast.Attribute) and parent.value is node
            if used and (not args or (len(args) == 2 and self._is_self(args[1]))):
                return None
            return "super() is allowed as super().name or super(Class, self).name"
        if name == "vars":
            if len(args) == 1 and self._is_self(args[0]) and self._read_only(node):
                return None
            return "vars() is allowed as vars(self), read only: it hands out an object's namespace"
        arity = {"getattr": (2, 3), "hasattr": (2,), "setattr": (3,), "delattr": (2,)}[name]
        if len(args) not in arity or node.keywords:
            return f"{name}() takes an object and an attribute name here"
        base = args[0]
        while isinstance(base, ast.Attribute):
            base = base.value
        if isinstance(base, ast.Name) and base.id in self.roots:
            return f"{name}() on a library's name: " + (
                _LIBRARY_STATE if name in ("setattr", "delattr") else _DYNAMIC_NAME)
        return self._static_name(args[1], self._is_self(args[0]),
                                 stored=name in ("setattr", "delattr"))


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


def refusal(kata: Kata, tree: Path) -> str | None:
    """Why the code under test of ``kata`` in ``tree`` may not run, naming each finding of its
    module and of the earlier katas' modules it uses (``Kata.uses``); None when every one is
    within the allow-list (or missing, or not Python: importing it says so). The trusted side
    asks before any of that code runs, in the learner's runs and in grading alike."""
    manifest = load_manifest()
    problems = []
    for checked in (kata, *manifest.used_katas(kata)):
        path = checked.path_in(Path(tree))
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if not _parses(source):
            continue  # it cannot run either: importing it names the SyntaxError and its line
        found = check(source, checked)
        problems += [f"  {checked.folder}/{checked.module}.py {finding}" for finding in found]
    if not problems:
        return None
    return ("the code names what kata code may not, so it does not run (grading refuses it "
            "the same way; remove or rewrite these lines):\n" + "\n".join(problems))
