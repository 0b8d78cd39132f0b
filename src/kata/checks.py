"""The repository's proof of soundness: the pytest runs that the checks in ``tests/`` read.

One object starts every run at once, two at a time (one per core), each in its own process:

- the reference solutions, with line coverage of ``solutions/``;
- the untouched stubs in ``katas/``;
- rounds of catalog variants: each round lays one variant of several katas over the
  solutions, so that one process checks many variants; katas that import one another never
  share a round.
"""

from __future__ import annotations

import functools
import json
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from kata.catalog import Variant, load_catalog, write_tree
from kata.manifest import REPO_ROOT, load_manifest
from kata.runner import Outcome, Run, run_katas


class RepositoryRuns:
    """Starts the runs on creation; each accessor waits for the run it needs."""

    def __init__(self, scratch: Path, profile: str | None = None, workers: int = 2):
        self.scratch = Path(scratch)
        self.katas = [kata.folder for kata in load_manifest().katas]
        self.catalog = load_catalog()
        profile_args = [f"--hypothesis-profile={profile}"] if profile else []
        pool = ThreadPoolExecutor(max_workers=workers)
        # One thread per process: the pool already keeps every core busy, and torch's
        # threads spinning against another process's on the same cores cost 10x in time.
        run = functools.partial(run_katas, environment={"OMP_NUM_THREADS": "1"})
        self.coverage_report = self.scratch / "coverage.json"
        self._solutions = pool.submit(
            run_katas, self.katas, solutions=True,
            extra_args=[*profile_args, "--cov=solutions", f"--cov-report=json:{self.coverage_report}"],
            environment={"COVERAGE_FILE": str(self.scratch / ".coverage"), "OMP_NUM_THREADS": "1"})
        self._stubs = pool.submit(run, self.katas)
        self._variant_runs: dict[Variant, Future] = {}
        # Mistakes and cheats run under the learner's profile, the one whose feedback must
        # catch them; alternatives under the session's, with its larger number of examples.
        for kinds, args in ((("mistake", "cheat"), []), (("alternative",), profile_args)):
            for number, replacements in enumerate(self._rounds(kinds)):
                tree = write_tree(self.scratch / f"{kinds[0]}-{number}", replacements)
                future = pool.submit(run, sorted(replacements), impl=tree, extra_args=args)
                for variant, _ in replacements.values():
                    self._variant_runs[variant] = future
        pool.shutdown(wait=False)

    def _rounds(self, kinds: tuple[str, ...]) -> list[dict[str, tuple[Variant, str]]]:
        """Variants grouped so that no round holds two katas where one imports the other
        (a mistake in kata 05 would fail kata 08's tests in the same tree)."""
        related = _related_katas()
        chosen = [(number, kata, variant, imports)
                  for kata, (variants, imports) in self.catalog.items()
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
        return self._solutions.result()

    def stubs(self) -> Run:
        return self._stubs.result()

    def outcomes_of(self, variant: Variant) -> list[Outcome]:
        return self._variant_runs[variant].result().of(variant.kata)

    def coverage(self) -> dict[str, list[int]]:
        """For each file of ``solutions/`` that ran, the line numbers that no test reached."""
        self.solutions()
        files = json.loads(self.coverage_report.read_text(encoding="utf-8"))["files"]
        return {Path(name).resolve().relative_to(REPO_ROOT).as_posix(): data["missing_lines"]
                for name, data in files.items()}


def _related_katas() -> dict[str, set[str]]:
    """For each kata, itself and every kata it uses or is used by, directly or not."""
    katas = load_manifest().katas
    uses = {kata.folder: set(kata.uses) for kata in katas}
    for kata in katas:  # katas use only earlier ones: one pass in order closes the relation
        for used in list(uses[kata.folder]):
            uses[kata.folder] |= uses[used]
    return {kata.folder: {kata.folder} | uses[kata.folder]
            | {other for other, used in uses.items() if kata.folder in used} for kata in katas}
