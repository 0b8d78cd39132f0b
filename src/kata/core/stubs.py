"""Write each kata's stub from its reference solution: one source of truth for both.

A stub keeps the solution's module docstring, its imports, and each public function's
signature and docstring (each public class's bases, and its methods' signatures and
docstrings); the body only raises ``NotImplementedError`` with a message that names the
kata and the function and says where to read on. Private helpers (names starting with
``_``) are the solution's own business and are left out; what the manifest lists as
``given`` is copied whole.

    python -m kata.core.stubs            # rewrite every stub in katas/ from solutions/
    python -m kata.core.stubs --check    # exit 1 if a committed stub differs from its solution's

Rewriting overwrites learners' work: instructors run it, learners never need to.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

from kata.core.layout import RELEASED_STUBS, REPO_ROOT
from kata.core.manifest import Kata, load_manifest


def not_implemented_message(kata: Kata, function: str) -> str:
    """The message every stub function (or method, ``Class.method``) raises."""
    return (f"kata {kata.folder}: {function}() is yours to write, in "
            f"katas/{kata.folder}/{kata.module}.py. The README beside it explains the idea, "
            f"and each failing test shows a hint.")


def is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
        and isinstance(node.value.value, str)


def only_raises(node: ast.FunctionDef) -> bool:
    """Whether a function's body is what a stub's is: its docstring, then
    ``raise NotImplementedError(...)`` and nothing else.

    >>> stub, done = ast.parse(
    ...     "def f(x):\\n 'Doc.'\\n raise NotImplementedError('f')\\n"
    ...     "def g(x):\\n 'Doc.'\\n return x").body
    >>> only_raises(stub), only_raises(done)
    (True, False)
    """
    if len(node.body) != 2 or not is_docstring(node.body[0]) \
            or not isinstance(node.body[1], ast.Raise):
        return False
    raised = node.body[1].exc
    raised = raised.func if isinstance(raised, ast.Call) else raised
    return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"


def stub_source(kata: Kata, solution: str) -> str:
    """The stub's text for a solution module's text.

    Public functions and classes named in the manifest keep their signatures and
    docstrings (a class keeps its bases and its public and special methods); the names the
    manifest lists as ``given`` are kept whole; private helpers are dropped.
    """
    lines = solution.splitlines(keepends=True)
    tree = ast.parse(solution)

    def text(first: int, last: int | None) -> str:
        # ast.parse sets every end_lineno; typeshed types it optional for hand-made nodes
        return "".join(lines[first - 1:last])

    def start(node: ast.FunctionDef | ast.ClassDef) -> int:
        return node.decorator_list[0].lineno if node.decorator_list else node.lineno

    def stub_function(node: ast.FunctionDef, name: str, indent: str) -> str:
        if not is_docstring(node.body[0]):
            raise ValueError(f"{kata.folder}: {name}() needs a docstring to teach from")
        message = not_implemented_message(kata, name)
        return (text(start(node), node.body[0].end_lineno)
                + f"{indent}    raise NotImplementedError(\n{indent}        {message!r}\n"
                  f"{indent}    )\n")

    def stub_class(node: ast.ClassDef) -> str:
        if not is_docstring(node.body[0]):
            raise ValueError(f"{kata.folder}: class {node.name} needs a docstring to teach from")
        parts = [text(start(node), node.body[0].end_lineno)]
        for member in node.body[1:]:
            if not isinstance(member, ast.FunctionDef):
                raise ValueError(f"{kata.folder}: class {node.name} may hold only methods; "
                                 f"list it as given, or move line {member.lineno} into a method")
            if member.name.startswith("_") and not member.name.endswith("__"):
                continue
            parts.append("\n" + stub_function(member, f"{node.name}.{member.name}", "    "))
        return "".join(parts)

    parts = [f"# Kata {kata.folder}: fill in each function and class below, then run "
             f"`pytest katas/{kata.folder}`.\n"]
    for node in tree.body:
        if node is tree.body[0] and is_docstring(node):
            parts.append(text(node.lineno, node.end_lineno) + "\n")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            parts.append(text(node.lineno, node.end_lineno))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name.startswith("_"):
            continue
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in kata.given:
            parts.append("\n\n" + text(start(node), node.end_lineno))
        elif isinstance(node, ast.FunctionDef) and node.name in kata.functions:
            parts.append("\n\n" + stub_function(node, node.name, ""))
        elif isinstance(node, ast.ClassDef) and node.name in kata.functions:
            parts.append("\n\n" + stub_class(node))
        else:
            raise ValueError(f"{kata.folder}: line {node.lineno} of the solution is neither an "
                             f"import, a private helper, nor a name the manifest lists")
    return "".join(parts)


def untouched_stub(kata: Kata, checkout: Path) -> str:
    """The text of ``kata``'s untouched stub in ``checkout``: made from the solution in the
    instructor's checkout, else the copy ``kata release`` wrote into a learner's repository
    (``RELEASED_STUBS``); ``LookupError`` when there is neither."""
    solution = kata.path_in(Path(checkout) / "solutions")
    if solution.is_file():
        return stub_source(kata, solution.read_text(encoding="utf-8"))
    released = Path(checkout) / RELEASED_STUBS / f"{kata.folder}.py"
    if released.is_file():
        return released.read_text(encoding="utf-8")
    raise LookupError(f"there is no untouched stub of {kata.folder} here: neither solutions/ "
                      f"nor {RELEASED_STUBS.as_posix()}/ has one")


def expected_stubs(root: Path = REPO_ROOT) -> dict[Path, str]:
    """Each stub's path and the text it should have."""
    return {kata.path_in(root / "katas"): stub_source(
                kata, kata.path_in(root / "solutions").read_text(encoding="utf-8"))
            for kata in load_manifest().katas}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kata.core.stubs",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stubs that differ")
    args = parser.parse_args(argv)
    stale = []
    for path, text in expected_stubs().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    verb = "differs from its solution" if args.check else "rewritten"
    for path in stale:
        print(f"{path.relative_to(REPO_ROOT)}: {verb}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
