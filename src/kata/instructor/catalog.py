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

    @mistake("Module", "does not look into child modules", caught_by=["test_parameters_..."])
    class ModuleWithoutChildren(Module):
        def parameters(self):
            yield from self._parameters.values()
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kata.core.layout import REPO_ROOT
from kata.core.manifest import load_manifest
from kata.core.records import FailureKind, Outcome, TestRecord

CATALOG_DIR = REPO_ROOT / "tests" / "catalog"


@dataclass(frozen=True)
class Variant:
    kata: str
    kind: str  # "mistake", "cheat" or "alternative"
    replaces: str
    description: str
    source: str  # the replacement, as a definition of `replaces`
    caught_by: tuple[str, ...] = ()
    rule: str | None = None

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


def mistake(replaces: str, description: str, *, caught_by: list[str]) -> Callable:
    """Mark a classic mistake that the tests named in ``caught_by`` must reject."""
    return _marker


def cheat(replaces: str, description: str, *, rule: str, caught_by: list[str]) -> Callable:
    """Mark a forbidden shortcut that ``caught_by`` must reject under ``rule``."""
    return _marker


def alternative(replaces: str, description: str) -> Callable:
    """Mark a correct solution, written differently, that every test must accept."""
    return _marker


def _marker(definition):
    # Catalog files are read as source (load_catalog), never run: a variant may subclass
    # the solution's class of the same name, which only exists once it is laid over it.
    return definition


def _variant(kata: str, node: ast.FunctionDef | ast.ClassDef) -> Variant | None:
    """The variant a decorated definition declares, or None for an undecorated one."""
    calls = [(d, d.func.id) for d in node.decorator_list if isinstance(d, ast.Call)
             and isinstance(d.func, ast.Name) and d.func.id in ("mistake", "cheat", "alternative")]
    if not calls:
        return None
    (call, kind), = calls
    replaces, description = (ast.literal_eval(arg) for arg in call.args)
    options = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
    node.decorator_list = []
    node.name = replaces
    return Variant(kata, kind, replaces, description, ast.unparse(node),
                   tuple(options.get("caught_by", ())), options.get("rule"))


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
