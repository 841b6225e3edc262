"""Campaigns page: the history and its empty state, the editor (errors next to their field), the pre-launch
checks against the core, launch and delivery by hand-driven worker ticks, pause/resume/cancel, schedule,
the communication log, analysts read-only, the customer profile's messages, and no delivery thread here."""
from __future__ import annotations

import re
import threading
from datetime import timedelta

from crm_core import config
from crm_core.campaigns.delivery import DeliveryWorker
from crm_core.campaigns.editing import CampaignInput, campaign_by_name, create_campaign, get_campaign
from crm_core.campaigns.lifecycle import launch_campaign
from crm_core.campaigns.previewing import launch_preview
from crm_core.campaigns.reporting import delivery_counts
from crm_core.segments.saved import segment_by_name
from crm_core.validation import utc_now
from tests.ui.conftest import open_page, texts
from tests.ui.helpers import button, db, errors, has_button, metric, page, table, toasts

CAMPAIGNS = "pages/campaigns.py"
SEGMENT = "Electronics fans in the US or Brazil"  # a demo segment with a few dozen members at the test size
TEMPLATE = 'Hi {{ first_name | default("there") }}, greetings to {{ city | default("your town") }}!'


def _unescaped(text: str) -> str:
    """Markdown-escaped text as the browser shows it."""
    return re.sub(r"\\(.)", r"\1", text)


def _errors(at) -> list[str]:
    return [_unescaped(e) for e in errors(at)]


def _new(at=None, name: str = "Autumn hello", template: str = TEMPLATE, segment: str | None = SEGMENT):
    """The editor of a new campaign, filled in (not saved)."""
    at = at or page(CAMPAIGNS)
    button(at, "New campaign").click().run()
    assert not at.exception
    at.text_input(key="cmp-f-name").input(name).run()
    if segment:
        at.selectbox(key="cmp-f-segment").set_value(segment_by_name(db(), segment).id).run()
    at.text_area(key="cmp-f-template").input(template).run()
    return at


def _draft(**changes) -> int:
    """A draft made through the core (faster than the form where the form is not under test)."""
    values = dict(name="Core draft", segment_id=segment_by_name(db(), SEGMENT).id, channel="email",
                  subject="Hello {{ first_name }}", template=TEMPLATE, throttle_per_second=0,
                  vendor={"latency_min_seconds": 0, "latency_max_seconds": 2})
    values.update(changes)
    return create_campaign(db(), CampaignInput(**values), user="mia")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = utc_now()

    def __call__(self):
        return self.now


def _deliver(ticks: int = 40) -> None:
    clock = Clock()
    worker = DeliveryWorker(db(), clock)
    for _ in range(ticks):
        worker.tick()
        clock.now += timedelta(seconds=1)


def _launched(**changes) -> int:
    cid = _draft(**changes)
    launch_campaign(db(), cid, "mia")
    return cid


def _downloads(at) -> list[str]:
    return [d.label for d in at.get("download_button")]


def _number(at, label: str) -> int:
    return int(metric(at, label).value.replace(",", "").split()[0])


def test_empty_list_tells_the_marketer_what_to_do():
    at = page(CAMPAIGNS)
    assert not at.exception
    assert any("No campaigns yet" in str(i.value) and "New campaign" in str(i.value) for i in at.info)
    assert has_button(at, "New campaign")


def _delivery_threads() -> set[int]:
    return {t.ident for t in threading.enumerate() if t.name == "campaign-delivery"}


def test_the_delivery_worker_does_not_run_in_page_tests():
    assert not config.delivery_worker_enabled()
    before = _delivery_threads()
    page(CAMPAIGNS)
    assert _delivery_threads() <= before


def test_a_bad_template_is_shown_next_to_the_message_and_nothing_is_saved():
    at = _new(template="Hi {{ frist_name }}!")
    at.text_input(key="cmp-f-name").input("").run()
    button(at, "Save draft").click().run()
    assert not at.exception
    shown = _errors(at)
    assert any("unknown variable 'frist_name'" in e and "did you mean first_name" in e for e in shown), shown
    assert any("Give the campaign a name" in e for e in shown)
    assert db().scalar("SELECT count(*) FROM campaigns") == 0
    at.text_area(key="cmp-f-template").input("Hi {{ first_name }}!").run()  # fixing it hides that message
    assert not any("frist_name" in e for e in _errors(at))
    assert any("Give the campaign a name" in e for e in _errors(at))


def test_saving_a_draft_opens_it_with_the_pre_launch_checks():
    db().write(lambda cur: cur.execute("UPDATE customers SET city = NULL WHERE id % 4 = 0"))
    at = _new()
    button(at, "Save draft").click().run()
    assert not at.exception, at.exception
    campaign = campaign_by_name(db(), "Autumn hello")
    assert at.query_params["campaign"] == str(campaign.id)
    assert "Draft 'Autumn hello' saved" in toasts(at)
    preview = launch_preview(db(), campaign)
    assert preview.plan.recipients > 2
    assert _number(at, "Recipients") == preview.plan.recipients
    funnel = table(at, "cmp-funnel", "step", "customers", "share")
    assert list(funnel["customers"]) == [n for _, n in preview.plan.rows()]
    shown = [str(t.value) for t in at.text]
    first = preview.messages[0]
    assert f"To: {first.name} <{first.address}>" in shown and first.body in shown
    assert f"Subject: {first.subject}" in shown
    button(at, "Next").click().run()
    assert preview.messages[1].body in [str(t.value) for t in at.text]
    city = next(b for b in preview.blanks if b.key == "city")
    assert city.blank > 0
    assert f"{city.blank:,} of {city.recipients:,} recipients have no city: they get “your town”." in \
        _unescaped(texts(at))
    assert _number(at, "Longest message") == preview.lengths.longest


def test_every_box_has_its_value_as_its_default():
    """The browser draws a widget afresh from its default (after a rerun cut short, or in an expander opened later):
    that default must be the campaign's value, not an empty box or a minimum, or the message empties itself and
    the vendor rates silently become 0."""
    at = _new()
    at.number_input(key="cmp-f-seed").set_value(99).run()
    at.number_input(key="cmp-f-v-send_success_rate").set_value(80.0).run()
    boxes = [n for n in at.number_input if (n.key or "").startswith("cmp-f-")]
    assert len(boxes) >= 12
    shown = {n.key: n.value for n in boxes}
    assert shown["cmp-f-seed"] == 99 and shown["cmp-f-v-send_success_rate"] == 80.0
    assert shown["cmp-f-v-delivery_rate"] > 0  # a default the vendor simulator starts from
    for box in boxes:
        if box.value is not None:
            assert box.proto.HasField("default") and box.proto.default == box.value, box.label
    texts = [at.text_input(key="cmp-f-name"), at.text_input(key="cmp-f-subject"), at.text_area(key="cmp-f-template")]
    assert [t.value for t in texts] == ["Autumn hello", at.text_input(key="cmp-f-subject").value, TEMPLATE]
    for box in texts:
        assert box.value and box.proto.default == box.value, box.label


def test_launch_needs_the_confirmation_then_delivery_shows_in_the_counts():
    cid = _draft(name="Big hello")
    at = page(CAMPAIGNS, campaign=str(cid))
    assert button(at, "Launch now").disabled
    at.checkbox(key=f"cmp-{cid}-sure-draft").check().run()
    button(at, "Launch now").click().run()
    assert not at.exception
    campaign = get_campaign(db(), cid)
    assert campaign.status == "running"
    assert any("messages queued" in t for t in toasts(at))
    assert _number(at, "Queued") == campaign.recipients
    _deliver()
    at.run()
    assert not at.exception
    counts = delivery_counts(db(), cid)
    assert counts.queued == 0 and counts.sent > 0
    for label, value in (("Sent", counts.sent), ("Failed", counts.failed), ("Delivered", counts.delivered),
                         ("Opened", counts.opened), ("Clicked", counts.clicked)):
        assert _number(at, label) == value, label
    assert get_campaign(db(), cid).status == "completed"
    assert at.get("progress")[0].value == 100
    at = page(CAMPAIGNS)  # the history row
    row = at.dataframe(key="cmp-table").value.iloc[0]
    assert row["name"] == "Big hello" and row["status"] == "Completed" and row["sent"] == counts.sent
    assert abs(row["delivery_rate"] - counts.delivered / counts.sent) < 1e-3


def test_a_second_launch_is_refused_with_a_message(monkeypatch):
    cid = _draft()
    first, second = page(CAMPAIGNS, campaign=str(cid)), page(CAMPAIGNS, campaign=str(cid))
    for at in (first, second):
        at.checkbox(key=f"cmp-{cid}-sure-draft").check().run()
    stale = get_campaign(db(), cid)
    button(first, "Launch now").click().run()
    assert get_campaign(db(), cid).status == "running"
    # The second session read the campaign before the first one launched it (two clicks racing).
    with monkeypatch.context() as patched:
        patched.setattr("ui.campaign_page.get_campaign", lambda store, campaign_id: stale)
        button(second, "Launch now").click().run()
    assert not second.exception
    assert any("A running campaign cannot launch" in e for e in _errors(second))
    recipients = get_campaign(db(), cid).recipients
    assert db().scalar("SELECT count(*) FROM messages WHERE campaign_id = ?", [cid]) == recipients
    second.run()  # next run: the page shows the running campaign, no launch button
    assert not has_button(second, "Launch now") and has_button(second, "Pause")


def test_pause_resume_and_cancel():
    cid = _launched()
    at = page(CAMPAIGNS, campaign=str(cid))
    button(at, "Pause").click().run()
    assert not at.exception
    assert get_campaign(db(), cid).status == "paused"
    assert any("Campaign paused" in t for t in toasts(at))
    button(at, "Resume").click().run()
    assert get_campaign(db(), cid).status == "running"
    button(at, "Yes, cancel it").click().run()
    assert not at.exception
    assert get_campaign(db(), cid).status == "cancelled"
    assert any("Campaign cancelled" in t for t in toasts(at))
    assert db().scalar("SELECT count(*) FROM messages WHERE campaign_id = ? AND status = 'queued'", [cid]) == 0
    assert not has_button(at, "Pause") and not has_button(at, "Resume")


def test_schedule_in_the_past_is_refused_then_scheduled_and_moved_back():
    cid = _draft()
    at = page(CAMPAIGNS, campaign=str(cid))
    at.radio(key="cmp-f-when").set_value("later").run()
    now = utc_now()
    at.date_input(key="cmp-f-send_date").set_value(now.date()).run()
    at.time_input(key="cmp-f-send_time").set_value((now - timedelta(hours=1)).time()).run()
    at.checkbox(key=f"cmp-{cid}-sure-draft").check().run()
    schedule = [b for b in at.button if b.key == "cmp-schedule"][0]
    schedule.click().run()
    assert not at.exception
    assert any("in the past" in e for e in _errors(at))
    assert get_campaign(db(), cid).status == "draft"
    later = now + timedelta(days=2)
    at.date_input(key="cmp-f-send_date").set_value(later.date()).run()
    [b for b in at.button if b.key == "cmp-schedule"][0].click().run()
    campaign = get_campaign(db(), cid)
    assert campaign.status == "scheduled" and campaign.scheduled_at.date() == later.date()
    assert "Scheduled for" in texts(at)
    button(at, "Move back to draft").click().run()
    assert get_campaign(db(), cid).status == "draft"


def test_an_inline_rule_counts_live_and_is_saved_with_the_campaign():
    at = _new(name="Own rule", segment=None)
    at.radio(key="cmp-f-source").set_value("rule").run()
    assert not at.exception
    spenders = int(db().scalar("SELECT count(*) FROM customer_stats WHERE total_spend > 1000"))
    assert _number(at, "Audience") == spenders
    button(at, "Save draft").click().run()
    campaign = campaign_by_name(db(), "Own rule")
    assert campaign.segment_id is None and campaign.rules["rules"][0]["field"] == "total_spend"


def test_the_log_filters_and_opens_a_message_with_its_timeline():
    cid = _launched(vendor={"send_success_rate": 0.6, "latency_min_seconds": 0, "latency_max_seconds": 2})
    _deliver()
    at = page(CAMPAIGNS, campaign=str(cid))
    at.selectbox(key=f"cmp-log-status-{cid}").set_value("failed").run()
    assert not at.exception
    log = next(d for d in at.dataframe if (d.key or "").startswith(f"cmp-log-table-{cid}"))
    failed = db().scalar("SELECT count(*) FROM messages WHERE campaign_id = ? AND status = 'failed'", [cid])
    assert set(log.value["status"]) == {"failed"} and len(log.value) == failed
    at.session_state[log.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    timeline = table(at, "cmp-log-timeline", "event", "at", "detail")
    assert list(timeline["event"])[0] == "queued" and "failed" in list(timeline["event"])
    assert has_button(at, "Open the customer's profile")


def test_duplicate_from_the_history_opens_the_copy():
    cid = _launched()
    at = page(CAMPAIGNS)
    at.session_state["cmp-table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert "Download CSV" in _downloads(at)
    button(at, "Duplicate").click().run()
    assert not at.exception
    copy = campaign_by_name(db(), "Copy of Core draft")
    assert copy.status == "draft" and copy.template == get_campaign(db(), cid).template
    assert at.query_params["campaign"] == str(copy.id)


def test_analysts_see_everything_but_change_nothing():
    draft, launched = _draft(name="Waiting"), _launched(name="Gone out")
    at = page(CAMPAIGNS, role="analyst")
    assert not has_button(at, "New campaign")
    at.session_state["cmp-table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert "Download Parquet" in _downloads(at) and not has_button(at, "Duplicate")
    at = open_page(at, CAMPAIGNS, campaign=str(draft))
    assert not at.exception
    assert not has_button(at, "Save draft") and not has_button(at, "Launch now")
    assert _number(at, "Recipients") > 0
    assert any("Launching is for marketers" in str(c.value) for c in at.caption)
    at = open_page(at, CAMPAIGNS, campaign=str(launched))
    assert not has_button(at, "Pause") and not has_button(at, "Duplicate")
    assert "Download CSV" in _downloads(at)
    at = open_page(at, CAMPAIGNS, campaign="new")
    assert any("marketers and admins" in str(i.value) for i in at.info)


def test_an_unknown_campaign_says_so():
    for raw in ("99999", "abc"):
        at = page(CAMPAIGNS, campaign=raw)
        assert not at.exception
        assert any("There is no campaign" in e for e in _errors(at))


def test_the_customer_profile_lists_the_messages_received():
    cid = _launched(name="Profile hello")
    _deliver()
    customer, body = db().rows("SELECT customer_id, body FROM messages WHERE campaign_id = ? ORDER BY id LIMIT 1",
                               [cid])[0]
    at = page("pages/customers.py", customer=str(customer))
    assert not at.exception
    shown = table(at, "profile-messages", "campaign", "body")
    assert list(shown["campaign"]) == ["Profile hello"] and list(shown["body"]) == [body]
    other = db().scalar("SELECT min(id) FROM customers WHERE id NOT IN (SELECT customer_id FROM messages)")
    at = page("pages/customers.py", customer=str(other))
    assert "No campaign has sent this customer a message yet." in texts(at)
