"""Segments page: the saved list, the editor's live count, inline problems, save and reopen, roles, import."""
from __future__ import annotations

import json

from crm_core.segments.saved import get_segment, segment_by_name
from tests.ui.conftest import open_page
from tests.ui.helpers import button, db, errors, has_button, metric, page

SEGMENTS = "pages/segments.py"
SPEND = ("(SELECT coalesce(sum(o.amount) FILTER (WHERE o.status NOT IN ('cancelled', 'returned')), 0) "
         "FROM orders o WHERE o.customer_id = c.id)")


def _spend_over(amount: int) -> int:
    """Customers whose revenue (from raw orders, not from the stats table) exceeds `amount`."""
    return int(db().scalar(f"SELECT count(*) FROM customers c WHERE {SPEND} > ?", [amount]))


def _audience(at) -> int:
    return int(metric(at, "Audience").value.replace(",", ""))


def _widget(widgets, label: str):
    found = [w for w in widgets if w.label == label]
    assert found, f"no widget {label!r}; have {[w.label for w in widgets]}"
    return found[0]


def _new_segment():
    at = page(SEGMENTS)
    button(at, "New segment").click().run()
    assert not at.exception
    return at


def test_list_shows_the_demo_segments_with_their_sizes():
    at = page(SEGMENTS)
    assert not at.exception
    names = {r[0] for r in db().rows("SELECT name FROM segments")}
    assert "Big spenders" in names
    shown = at.dataframe[0].value
    assert set(shown["name"]) == names
    big = segment_by_name(db(), "Big spenders")
    row = shown[shown["name"] == "Big spenders"].iloc[0]
    assert int(row["customers"]) == _spend_over(2999)  # the demo rule is spend >= 3,000
    assert big.rules["rules"][0]["field"] == "total_spend"


def test_new_segment_counts_live_and_follows_edits():
    at = _new_segment()
    assert _audience(at) == _spend_over(1000)
    _widget(at.number_input, "Value 1").set_value(250.0).run()
    assert not at.exception
    assert _audience(at) == _spend_over(250)
    assert any("total spend is more than 250" in str(m.value) for m in at.markdown)


def test_an_unfinished_condition_is_marked_and_left_out_of_the_count():
    at = _new_segment()
    before = _audience(at)
    button(at, "Condition").click().run()
    assert not at.exception
    assert _audience(at) == before
    assert any("give a value" in str(c.value) for c in at.caption)
    assert button(at, "Save").disabled


def test_any_group_widens_the_audience():
    at = _new_segment()
    button(at, "Condition").click().run()
    _widget(at.number_input, "Value 2").set_value(0.0).run()  # spend > 0 as the second condition
    both = _audience(at)
    at.segmented_control[0].set_value("any").run()
    assert not at.exception
    assert _audience(at) == _spend_over(0) >= both
    assert both == _spend_over(1000)


def test_save_then_reopen_keeps_the_rule():
    at = _new_segment()
    _widget(at.number_input, "Value 1").set_value(750.0).run()
    _widget(at.text_input, "Segment name").input("Mid spenders").run()
    button(at, "Save").click().run()
    assert not at.exception, at.exception
    saved = segment_by_name(db(), "Mid spenders")
    assert saved.rules == {"match": "all", "negate": False,
                           "rules": [{"field": "total_spend", "op": ">", "value": 750}]}
    assert db().scalar("SELECT customers FROM segment_sizes WHERE segment_id = ?", [saved.id]) == _spend_over(750)
    again = page(SEGMENTS, segment=str(saved.id))
    assert not at.exception
    assert _widget(again.number_input, "Value 1").value == 750
    assert _audience(again) == _spend_over(750)


def test_duplicate_names_are_refused_with_a_message():
    at = _new_segment()
    _widget(at.text_input, "Segment name").input("big SPENDERS").run()
    button(at, "Save").click().run()
    assert any("already exists" in e for e in errors(at))


def test_analysts_explore_but_cannot_save():
    at = page(SEGMENTS, role="analyst")
    big = segment_by_name(db(), "Big spenders")
    at = open_page(at, SEGMENTS, segment=str(big.id))
    assert not at.exception
    assert not has_button(at, "Save")
    assert _audience(at) == _spend_over(2999)


def test_foreign_rule_json_opens_in_the_editor():
    at = page(SEGMENTS)
    rule = {"groups": [{"conditions": [{"field": "totalSpend", "operator": "greaterThan", "value": 400}]}]}
    at.text_area(key="seg-list-import-json").input(json.dumps(rule)).run()
    button(at, "Open in the editor").click().run()
    assert not at.exception
    assert at.query_params.get("segment") in ("new", ["new"])
    assert _audience(at) == _spend_over(400)


def test_bad_rule_json_is_explained_not_crashed():
    at = page(SEGMENTS)
    at.text_area(key="seg-list-import-json").input('[{"field":"visits","operator":"<","value":3}]').run()
    button(at, "Open in the editor").click().run()
    assert not at.exception
    assert any("visits" in e and "does not map" in e for e in errors(at))
    at.text_area(key="seg-list-import-json").input("{not json").run()
    button(at, "Open in the editor").click().run()
    assert any("not valid JSON" in e for e in errors(at))


def test_a_deleted_or_unknown_segment_says_so():
    at = page(SEGMENTS, segment="99999")
    assert not at.exception
    assert any("no saved segment" in e for e in errors(at))


def test_delete_removes_the_segment():
    at = _new_segment()
    _widget(at.text_input, "Segment name").input("Temporary").run()
    button(at, "Save").click().run()
    saved = segment_by_name(db(), "Temporary")
    at = page(SEGMENTS, segment=str(saved.id))
    button(at, "Delete for good").click().run()
    assert not at.exception
    assert db().scalar("SELECT count(*) FROM segments WHERE id = ?", [saved.id]) == 0
    try:
        get_segment(db(), saved.id)
    except LookupError:
        pass
    else:
        raise AssertionError("the segment is still there")
