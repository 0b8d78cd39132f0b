"""Enforce the lesson's rules while a learner's function runs.

A rule, read from the manifest, may say any of:

- ``loops``: no tensor operation may run inside a Python loop (``for``, ``while``, a
  comprehension or a generator expression) or a loop in disguise (``map()``, ``filter()``,
  ``functools.reduce()``, ``sum()`` or ``sorted()`` over tensors, or recursion: a learner
  function called a second time from the same spot, or one instruction that runs the same
  torch function twice), and no tensor may be walked element by element
  (``for v in t``, ``list(t)``, ``zip(t, ...)``, unpacking). Loops over plain Python values,
  such as a shape's sizes or axis numbers, are fine, and reading a tensor's metadata (shape,
  ``size()``, ``dim()``, ``ndim``, ``dtype``, ``device``, ``stride()``, ``numel()``, ``len``)
  is not a tensor operation. Checked when each tensor operation starts: every frame of the
  learner's code on the stack (the function, and any helper, method or static method of any
  module of the learner's tree that it reaches) is asked whether it is inside a loop (see
  ``kata.harness.loops``), so a loop that does not run is never blamed.
- ``calls``: callables that may not be called. Seen through a ``TorchFunctionMode`` (every
  torch function, ``Tensor`` method and operator, ``@`` included, however it was reached) and
  by swapping the forbidden names for tripwires (which catches what torch does not dispatch,
  such as numpy and ``torch.broadcast_shapes``).
- ``ops``: operators of torch's dispatcher (``aten.mm``...) that may not run. Seen through a
  ``TorchDispatchMode``, below every Python entry point: ``torch.ops.aten.matmul``,
  ``Tensor.addbmm``, ``conv1d`` and ``torch.sparse.mm`` all end in one of them.
- ``allowed_ops``: the only operators of torch's dispatcher that may run (an allow-list;
  ``ops`` names the exceptions). A list of forbidden products is never complete
  (``embedding_bag`` with weights, ``cdist``, ``conv_tbc`` and sparse kernels multiply
  matrices too), while what the lesson builds from is short: element-wise operations,
  reductions, views, indexing, factories and copies. The operators are those that reach the
  dispatcher: a function that torch writes in terms of others (``torch.kron``, ``einsum``)
  is seen as the operators it runs, which is why ``calls`` still names such functions.
- ``bases``: classes that a kata's class may not inherit from, checked when the class is
  handed to the tests.

Switching the guards off while they apply breaks every rule of the function: the switches
(``torch._C.DisableTorchFunction``, the modes' ``_pop_mode_temporarily``, ``sys.settrace``
and their kin) are tripwires when learner code calls them, and so is starting a thread or a
process (the modes watch one thread); each of the two modes notices when the other one is
gone, and after the call both must still be in place, with ``kata.harness.guards`` unchanged. (Code
in the same process can always undo what runs there: graded runs judge values in a process
of their own, see ``kata.harness.remote``; this catches the switches a learner would reach for.)

A guarded *function* may not change the tensors it is given in place. Methods of a kata's
classes may: changing state is what they are for (an optimizer's step updates the
parameters it was given, in place).

>>> import torch
>>> from kata.core.manifest import load_manifest
>>> manifest = load_manifest()
>>> cheat = guarded(lambda a, b: a @ b, [manifest.rules["no_library_matmul"]], "matmul.matmul")
>>> cheat(torch.ones(2, 2), torch.ones(2, 2))
Traceback (most recent call last):
...
kata.core.errors.RuleViolation: matmul.matmul() broke the rule ...: it called torch.Tensor.matmul...
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import operator
import os
import sys
import threading
import types
from collections.abc import Callable, Iterable, Mapping

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from kata.core.errors import InputModified, RuleViolation
from kata.core.manifest import Rule, load_manifest
from kata.harness import loops


def _violation(label: str, rule: Rule, what: str) -> RuleViolation:
    return RuleViolation(f"{label}() broke the rule `{rule.name}`: {what}.\n"
                         f"Why the rule: {rule.why}")


def _switched_off(label: str, rules: tuple[Rule, ...], what: str) -> RuleViolation:
    names = ", ".join(f"`{rule.name}`" for rule in rules)
    return RuleViolation(f"{label}() broke the rules {names}: {what}.\n"
                         f"Why the rules: they hold while your function runs, and code that "
                         f"switches off or changes their checks breaks all of them.")


def _readable_path(filename: str) -> str:
    """The path relative to the working directory when it lies below it."""
    relative = os.path.relpath(filename)
    return filename if relative.startswith("..") else relative


def _tree_of(func: Callable) -> str:
    """The tree a plain function or class comes from: the folder above its kata folder. Read
    from the code object a function really runs (or a class's module file), never from what
    the object says of itself (``__wrapped__``, a ``__getattr__`` that answers ``__code__``)."""
    if isinstance(func, types.FunctionType):
        filename = func.__code__.co_filename
    else:
        filename = inspect.getfile(func) if inspect.isclass(func) else "<not a learner's file>"
    return os.path.dirname(os.path.dirname(os.path.abspath(filename)))


def _learner_files(tree: str) -> Callable[[str], bool]:
    """Whether a file holds learner code: any module of ``tree`` (``katas/``, ``solutions/``
    or a grading copy), but not the tests or ``conftest.py`` that live beside them."""
    root = os.path.abspath(tree) + os.sep
    known: dict[str, bool] = {}

    def is_learner(name: str) -> bool:
        answer = known.get(name)
        if answer is None:
            base = os.path.basename(name)
            answer = known[name] = (name.startswith(root) and base.endswith(".py")
                                    and not base.startswith("test_") and base != "conftest.py")
        return answer

    return is_learner


# --- what the guards recognize --------------------------------------------------------------

#: reading these is not a tensor operation: ``no_loops`` lets them run in loops
_METADATA = frozenset(
    id(torch._C.TensorBase.__dict__[name]) for name in (
        "shape", "ndim", "dtype", "device", "layout", "requires_grad", "is_cuda", "is_leaf",
        "size", "dim", "stride", "numel", "nelement", "ndimension", "storage_offset",
        "is_contiguous", "is_floating_point", "is_complex", "element_size", "get_device")
) | {id(torch.Tensor.__len__)}

#: the code that walks a tensor element by element (``for v in t``, ``list(t)``, unpacking)
_TENSOR_ITERATION = torch.Tensor.__iter__.__code__

#: names that switch the guards off (or take a mode off its stack) when learner code calls them
_SWITCHES = (
    "torch.DisableTorchFunction", "torch.DisableTorchFunctionSubclass",
    "torch._C.DisableTorchFunction", "torch._C.DisableTorchFunctionSubclass",
    "torch._C._DisableTorchDispatch", "torch._C._DisablePythonDispatcher",
    "torch._C._pop_torch_function_stack", "torch._C._pop_torch_dispatch_stack",
    "torch._C._set_torch_function_state", "torch._C._unset_dispatch_mode",
    "torch._C._set_dispatch_mode", "torch._C._skip_one_hop_torch_function",
    "torch._C._set_skip_next_torch_function",
    "torch.overrides._pop_mode", "torch.overrides._pop_mode_temporarily",
    "torch.utils._python_dispatch._pop_mode",
    "torch.utils._python_dispatch._pop_mode_temporarily",
    "torch.utils._python_dispatch._disable_current_modes",
    "sys.settrace", "sys.setprofile", "threading.settrace", "threading.setprofile",
)

#: names that start a thread or a process, where the guards (which watch this thread) cannot
#: see what runs; library code calls them on the learner's behalf (Thread.start), so they
#: trip when learner code is anywhere on the stack
_ESCAPES = (
    "threading._start_new_thread", "_thread.start_new_thread", "os.fork", "os.posix_spawn",
    "os.posix_spawnp", "subprocess._fork_exec", "_posixsubprocess.fork_exec",
)


@functools.cache
def _resolve(dotted: str) -> tuple[tuple[object, str, object], ...]:
    """(owner, attribute, object) for a dotted name; a module name expands to its routines."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:-1]:
            owner = getattr(owner, attribute)
        if split == len(parts):  # the whole name is a module: forbid every routine in it
            return tuple((owner, name, getattr(owner, name)) for name in dir(owner)
                         if not name.startswith("_") and inspect.isroutine(getattr(owner, name)))
        return ((owner, parts[-1], getattr(owner, parts[-1])),)
    raise ValueError(f"cannot resolve {dotted!r}")


@functools.cache
def resolve_op(name: str) -> tuple[torch._ops.OpOverloadPacket, ...]:
    """The dispatcher operator ``name`` (such as ``aten.addmv``) and its in-place twin
    (``aten.addmv_``) when it has one; ``ValueError`` when torch has none by that name."""
    namespace, _, op = name.partition(".")
    found = []
    for candidate in (op, f"{op}_"):
        try:
            found.append(getattr(getattr(torch.ops, namespace), candidate))
        except (AttributeError, RuntimeError):
            continue
    if not found or found[0].__name__ != op:
        raise ValueError(f"torch has no operator {name!r}")
    return tuple(found)


@functools.cache
def _aten_overloads() -> tuple[tuple[str, list, torch._C.FunctionSchema], ...]:
    """(operator name, tags, schema) of every overload of torch's ``aten`` namespace, read
    from the dispatcher (torch's Python objects for all of them would take half a second)."""
    overloads = []
    for qualified in torch._C._dispatch_get_all_op_names():
        name, _, overload = qualified.partition(".")
        if name.startswith("aten::"):
            tags = torch._C._get_operation_overload(name, overload)[2]
            overloads.append((name.removeprefix("aten::"), tags,
                              torch._C._get_schema(name, overload)))
    return tuple(overloads)


def _returns_view(schema: torch._C.FunctionSchema) -> bool:
    """Whether an overload returns a view of an input and writes to none: its schema marks a
    result as an alias of an input (``Tensor(a)``) and no input as written (``Tensor(a!)``)."""
    def aliases(values, write):
        return any(value.alias_info is not None and value.alias_info.is_write == write
                   for value in values)
    return aliases(schema.returns, write=False) and not aliases(schema.arguments, write=True)


@functools.cache
def _operators_of(entry: str) -> frozenset[torch._ops.OpOverloadPacket]:
    """The operators one entry of an allow-list stands for (see ``allowed_operators``)."""
    kind, _, name = entry.partition(":")
    if not name:
        return frozenset(resolve_op(entry))
    if kind == "tag" and name in torch.Tag.__members__:
        tag = torch.Tag.__members__[name]
        family = {op for op, tags, _ in _aten_overloads() if tag in tags}
    elif entry == "schema:view":
        family = {op for op, _, schema in _aten_overloads() if _returns_view(schema)}
    else:
        raise ValueError(f"no operators answer to {entry!r}")
    known = {op for op, _, _ in _aten_overloads()}
    return frozenset(getattr(torch.ops.aten, twin) for op in family
                     for twin in (op, f"{op}_") if twin in known)


def allowed_operators(entries: Iterable[str]) -> frozenset[torch._ops.OpOverloadPacket]:
    """The operators that an allow-list's ``entries`` stand for, each with its in-place twin
    (``out=`` forms are overloads of the same operator):

    - ``aten.cat``: that operator;
    - ``tag:pointwise``: every ``aten`` operator that torch marks with ``torch.Tag.pointwise``
      on one of its overloads (each element of the result from the same element of each
      input: no such operator sums over an axis, so none multiplies matrices), and likewise
      for torch's other tags (``tag:reduction``);
    - ``schema:view``: every ``aten`` operator that returns a view of an input (it computes
      nothing: ``unsqueeze``, ``expand``, ``select``, ``permute``, ``detach``...).

    ``ValueError`` when torch has no such operator or tag.

    >>> names = {op.__name__ for op in allowed_operators(["tag:pointwise", "aten.cat"])}
    >>> {"mul", "mul_", "exp", "eq_", "cat"} <= names, "mm" in names
    (True, False)
    """
    return frozenset().union(*map(_operators_of, entries))


@functools.cache
def _aten_twin(owner: object, attribute: str) -> torch._ops.OpOverloadPacket | None:
    """The operator of ``torch.ops.aten`` named like a forbidden torch function or Tensor
    method (``torch.outer`` -> ``torch.ops.aten.outer``), or None."""
    in_torch = owner is torch.Tensor or getattr(owner, "__name__", "").startswith("torch")
    if not in_torch or attribute.startswith("__"):
        return None
    try:
        return getattr(torch.ops.aten, attribute)
    except (AttributeError, RuntimeError):
        return None


def _operation_name(func) -> str:
    """``torch.Tensor.mul`` rather than ``TensorBase.mul``, for the messages."""
    owner = getattr(func, "__self__", None)
    name = getattr(owner if isinstance(owner, types.GetSetDescriptorType) else func,
                   "__qualname__", repr(func))
    name = name.replace("TensorBase.", "Tensor.").replace("_VariableFunctionsClass.", "")
    return name if name.startswith("torch.") else f"torch.{name}"


# --- tripwires --------------------------------------------------------------------------------

class _Tripwire:
    """Stands in for a forbidden name while guarded code runs: any use raises."""

    def __init__(self, report: Callable[[], RuleViolation]):
        self._report = report

    def __call__(self, *args, **kwargs):
        raise self._report()

    def __getitem__(self, item):
        raise self._report()

    def __getattr__(self, name):
        raise self._report()


class _Switch:
    """Stands in for a guard switch while guarded code runs: a call from learner code (with
    ``anywhere``, from code that learner code called) raises; torch's own code (which uses
    some of them internally) gets the original."""

    def __init__(self, original, report: Callable[[], RuleViolation], is_learner,
                 anywhere: bool = False):
        self._original, self._report, self._is_learner = original, report, is_learner
        self._anywhere = anywhere

    def __call__(self, *args, **kwargs):
        frame: types.FrameType | None = sys._getframe(1)
        while frame is not None:
            if self._is_learner(frame.f_code.co_filename):
                raise self._report()
            frame = frame.f_back if self._anywhere else None
        return self._original(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._original, name)


# --- the two modes ------------------------------------------------------------------------------

class _FunctionGuard(TorchFunctionMode):
    """Sees every torch function, Tensor method and operator: forbidden calls, and under a
    ``loops`` rule, tensor operations inside the learner's loops."""

    def __init__(self, enforcer: _Enforcer, entry: types.FrameType):
        super().__init__()
        self.enforcer, self.entry = enforcer, entry
        self.inside = 0  # > 0 while a call this mode let through runs
        #: (caller's code, caller's instruction, callee's code) -> the first frame seen
        #: called from there: a second frame from the same spot is a call repeated by
        #: map(), filter(), functools.reduce() or recursion
        self.call_sites: dict[tuple[int, int, int], types.FrameType] = {}
        #: (learner frame, instruction, torch function) -> that frame: one instruction runs
        #: one torch function once, unless a builtin it calls loops (map(torch.mul, ...),
        #: sum(tensors), sorted(tensors)); the frame is kept so that its id stays unique
        self.issued: dict[tuple[int, int, int], types.FrameType] = {}
        self.ops_guard: _OpGuard | None = None

    def __torch_function__(self, func, types_, args=(), kwargs=None):
        enforcer = self.enforcer
        hit = enforcer.forbidden.get(id(func))
        if hit is None and type(func) is torch._ops.OpOverload:  # torch.ops.aten.outer.default
            hit = enforcer.forbidden.get(id(func.overloadpacket))
        if hit is not None:
            raise enforcer.report(*hit)
        if enforcer.loop_rule is not None and id(func) not in _METADATA and \
                id(getattr(func, "__self__", None)) not in _METADATA:
            found = self._loop_around(sys._getframe(1), func)
            if found:
                raise enforcer.report(found, enforcer.loop_rule)
        if self.ops_guard is None:
            return func(*args, **(kwargs or {}))
        if not self.ops_guard.on_duty():
            raise enforcer.switch_report("it took the guard of torch's operators off its stack")
        self.inside += 1  # what runs now is this guard's doing: the operator guard may trust it
        try:
            return func(*args, **(kwargs or {}))
        finally:
            self.inside -= 1

    def _loop_around(self, frame: types.FrameType | None, func) -> str | None:
        """Where the learner's code on the stack, from ``frame`` up to the guarded call,
        walks a tensor or runs ``func`` in a loop; None when nowhere."""
        is_learner = self.enforcer.is_learner
        if frame is not None and is_learner(frame.f_code.co_filename):
            spot = (id(frame), frame.f_lasti, id(func))
            if spot in self.issued:
                return (f"it runs {_operation_name(func)} over and over from one spot, "
                        f"{_where(frame)}: a loop in disguise (a builtin such as map(), "
                        f"sum() or sorted() calling it once per element)")
            self.issued[spot] = frame
        while frame is not None and frame is not self.entry:
            code = frame.f_code
            if code is _TENSOR_ITERATION:
                caller = frame.f_back
                if caller is not None and is_learner(caller.f_code.co_filename):
                    return (f"it walks a tensor element by element (iterating it, as `for v in t`, "
                            f"`list(t)`, `zip(t, ...)` or unpacking do) at {_where(caller)}")
            elif is_learner(code.co_filename):
                loop = loops.loop_at(code, frame.f_lasti)
                if loop is not None:
                    words, line = loop
                    return (f"it runs {_operation_name(func)} inside {words} at "
                            f"{_readable_path(code.co_filename)}:{line} (in {code.co_name}), "
                            f"once per turn of the loop")
                caller = frame.f_back
                if caller is not None and caller is not self.entry:
                    site = (id(caller.f_code), caller.f_lasti, id(code))
                    if self.call_sites.setdefault(site, frame) is not frame:
                        return (f"it runs {_operation_name(func)} in {code.co_name}, which "
                                f"{_where(caller)} calls over and over (a loop in disguise: "
                                f"map(), filter(), functools.reduce() or recursion)")
            frame = frame.f_back
        return None

    def on_duty(self) -> bool:
        """Whether this mode still sees torch functions (or is handling one right now)."""
        if self.inside:
            return True
        if not torch._C._is_torch_function_mode_enabled():
            return False
        stack = torch._C._len_torch_function_stack()
        return stack > self.index and torch._C._get_function_stack_at(self.index) is self

    def __enter__(self):
        self.index = torch._C._len_torch_function_stack()
        return super().__enter__()


def _where(frame: types.FrameType) -> str:
    return (f"{_readable_path(frame.f_code.co_filename)}:{frame.f_lineno} "
            f"(in {frame.f_code.co_name})")


class _OpGuard(TorchDispatchMode):
    """Sees every operator that reaches torch's dispatcher, whatever Python entry point
    (or none) led there: the ``ops`` of the rules."""

    def __init__(self, enforcer: _Enforcer, function_guard: _FunctionGuard):
        super().__init__()
        self.enforcer, self.function_guard = enforcer, function_guard

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch would wrap __torch_dispatch__ to keep its compiler out, importing the
        # compiler (over a second) on the first operator; nothing here is compiled
        return False

    def __torch_dispatch__(self, func, types_, args=(), kwargs=None):
        hit = self.enforcer.forbidden_ops.get(id(func.overloadpacket))
        if hit is not None:
            raise self.enforcer.report(*hit)
        for rule, allowed in self.enforcer.allowed_ops:
            if id(func.overloadpacket) not in allowed:
                raise self.enforcer.report(
                    f"it ran torch's operator {func.namespace}.{func.overloadpacket.__name__}, "
                    f"which is not among those the rule allows", rule)
        # autograd may run a backward pass on a thread of its own (one per GPU), where
        # torch function modes were never pushed: only the guarded thread is checked
        if threading.get_ident() == self.thread and not self.function_guard.on_duty():
            raise self.enforcer.switch_report("it switched off the guard of torch functions")
        return func(*args, **(kwargs or {}))

    def on_duty(self) -> bool:
        stack = torch._C._len_torch_dispatch_stack()
        return stack > self.index and torch._C._get_dispatch_stack_at(self.index) is self

    def __enter__(self):
        self.index = torch._C._len_torch_dispatch_stack()
        self.thread = threading.get_ident()
        return super().__enter__()


# --- the enforcer -------------------------------------------------------------------------------

def _guard_namespaces() -> dict[str, Mapping[str, object]]:
    """The namespaces whose contents decide what the guards do."""
    namespaces: dict[str, Mapping[str, object]] = {"kata.harness.guards": globals(),
                                                   "kata.harness.loops": vars(loops)}
    for cls in (_FunctionGuard, _OpGuard, _Enforcer, _Tripwire, _Switch,
                TorchFunctionMode, TorchDispatchMode):
        namespaces[f"{cls.__module__}.{cls.__qualname__}"] = vars(cls)
    return namespaces


#: the name Python's warnings module adds to a module's globals the first time code there
#: warns (torch warns from inside the guards' modes): it changes no guard
_WARNINGS = "__warningregistry__"


def _fingerprint() -> dict[str, tuple[tuple, tuple]]:
    return {where: (names := tuple(name for name in namespace if name != _WARNINGS),
                    tuple(map(namespace.__getitem__, names)))
            for where, namespace in _guard_namespaces().items()}


def _changes_to_the_guards() -> str | None:
    """The first name of the guards' namespaces that was bound to something else since the
    guards were imported; None when nothing changed."""
    for where, namespace in _guard_namespaces().items():
        names, values = _INTACT[where]
        # identity, in C: no __eq__ that learner code could define runs here
        if len(namespace) - (_WARNINGS in namespace) != len(names) or \
                not all(map(operator.is_, map(namespace.get, names), values)):
            name = next((name for name, value in zip(names, values)
                         if namespace.get(name, _INTACT) is not value), "a new name")
            return f"{where}.{name}"
    return None


class _Enforcer:
    """Everything needed to enforce one function's rules, built once per function; each
    call runs inside ``enforcing(entry)``."""

    def __init__(self, func: Callable, rules: tuple[Rule, ...], label: str, tree: str):
        self.label, self.rules = label, rules
        self.is_learner = _learner_files(tree)
        self.loop_rule = next((rule for rule in rules if rule.loops), None)
        # (owner, attribute, object, rule, name shown): a module name expands to its routines
        resolved = [(owner, attr, obj, rule,
                     dotted if dotted.endswith(f".{attr}") else f"{dotted}.{attr}")
                    for rule in rules for dotted in rule.calls
                    for owner, attr, obj in _resolve(dotted)]
        self.forbidden = {id(obj): (f"it called {shown}", rule)
                          for owner, attr, obj, rule, shown in resolved}
        # torch.ops.aten.outer is torch.outer reached through the dispatcher's Python names
        for owner, attr, _, rule, _ in resolved:
            twin = _aten_twin(owner, attr)
            if twin is not None:
                self.forbidden.setdefault(id(twin), (f"it called torch.ops.aten.{attr}", rule))
        self.forbidden_ops = {
            id(packet): (f"it ran torch's operator {name.partition('.')[0]}.{packet.__name__}",
                         rule)
            for rule in rules for name in rule.ops for packet in resolve_op(name)}
        #: (rule, ids of the operators it allows) for each rule with an allow-list
        self.allowed_ops = [(rule, frozenset(map(id, allowed_operators(rule.allowed_ops))))
                            for rule in rules if rule.allowed_ops]
        self.caught: list[RuleViolation] = []
        self.swaps = self._swaps(func, resolved)

    def report(self, what: str, rule: Rule) -> RuleViolation:
        self.caught.append(_violation(self.label, rule, what))
        return self.caught[-1]

    def switch_report(self, what: str) -> RuleViolation:
        self.caught.append(_switched_off(self.label, self.rules, what))
        return self.caught[-1]

    def _swaps(self, func, resolved) -> list[tuple[dict, tuple[str, ...], tuple]]:
        """(namespace, names, stand-ins): the forbidden names of modules and the switches,
        and the learner modules' own names for the same objects (`from numpy import outer
        as o`). Tensor methods need no tripwire: the modes see them."""
        # id(object) -> its stand-in, and every (module, name) it is reached by: one object
        # may have two names (torch.DisableTorchFunction is torch._C.DisableTorchFunction)
        stand_ins: dict[int, object] = {}
        places: dict[int, list[tuple[object, str]]] = {}
        for owner, attr, obj, rule, shown in resolved:
            if isinstance(owner, types.ModuleType):
                report = functools.partial(self.report, f"it called {shown}", rule)
                stand_ins.setdefault(id(obj), _Tripwire(report))
                places.setdefault(id(obj), []).append((owner, attr))
        for dotted in _SWITCHES:
            (owner, attr, obj), = _resolve(dotted)
            report = functools.partial(self.switch_report, f"it called {dotted}")
            stand_ins.setdefault(id(obj), _Switch(obj, report, self.is_learner))
            places.setdefault(id(obj), []).append((owner, attr))
        for dotted in _ESCAPES:
            (owner, attr, obj), = _resolve(dotted)
            report = functools.partial(self.switch_report, f"it started a thread or a process "
                                       f"({dotted}), where the guards cannot see what runs")
            stand_ins.setdefault(id(obj), _Switch(obj, report, self.is_learner, anywhere=True))
            places.setdefault(id(obj), []).append((owner, attr))
        learner_namespaces = [func.__globals__] if isinstance(func, types.FunctionType) else []
        learner_namespaces += [vars(module) for module in list(sys.modules.values())
                               if self.is_learner(getattr(module, "__file__", None) or "<none>")]
        by_namespace: dict[int, tuple[dict, dict]] = {}
        for key, owned in places.items():
            for owner, attr in owned:
                namespace = vars(owner)
                by_namespace.setdefault(id(namespace), (namespace, {}))[1][attr] = stand_ins[key]
        for namespace in learner_namespaces:
            names = by_namespace.setdefault(id(namespace), (namespace, {}))[1]
            names.update((name, stand_ins[id(value)])
                         for name, value in list(namespace.items()) if id(value) in stand_ins)
        # swapped with C-level dict operations: guarded code runs in every test
        return [(namespace, tuple(names), tuple(names.values()))
                for namespace, names in by_namespace.values() if names]

    @contextlib.contextmanager
    def enforcing(self, entry: types.FrameType, _changes=_changes_to_the_guards):
        """Inside, the rules hold for the code that ``entry`` (the guard's frame) calls."""
        self.caught.clear()
        tracing = sys.gettrace(), sys.getprofile()
        originals = [(namespace, names, tuple(map(namespace.__getitem__, names)))
                     for namespace, names, _ in self.swaps]
        function_guard = _FunctionGuard(self, entry)
        try:
            for namespace, names, stand_ins in self.swaps:
                namespace.update(zip(names, stand_ins))
            with contextlib.ExitStack() as modes:
                modes.enter_context(function_guard)
                if self.forbidden_ops or self.allowed_ops:
                    function_guard.ops_guard = modes.enter_context(_OpGuard(self, function_guard))
                yield
                self._check_still_on_duty(function_guard, tracing)
        except Exception:
            if self.caught:
                raise self.caught[0] from None
            raise
        finally:
            for namespace, names, values in reversed(originals):
                namespace.update(zip(names, values))
        # after the call only: a change made earlier (when a module was imported) is still
        # there, and checking once keeps the cost of every guarded call down
        self._check_intact(_changes())
        if self.caught:
            raise self.caught[0]

    def _check_still_on_duty(self, function_guard: _FunctionGuard, tracing) -> None:
        if not function_guard.on_duty() or \
                torch._C._len_torch_function_stack() != function_guard.index + 1:
            raise self.switch_report("it changed the stack of torch function modes")
        ops_guard = function_guard.ops_guard
        if ops_guard is not None and (not ops_guard.on_duty() or
                                      torch._C._len_torch_dispatch_stack() != ops_guard.index + 1):
            raise self.switch_report("it changed the stack of torch dispatch modes")
        if (sys.gettrace(), sys.getprofile()) != tracing:
            raise self.switch_report("it changed the interpreter's trace or profile function")

    def _check_intact(self, changed: str | None) -> None:
        if changed:
            raise self.switch_report(f"it changed the rule guards ({changed})")


# --- guarding functions and classes ---------------------------------------------------------------

def guarded(func: Callable, rules: Iterable[Rule], label: str, *, tree: str | None = None,
            keeps_inputs: bool = True, _enforcing=_Enforcer.enforcing) -> Callable:
    """Wrap ``func`` so that calling it enforces ``rules``; ``label`` names it in messages;
    ``tree`` is the learner's tree, whose modules count as the learner's code (the loader
    knows it; by default, the tree ``func``'s own file lies in).

    A violation raises ``RuleViolation`` even when the learner's code catches the exception
    (a broad ``except`` cannot hide a forbidden call). A generator that ``func`` returns runs
    under the rules too, one step at a time. With ``keeps_inputs``, changing an argument
    tensor in place raises ``InputModified``. A class is handed to ``guarded_class``.

    (``_enforcing`` and the check of ``kata.harness.guards`` that it runs are bound when the guards
    are imported, before any learner module: replacing them later changes nothing.)
    """
    rules = tuple(rules)
    tree = tree or _tree_of(func)
    if inspect.isclass(func):
        return guarded_class(func, rules, label, tree=tree)
    enforcer = _Enforcer(func, rules, label, tree)

    def steps(generator):
        while True:
            with _enforcing(enforcer, sys._getframe()):
                try:
                    value = next(generator)
                except StopIteration:
                    return
            yield value

    @functools.wraps(func)
    def run_under_rules(*args, **kwargs):
        # every in-place operation bumps a tensor's version counter (not one through
        # `.data`, which a function cannot use on its inputs by accident)
        versions = [(index, arg, arg._version) for index, arg in enumerate(args)
                    if keeps_inputs and isinstance(arg, torch.Tensor)]
        with _enforcing(enforcer, sys._getframe()):
            result = func(*args, **kwargs)
        changed = [index for index, arg, version in versions if arg._version != version]
        if changed:
            raise InputModified(
                f"{label}() changed its argument {changed[0] + 1} in place (an operation such as "
                f"`x -= ...`, `x[...] = ...` or `x.sub_(...)`). The caller still needs its data: "
                f"compute a new tensor instead.")
        return steps(result) if inspect.isgenerator(result) else result

    return run_under_rules


#: the special methods of a kata's classes that run under its rules, beside public methods
_GUARDED_SPECIAL_METHODS = {"__init__", "__call__", "__getitem__", "__iter__", "__len__"}


def guarded_class(cls: type, rules: Iterable[Rule], label: str, *, tree: str | None = None
                  ) -> type:
    """``cls``, checked against the ``bases`` of ``rules`` now, and with its methods (those
    written in the learner's ``tree``, public or special, plain, static or class methods and
    properties alike) running under the other rules.

    Methods may change the tensors they are given: updating state in place is their job
    (an optimizer's step, a velocity buffer). The result is a subclass of ``cls`` (or
    ``cls`` itself when no rule applies while code runs), so ``isinstance`` and subclassing
    behave as the learner expects.
    """
    rules = tuple(rules)
    for rule in rules:
        for dotted in rule.bases:
            (_, _, base), = _resolve(dotted)
            if not isinstance(base, type):
                raise ValueError(f"rule {rule.name}: its base {dotted} is not a class")
            if issubclass(cls, base):
                raise _violation(label, rule, f"it inherits from {dotted}")
    running = tuple(rule for rule in rules
                    if rule.calls or rule.loops or rule.ops or rule.allowed_ops)
    if not running:
        return cls
    tree = tree or _tree_of(cls)
    is_learner = _learner_files(tree)

    def guard(function: Callable, name: str) -> Callable:
        if not (isinstance(function, types.FunctionType)
                and is_learner(function.__code__.co_filename)):
            return function  # a library's (an inherited base's): not the learner's code
        return guarded(function, running, f"{label}.{name}", tree=tree, keeps_inputs=False)

    methods: dict[str, object] = {}
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            public = not name.startswith("_") or name in _GUARDED_SPECIAL_METHODS
            if not public or name in methods:
                continue
            # whatever kind of method it is, wrap the function it runs (a static __getitem__
            # would otherwise run unguarded)
            if isinstance(value, types.FunctionType):
                methods[name] = guard(value, name)
            elif isinstance(value, (staticmethod, classmethod)):
                methods[name] = type(value)(guard(value.__func__, name))
            elif isinstance(value, property):
                fget, fset, fdel = (guard(part, name) if part else None
                                    for part in (value.fget, value.fset, value.fdel))
                methods[name] = property(fget, fset, fdel, value.__doc__)
    return type(cls.__name__, (cls,), {**methods, "__module__": cls.__module__,
                                       "__qualname__": cls.__qualname__, "__doc__": cls.__doc__})


def left_on() -> str | None:
    """A stand-in that a guarded call left in a module's place after it ended (of a forbidden
    name, a switch, or a way to start a thread), named; None when every name is back. The
    repository's suite asks after every test, with the modes' stacks and the trace function
    (tests/conftest.py)."""
    import numpy  # noqa: F401 - numpy's names are among those the guards swap

    for dotted in (*(name for rule in load_manifest().rules.values() for name in rule.calls),
                   *_SWITCHES, *_ESCAPES):
        for owner, attr, original in _resolve(dotted):
            if isinstance(owner, types.ModuleType) and vars(owner).get(attr) is not original:
                return f"{owner.__name__}.{attr} is still a stand-in"
    return None


#: what the guards' namespaces held when they were imported, before any learner code ran
#: (filled in place, so that the name is already bound when the fingerprint is taken)
_INTACT: dict[str, tuple[tuple, tuple]] = {}
_INTACT.update(_fingerprint())
