"""RFM page: the grid and groups for admins and analysts, saving a cell or a group as a segment, bad input."""
from __future__ import annotations

import json

import numpy as np

from crm_core.analytics.rfm import rfm, suggested_as_of
from crm_core.segments.saved import list_segments, segment_by_name
from tests.ui.conftest import logged_in_app, open_page, texts
from tests.ui.helpers import button, db, errors, has_button, metric, page, toasts
from tests.ui.test_home_page import _values

RFM = "pages/rfm.py"


def _heatmap(at) -> dict:
    charts = [json.loads(c.proto.spec)["data"][0] for c in at.get("plotly_chart")]
    found = [c for c in charts if c["type"] == "heatmap"]
    assert len(found) == 1
    return found[0]


def _saved(name: str) -> dict:
    rows = list_segments(db()).filter(list_segments(db())["name"] == name).to_dicts()
    assert len(rows) == 1, f"no segment {name!r}"
    return rows[0]


def test_admin_sees_the_grid_matching_the_core_figures_after_a_real_login():
    at = open_page(logged_in_app(), RFM)
    assert not at.exception
    assert [t.value for t in at.title] == ["RFM"]
    result = rfm(db(), suggested_as_of(db()))
    assert result.scored > 0 and result.unscored > 0  # the demo has customers who never ordered
    assert metric(at, "Customers scored").value == f"{result.scored:,}"
    assert metric(at, "Without RFM").value == f"{result.unscored:,}"
    heat = _heatmap(at)
    z = np.asarray([_values(row) for row in heat["z"]]) if isinstance(heat["z"], list) else _values(heat["z"])
    z = np.asarray(z).reshape(5, 5)
    assert z[4][4] == result.cell(5, 5)["customers"] and z[0][0] == result.cell(1, 1)["customers"]
    assert z.sum() == result.scored
    assert "Champions" in heat["text"][4][4] and heat["y"][4] == "R 5"
    assert has_button(at, "Save as segment")


def test_analyst_views_but_cannot_save():
    at = page(RFM, role="analyst")
    assert not at.exception
    assert _heatmap(at)
    assert not has_button(at, "Save as segment")
    assert "saving a segment is for marketers and admins" in texts(at)


def test_saving_a_cell_creates_a_segment_with_its_members():
    at = page(RFM)
    today = suggested_as_of(db())
    result = rfm(db(), today)
    name = f"RFM R5 F5 Champions {today.isoformat()}"
    assert [t.value for t in at.text_input if t.label == "Segment name"] == [name]
    button(at, "Save as segment").click().run()
    assert not at.exception, at.exception
    row = _saved(name)
    assert row["customers"] == result.cell(5, 5)["customers"] and row["as_of"] == today
    assert segment_by_name(db(), name).description.startswith(f"From the RFM cell R=5 F=5 (Champions) as of {today}")
    assert any("saved" in t for t in toasts(at))
    assert any("Open it on the Segments page" in str(link.proto.label) for link in at.get("page_link"))


def test_saving_a_whole_group_and_a_picked_cell():
    at = page(RFM)
    today = suggested_as_of(db())
    result = rfm(db(), today)
    at.radio(key="rfm-save-mode").set_value("group").run()
    at.selectbox(key="rfm-save-group").set_value("lost").run()
    button(at, "Save as segment").click().run()
    assert not at.exception
    lost = result.groups.filter(result.groups["group_key"] == "lost")["customers"][0]
    assert _saved(f"RFM Lost {today.isoformat()}")["customers"] == lost
    at.radio(key="rfm-save-mode").set_value("cell").run()
    at.segmented_control(key="rfm-save-r").set_value(2).run()
    at.segmented_control(key="rfm-save-f").set_value(3).run()
    name = f"RFM R2 F3 At risk {today.isoformat()}"
    assert [t.value for t in at.text_input if t.label == "Segment name"] == [name]
    button(at, "Save as segment").click().run()
    assert _saved(name)["customers"] == result.cell(2, 3)["customers"]


def test_a_duplicate_name_is_refused_with_a_message():
    at = page(RFM)
    button(at, "Save as segment").click().run()
    before = db().scalar("SELECT count(*) FROM segments")
    button(at, "Save as segment").click().run()
    assert not at.exception
    assert any("already exists" in e for e in errors(at))
    assert db().scalar("SELECT count(*) FROM segments") == before


def test_empty_workspace_shows_an_empty_state(monkeypatch):
    monkeypatch.setenv("CRM_DEMO", "0")  # before the app opens the workspace for the first time
    at = page(RFM)
    assert not at.exception
    assert "nobody has an RFM score" in texts(at)
    assert not at.get("plotly_chart") and not has_button(at, "Save as segment")
