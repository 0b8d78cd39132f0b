"""The repository's proof of soundness: the pytest runs that the checks read, and the checks.

``RepositoryRuns`` starts every run at once, two at a time (one per core), each in a process
of its own, forked from the checkout's warm worker (``kata.runs.worker``: a new process
where none can run), the longest first so that both cores finish together:

- the reference solutions, one run per kata (at the session's profile: 200 examples under
  ``ci``), and again under the learner's profile with line coverage of ``solutions/``
  (coverage slows a run by half; every line must be reached by a learner's run anyway);
- rounds of catalog variants: each round lays one variant of several katas over the
  solutions, so that one process checks many variants; katas that import one another never
  share a round (the correct alternatives run every test, the mistakes and cheats only the
  tests named to catch them); the independent mistakes (``tests/catalog/independent/``) run
  the same way: what the diagnosis is measured on besides the catalog's own mistakes;
- the untouched stubs in ``katas/``.

Each check is a function that returns what is wrong (an empty list when nothing is): the
tests in ``tests/`` assert that it is empty, and ``kata check`` prints them as one table.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import tempfile
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kata.core.layout import REPO_ROOT
from kata.core.manifest import Kata, load_manifest
from kata.core.records import FailureKind, Outcome, TestRecord
from kata.core.stubs import expected_stubs, only_raises
from kata.harness.allowlist import check
from kata.harness.loader import import_from_path, import_kata, use_tree
from kata.instructor import contracts
from kata.instructor.catalog import (
    INDEPENDENT_DIR,
    Variant,
    load_catalog,
    mistake_wording_problems,
    mistakes_module_problems,
    verdict,
    write_tree,
)
from kata.runs.runner import Run, run_katas


class RepositoryRuns:
    """Starts the runs on creation; each accessor waits for the run it needs."""

    def __init__(self, scratch: Path, profile: str | None = None, workers: int = 2,
                 katas: Sequence[Kata] | None = None, warm: bool = True):
        self.scratch = Path(scratch)
        self.katas = [kata.folder for kata in katas or load_manifest().katas]
        self.catalog = {kata: entry for kata, entry in load_catalog().items() if kata in self.katas}
        self.independent = {kata: entry for kata, entry in load_catalog(INDEPENDENT_DIR).items()
                            if kata in self.katas}
        profile_args = [f"--hypothesis-profile={profile}"] if profile else []
        pool = ThreadPoolExecutor(max_workers=workers)
        # One thread per process: the pool already keeps every core busy, and torch's
        # threads spinning against another process's on the same cores cost 10x in time.
        run = functools.partial(run_katas, environment={"OMP_NUM_THREADS": "1"}, warm=warm)
        # The reference run of each kata, the exam's first (it trains both models): one run
        # per kata, so that the longest work of the check spreads over the cores.
        self._solutions = {kata: pool.submit(run, [kata], solutions=True, extra_args=profile_args)
                           for kata in sorted(self.katas, reverse=True)}
        self._variant_runs: dict[Variant, Future] = {}
        # Mistakes and cheats run under the learner's profile, the one whose feedback must
        # catch them; alternatives under the session's, with its larger number of examples.
        # A mistake or a cheat is judged by the tests named in its caught_by alone, so its
        # round runs only those (-k); an alternative must pass every test, so all run, with
        # more examples than a learner's run where the session asks for more (ci): the
        # `alternatives` profile, since 200 examples for each of 40-odd variants would take
        # most of CI's time and the reference solutions already meet 200.
        # The independent mistakes (wrong code written apart from the catalog, to measure
        # the diagnosis on) run like the cataloged ones: their caught_by tests alone.
        alternative_args = (["--hypothesis-profile=alternatives"] if profile == "ci"
                            else profile_args)
        for catalog, kinds, args in ((self.catalog, ("alternative",), alternative_args),
                                     (self.catalog, ("mistake", "cheat"), []),
                                     (self.independent, ("independent",), [])):
            if kinds[0] == "mistake":
                self._stubs = pool.submit(run, self.katas)
                self._coverage = {kata: pool.submit(
                    run_katas, [kata], solutions=True, warm=warm,
                    extra_args=["--hypothesis-profile=learner", "--cov=solutions",
                                f"--cov-report=json:{self._coverage_report(kata)}"],
                    environment={"COVERAGE_FILE": str(self.scratch / f".coverage-{kata}"),
                                 "OMP_NUM_THREADS": "1"}) for kata in self.katas}
            for number, replacements in enumerate(self._rounds(catalog, kinds)):
                tree = write_tree(self.scratch / f"{kinds[0]}-{number}", replacements)
                catching = sorted({name for variant, _ in replacements.values()
                                   for name in variant.caught_by})
                only = (["-k", " or ".join(catching)] if kinds[0] in ("mistake", "independent")
                        else [])
                future = pool.submit(run, sorted(replacements), impl=tree,
                                     extra_args=[*args, *only])
                for variant, _ in replacements.values():
                    self._variant_runs[variant] = future
        pool.shutdown(wait=False)

    def _coverage_report(self, kata: str) -> Path:
        return self.scratch / f"coverage-{kata}.json"

    @staticmethod
    def _rounds(catalog: dict[str, tuple[list[Variant], str]], kinds: tuple[str, ...]
                ) -> list[dict[str, tuple[Variant, str]]]:
        """``catalog``'s variants of ``kinds``, grouped so that no round holds two katas where
        one imports the other (a mistake in kata 05 would fail kata 08's tests in the same
        tree)."""
        manifest = load_manifest()
        related = {kata.folder: manifest.related_katas(kata) for kata in manifest.katas}
        chosen = [(number, kata, variant, imports)
                  for kata, (variants, imports) in catalog.items()
                  for number, variant in enumerate(v for v in variants if v.kind in kinds)]
        rounds: list[dict[str, tuple[Variant, str]]] = []
        # every kata's first variant, then every kata's second...: rounds fill evenly
        for _, kata, variant, imports in sorted(chosen, key=lambda entry: entry[0]):
            free = next((r for r in rounds if not (related[kata] & r.keys())), None)
            if free is None:
                rounds.append(free := {})
            free[kata] = (variant, imports)
        return rounds

    def solutions(self) -> Run:
        """The reference runs of every kata, as one run."""
        runs = [self._solutions[kata].result() for kata in self.katas]
        return Run(max(run.exitstatus for run in runs),
                   tuple(test for run in runs for test in run.tests),
                   "\n".join(run.output for run in runs))

    def stubs(self) -> Run:
        return self._stubs.result()

    def outcomes_of(self, variant: Variant) -> list[TestRecord]:
        return self._variant_runs[variant].result().of(variant.kata)

    def coverage(self) -> dict[str, list[int]]:
        """For each file of ``solutions/`` that ran, the line numbers that no test reached
        under the learner's profile, in any kata's run (kata 08's runs the modules of 05 to
        07 too)."""
        missing: dict[str, set[int]] = {}
        for kata in self.katas:
            self._coverage[kata].result()
            report = json.loads(self._coverage_report(kata).read_text(encoding="utf-8"))
            for name, data in report["files"].items():
                path = Path(name).resolve().relative_to(REPO_ROOT).as_posix()
                lines = set(data["missing_lines"])
                missing[path] = missing[path] & lines if path in missing else lines
        return {path: sorted(lines) for path, lines in missing.items()}


# --- the checks: each returns what is wrong, an empty list when nothing is ---------------

def solution_problems(runs: RepositoryRuns, kata: Kata) -> list[str]:
    """Tests of ``kata`` that the reference solution does not pass."""
    tests = runs.solutions().of(kata.folder)
    if not tests:
        return [f"no test of {kata.folder} ran:\n{runs.solutions().output[-2000:]}"]
    return [f"{t.nodeid}: {t.outcome.value}\n{t.message}" for t in tests
            if not t.passed and not t.skipped_without_gpu]


def marker_problems(runs: RepositoryRuns, kata: Kata) -> list[str]:
    """Tests without a marker naming the function they test (``@pytest.mark.matvec``)."""
    return [f"{t.nodeid} has no function marker" for t in runs.solutions().of(kata.folder)
            if not t.functions]


def stub_problems(runs: RepositoryRuns, kata: Kata) -> list[str]:
    """Tests that the untouched stub does not fail with ``NotImplementedError``."""
    stub_tests = runs.stubs().of(kata.folder)
    if not stub_tests:
        return [f"no test of {kata.folder} ran against the stub"]
    if {t.nodeid for t in stub_tests} != {t.nodeid for t in runs.solutions().of(kata.folder)}:
        return ["the stub run collected other tests than the solution run"]
    return [f"{t.nodeid}: {t.outcome.value} ({t.exception})" for t in stub_tests
            if not (t.outcome is Outcome.FAILED and t.kind is FailureKind.NOT_IMPLEMENTED)
            and not t.skipped_without_gpu]


def coverage_problems(runs: RepositoryRuns) -> list[str]:
    """Files of ``solutions/`` that no kata test imported, and lines that none ran."""
    coverage = runs.coverage()
    expected = {kata.path_in(REPO_ROOT / "solutions").relative_to(REPO_ROOT).as_posix()
                for kata in load_manifest().katas if kata.folder in runs.katas}
    return ([f"{name} was never imported" for name in sorted(expected - coverage.keys())]
            + [f"{name}: lines {lines} never ran" for name, lines in coverage.items() if lines])


def generated_stub_problems(kata: Kata) -> list[str]:
    """The stub differs from what ``python -m kata.core.stubs`` writes from the solution."""
    path = kata.path_in(REPO_ROOT / "katas")
    stale = path.read_text(encoding="utf-8") != expected_stubs()[path]
    return [f"{path.relative_to(REPO_ROOT)} is out of date; run `python -m kata.core.stubs`"
            ] if stale else []


def _public_api(module) -> dict:
    """The functions and classes a module defines (not those it imports), by name."""
    return {name: value for name, value in vars(module).items()
            if (inspect.isfunction(value) or inspect.isclass(value)) and not name.startswith("_")
            and value.__module__ == module.__name__}


def _methods(cls) -> dict:
    """A class's own public and special methods, by name."""
    return {name: value for name, value in vars(cls).items() if inspect.isfunction(value)
            and (not name.startswith("_") or name.endswith("__"))}


def api_problems(kata: Kata) -> list[str]:
    """Where stub and solution differ in names, signatures, bases or docstrings, or a
    docstring lacks its example."""
    use_tree(REPO_ROOT / "katas")  # the katas a stub imports are stubs too
    stub = import_from_path(kata.path_in(REPO_ROOT / "katas"), f"stub_{kata.module}")
    solution = import_kata(kata, REPO_ROOT / "solutions")
    stub_api, solution_api = _public_api(stub), _public_api(solution)
    wanted = kata.functions.keys() | set(kata.given)
    if not stub_api.keys() == solution_api.keys() == wanted:
        return [f"public names: stub {sorted(stub_api)}, solution {sorted(solution_api)}, "
                f"manifest {sorted(wanted)}"]
    problems = [] if stub.__doc__ == solution.__doc__ else ["module docstrings differ"]
    for name, value in solution_api.items():
        if stub_api[name].__doc__ != value.__doc__:
            problems.append(f"{name}: docstrings differ")
        if not value.__doc__ or (">>>" not in value.__doc__ and name not in kata.given):
            problems.append(f"{name}'s docstring needs an example")
        if name in kata.given:
            if inspect.getsource(stub_api[name]) != inspect.getsource(value):
                problems.append(f"{name} is given, but the stub's differs")
        elif inspect.isclass(value):
            if [b.__name__ for b in stub_api[name].__bases__] \
                    != [b.__name__ for b in value.__bases__]:
                problems.append(f"{name}: bases differ")
            stub_methods, methods = _methods(stub_api[name]), _methods(value)
            if stub_methods.keys() != methods.keys():
                problems.append(f"{name}: methods differ")
                continue
            problems += [f"{name}.{method}: signature or docstring differs"
                         for method, function in methods.items()
                         if inspect.signature(stub_methods[method]) != inspect.signature(function)
                         or stub_methods[method].__doc__ != function.__doc__]
        elif inspect.signature(stub_api[name]) != inspect.signature(value):
            problems.append(f"{name}: signatures differ")
    return problems


def stub_body_problems(kata: Kata) -> list[str]:
    """Code in the stub beyond docstrings, imports, given names and
    ``raise NotImplementedError``."""
    problems = []
    for node in ast.parse(kata.path_in(REPO_ROOT / "katas").read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in kata.given:
            continue
        if isinstance(node, ast.FunctionDef):
            problems += [] if only_raises(node) else [f"{node.name} has code in it"]
        elif isinstance(node, ast.ClassDef):
            docstring, *methods = node.body
            if not isinstance(docstring, ast.Expr):
                problems.append(f"class {node.name} needs its docstring")
            problems += [f"{node.name}.{getattr(method, 'name', '?')} has code in it"
                         for method in methods
                         if not (isinstance(method, ast.FunctionDef) and only_raises(method))]
        elif not isinstance(node, (ast.Import, ast.ImportFrom, ast.Expr)):
            problems.append(f"line {node.lineno}: {ast.dump(node)[:80]}")
    return problems


def import_problems(kata: Kata) -> list[str]:
    """The solution imports other katas than the manifest's ``uses`` says."""
    modules = {other.module: other.folder for other in load_manifest().katas}
    tree = ast.parse(kata.path_in(REPO_ROOT / "solutions").read_text(encoding="utf-8"))
    imported = {modules[name] for node in ast.walk(tree)
                for name in ([a.name for a in node.names] if isinstance(node, ast.Import)
                             else [node.module] if isinstance(node, ast.ImportFrom) else [])
                if name in modules}
    if imported == set(kata.uses):
        return []
    return [f"{kata.folder} imports {sorted(imported)}; "
            f"the manifest says it uses {sorted(kata.uses)}"]


def allowlist_problems(kata: Kata) -> tuple[int, list[str]]:
    """The modules that the allow-list (``kata.harness.allowlist``) must let through but does
    not: the solution, the stub and every cataloged alternative, laid over the solution as the
    catalog's runs lay it. Returns how many were checked and the findings."""
    solution = kata.path_in(REPO_ROOT / "solutions").read_text(encoding="utf-8")
    modules = [("the solution", solution),
               ("the stub", kata.path_in(REPO_ROOT / "katas").read_text(encoding="utf-8"))]
    variants, imports = load_catalog().get(kata.folder, ([], ""))
    modules += [(variant.label, variant.module_text(solution, imports))
                for variant in variants if variant.kind == "alternative"]
    return len(modules), [f"{label}: {finding}" for label, text in modules
                          for finding in check(text, kata)]


#: A solution's line shorter than this, once its whitespace is gone, gives nothing away
#: (``return x``, ``self.x = x``); a hint may say it.
_TELLING_LINE = 12


def _squeezed(text: str) -> str:
    return "".join(text.split())


def solution_lines(kata: Kata, root: Path = REPO_ROOT) -> list[str]:
    """The lines of ``kata``'s solution that would give its answer away, whitespace removed:
    every simple statement (and loop or branch header) of its public functions and methods,
    without ``return``/``yield``, that is long enough to tell and that the stub does not
    show already (its docstrings' examples are the learner's to read)."""
    source = kata.path_in(root / "solutions").read_text(encoding="utf-8")
    shown = _squeezed(kata.path_in(root / "katas").read_text(encoding="utf-8"))
    found = []
    for node in ast.parse(source).body:
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) or node.name not in kata.functions:
            continue
        for statement in ast.walk(node):
            if isinstance(statement, (ast.For, ast.While, ast.If)):
                parts = [statement.iter] if isinstance(statement, ast.For) else [statement.test]
                text = "".join(ast.get_source_segment(source, part) or "" for part in parts)
            elif isinstance(statement, ast.stmt) and not isinstance(
                    statement, (ast.FunctionDef, ast.ClassDef, ast.With, ast.Try)) and not (
                    isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)):
                text = ast.get_source_segment(source, statement) or ""
            else:
                continue
            line = _squeezed(text).removeprefix("return").removeprefix("yieldfrom") \
                .removeprefix("yield")
            if len(line) >= _TELLING_LINE and line not in shown:
                found.append(line)
    return found


def hint_problems(kata: Kata, root: Path = REPO_ROOT) -> list[str]:
    """Hints (step hints and hints by cause) that hold a line of the solution verbatim, once
    whitespace is ignored: a hint guides, it never hands over the answer."""
    lines = solution_lines(kata, root)
    hints = [(f"{name} hint {number}", text) for name, texts in kata.hints.items()
             for number, text in enumerate(texts, 1)]
    hints += [(f"{name} hint for its {cause.words}", text)
              for name, by_cause in kata.cause_hints.items() for cause, text in by_cause.items()]
    return [f"{kata.folder}: {where} holds the solution's line {line!r}"
            for where, text in hints for line in lines if line in _squeezed(text)]


def variant_problems(runs: RepositoryRuns, kata: Kata, kind: str) -> tuple[int, list[str]]:
    """How many of ``kata``'s cataloged variants of ``kind`` there are, and what went wrong
    with them (a mistake the tests accepted, an alternative they rejected...)."""
    variants = [v for v in runs.catalog.get(kata.folder, ([], ""))[0] if v.kind == kind]
    return len(variants), [f"{v.label}: {problem}" for v in variants
                           for problem in [verdict(v, runs.outcomes_of(v))] if problem]


@dataclass(frozen=True)
class DiagnosisTally:
    """How the diagnosis (``kata.harness.diagnosis``) did on the failing tests of wrong code:
    how many named the right mistake, how many named none, and the ones that named a wrong
    one (there must be none)."""

    right: int = 0
    silent: int = 0
    wrong: tuple[str, ...] = ()

    def __add__(self, other: DiagnosisTally) -> DiagnosisTally:
        return DiagnosisTally(self.right + other.right, self.silent + other.silent,
                              self.wrong + other.wrong)

    @property
    def tests(self) -> int:
        return self.right + self.silent + len(self.wrong)

    def __str__(self) -> str:
        return f"{self.right} right, {self.silent} silent, {len(self.wrong)} wrong"


def _right_names(variant: Variant) -> tuple[str, ...]:
    """The mistakes whose name is a right diagnosis of ``variant``: a cataloged mistake's
    own, an independent one's ``diagnosed_as``."""
    return (variant.description,) if variant.kind == "mistake" else variant.diagnosed_as


def diagnosis_tally(runs: RepositoryRuns, kata: Kata, kind: str) -> DiagnosisTally:
    """The diagnosis of every test that failed ``kata``'s cataloged mistakes (``kind``
    ``"mistake"``) or its independent ones (``"independent"``) among the tests named to
    catch them."""
    source = runs.catalog if kind == "mistake" else runs.independent
    tally = DiagnosisTally()
    for variant in (v for v in source.get(kata.folder, ([], ""))[0] if v.kind == kind):
        for test in runs.outcomes_of(variant):
            if test.function not in variant.caught_by or test.outcome is not Outcome.FAILED:
                continue
            found = test.diagnosis
            if found is None:
                tally += DiagnosisTally(silent=1)
            elif found.function == variant.replaces and found.mistake in _right_names(variant):
                tally += DiagnosisTally(right=1)
            else:
                tally += DiagnosisTally(wrong=(f"{variant.label}: {test.name} named "
                                               f"{found.function}() that {found.mistake}",))
    return tally


def check_table(katas: Sequence[Kata], *, workers: int = 2, profile: str | None = "ci"
                ) -> tuple[str, bool]:
    """Run every check on ``katas``; the table of what held (and what did not), and whether
    all did."""
    with tempfile.TemporaryDirectory(prefix="kata-check-") as scratch:
        runs = RepositoryRuns(Path(scratch), profile=profile, workers=workers, katas=katas)
        rows: list[tuple[str, int, list[str]]] = [
            ("solutions pass every test", len(katas),
             [p for kata in katas
              for p in solution_problems(runs, kata) + marker_problems(runs, kata)]),
            ("stubs fail every test with NotImplementedError", len(katas),
             [p for kata in katas for p in stub_problems(runs, kata)]),
            ("stubs match their solutions (generated, same API)", len(katas),
             [p for kata in katas for p in generated_stub_problems(kata) + api_problems(kata)
              + stub_body_problems(kata) + import_problems(kata)]),
            ("kata tests run every line of the solutions", len(katas), coverage_problems(runs)),
            ("hints guide without the solution's lines", len(katas),
             [p for kata in katas for p in hint_problems(kata)]),
            ("tests demand only what the docstrings state (contracts)", len(katas),
             [f"{kata.folder}: {p}" for kata in katas
              for p in contracts.problems(kata) + contracts.returns_problems(kata)]),
        ]
        allowed = [allowlist_problems(kata) for kata in katas]
        rows.append(("solutions, stubs and alternatives within the allow-list",
                     sum(n for n, _ in allowed), [p for _, ps in allowed for p in ps]))
        for kind, title in (("mistake", "cataloged mistakes rejected"),
                            ("cheat", "cataloged cheats rejected by their rule"),
                            ("alternative", "cataloged alternatives accepted")):
            counted = [variant_problems(runs, kata, kind) for kata in katas]
            rows.append((title, sum(n for n, _ in counted), [p for _, ps in counted for p in ps]))
        variants = [v for kata in katas for v in runs.catalog.get(kata.folder, ([], ""))[0]]
        rows.append(("mistakes named and explained, shipped as generated",
                     sum(v.kind == "mistake" for v in variants),
                     mistakes_module_problems() + mistake_wording_problems(variants)))
        figures = {}
        for kind, title in (("mistake", "diagnosis of cataloged mistakes' failures"),
                            ("independent", "diagnosis of independent wrong code's failures")):
            tally = sum((diagnosis_tally(runs, kata, kind) for kata in katas), DiagnosisTally())
            rows.append((title, tally.tests, list(tally.wrong)))
            figures[title] = str(tally)
    width = max(len(title) for title, _, _ in rows)
    lines = [f"{'check':<{width}}  result", f"{'-' * width}  ------"]
    for title, count, problems in rows:
        verdict_text = (f"FAILED ({len(problems)})" if problems else figures.get(title)
                        or f"{count - len(problems)}/{count} ok")
        lines.append(f"{title:<{width}}  {verdict_text}")
    details = [f"\n{title}:\n" + "\n".join(f"  - {p}" for p in problems)
               for title, _, problems in rows if problems]
    sound = not details
    lines.append("\nThe repository is sound." if sound else "".join(details))
    return "\n".join(lines), sound
