"""The editor's one-scan preview (truth.py via workbench.analyse) must give exactly what the separate
count/sample and waterfall queries give, on the differential test's random trees and data."""
from __future__ import annotations

import random

import pytest

from crm_core.segments.catalog import load_catalog
from crm_core.segments.preview import preview, waterfall
from crm_core.segments.rules import Condition, parse_rules, walk
from crm_core.segments.truth import MAX_LEAVES
from crm_core.segments.workbench import analyse
from tests.core.segments.generator import TreeGenerator
from tests.core.segments.reference_eval import Reference
from tests.core.segments.world import AS_OF, open_world

SEEDS = range(150)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    store, world = open_world(tmp_path_factory.mktemp("one-scan") / "one_scan.duckdb")
    catalog = load_catalog(store)
    yield store, catalog, TreeGenerator(catalog, Reference(world), AS_OF)
    store.close()


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed-{s}-")
def test_one_scan_matches_the_separate_queries(env, seed):
    store, catalog, generator = env
    rules = generator.tree(random.Random(seed))
    root = parse_rules(rules, catalog)
    leaves = sum(1 for _, n in walk(root) if isinstance(n, Condition))
    got = analyse(store, rules, AS_OF, catalog=catalog)
    assert not got.problems and got.error is None
    want = preview(store, root, AS_OF, catalog)
    assert got.preview.count == want.count
    assert got.preview.total == want.total
    assert got.preview.sample["id"].to_list() == want.sample["id"].to_list()
    assert list(got.waterfall) == (waterfall(store, root, AS_OF, catalog) if root.rules else [])
    if leaves <= MAX_LEAVES:
        assert got.preview.sql == want.sql


def test_the_seeds_cover_the_one_scan_path_and_nesting(env):
    _, catalog, generator = env
    trees = [parse_rules(generator.tree(random.Random(seed)), catalog) for seed in SEEDS]
    small = [t for t in trees if sum(1 for _, n in walk(t) if isinstance(n, Condition)) <= MAX_LEAVES]
    assert len(small) > 100
    assert any(any(hasattr(n, "rules") and n.negate for _, n in walk(t)) for t in small)
