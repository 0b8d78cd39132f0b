"""The catalog of variants: proof that each kata's tests catch what they are meant to catch.

A variant is the reference solution with one function replaced. There are three kinds:

- a *mistake* (a classic error: wrong axis, no max-subtraction...) that the named tests must
  reject with a real failure, not a ``NotImplementedError`` or an import error;
- a *cheat* (a forbidden call, a loop where loops are not allowed) that the named tests must
  reject with a ``RuleViolation`` naming the rule;
- an *alternative*: correct code written differently, which every test must accept.

Variants live in ``tests/catalog/<kata folder>.py``, one decorated function or class each.
The files are read as source, never run: each definition is renamed to the name it replaces
and laid into a copy of the solution module right after the definition it replaces, so it
may call the solution's other functions by name, and a class may subclass the solution's
class of the same name to change one method, for every subclass below it too (linters will
call those names undefined):

    @mistake("matvec", "sums over the wrong axis", caught_by=["test_matvec_matches_loop_spec"])
    def matvec_sums_the_wrong_axis(m, c):
        return (m * c).sum(0)

    @mistake("Module", "does not look into child modules", caught_by=["test_parameters_..."],
             explanation="parameters() must walk the children too: a model's layers are children.")
    class ModuleWithoutChildren(Module):
        def parameters(self):
            yield from self._parameters.values()

A mistake's description is its name for a learner (one line, a verb phrase: "sums over the
wrong axis") and its ``explanation`` says why it goes wrong in two lines at most: a failing
test whose result a mistake reproduces names it (``kata.harness.diagnosis``). The mistakes
that need nothing of the solution ship in the harness for that, generated from here
(``python -m kata.instructor.catalog`` writes ``kata/harness/mistakes.py``); the catalog
itself, with its alternatives, never leaves the instructor's repository.

``tests/catalog/independent/`` holds wrong code written apart from the catalog, each marked
``@independent`` with the cataloged mistakes whose name would be a right diagnosis of it:
what ``kata check`` measures the diagnosis on besides the catalog's own mistakes.
"""

from __future__ import annotations

import argparse
import ast
import base64
import builtins
import symtable
import sys
import textwrap
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kata.core.layout import HARNESS, REPO_ROOT
from kata.core.manifest import load_manifest
from kata.core.records import EXPLANATION_WIDTH, FailureKind, Outcome, TestRecord

CATALOG_DIR = REPO_ROOT / "tests" / "catalog"
#: wrong code written apart from the catalog, to measure the diagnosis on
INDEPENDENT_DIR = CATALOG_DIR / "independent"
#: the mistakes a learner's repository carries for the diagnosis, generated from the catalog
SHIPPED_MISTAKES = HARNESS / "harness" / "mistakes.py"
#: the longest a mistake's name may be: one line of a report
NAME_WIDTH = 100


@dataclass(frozen=True)
class Variant:
    kata: str
    kind: str  # "mistake", "cheat", "alternative" or (tests/catalog/independent) "independent"
    replaces: str
    description: str
    source: str  # the replacement, as a definition of `replaces`
    caught_by: tuple[str, ...] = ()
    rule: str | None = None
    #: a mistake's: why it goes wrong, for a learner, in two lines at most
    explanation: str | None = None
    #: an independent mistake's: the cataloged mistakes (their descriptions) whose name is a
    #: right diagnosis of it; empty when none is, and the diagnosis should stay silent
    diagnosed_as: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.kata}: {self.kind}: {self.replaces}() {self.description}"

    def module_text(self, solution: str, imports: str) -> str:
        """The solution's text with this variant's definition laid over it, right after the
        definition it replaces: a class variant that subclasses the solution's class then
        becomes the base of every subclass defined below it."""
        lines = solution.splitlines(keepends=True)
        ends = [node.end_lineno for node in ast.parse(solution).body
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == self.replaces]
        at = ends[0] if ends else len(lines)
        variant = f"\n\n# --- catalog variant: {self.description}\n{imports}\n{self.source}\n"
        return "".join(lines[:at]) + variant + "".join(lines[at:])


def mistake(replaces: str, description: str, *, caught_by: list[str], explanation: str) -> Callable:
    """Mark a classic mistake that the tests named in ``caught_by`` must reject; a failing
    test whose result it reproduces names it, with ``explanation``."""
    return _marker


def cheat(replaces: str, description: str, *, rule: str, caught_by: list[str]) -> Callable:
    """Mark a forbidden shortcut that ``caught_by`` must reject under ``rule``."""
    return _marker


def alternative(replaces: str, description: str) -> Callable:
    """Mark a correct solution, written differently, that every test must accept."""
    return _marker


def independent(replaces: str, description: str, *, caught_by: list[str],
                diagnosed_as: list[str]) -> Callable:
    """Mark wrong code written apart from the catalog (``tests/catalog/independent/``): the
    tests in ``caught_by`` reject it, and a diagnosis of it is right when it names one of
    ``diagnosed_as`` (cataloged mistakes' descriptions), wrong when it names another."""
    return _marker


def _marker(definition):
    # Catalog files are read as source (load_catalog), never run: a variant may subclass
    # the solution's class of the same name, which only exists once it is laid over it.
    return definition


_MARKERS = ("mistake", "cheat", "alternative", "independent")


def _variant(kata: str, node: ast.FunctionDef | ast.ClassDef) -> Variant | None:
    """The variant a decorated definition declares, or None for an undecorated one."""
    calls = [(d, d.func.id) for d in node.decorator_list if isinstance(d, ast.Call)
             and isinstance(d.func, ast.Name) and d.func.id in _MARKERS]
    if not calls:
        return None
    (call, kind), = calls
    replaces, description = (ast.literal_eval(arg) for arg in call.args)
    options = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
    node.decorator_list = []
    node.name = replaces
    return Variant(kata, kind, replaces, description, ast.unparse(node),
                   tuple(options.get("caught_by", ())), options.get("rule"),
                   options.get("explanation"), tuple(options.get("diagnosed_as", ())))


def load_catalog(directory: Path = CATALOG_DIR) -> dict[str, tuple[list[Variant], str]]:
    """Per kata folder: its variants in file order, and the import lines they need."""
    catalog = {}
    for kata in load_manifest().katas:
        path = directory / f"{kata.folder}.py"
        if not path.exists():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports = "\n".join(ast.unparse(node) for node in tree.body
                            if isinstance(node, (ast.Import, ast.ImportFrom))
                            and not (isinstance(node, ast.ImportFrom)
                                     and node.module == "kata.instructor.catalog"))
        variants = [variant for node in tree.body
                    if isinstance(node, (ast.FunctionDef, ast.ClassDef))
                    for variant in [_variant(kata.folder, node)] if variant is not None]
        catalog[kata.folder] = (variants, imports)
    return catalog


def write_tree(tree: Path, replacements: dict[str, tuple[Variant, str]]) -> Path:
    """A tree laid out like ``katas/``: every kata's solution, with ``replacements`` (kata
    folder -> (variant, its imports)) laid over their katas. Returns ``tree``."""
    for kata in load_manifest().katas:
        solution = kata.path_in(REPO_ROOT / "solutions").read_text(encoding="utf-8")
        if kata.folder in replacements:
            variant, imports = replacements[kata.folder]
            solution = variant.module_text(solution, imports)
        target = kata.path_in(tree)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(solution, encoding="utf-8")
    return tree


def verdict(variant: Variant, outcomes: list[TestRecord]) -> str | None:
    """Why the tests failed to treat ``variant`` as they should; None when they did."""
    if not outcomes:
        return "no test ran"
    if variant.kind == "alternative":
        failed = [t for t in outcomes if not t.passed and not t.skipped_without_gpu]
        return (f"a correct alternative was rejected by {[t.name for t in failed]}:\n"
                + "\n".join(t.message or "" for t in failed)) if failed else None
    by_function: dict[str, list[TestRecord]] = {}
    for test in outcomes:
        by_function.setdefault(test.function, []).append(test)
    problems = []
    for name in variant.caught_by:
        tests = by_function.get(name)
        if not tests:
            problems.append(f"{name} does not exist")
            continue
        caught = [t for t in tests if t.outcome is Outcome.FAILED and t.kind is not None
                  and (not t.kind.quiet or t.kind is FailureKind.REFUSED)]
        if variant.kind == "cheat":  # its rule catches it, or the allow-list refuses it first
            caught = [t for t in caught if t.kind is FailureKind.RULE
                      and f"`{variant.rule}`" in (t.message or "")]
            caught += [t for t in tests if t.kind is FailureKind.REFUSED]
        if not caught:
            problems.append(f"{name} did not reject it "
                            f"({', '.join(t.outcome.value for t in tests)})")
    return "; ".join(problems) or None


# --- the mistakes a learner's repository carries, and what each catalog entry must say ----

def _imported_names(imports: str) -> set[str]:
    """The names that ``imports`` (import lines) bind."""
    names = set()
    for node in ast.parse(imports).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
    return names


def solution_names_needed(variant: Variant, imports: str) -> list[str]:
    """The names ``variant`` reads from the module it is laid into, beyond Python's builtins
    and its file's imports: the solution's functions and helpers it calls (a class variant
    also needs the class it subclasses). Without them it cannot run on its own.

    >>> source = "def matvec(m, c):\\n    return torch.stack([dot(r, c) for r in m])"
    >>> solution_names_needed(Variant("03_matmul", "mistake", "matvec", "", source), "import torch")
    ['dot']
    """
    module = symtable.symtable(variant.source, "<variant>", "exec")
    read: set[str] = set()
    pending = [module]  # the module's own level reads a class variant's base
    while pending:
        table = pending.pop()
        read |= {symbol.get_name() for symbol in table.get_symbols()
                 if symbol.is_global() and symbol.is_referenced()}
        pending += table.get_children()
    return sorted(read - set(dir(builtins)) - _imported_names(imports) - {variant.replaces})


def shipped(variant: Variant, imports: str) -> bool:
    """Whether ``variant`` ships in the harness for the diagnosis: a mistake written as a
    function (a test calls a function with plain data; a class is driven by scenarios) that
    needs nothing of the solution, which a learner's repository does not hold."""
    return (variant.kind == "mistake" and variant.source.startswith("def ")
            and not solution_names_needed(variant, imports))


def _packed(source: str) -> str:
    return base64.b64encode(zlib.compress(source.encode("utf-8"), 9)).decode("ascii")


def _wrapped(text: str, indent: int, width: int = 99) -> str:
    """``text`` as string literals that fit ``width`` columns from ``indent`` (Python joins
    adjacent literals into one string)."""
    room = width - indent - 2
    pieces = []
    while len(text) > room:  # break after a space where there is one: the prose stays readable
        cut = text.rfind(" ", 0, room) + 1 or room
        pieces.append(text[:cut])
        text = text[cut:]
    pieces.append(text)
    # a piece's repr may grow (escapes): split further until each fits
    literals = [repr(piece) for piece in pieces]
    if any(len(literal) > width - indent for literal in literals):
        return _wrapped(text, indent, width - 4)
    return ("\n" + " " * indent).join(literals)


def mistakes_module(catalog: dict[str, tuple[list[Variant], str]] | None = None) -> str:
    """The text of ``kata/harness/mistakes.py``: the shipped mistakes of every kata, ranked
    as the catalog lists them, and the imports each kata's need."""
    catalog = load_catalog() if catalog is None else catalog
    imports, mistakes = {}, []
    for kata, (variants, kata_imports) in catalog.items():
        chosen = [variant for variant in variants if shipped(variant, kata_imports)]
        if chosen:
            imports[kata] = kata_imports
        mistakes += [(kata, v.replaces, v.description, v.explanation or "", _packed(v.source))
                     for v in chosen]
    rows = "".join("    (" + ",\n     ".join(_wrapped(field, 5) for field in entry) + "),\n"
                   for entry in mistakes)
    import_rows = "".join(f"    {kata!r}: {lines!r},\n" for kata, lines in imports.items())
    return (f'"""The cataloged mistakes a failing test can name (``kata.harness.diagnosis``):\n'
            f'generated from tests/catalog/ by ``python -m kata.instructor.catalog``. Do not\n'
            f'edit.\n\n'
            f'Only the mistakes that need nothing of the reference solutions are here: a\n'
            f"learner's repository carries them, never the catalog's alternatives. Each one's\n"
            f'code is packed (zlib, then base64): a mistake is one slip away from the answer,\n'
            f'and a learner who opens this file should not read answers by accident. It is no\n'
            f'secret: ``kata.harness.diagnosis`` unpacks it.\n"""\n\n'
            f"#: per kata folder, the import lines its mistakes run after\n"
            f"IMPORTS = {{\n{import_rows}}}\n\n"
            f"#: (kata folder, function, name, explanation, packed code), each kata's in the\n"
            f"#: catalog's order: where two reproduce a result, the first is named\n"
            f"MISTAKES = (\n{rows})\n")


def mistakes_module_problems(root: Path = REPO_ROOT) -> list[str]:
    """The shipped mistakes differ from what the catalog generates."""
    path = root / SHIPPED_MISTAKES
    if not path.is_file() or path.read_text(encoding="utf-8") != mistakes_module():
        return [f"{SHIPPED_MISTAKES.as_posix()} is out of date; run "
                f"`python -m kata.instructor.catalog`"]
    return []


def mistake_wording_problems(variants: list[Variant]) -> list[str]:
    """Mistakes whose name is not one line, or whose explanation is missing or longer than
    two lines of a report; independent mistakes that name no cataloged mistake of theirs."""
    problems = []
    for variant in variants:
        if variant.kind in ("mistake", "independent") and (
                "\n" in variant.description or len(variant.description) > NAME_WIDTH):
            problems.append(f"{variant.label}: the name should be one line of at most "
                            f"{NAME_WIDTH} characters")
        if variant.kind == "mistake":
            lines = textwrap.wrap(variant.explanation or "", width=EXPLANATION_WIDTH - 2)
            if not 1 <= len(lines) <= 2:
                problems.append(f"{variant.label}: its explanation should fill one or two lines "
                                f"of {EXPLANATION_WIDTH - 2} characters, not {len(lines)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """``python -m kata.instructor.catalog [--check]``: write (or check) the shipped mistakes."""
    parser = argparse.ArgumentParser(
        prog="python -m kata.instructor.catalog",
        description="write kata/harness/mistakes.py from tests/catalog/")
    parser.add_argument("--check", action="store_true", help="only say whether it is out of date")
    args = parser.parse_args(argv)
    stale = mistakes_module_problems()
    if args.check:
        print("\n".join(stale) or f"{SHIPPED_MISTAKES.as_posix()} is up to date")
        return 1 if stale else 0
    (REPO_ROOT / SHIPPED_MISTAKES).write_text(mistakes_module(), encoding="utf-8")
    print(f"{SHIPPED_MISTAKES.as_posix()}: written" if stale else
          f"{SHIPPED_MISTAKES.as_posix()}: already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
