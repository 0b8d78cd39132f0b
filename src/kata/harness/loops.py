"""Which Python loop a running frame is inside: the eye of the ``no_loops`` rule.

The rule forbids tensor operations that run once per turn of a Python loop. When a tensor
operation starts, the guard asks, for each frame of the learner's code on the stack, whether
the instruction that frame is executing repeats with a loop of the same function:

- a statement in the body of a ``for`` loop (the iterable after ``in`` runs once, before
  the loop, and the ``else`` block once, after it);
- the condition or the body of a ``while`` loop;
- the element, the conditions and every iterable but the first of a comprehension or a
  generator expression (the first iterable runs once, in the enclosing function).

A function or lambda defined inside a loop body is a loop of its own only where its own
code loops: defining it repeats, calling it later need not.

>>> import sys
>>> def scan(n):
...     here = [sys._getframe().f_lasti]
...     for _ in range(n):
...         here.append(sys._getframe().f_lasti)
...     return here
>>> [loop_at(scan.__code__, lasti) for lasti in scan(1)]
[None, ('a `for` loop', 3)]
"""

from __future__ import annotations

import ast
import functools
import linecache
from types import CodeType

_COMPREHENSION_WORDS = {
    ast.ListComp: "a list comprehension", ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension", ast.GeneratorExp: "a generator expression",
}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)

#: which loop repeats a span of source: its kind in words and the line it starts on
Loop = tuple[str, int]
#: (start, end, loop): a span of source, as ((line, column), (line, column)), and the loop
#: that repeats it, or None for a scope (which a loop around it does not repeat)
_Region = tuple[tuple[int, int], tuple[int, int], "Loop | None"]


def _span(node: ast.stmt | ast.expr, words: Loop | None) -> _Region:
    # ast.parse sets every end position; typeshed types them optional for hand-made nodes
    assert node.end_lineno is not None and node.end_col_offset is not None
    return (node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset), words


def _regions_of(tree: ast.AST) -> list[_Region]:
    """Every span of ``tree`` that repeats with a loop, and every scope (a function, a
    lambda or a class) that a loop's repetition does not reach into."""
    regions: list[_Region] = []
    for node in ast.walk(tree):
        if isinstance(node, _SCOPES):
            regions.append(_span(node, None))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            word = "an `async for` loop" if isinstance(node, ast.AsyncFor) else "a `for` loop"
            words = (word, node.lineno)
            regions += [_span(statement, words) for statement in node.body]
        elif isinstance(node, ast.While):
            words = ("a `while` loop", node.lineno)
            regions += [_span(node.test, words),
                        *(_span(statement, words) for statement in node.body)]
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            words = (_COMPREHENSION_WORDS[type(node)], node.lineno)
            elements = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            repeated = elements + [condition for generator in node.generators
                                   for condition in generator.ifs]
            repeated += [generator.iter for generator in node.generators[1:]]
            regions += [_span(part, words) for part in repeated]
    return regions


@functools.lru_cache(maxsize=256)
def _regions_in(filename: str, source: str) -> list[_Region]:
    try:
        return _regions_of(ast.parse(source, filename))
    except (SyntaxError, ValueError):  # not Python source: no loop can be placed in it
        return []


def _innermost(regions: list[_Region], point: tuple[int, int]) -> Loop | None:
    """The loop of the innermost region holding ``point`` (spans nest or are disjoint, so
    the innermost is the holder that starts last and ends first; a scope wins over a loop
    body of the same span, which is the statement that defines it)."""
    holders = [(start, end, words) for start, end, words in regions if start <= point < end]
    if not holders:
        return None
    return max(holders, key=lambda region: (region[0], (-region[1][0], -region[1][1]),
                                            region[2] is None))[2]


#: id(code) -> (code, {instruction offset: loop or None}); the code is kept so that its id
#: cannot be reused by another code object
_CACHE: dict[int, tuple[CodeType, dict[int, Loop | None]]] = {}


def loop_at(code: CodeType, lasti: int) -> Loop | None:
    """Which loop of ``code`` repeats its instruction at byte offset ``lasti`` (a frame's
    ``f_lasti``), such as ``("a `for` loop", 12)``; None when it runs outside loops.

    Answers are cached per code object and offset, so asking again costs a dict lookup.
    """
    entry = _CACHE.get(id(code))
    if entry is None:
        entry = _CACHE[id(code)] = (code, {})
    answers = entry[1]
    if lasti not in answers:
        answers[lasti] = _find_loop(code, lasti)
    return answers[lasti]


def _find_loop(code: CodeType, lasti: int) -> Loop | None:
    positions = list(code.co_positions())
    index = lasti // 2
    if not 0 <= index < len(positions):
        return None
    line, _, column, _ = positions[index]
    if line is None or column is None:
        return None
    linecache.checkcache(code.co_filename)
    source = "".join(linecache.getlines(code.co_filename))
    return _innermost(_regions_in(code.co_filename, source), (line, column))
