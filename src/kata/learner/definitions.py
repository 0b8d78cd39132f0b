"""One top-level function or class of a kata module, found, shown and replaced by its source.

The notebook writes a learner's ``%%kata`` cell over the old definition, ``kata spec`` shows
a definition's signature and docstring, and ``kata notebook`` starts a cell from the stub's.
All three work on the text, so the rest of the module stays exactly as it was, byte for byte.

>>> module = ("import torch\\n\\n\\ndef f(x):\\n    '''Twice x.'''\\n"
...           "    raise NotImplementedError\\n")
>>> twice = definition_cell("def f(x):\\n    return 2 * x\\n", "f")
>>> print(replace_definition(module, "f", twice))
import torch
<BLANKLINE>
<BLANKLINE>
def f(x):
    return 2 * x
<BLANKLINE>
>>> print(outline(module, "f"))
def f(x):
    '''Twice x.'''
"""

from __future__ import annotations

import ast
from pathlib import Path

from kata.core.errors import KataError
from kata.core.manifest import Kata
from kata.core.stubs import is_docstring, untouched_stub

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
#: a top-level ``def`` or ``class``
Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


class CellError(KataError):
    """A cell that cannot replace the definition: the message says what to change."""


def _first_line(node: Definition) -> int:
    """Where a definition starts: its first decorator, else its ``def``/``class`` line."""
    return min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])


def find_definition(source: str, name: str) -> Definition | None:
    """The top-level ``def`` or ``class`` called ``name`` in ``source`` (None: there is none).
    Raises ``SyntaxError`` when ``source`` does not parse."""
    return next((node for node in ast.parse(source).body
                 if isinstance(node, _DEFINITIONS) and node.name == name), None)


def definition_cell(cell: str, name: str) -> str:
    """The cell's text, checked to hold exactly one top-level definition, of ``name``, and
    nothing else but comments and blank lines (an import or a statement would have no place
    in the kata's file). Raises ``CellError`` saying what is wrong."""
    try:
        tree = ast.parse(cell)
    except SyntaxError as error:
        raise CellError(f"the cell does not parse: SyntaxError at line {error.lineno} of the "
                          f"cell: {error.msg}. Nothing was written.") from None
    others = [node for node in tree.body
              if not (isinstance(node, _DEFINITIONS) and node.name == name)]
    if others:
        first = others[0]
        what = f"{first.name}" if isinstance(first, _DEFINITIONS) else type(first).__name__.lower()
        raise CellError(f"a %%kata cell for {name} holds only the definition of {name}, but "
                          f"line {first.lineno} of the cell has {what!r}; imports belong at the "
                          f"top of the kata's file, helpers inside {name}. Nothing was written.")
    if not tree.body:
        raise CellError(f"the cell holds no definition of {name}. Nothing was written.")
    if len(tree.body) > 1:
        raise CellError(f"the cell defines {name} {len(tree.body)} times; keep one. "
                          f"Nothing was written.")
    return cell.strip("\n") + "\n"


def replace_definition(source: str, name: str, new: str) -> str:
    """``source`` with its top-level definition of ``name`` (decorators included) replaced by
    ``new``, every other byte as it was; where there is none, ``new`` is added at the end."""
    node = find_definition(source, name)
    if node is None:
        return source.rstrip("\n") + "\n\n\n" + new
    lines = source.splitlines(keepends=True)
    start, end = _first_line(node) - 1, node.end_lineno
    if end == len(lines) and not lines[-1].endswith("\n"):
        new = new.rstrip("\n")  # the file ended without a newline: so does the new one
    return "".join(lines[:start]) + new + "".join(lines[end:])


def _head(lines: list[str], node: Definition) -> str:
    """A definition's lines up to the end of its docstring (or of its header, without one)."""
    body = node.body[0]
    last = body.end_lineno if is_docstring(body) else body.lineno - 1
    return "".join(lines[_first_line(node) - 1:last])


def outline(source: str, name: str) -> str:
    """The signature and docstring of ``name`` in ``source``: a function's header and
    docstring; a class's, followed by each public (or special) method's."""
    node = find_definition(source, name)
    if node is None:
        raise KeyError(name)
    lines = source.splitlines(keepends=True)
    parts = [_head(lines, node)]
    if isinstance(node, ast.ClassDef):
        parts += ["\n" + _head(lines, member) for member in node.body
                  if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef))
                  and (not member.name.startswith("_") or member.name.endswith("__"))]
    return "".join(parts).rstrip("\n")


def source_of(source: str, name: str) -> str:
    """The whole text of the definition of ``name`` (decorators included)."""
    node = find_definition(source, name)
    if node is None:
        raise KeyError(name)
    return "".join(source.splitlines(keepends=True)[_first_line(node) - 1:node.end_lineno])


def source_defining(kata: Kata, checkout: Path, name: str) -> str:
    """The text of ``kata``'s module in ``checkout`` that defines ``name``: the learner's
    file, or where that no longer does (deleted, or it does not parse) the untouched stub
    that ``kata reset`` would put back. Raises ``LookupError`` when there is neither."""
    path = kata.path_in(Path(checkout) / "katas")
    try:
        text = path.read_text(encoding="utf-8")
        if find_definition(text, name) is not None:
            return text
    except (OSError, SyntaxError):
        pass
    return untouched_stub(kata, Path(checkout))
