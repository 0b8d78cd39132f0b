"""Write each kata's stub from its reference solution: one source of truth for both.

A stub keeps the solution's module docstring, its imports, and each public function's
signature and docstring; the body only raises ``NotImplementedError`` with a message that
names the kata and the function and says where to read on. Private helpers (names starting
with ``_``) are the solution's own business and are left out.

    python -m kata.stubs            # rewrite every stub in katas/ from solutions/
    python -m kata.stubs --check    # exit 1 if a committed stub differs from its solution's

Rewriting overwrites learners' work: instructors run it, learners never need to.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

from kata.manifest import REPO_ROOT, Kata, load_manifest


def not_implemented_message(kata: Kata, function: str) -> str:
    """The message every stub function raises."""
    return (f"kata {kata.folder}: {function}() is yours to write, in "
            f"katas/{kata.folder}/{kata.module}.py. The README beside it explains the idea, "
            f"and each failing test shows a hint.")


def stub_source(kata: Kata, solution: str) -> str:
    """The stub's text for a solution module's text."""
    lines = solution.splitlines(keepends=True)
    tree = ast.parse(solution)

    def text(first: int, last: int) -> str:
        return "".join(lines[first - 1:last])

    parts = [f"# Kata {kata.folder}: fill in each function below, then run "
             f"`pytest katas/{kata.folder}`.\n"]
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node is tree.body[0]:
            parts.append(text(node.lineno, node.end_lineno) + "\n")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            parts.append(text(node.lineno, node.end_lineno))
        elif isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            docstring = node.body[0]
            if not (isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)):
                raise ValueError(f"{kata.folder}: {node.name}() needs a docstring to teach from")
            message = not_implemented_message(kata, node.name)
            parts.append("\n\n" + text(first, docstring.end_lineno)
                         + f"    raise NotImplementedError(\n        {message!r}\n    )\n")
    return "".join(parts)


def expected_stubs(root: Path = REPO_ROOT) -> dict[Path, str]:
    """Each stub's path and the text it should have."""
    return {kata.path_in(root / "katas"): stub_source(
                kata, kata.path_in(root / "solutions").read_text(encoding="utf-8"))
            for kata in load_manifest().katas}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kata.stubs", description=__doc__.split("\n\n")[0])
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
