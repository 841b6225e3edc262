"""The pre-launch preview says exactly what the launch then does: the same messages, blanks and lengths."""
from __future__ import annotations

import pytest

from crm_core.campaigns.editing import get_campaign
from crm_core.campaigns.lifecycle import launch_campaign
from crm_core.campaigns.previewing import launch_preview
from tests.core.campaigns.shop import START, new_campaign, open_shop


@pytest.fixture
def shop(store):
    ids = open_shop(store)
    store.write(lambda cur: cur.execute("UPDATE customers SET city = NULL WHERE id % 5 = 1"))
    store.write(lambda cur: cur.execute("UPDATE customers SET name = '  ' WHERE id % 11 = 4"))
    return ids


def test_preview_matches_what_launch_renders(store, shop):
    cid = new_campaign(store, shop["everyone"], holdout_pct=20,
                       template='Hi {{ first_name | default("friend") }} from {{ city }}: {{ total_spend }}, '
                                'last order {{ last_order_date | default("never") }}.')
    preview = launch_preview(store, get_campaign(store, cid), START, sample=25)
    result = launch_campaign(store, cid, None, START)
    assert preview.plan.recipients == result.recipients and len(preview.messages) == 25
    sent = dict(store.rows("SELECT customer_id, body FROM messages WHERE campaign_id = ?", [cid]))
    subjects = dict(store.rows("SELECT customer_id, subject FROM messages WHERE campaign_id = ?", [cid]))
    for message in preview.messages:
        assert sent[message.customer_id] == message.body
        assert subjects[message.customer_id] == message.subject
    blanks = {b.key: b for b in preview.blanks}
    city_blank = store.scalar("""SELECT count(*) FROM messages m JOIN customers c ON c.id = m.customer_id
                                 WHERE m.campaign_id = ? AND (c.city IS NULL OR trim(c.city) = '')""", [cid])
    assert (blanks["city"].blank, blanks["city"].fallback) == (city_blank, None)
    assert blanks["first_name"].fallback == "friend" and blanks["first_name"].blank > 0
    assert blanks["total_spend"].recipients == result.recipients
    longest = store.scalar("SELECT max(length(body)) FROM messages WHERE campaign_id = ?", [cid])
    assert preview.lengths.longest == longest and preview.lengths.over_limit == 0


def test_sms_preview_counts_segments(store, shop):
    cid = new_campaign(store, shop["everyone"], channel="sms", subject=None,
                       template="Hi {{ first_name }}! " + "Big news from our shop, come and see. " * 5)
    preview = launch_preview(store, get_campaign(store, cid), START)
    assert preview.messages and all(m.sms is not None and m.subject is None for m in preview.messages)
    assert preview.lengths.max_segments >= max(m.sms.segments for m in preview.messages) >= 2
    assert preview.lengths.multi_segment == preview.plan.recipients  # > 160 characters for everyone
