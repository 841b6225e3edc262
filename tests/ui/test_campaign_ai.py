"""Campaign page, AI parts: Message ideas in the editor (offline engine: three cards, 'Use this' fills the
subject and message with one click, a missing goal is refused; a model's answer says which model and what was
dropped), 'Summarise this campaign' in Performance, and the segment page's Describe (AI) tab."""
from __future__ import annotations

from crm_core.ai.config import AiConfig
from crm_core.ai.insights import campaign_facts, segment_facts
from crm_core.ai.variants import message_variants
from crm_core.campaigns.editing import campaign_by_name
from crm_core.segments.preview import today
from tests.ui.conftest import texts
from tests.ui.helpers import button, db, errors, page
from tests.ui.test_campaign_performance import _campaign
from ui.text import literal

CAMPAIGNS = "pages/campaigns.py"


def _editor():
    at = page(CAMPAIGNS)
    button(at, "New campaign").click().run()
    assert not at.exception
    return at


def _use_buttons(at) -> list:
    return [b for b in at.button if b.label == "Use this"]


def test_suggest_then_use_this_fills_the_message_fields_in_one_click():
    at = _editor()
    at.text_input(key="cmp-ideas-goal").input("Win back lapsed buyers").run()
    at.selectbox(key="cmp-ideas-tone").set_value("playful").run()
    button(at, "Suggest 3 messages").click().run()
    assert not at.exception
    expected = message_variants(db(), "Win back lapsed buyers", "playful", "email", AiConfig(mode="offline")).value
    assert len(_use_buttons(at)) == 3
    shown = texts(at)
    assert "offline engine" in shown and "No API key is set" in shown
    assert [str(t.value) for t in at.text if str(t.value).startswith("Subject: ")] == [
        f"Subject: {v.subject}" for v in expected]
    assert any(e.label == "See exactly what would be sent to a model" for e in at.expander)

    _use_buttons(at)[1].click().run()  # one click
    assert not at.exception
    assert at.text_area(key="cmp-f-template").value == expected[1].body
    assert at.text_input(key="cmp-f-subject").value == expected[1].subject
    assert "Suggestion 2 is in the message fields above" in texts(at)

    at.text_input(key="cmp-f-name").input("From an idea").run()
    at.radio(key="cmp-f-source").set_value("rule").run()
    button(at, "Save draft").click().run()
    assert not at.exception and not errors(at)
    saved = campaign_by_name(db(), "From an idea")
    assert (saved.subject, saved.template) == (expected[1].subject, expected[1].body)


def test_a_missing_goal_is_refused_with_a_message_and_nothing_changes():
    at = _editor()
    before = at.text_area(key="cmp-f-template").value
    button(at, "Suggest 3 messages").click().run()
    assert not at.exception
    assert any("Say what the message is for" in e for e in errors(at))
    assert not _use_buttons(at) and at.text_area(key="cmp-f-template").value == before


def test_the_campaign_summary_shows_our_figures_and_the_engine():
    cid = _campaign(name="Summarised")
    at = page(CAMPAIGNS, campaign=str(cid))
    assert not at.exception
    button(at, "Summarise this campaign").click().run()
    assert not at.exception
    figures = campaign_facts(db(), cid).figures()
    table = at.table[0].value
    assert [literal(f) for f in table["Figure"]] == [label for label, _ in figures]
    assert [literal(v) for v in table["Value"]] == [value for _, value in figures]
    shown = texts(at)
    for label in ("What happened.", "What stands out.", "What to try next."):
        assert f"**{label}**" in shown
    assert "offline engine" in shown and "No API key is set" in shown


def test_a_models_suggestions_say_which_model_wrote_them_and_what_was_dropped(fake_openai):
    good = {"angle": "Short hello", "subject": "Hello {{ first_name | default(\"there\") }}", "body": "Come back soon!"}
    bad = {"angle": "Made up", "subject": "Hi", "body": "Hi {{ shoe_size }}"}
    fake_openai.reply({"variants": [good, bad]})
    at = _editor()
    at.text_input(key="cmp-ideas-goal").input("Win back lapsed buyers").run()
    button(at, "Suggest 3 messages").click().run()
    assert not at.exception
    shown = texts(at)
    assert "Written by the model **gpt\\-4o\\-mini**" in shown
    assert "1 of the model's messages did not pass our checks" in shown
    assert len(_use_buttons(at)) == 1
    assert any(e.label == "What did not pass our checks" for e in at.expander)
    assert any(e.label == "See exactly what was sent" for e in at.expander)
    assert "Win back lapsed buyers" in fake_openai.requests[-1]["raw"]
    _use_buttons(at)[0].click().run()
    assert at.text_area(key="cmp-f-template").value == "Come back soon!"


def test_the_segment_pages_describe_tab_shows_aggregate_figures_and_the_engine():
    at = page("pages/segments.py", segment="new")  # the starter rule: total spend > 1,000, as of today
    button(at, "Describe this segment").click().run()
    assert not at.exception
    rules = {"match": "all", "negate": False, "rules": [{"field": "total_spend", "op": ">", "value": 1000}]}
    figures = segment_facts(db(), rules, today()).figures()
    assert [literal(v) for v in at.table[0].value["Value"]] == [value for _, value in figures]
    shown = texts(at)
    assert "**Who is in it.**" in shown and "**What stands out.**" in shown and "offline engine" in shown
