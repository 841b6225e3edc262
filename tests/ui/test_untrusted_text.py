"""Customer-supplied text shows as text on every page: no markdown, HTML, link, image, colour or icon gets through.

A workspace holds a customer, an order, a segment, campaigns and an import whose names and texts are markup.
Each page is opened through app.py; every element Streamlit renders as markdown (titles, captions, alerts,
metric labels and values, expander and tab labels, button labels, radio options, toasts) must hold none of
that markup in renderable form, and the pages that show the names must show them (escaped) where they belong.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from crm_core.campaigns.delivery import DeliveryWorker
from crm_core.campaigns.editing import CampaignInput, create_campaign
from crm_core.campaigns.lifecycle import launch_campaign
from crm_core.customer_records import CustomerInput, create_customer
from crm_core.ingest import runner
from crm_core.ingest.mapping import suggest_mapping
from crm_core.ingest.options import ImportOptions
from crm_core.ingest.sniff import sniff_file
from crm_core.order_records import OrderInput, create_order
from crm_core.segments.saved import save_segment
from crm_core.validation import utc_now
from tests.ui.conftest import open_page
from tests.ui.helpers import db, signed_in
from ui.text import literal

NAME = "<script>alert(1)</script> **bold** [click](javascript:alert(1))"
CITY = "<img src=x onerror=alert(1)>"
COUNTRY = ":red[Land] $x$"
EMAIL = "evil_one_x@example.com"
ORDER_NO = "![x](http://evil/x.png)"
PRODUCT = ":material/home: `code` ~~gone~~"
SEGMENT = "<b>Bold</b> # heading :blue[seg]"
DESCRIPTION = "- list\n[desc](javascript:alert(2))"
CAMPAIGN = "**Launch** <i>now</i> :material/send:"
SUBJECT = "[subject](javascript:alert(3))"
TEMPLATE = "Hi {{ first_name }} **there** <b>x</b> [go](javascript:alert(4))"
FILE_NAME = "<b>people</b> [f](javascript:alert(5)).csv"

# What must never reach a markdown element unescaped (each would render as markup).
RAW = ("<script>", "<img src=x", "<b>", "<i>", "**bold**", "**there**", "**Launch**", "[click](", "![x](", "[desc](",
       "[f](", ":red[", ":blue[", "$x$", ":material/home:", ":material/send:", "`code`", "~~gone~~", "_one_")


@pytest.fixture(autouse=True)
def no_demo(monkeypatch):
    monkeypatch.setenv("CRM_DEMO", "0")


@pytest.fixture
def nasty(tmp_path: Path) -> dict:
    """The workspace with the markup-named records; returns their ids."""
    store = db()
    cid = create_customer(store, CustomerInput(name=NAME, email=EMAIL, city=CITY, country=COUNTRY))
    plain = create_customer(store, CustomerInput(name="Plain Person", email="plain@example.com", city="Oslo"))
    when = utc_now() - timedelta(days=2)
    oid = create_order(store, OrderInput(customer_id=cid, ordered_at=when, amount="900.00", external_id=ORDER_NO,
                                         items=({"name": PRODUCT, "category": PRODUCT, "quantity": 1,
                                                 "unit_price": "900.00"},)))
    create_order(store, OrderInput(customer_id=plain, ordered_at=when, amount="10.00"))
    rules = {"match": "all", "rules": [{"field": "city", "op": "is", "value": CITY}]}
    sid = save_segment(store, SEGMENT, rules, DESCRIPTION, user="ada")
    common = dict(segment_id=sid, channel="email", subject=SUBJECT, template=TEMPLATE, throttle_per_second=0,
                  vendor={"latency_min_seconds": 0, "latency_max_seconds": 1})
    draft = create_campaign(store, CampaignInput(name=CAMPAIGN + " draft", **common), user="ada")
    launched = create_campaign(store, CampaignInput(name=CAMPAIGN, **common), user="ada")
    launch_campaign(store, launched, "ada")
    clock = utc_now()
    worker = DeliveryWorker(store, lambda: clock)
    for _ in range(10):
        worker.tick()
        clock += timedelta(seconds=1)
    csv = tmp_path / "upload.csv"
    csv.write_text("Full Name,Email Address\nIvy Import,ivy@example.com\n")
    work = tmp_path / "work"
    work.mkdir()
    source = sniff_file(csv, FILE_NAME, work)
    runner.commit(store, "customers", source, suggest_mapping("customers", source.headers), ImportOptions(),
                  user="ada")
    return {"customer": cid, "order": oid, "segment": sid, "draft": draft, "launched": launched}


def _markdown_texts(at) -> list[str]:
    """Every string on the page that Streamlit renders as markdown."""
    out: list[str] = []
    for group in (at.title, at.header, at.subheader, at.markdown, at.caption, at.info, at.error, at.success,
                  at.warning, at.toast, at.expander, at.tabs, at.button):
        for element in group:
            value = getattr(element, "label", None) if group in (at.expander, at.tabs, at.button) else element.value
            out.append(str(value or ""))
    for metric in at.metric:
        out += [str(metric.label), str(metric.value)]
    for radio in at.radio:
        out += [str(option) for option in radio.options]
    return out


def _assert_no_raw_markup(at) -> list[str]:
    assert not at.exception, at.exception
    shown = _markdown_texts(at)
    for text in shown:
        for raw in RAW:
            assert raw not in text, f"{raw!r} renders as markup in {text!r}"
    return [literal(t) for t in shown]


def _open(path: str, **query) -> object:
    return open_page(signed_in("admin"), path, **query)


def test_customer_list_and_profile(nasty):
    at = _open("pages/customers.py")
    _assert_no_raw_markup(at)
    names = at.dataframe[0].value["name"].to_list()
    assert NAME in names  # tables show cells as text, unescaped
    at = _open("pages/customers.py", customer=str(nasty["customer"]))
    shown = _assert_no_raw_markup(at)
    assert literal(at.title[0].value) == NAME
    assert any(EMAIL in t and CITY in t and COUNTRY in t for t in shown), shown


def test_orders_list_and_order(nasty):
    _assert_no_raw_markup(_open("pages/orders.py"))
    at = _open("pages/orders.py", order=str(nasty["order"]))
    shown = _assert_no_raw_markup(at)
    assert literal(at.title[0].value) == f"Order {ORDER_NO}"
    assert any(t == f"Customer: {NAME}" for t in (literal(p.proto.label) for p in at.get("page_link")))
    assert "Plain Person" not in shown


def test_segment_list_and_workbench(nasty):
    at = _open("pages/segments.py")
    _assert_no_raw_markup(at)
    assert SEGMENT in at.dataframe[0].value["name"].to_list()
    at = _open("pages/segments.py", segment=str(nasty["segment"]))
    shown = _assert_no_raw_markup(at)
    assert literal(at.title[0].value) == SEGMENT
    assert any("In words:" in t and CITY in t for t in shown), shown


def test_campaign_list_editor_preview_and_log(nasty):
    _assert_no_raw_markup(_open("pages/campaigns.py"))
    at = _open("pages/campaigns.py", campaign=str(nasty["draft"]))
    _assert_no_raw_markup(at)
    assert literal(at.title[0].value) == CAMPAIGN + " draft"
    bodies = [str(t.value) for t in at.text]
    assert any("**there** <b>x</b>" in body for body in bodies), bodies  # the preview shows the message as text
    at = _open("pages/campaigns.py", campaign=str(nasty["launched"]))
    _assert_no_raw_markup(at)
    assert literal(at.title[0].value) == CAMPAIGN


@pytest.mark.parametrize("path", ["pages/overview.py", "pages/rfm.py", "pages/exports.py", "pages/import.py"])
def test_overview_rfm_exports_and_import_pages(nasty, path):
    _assert_no_raw_markup(_open(path))


def test_overview_top_customers_lists_the_name_as_text(nasty):
    at = _open("pages/overview.py")
    tables = [d.value for d in at.dataframe if "name" in d.value.columns]
    assert any(NAME in t["name"].to_list() for t in tables)


def test_import_history_shows_the_file_name_escaped(nasty):
    at = _open("pages/import.py")
    at.session_state["imp-history"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    shown = _assert_no_raw_markup(at)
    assert f"Import #1: {FILE_NAME}" in shown, shown
