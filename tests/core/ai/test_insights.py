"""Insights: the figures equal hand-computed (campaign) and independently computed (segment) values, the model
only writes prose (checked: three parts, no numbers of its own), every failure falls back to the offline rules,
and no customer data is ever sent."""
from __future__ import annotations

from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import pytest

from crm_core.ai.answer import OFFLINE
from crm_core.ai.config import AiConfig
from crm_core.ai.insights import campaign_insight, check_prose, segment_insight
from crm_core.ai.client import AiError
from crm_core.demo import load_demo
from crm_core.validation import ValidationError
from tests.core.campaigns.shop import EVERYONE, new_campaign
from tests.core.campaigns.test_campaign_analytics import fixed_shop
from tests.fake_openai import FAILURES

# The fixed campaign's figures, by hand (see MESSAGES and ORDERS in test_campaign_analytics): 6 targeted, 5 sent
# (customer 4 refused), 4 delivered (5 bounced), 3 opened, 2 clicked; converted within 7 days: customers 1 (order
# 101, 10.00), 2 (104, 20.50; 105/106 cancelled/returned) and 6 (109 + 110, 10.00) = 4 orders, 40.50; customer 3's
# order is simulated and left out. Lift: recipients 4 of 6 (customer 4 from the launch), holdout 1 of 3.
FIXED_FIGURES = [
    ("Channel", "E-mail"), ("Targeted", "6 messages"), ("Sent (accepted by the vendor)", "5 (83.3% of targeted)"),
    ("Delivered", "4 (80.0% of sent)"), ("Opened", "3 (75.0% of delivered)"), ("Clicked", "2 (50.0% of delivered)"),
    ("Failed", "2 (33.3% of targeted)"), ("Most common failure", "bounced (1 of 2 failures)"),
    ("Converted within 7 days", "3 (60.0% of sent)"), ("Attributed orders", "4"),
    ("Attributed revenue", "40.50 USD"),
    ("Lift over the holdout", "too small to tell (recipients 4 of 6, holdout 1 of 3)"),
]
PROSE = {"what_happened": "Of 6 messages, 5 were accepted and 4 delivered (80.0% of sent).",
         "stands_out": "Clicks were strong at 50% of delivered, and revenue reached 40.50 USD.",
         "try_next": "Clean the list of bounced addresses and keep a bigger holdout."}
BIG = {"match": "all", "negate": False, "rules": [{"field": "total_spend", "op": ">", "value": 500}]}


def _config(fake, timeout: float = 2.0) -> AiConfig:
    return AiConfig(api_key="sk-test-fake", key_source="environment", base_url=fake.base_url, model="fake-model",
                    timeout=timeout)


def test_campaign_figures_equal_the_hand_computed_ones_and_the_offline_prose_follows_the_rules(store):
    answer = campaign_insight(store, fixed_shop(store))
    assert answer.engine == OFFLINE and "No API key" in answer.note
    insight = answer.value
    assert insight.figures == FIXED_FIGURES
    assert insight.what_happened.startswith("6 e-mail messages were targeted; the vendor accepted 5 and 4 were "
                                            "delivered (80.0% of sent).")
    assert "4 orders worth 40.50 USD" in insight.what_happened
    assert "Delivery was low" in insight.stands_out and '"bounced"' in insight.stands_out  # 80% < 90%
    assert "Check the addresses" in insight.try_next and "bigger holdout" in insight.try_next  # too small to tell


def test_the_model_writes_only_the_prose_and_the_figures_stay_ours(store, fake_openai):
    cid = fixed_shop(store)
    fake_openai.reply({**PROSE, "figures": [["Revenue", "1,000,000.00"]]})
    answer = campaign_insight(store, cid, _config(fake_openai))
    assert answer.engine == "fake-model" and answer.note is None
    assert answer.value.figures == FIXED_FIGURES
    assert (answer.value.what_happened, answer.value.stands_out, answer.value.try_next) == tuple(PROSE.values())
    sent = fake_openai.requests[-1]["body"]
    assert sent["response_format"]["json_schema"]["name"] == "insight"
    assert "- Attributed revenue: 40.50 USD" in sent["messages"][1]["content"]


def test_prose_with_a_number_that_is_not_ours_is_refused_and_the_offline_engine_answers(store, fake_openai):
    cid = fixed_shop(store)
    fake_openai.reply({**PROSE, "stands_out": "Revenue grew 42.7% on last month."})
    answer = campaign_insight(store, cid, _config(fake_openai))
    assert answer.engine == OFFLINE and "did not pass our checks" in answer.note
    assert any("42.7" in p for p in answer.problems)
    assert answer.value.figures == FIXED_FIGURES and "Delivery was low" in answer.value.stands_out


def test_the_number_check_accepts_our_figures_roundings_and_small_counts():
    figures = "5 (83.3% of targeted)\n1,234.50 USD"
    ok = {"what_happened": "83% accepted, 83.3% exactly.", "stands_out": "Revenue 1,234.50 USD, about 1,235.",
          "try_next": "Try 2 or 3 variants."}
    assert check_prose(ok, figures)["stands_out"] == "Revenue 1,234.50 USD, about 1,235."
    for bad in ("84% accepted", "revenue 1,240", "13 variants", "0.5% more"):
        with pytest.raises(AiError) as caught:
            check_prose({**ok, "try_next": bad}, figures)
        assert caught.value.kind == "invalid"
    with pytest.raises(AiError) as caught:
        check_prose({"what_happened": "x", "stands_out": " "}, figures)
    assert "'stands_out' is missing or empty" in caught.value.details
    assert "'try_next' is missing or empty" in caught.value.details


@pytest.mark.parametrize("script, words", [
    (FAILURES["401"], "refused the API key"), (FAILURES["429"], "rate-limiting"),
    (FAILURES["500"], "HTTP 500"), (FAILURES["timeout"], "did not answer within 1 seconds"),
    (FAILURES["not json"], "not the JSON"), (lambda f: f.reply(["a", "list"]), "not the three parts"),
])
def test_every_failure_falls_back_to_the_offline_prose_with_a_note(store, fake_openai, script, words):
    cid = fixed_shop(store)
    script(fake_openai)
    answer = campaign_insight(store, cid, _config(fake_openai, timeout=1.0))
    assert answer.engine == OFFLINE and words in answer.note and answer.value.figures == FIXED_FIGURES


def test_a_campaign_not_launched_yet_cannot_be_summarised(store):
    cid = new_campaign(store, None, rules=EVERYONE)
    with pytest.raises(ValidationError) as caught:
        campaign_insight(store, cid)
    assert "once it has been launched" in caught.value.errors["campaign"]


def _by_hand(store, threshold: Decimal):
    """The segment 'total spend > threshold' from raw orders and customers, in Python."""
    spend, orders = Counter(), Counter()
    for customer, amount, status in store.rows("SELECT customer_id, amount, status FROM orders"):
        orders[customer] += 1
        if status not in ("cancelled", "returned"):
            spend[customer] += amount
    people = dict(store.rows("SELECT id, country FROM customers"))
    members = [c for c in people if spend[c] > threshold]
    return people, members, spend, orders


def test_segment_figures_equal_independently_computed_values(store):
    load_demo(store, 120, 1_500)
    people, members, spend, orders = _by_hand(store, Decimal(500))
    n = len(members)
    assert 0 < n < len(people)
    cent = Decimal("0.01")
    countries = Counter((people[c] or "").strip() or "not given" for c in members)
    top = sorted(countries.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    figures = dict(segment_insight(store, BIG).value.figures)
    assert figures["Customers in the segment"] == f"{n:,}"
    assert figures["Share of all customers"] == f"{n / len(people):.1%} of {len(people):,}"
    buyers = sum(1 for c in members if orders[c])
    assert figures["With at least one order"] == f"{buyers:,} ({buyers / n:.1%} of the segment)"
    average = (sum(spend[c] for c in members) / n).quantize(cent, ROUND_HALF_UP)
    overall = (sum(spend.values()) / len(people)).quantize(cent, ROUND_HALF_UP)
    currency = store.rows("SELECT currency FROM orders GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")[0][0]
    assert figures["Average spend"] == f"{average:,.2f} {currency}"
    assert figures["Average spend, all customers"] == f"{overall:,.2f} {currency}"
    mean_orders = (Decimal(sum(orders[c] for c in members)) / n).quantize(Decimal("0.1"), ROUND_HALF_UP)
    assert figures["Average orders"] == str(mean_orders)
    assert figures["Top countries"] == ", ".join(f"{c} {k:,} ({k / n:.1%})" for c, k in top)
    assert figures["Rule"] == "Customers where total spend is more than 500"


def test_an_empty_segment_and_a_bad_rule(store):
    load_demo(store, 30, 100)
    nobody = {"match": "all", "rules": [{"field": "total_spend", "op": ">", "value": 10**9}]}
    insight = segment_insight(store, nobody).value
    assert dict(insight.figures)["Customers in the segment"] == "0" and "No customer matches" in insight.what_happened
    with pytest.raises(ValidationError) as caught:
        segment_insight(store, {"match": "all", "rules": [{"field": "shoe_size", "op": ">", "value": 1}]})
    assert "rules" in caught.value.errors


def test_no_customer_name_email_or_phone_is_ever_sent(store, fake_openai):
    load_demo(store, 60, 400)
    cid = new_campaign(store, None, rules=EVERYONE)
    store.write(lambda cur: cur.execute("UPDATE campaigns SET status = 'completed', launched_at = TIMESTAMP "
                                        "'2026-11-02 09:00', recipients = 60, holdout = 0 WHERE id = ?", [cid]),
                data=False)
    fake_openai.reply(PROSE)
    campaign_insight(store, cid, _config(fake_openai))
    fake_openai.reply(PROSE)
    segment_insight(store, BIG, config=_config(fake_openai))
    fake_openai.fail(500)
    segment_insight(store, {"match": "any", "rules": [{"field": "country", "op": "is", "value": "Brazil"}]},
                    config=_config(fake_openai))
    bodies = fake_openai.bodies()
    assert len(bodies) == 3
    secrets = [v.strip() for row in store.rows("SELECT name, email, phone FROM customers") for v in row
               if v and len(v.strip()) > 4]
    assert len(secrets) > 100
    assert [s for s in secrets if any(s in body for body in bodies)] == []


def test_segment_figures_are_the_same_from_the_segment_facts_as_from_the_live_tables(store):
    from crm_core.ai.insights import segment_facts
    from crm_core.segments import facts
    from crm_core.segments.catalog import load_catalog
    load_demo(store, 400, 4000)
    rules = {"match": "all", "negate": False, "rules": [
        {"field": "spend_last_days", "op": ">", "value": 100, "days": 365},
        {"field": "bought_category", "op": "any_of", "value": ["Electronics"]}]}
    live = segment_facts(store, rules)
    facts.rebuild(store)
    assert load_catalog(store).facts is not None  # the second reading goes through the facts
    assert segment_facts(store, rules).figures() == live.figures() and live.size > 0
