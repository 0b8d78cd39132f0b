"""The integrity scan: what a learner's kata module does that no kata needs, flagged for
the instructor's review.

Grading judges values in the tests' process, out of the learner's reach (``kata.harness.remote``).
What the learner's side observes beside the learner's code (the rule guards, views and
identities) the learner's code could fake by tampering with its own process; the means to do
so are what this scan looks for, read from the source (``ast``), never run:

- process, file-system, network and import machinery (``os``, ``subprocess``, ``sys``,
  ``importlib``, ``builtins``, ``socket``, ``open``, ``exec``/``eval``/``compile``,
  ``__import__``...), ``atexit``, ``signal``, ``ctypes``;
- torch's internals, under the public API and around the rule guards (``torch._C``,
  ``torch.ops``, ``torch.overrides``, ``torch.utils._python_dispatch``...);
- the test harness (``pytest``, ``_pytest``, ``hypothesis``, ``kata``);
- frame and object tricks (``sys._getframe``, ``gc``, ``inspect``, ``f_back``,
  ``__globals__``, ``__subclasses__``...);
- changing a module's names (``torch.matmul = ...``, ``setattr(torch, ...)``) and looking
  names up by strings built at run time (``getattr(torch, name)``).

A flag is not a verdict: it says where to look, and why.

>>> [flag.what for flag in scan("import os\\nimport torch\\ntorch.matmul = None\\n")]
['import os', 'assignment to torch.matmul']
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

_PROCESS = "controls processes or the interpreter; a kata never needs to"
_FILES = "reads or writes files; a kata's code only computes"
_IMPORTS = "reaches the import machinery or the interpreter's modules, where the harness lives"
_NETWORK = "talks to the network; a kata never needs to"
_LOW_LEVEL = "reaches memory or C functions directly, past every guard"
_EXIT = "runs code when the process ends, after the tests have run"
_FRAMES = "reaches into other code's frames or objects (the harness's among them)"
_HARNESS = "imports the test harness: a kata's code never needs it, and could change the verdict"
_DATA_CODE = "turns data into code"
_TORCH_INSIDE = "reaches under torch's public API, around the rule guards"
_RUNTIME_CODE = "runs code built at run time, which hides what it does"
_RENAMES = "changes a module's names for every caller, the harness's guards included"

#: Top-level modules a kata never imports, and why each is flagged.
MODULES = {
    **dict.fromkeys(("os", "subprocess", "multiprocessing", "signal", "pty", "resource",
                     "threading", "_thread", "concurrent", "asyncio", "faulthandler"), _PROCESS),
    **dict.fromkeys(("shutil", "pathlib", "tempfile", "io", "glob", "fileinput", "zipfile",
                     "tarfile", "sqlite3", "mmap"), _FILES),
    **dict.fromkeys(("sys", "importlib", "builtins", "runpy", "site", "sysconfig", "pkgutil",
                     "zipimport", "types", "code", "codeop"), _IMPORTS),
    **dict.fromkeys(("socket", "ssl", "http", "urllib", "requests", "ftplib", "smtplib",
                     "telnetlib", "xmlrpc", "webbrowser"), _NETWORK),
    **dict.fromkeys(("ctypes", "cffi"), _LOW_LEVEL),
    "atexit": _EXIT,
    **dict.fromkeys(("inspect", "gc", "traceback", "linecache", "dis", "weakref"), _FRAMES),
    **dict.fromkeys(("pytest", "_pytest", "hypothesis", "pluggy", "kata"), _HARNESS),
    **dict.fromkeys(("pickle", "marshal", "shelve", "dill", "copyreg"), _DATA_CODE),
}
#: torch's names (after ``torch.``) that reach under its public API.
TORCH_INSIDE = ("_C", "ops", "overrides", "library", "utils._python_dispatch", "_ops",
                "_dynamo", "_prims", "_refs", "_decomp", "fx", "jit")
#: Builtins that a kata never calls, and why.
CALLS = {"open": _FILES, "exec": _RUNTIME_CODE, "eval": _RUNTIME_CODE,
         "compile": _RUNTIME_CODE, "__import__": _IMPORTS, "globals": _FRAMES,
         "locals": _FRAMES, "breakpoint": _PROCESS, "exit": _PROCESS,
         "quit": _PROCESS, "input": _PROCESS}
#: Attributes of frame and function internals, and the builtins' names.
ATTRIBUTES = ("__globals__", "__code__", "__closure__", "__builtins__", "__subclasses__",
              "__loader__", "__spec__", "__reduce__", "__reduce_ex__", "f_back", "f_globals",
              "f_locals", "f_builtins", "tb_frame", "gi_frame", "cr_frame", "__import__")
#: Attributes flagged where they are a module's (``sys._getframe``, ``sys.modules``), since a
#: learner's class may well have a method of the same name.
MODULE_ATTRIBUTES = ("_getframe", "modules", "__dict__")
NAMES = ("__builtins__", "__import__", "__loader__", "__spec__")


@dataclass(frozen=True)
class Flag:
    """A line of a learner's module for the instructor to look at: what is there, and why
    a kata does not need it."""

    line: int
    what: str
    why: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.what} ({self.why})"


def scan(source: str) -> list[Flag]:
    """The flags of a kata module's ``source``, in line order (none for a module that does
    not parse: the tests already say so)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    scanner = _Scanner()
    scanner.visit(tree)
    return sorted(set(scanner.flags), key=lambda flag: (flag.line, flag.what))


class _Scanner(ast.NodeVisitor):
    def __init__(self) -> None:
        self.flags: list[Flag] = []
        self.modules: set[str] = set()  # names bound to imported modules (``import torch as t``)

    def flag(self, node: ast.stmt | ast.expr, what: str, why: str) -> None:
        self.flags.append(Flag(node.lineno, what, why))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.modules.add(alias.asname or alias.name.split(".")[0])
            self._imported(node, alias.name, f"import {alias.name}")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            # the name may be a module's: ``from torch import _C``
            self.modules.add(alias.asname or alias.name)
            self._imported(node, f"{module}.{alias.name}",
                           f"from {module} import {alias.name}")
        self.generic_visit(node)

    def _imported(self, node: ast.Import | ast.ImportFrom, dotted: str, what: str) -> None:
        top = dotted.split(".")[0]
        if top in MODULES:
            self.flag(node, what, MODULES[top])
        elif top == "torch" and _torch_inside(dotted.split(".")[1:]):
            self.flag(node, what, _TORCH_INSIDE)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain = _chain(node)
        on_module = bool(chain) and chain[0] in self.modules
        if isinstance(node.ctx, (ast.Store, ast.Del)) and on_module:
            self.flag(node, f"{'assignment to' if isinstance(node.ctx, ast.Store) else 'del'} "
                            f"{'.'.join(chain)}", _RENAMES)
        if chain and chain[0] == "torch" and _torch_inside(chain[1:]):
            self.flag(node, ".".join(chain), _TORCH_INSIDE)
            return  # the shorter chains inside say the same
        if node.attr in ATTRIBUTES or (node.attr in MODULE_ATTRIBUTES and on_module):
            self.flag(node, ".".join(chain) if on_module else f".{node.attr}", _FRAMES)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in NAMES:
            self.flag(node, node.id, _IMPORTS)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("__setattr__", "__delattr__"):
            name = node.func.attr.strip("_")  # object.__setattr__(torch, ...) is setattr too
        if name in CALLS:
            self.flag(node, f"{name}()", CALLS[name])
        target = _chain(node.args[0]) if node.args else []
        if name in ("setattr", "delattr", "getattr", "vars") and target \
                and target[0] in self.modules:
            shown = ".".join(target)
            if name in ("setattr", "delattr"):
                self.flag(node, f"{name}({shown}, ...)", _RENAMES)
            elif name == "vars":
                self.flag(node, f"vars({shown})", _RENAMES)
            elif len(node.args) > 1 and not isinstance(node.args[1], ast.Constant):
                self.flag(node, f"getattr({shown}, <computed name>)", _RUNTIME_CODE)
        self.generic_visit(node)


def _chain(node: ast.AST) -> list[str]:
    """``["torch", "nn", "functional"]`` for ``torch.nn.functional``; [] when the chain does
    not start at a name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return [node.id, *reversed(parts)] if isinstance(node, ast.Name) else []


def _torch_inside(names: list[str]) -> bool:
    dotted = ".".join(names)
    return any(dotted == inside or dotted.startswith(inside + ".") for inside in TORCH_INSIDE)
