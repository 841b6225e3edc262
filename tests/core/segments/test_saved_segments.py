"""Saved segments (crm_core.segments.saved): save, open, update, list, duplicate, delete, names, size
history, membership references, cycles, overlaps and the members export query. Who a segment holds
is checked against plain-Python predicates over the small shop."""
from __future__ import annotations

from datetime import date, datetime, timezone

import polars as pl
import pytest

from crm_core.order_records import OrderInput, create_order
from crm_core.segments.rules import dumps, parse_rules
from crm_core.segments.catalog import load_catalog
from crm_core.segments.saved import (delete_segment, duplicate_segment, get_segment, list_segments, measure_segments,
                                     overlap, save_segment, segment_by_name, segment_members_query, size_history)
from crm_core.validation import NotFoundError, ValidationError
from tests.core.segments.small_shop import AS_OF, NO_REVENUE, PEOPLE, build_shop, names, who

CA = {"match": "all", "negate": False, "rules": [{"field": "state", "op": "is", "value": "CA"}]}
BIG = {"match": "all", "negate": False, "rules": [{"field": "total_spend", "op": ">", "value": 1000}]}
BOOKS = {"match": "all", "negate": False, "rules": [{"field": "bought_category", "op": "any_of", "value": ["books"]}]}
LAPSED = {"match": "all", "negate": False, "rules": [{"field": "last_order_date", "op": "more_than_days_ago",
                                                      "value": 90}]}


def member_of(segment_id: int, negate: bool = False) -> dict:
    return {"match": "all", "negate": False,
            "rules": [{"field": "segment", "op": "not_member_of" if negate else "member_of", "value": segment_id}]}


def both(*rules) -> dict:
    return {"match": "all", "negate": False, "rules": [r for rule in rules for r in rule["rules"]]}


@pytest.fixture
def shop(store):
    ids = build_shop(store)
    return store, ids


def _members(store, segment_id) -> frozenset[str]:
    sql, params = segment_members_query(store, segment_id)
    return names(store, [r[0] for r in store.rows(sql, params)])


def _sizes(store, segment_id) -> list[int]:
    return size_history(store, segment_id)["customers"].to_list()


# -- save, open, update ---------------------------------------------------------------------------------
def test_save_and_get(shop) -> None:
    store, _ = shop
    segment_id = save_segment(store, "  California  ", CA, "West coast people", user="maria")
    saved = get_segment(store, segment_id)
    assert (saved.id, saved.name, saved.description, saved.as_of) == (segment_id, "California", "West coast people",
                                                                      None)
    assert saved.rules == CA and saved.created_by == saved.updated_by == "maria"
    assert saved.tree(load_catalog(store)) == parse_rules(CA, load_catalog(store))
    assert segment_by_name(store, "CALIFORNIA").id == segment_id
    with pytest.raises(NotFoundError):
        get_segment(store, segment_id + 100)
    with pytest.raises(NotFoundError):
        segment_by_name(store, "Texas")


def test_saved_rules_are_canonical_json(shop) -> None:
    store, _ = shop
    loose = {"match": "all", "rules": [{"field": "total_spend", "op": ">", "value": "1,000.50"}]}
    segment_id = save_segment(store, "Loose", loose)
    stored = store.scalar("SELECT rules FROM segments WHERE id = ?", [segment_id])
    assert stored == '{"match":"all","negate":false,"rules":[{"field":"total_spend","op":">","value":1000.5}]}'
    assert stored == dumps(parse_rules(stored, load_catalog(store)))


def test_update_changes_rule_name_and_editor(shop) -> None:
    store, _ = shop
    segment_id = save_segment(store, "Big", BIG, user="maria", as_of=AS_OF)
    before = get_segment(store, segment_id)
    assert save_segment(store, "Big CA", both(BIG, CA), "now only CA", user="li", segment_id=segment_id) == segment_id
    after = get_segment(store, segment_id)
    assert (after.name, after.description, after.rules, after.as_of) == ("Big CA", "now only CA", both(BIG, CA), None)
    assert (after.created_by, after.updated_by, after.created_at) == ("maria", "li", before.created_at)
    assert after.updated_at >= before.updated_at
    assert store.scalar("SELECT count(*) FROM segments") == 1
    assert _members(store, segment_id) == who(lambda p: p.spend > 1000 and p.state == "CA") == {"Ana", "Ben"}


def test_updating_a_missing_segment_is_refused(shop) -> None:
    store, _ = shop
    with pytest.raises(NotFoundError):
        save_segment(store, "Ghost", CA, segment_id=999)
    assert store.scalar("SELECT count(*) FROM segments") == 0


@pytest.mark.parametrize("name,rules,field", [
    ("", CA, "name"), ("   ", CA, "name"), ("x" * 101, CA, "name"),
    ("Bad rule", {"match": "all", "rules": [{"field": "shoe_size", "op": ">", "value": 3}]}, "rules"),
    ("Bad value", {"match": "all", "rules": [{"field": "total_spend", "op": ">", "value": "lots"}]}, "rules"),
])
def test_invalid_segments_are_not_saved(shop, name, rules, field) -> None:
    store, _ = shop
    with pytest.raises(ValidationError) as err:
        save_segment(store, name, rules)
    assert field in err.value.errors
    assert store.scalar("SELECT count(*) FROM segments") == 0


# -- names ------------------------------------------------------------------------------------------------
def test_names_are_unique_ignoring_case(shop) -> None:
    store, _ = shop
    first = save_segment(store, "VIP", BIG)
    other = save_segment(store, "Books", BOOKS)
    for clash in ("vip", " Vip ", "VIP"):
        with pytest.raises(ValidationError) as err:
            save_segment(store, clash, CA)
        assert "already exists" in err.value.errors["name"]
    with pytest.raises(ValidationError):
        save_segment(store, "vIp", CA, segment_id=other)  # renaming onto another segment's name
    save_segment(store, "vip", BIG, segment_id=first)  # a segment may change the case of its own name
    assert get_segment(store, first).name == "vip"
    assert store.scalar("SELECT count(*) FROM segments") == 2


# -- list, duplicate, delete -----------------------------------------------------------------------------
def test_list_shows_latest_size_newest_first(shop) -> None:
    store, _ = shop
    a = save_segment(store, "California", CA, as_of=AS_OF)
    b = save_segment(store, "Big spenders", BIG, as_of=AS_OF)
    listed = list_segments(store)
    assert listed["id"].to_list() == [b, a]
    expected = {"California": len(who(lambda p: p.state == "CA")), "Big spenders": len(who(lambda p: p.spend > 1000))}
    assert dict(zip(listed["name"], listed["customers"])) == expected == {"California": 3, "Big spenders": 3}
    assert listed["share"].to_list() == [pytest.approx(3 / len(PEOPLE))] * 2


def test_duplicate_picks_a_free_name_and_copies_the_rule(shop) -> None:
    store, _ = shop
    original = save_segment(store, "Lapsed", LAPSED, "90 days", as_of=AS_OF)
    copy = duplicate_segment(store, original, user="li")
    again = duplicate_segment(store, original)
    assert [get_segment(store, i).name for i in (copy, again)] == ["Copy of Lapsed", "Copy of Lapsed (2)"]
    duplicated = get_segment(store, copy)
    assert (duplicated.rules, duplicated.description, duplicated.as_of, duplicated.created_by) == (
        LAPSED, "90 days", AS_OF, "li")
    assert _members(store, copy) == _members(store, original) == who(
        lambda p: p.last_order is not None and (AS_OF - p.last_order).days > 90) == {"Cara", "Dan"}
    assert _sizes(store, copy) == [2]


def test_delete_removes_the_segment_and_its_history(shop) -> None:
    store, _ = shop
    keep = save_segment(store, "Keep", CA)
    gone = save_segment(store, "Gone", BIG)
    measure_segments(store)
    delete_segment(store, gone)
    with pytest.raises(NotFoundError):
        get_segment(store, gone)
    assert store.scalar("SELECT count(*) FROM segment_sizes WHERE segment_id = ?", [gone]) == 0
    assert store.scalar("SELECT count(*) FROM segment_sizes WHERE segment_id = ?", [keep]) == 2
    assert list_segments(store)["id"].to_list() == [keep]
    with pytest.raises(NotFoundError):
        delete_segment(store, gone)


# -- size history -----------------------------------------------------------------------------------------
def test_size_history_is_recorded_on_save_and_measure(shop) -> None:
    store, ids = shop
    segment_id = save_segment(store, "Big", BIG, as_of=AS_OF)
    assert _sizes(store, segment_id) == [3]
    # Eve buys for 5,000: she joins on the next measurement.
    create_order(store, OrderInput(customer_id=ids["Eve"], ordered_at="2026-11-18 10:00", amount="5000", status="paid"))
    assert measure_segments(store) == {segment_id: 4}
    history = size_history(store, segment_id)
    assert history["customers"].to_list() == [3, 4]
    assert history["total_customers"].to_list() == [6, 6]
    assert history["as_of"].to_list() == [AS_OF, AS_OF]
    assert history["measured_at"].is_sorted()
    assert _members(store, segment_id) == {"Ana", "Ben", "Cara", "Eve"}
    # Measuring only some segments records points for those alone.
    other = save_segment(store, "CA", CA)
    assert measure_segments(store, [other]) == {other: 3}
    assert _sizes(store, segment_id) == [3, 4] and _sizes(store, other) == [3, 3]


def test_a_segment_without_as_of_is_measured_today(shop) -> None:
    store, _ = shop
    segment_id = save_segment(store, "CA", CA)
    [as_of] = size_history(store, segment_id)["as_of"].to_list()
    assert as_of == datetime.now(timezone.utc).date()


# -- segments used by other segments ----------------------------------------------------------------------
def test_member_of_selects_the_other_segments_members(shop) -> None:
    store, _ = shop
    ca = save_segment(store, "CA", CA)
    big_ca = save_segment(store, "Big in CA", both(BIG, member_of(ca)))
    not_ca = save_segment(store, "Not CA", member_of(ca, negate=True))
    assert _members(store, big_ca) == who(lambda p: p.spend > 1000 and p.state == "CA") == {"Ana", "Ben"}
    assert _members(store, not_ca) == who(lambda p: p.state != "CA") == {"Cara", "Dan", "Eve"}


def test_delete_is_refused_while_another_segment_uses_it(shop) -> None:
    store, _ = shop
    ca = save_segment(store, "CA", CA)
    user = save_segment(store, "Big in CA", both(BIG, member_of(ca)))
    with pytest.raises(ValidationError) as err:
        delete_segment(store, ca)
    assert "'Big in CA'" in err.value.errors["segment"]
    assert get_segment(store, ca).name == "CA"
    save_segment(store, "Big in CA", BIG, segment_id=user)  # no longer uses it
    delete_segment(store, ca)
    with pytest.raises(NotFoundError):
        get_segment(store, ca)


def test_a_segment_cannot_use_itself(shop) -> None:
    store, _ = shop
    a = save_segment(store, "A", CA)
    with pytest.raises(ValidationError) as err:
        save_segment(store, "A", both(CA, member_of(a)), segment_id=a)
    assert "rules" in err.value.errors
    assert get_segment(store, a).rules == CA


def test_cycles_are_refused(shop) -> None:
    store, _ = shop
    b = save_segment(store, "B", BIG)
    a = save_segment(store, "A", both(CA, member_of(b)))
    with pytest.raises(ValidationError) as err:  # B -> A -> B
        save_segment(store, "B", both(BIG, member_of(a)), segment_id=b)
    assert "refers back to itself" in err.value.errors["rules"]
    c = save_segment(store, "C", member_of(a))
    with pytest.raises(ValidationError) as err:  # B -> C -> A -> B
        save_segment(store, "B", member_of(c), segment_id=b)
    assert "refers back to itself" in err.value.errors["rules"]
    assert get_segment(store, b).rules == BIG
    assert _members(store, c) == who(lambda p: p.state == "CA" and p.spend > 1000)


# -- overlap ----------------------------------------------------------------------------------------------
def test_overlap_matrix_matches_independent_counts(shop) -> None:
    store, _ = shop
    predicates = {
        "CA": (CA, lambda p: p.state == "CA"),
        "Big": (BIG, lambda p: p.spend > 1000),
        "Books": (BOOKS, lambda p: "books" in p.categories),
        "Lapsed": (LAPSED, lambda p: p.last_order is not None and (AS_OF - p.last_order).days > 90),
        "Recent buyers": ({"match": "all", "rules": [{"field": "spend_last_days", "days": 30, "op": ">", "value": 0}]},
                          lambda p: any(s not in NO_REVENUE and 0 <= (AS_OF - datetime.fromisoformat(t).date()).days
                                        <= 30 for _, s, t, _ in p.orders)),
    }
    ids = {name: save_segment(store, name, rule, as_of=AS_OF) for name, (rule, _) in predicates.items()}
    matrix = overlap(store, list(ids.values()))
    assert matrix.height == 25
    got = {(r["segment_a"], r["segment_b"]): (r["customers"], r["share_of_a"]) for r in matrix.iter_rows(named=True)}
    for a, (_, pa) in predicates.items():
        for b, (_, pb) in predicates.items():
            members_a = who(pa)
            shared = members_a & who(pb)
            assert got[(a, b)] == (len(shared), pytest.approx(len(shared) / len(members_a))), (a, b)
    assert got[("CA", "Big")][0] == 2 and got[("Books", "Lapsed")][0] == 1 and got[("CA", "Lapsed")][0] == 0
    assert got[("Recent buyers", "Recent buyers")][0] == 1 and got[("Recent buyers", "Books")][0] == 1


def test_overlap_edge_cases(shop) -> None:
    store, _ = shop
    empty = save_segment(store, "Nobody", {"match": "all", "rules": [{"field": "state", "op": "is", "value": "ZZ"}]})
    ca = save_segment(store, "CA", CA)
    matrix = overlap(store, [empty, ca, ca])
    assert matrix.select("segment_a", "segment_b", "customers", "share_of_a").rows() == [
        ("Nobody", "Nobody", 0, 0.0), ("Nobody", "CA", 0, 0.0), ("CA", "Nobody", 0, 0.0), ("CA", "CA", 3, 1.0)]
    assert overlap(store, []).height == 0
    with pytest.raises(NotFoundError):
        overlap(store, [ca, 999])
    with pytest.raises(ValidationError):
        overlap(store, [ca] + [save_segment(store, f"S{i}", CA) for i in range(12)])


# -- the members export ----------------------------------------------------------------------------------
def test_members_query_lists_members_with_their_stats(shop) -> None:
    store, ids = shop
    segment_id = save_segment(store, "Books buyers", BOOKS, as_of=AS_OF)
    sql, params = segment_members_query(store, segment_id)
    frame = store.frame(sql, params)
    expected = who(lambda p: "books" in p.categories)
    assert expected == {"Ben", "Dan"}
    assert frame["id"].to_list() == sorted(ids[n] for n in expected)
    for row in frame.iter_rows(named=True):
        person = PEOPLE[row["name"].split()[0]]
        assert (row["email"], row["state"], row["total_spend"], row["order_count"]) == (
            person.email, person.state, person.spend, person.count)
        assert row["last_order_at"].date() == person.last_order
    assert {"external_id", "phone", "city", "country", "signed_up", "avg_order_value",
            "first_order_at"} <= set(frame.columns)


def test_members_query_uses_the_saved_as_of_date(shop) -> None:
    store, _ = shop
    early = save_segment(store, "Lapsed in spring", LAPSED, as_of=date(2026, 5, 1))
    late = save_segment(store, "Lapsed now", LAPSED, as_of=AS_OF)
    lapsed_by = lambda day: who(lambda p: p.last_order is not None and (day - p.last_order).days > 90)  # noqa: E731
    assert _members(store, early) == lapsed_by(date(2026, 5, 1)) == {"Cara"}
    assert _members(store, late) == lapsed_by(AS_OF) == {"Cara", "Dan"}
    empty = save_segment(store, "Nobody", {"match": "any", "rules": []})
    sql, params = segment_members_query(store, empty)
    assert store.frame(sql, params).height == 0
    assert isinstance(store.frame(sql, params), pl.DataFrame)


def test_a_segment_broken_by_a_removed_attribute(shop) -> None:
    store, _ = shop
    few = save_segment(store, "Few visits", {"match": "all", "rules": [{"field": "attr:visits", "op": "<", "value": 3}]})
    ca = save_segment(store, "CA", CA)
    assert _members(store, few) == who(lambda p: p.visits is not None and p.visits < 3)
    store.write(lambda cur: cur.execute("DELETE FROM custom_attributes WHERE name = 'visits'"))
    assert measure_segments(store) == {ca: 3}  # the broken one is left out, not measured as 0
    assert _sizes(store, few) == [3]
    with pytest.raises(ValidationError) as err:
        overlap(store, [ca, few])
    assert "'Few visits' no longer works" in err.value.errors["segments"]
    assert list_segments(store)["name"].to_list() == ["CA", "Few visits"]
    delete_segment(store, few)  # a broken segment can still be deleted
