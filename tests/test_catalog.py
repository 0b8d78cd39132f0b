"""Every cataloged mistake and cheat is rejected, every alternative accepted (tests/catalog/)."""

import pytest

from kata.core.manifest import load_manifest
from kata.instructor.catalog import load_catalog, verdict

VARIANTS = [variant for variants, _ in load_catalog().values() for variant in variants]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda variant: variant.label)
def test_kata_tests_treat_the_variant_right(repository_runs, variant):
    problem = verdict(variant, repository_runs.outcomes_of(variant))
    assert problem is None, f"{variant.label}: {problem}"


@pytest.mark.parametrize("kata", load_manifest().katas, ids=lambda kata: kata.folder)
def test_each_kata_has_three_mistakes_and_an_alternative(kata):
    kinds = [v.kind for v in VARIANTS if v.kata == kata.folder]
    assert kinds.count("mistake") >= 3 and kinds.count("alternative") >= 1, kinds


def test_variants_replace_public_functions_of_their_kata():
    for variant in VARIANTS:
        assert variant.replaces in load_manifest().kata(variant.kata).functions, variant.label
        if variant.kind == "cheat":
            assert variant.rule in load_manifest().rules, variant.label
