"""Message ideas against the local fake OpenAI server: the model's variants checked like a template (unknown
variables and messages too long once filled in are dropped and reported), every failure ends in the offline
engine with a note, the offline templates fit every goal kind x tone x channel, and no customer data is sent."""
from __future__ import annotations

import pytest

from crm_core.ai.answer import OFFLINE
from crm_core.ai.config import AiConfig
from crm_core.ai.message_templates import GOAL_KINDS, TONES, goal_kind
from crm_core.ai.variants import GOAL_LIMIT, check_variant, message_variants, worst_case_text
from crm_core.campaigns.model import CHANNELS
from crm_core.campaigns.templates import parse_template, render, sms_length, template_variables
from crm_core.demo import load_demo
from crm_core.segments.catalog import load_catalog
from crm_core.validation import ValidationError
from tests.fake_openai import FAILURES

GOALS = {"win_back": "Win back lapsed buyers", "welcome": "Welcome new customers after their first order",
         "launch": "Announce the launch of our new autumn collection", "thanks": "Thank our loyal VIP customers",
         "sale": "Promote the weekend sale: 20% off shoes", "generic": "Say hello before the holidays"}
GOOD = {"angle": "Miss you", "subject": 'We miss you, {{ first_name | default("there") }}',
        "body": 'Hi {{ first_name | default("there") }}, it has been {{ days_since_last_order }} days. Come back!'}


def _config(fake, timeout: float = 2.0) -> AiConfig:
    return AiConfig(api_key="sk-test-fake", key_source="environment", base_url=fake.base_url, model="fake-model",
                    timeout=timeout)


def _variables(store):
    return template_variables(load_catalog(store))


def test_the_models_variants_come_back_checked_and_measured(store, fake_openai):
    second = {**GOOD, "angle": "Straight offer", "subject": "Your next order", "body": "Hello {{ name | title }}!"}
    third = {**GOOD, "angle": "Short", "subject": "Hi", "body": "Come and see what is new."}
    fake_openai.reply({"variants": [GOOD, second, third]})
    answer = message_variants(store, "  win back lapsed buyers ", "friendly", "email", _config(fake_openai))
    assert answer.engine == "fake-model" and answer.by_model and answer.note is None and answer.problems == []
    assert [v.angle for v in answer.value] == ["Miss you", "Straight offer", "Short"]
    first = answer.value[0]
    assert first.subject == GOOD["subject"] and first.body == GOOD["body"]
    # worst case: first_name's fallback is shorter than a 40-character name; the integer counts 9
    assert first.written == len(GOOD["body"])
    assert first.length == len(GOOD["body"]) - len('{{ first_name | default("there") }}') - len(
        "{{ days_since_last_order }}") + 40 + 9
    assert first.within_limit and first.limit == 100_000 and first.segments is None
    body = fake_openai.requests[-1]["body"]
    assert body["response_format"]["json_schema"]["name"] == "message_variants"
    prompt = body["messages"][0]["content"] + body["messages"][1]["content"]
    assert "Goal: win back lapsed buyers" in prompt and "- first_name (text): First name" in prompt
    assert answer.prompt and "Goal: win back lapsed buyers" in answer.prompt


def test_a_variant_with_an_unknown_variable_or_too_long_for_sms_is_dropped_and_reported(store, fake_openai):
    unknown = {"angle": "Colour", "subject": None, "body": "Hi {{ favourite_colour }}, new colours are in!"}
    too_long = {"angle": "Essay", "subject": None, "body": "A" * 1_700}
    fake_openai.reply({"variants": [unknown, {**GOOD, "subject": "ignored for SMS"}, too_long]})
    answer = message_variants(store, "win back lapsed buyers", "urgent", "sms", _config(fake_openai))
    assert answer.engine == "fake-model"
    assert [v.angle for v in answer.value] == ["Miss you"]
    assert answer.value[0].subject is None  # SMS has no subject
    assert answer.value[0].segments == 1
    assert "2 of the model's messages did not pass our checks" in answer.note
    assert len(answer.problems) == 2
    assert "Variant 1 (Colour)" in answer.problems[0] and "favourite_colour" in answer.problems[0]
    assert "Variant 3 (Essay)" in answer.problems[1] and "1,700 characters long as written" in answer.problems[1]
    assert "SMS allows 1,600" in answer.problems[1]


def test_a_message_that_fits_as_written_but_not_once_filled_in_is_refused(store):
    body = "A" * 1_580 + "{{ city }}"  # 1,590 as written; a 40-character city makes it 1,620
    variant, problems = check_variant("x", None, body, "sms", _variables(store))
    assert variant is None and "1,620 characters long once filled in" in problems[0]
    cut = "A" * 1_570 + "{{ city | truncate(20) }}"  # 1,595 as written; truncate bounds it: 1,590 at most
    variant, problems = check_variant("x", None, cut, "sms", _variables(store))
    assert problems == [] and (variant.written, variant.length) == (1_595, 1_590) and variant.within_limit
    variant, problems = check_variant("x", None, "A" * 1_601, "sms", _variables(store))
    assert variant is None and problems == ["the message is 1,601 characters long as written; SMS allows 1,600"]
    dated = parse_template('{{ signup_date | date("%A %d %B %Y") }}', _variables(store))
    assert worst_case_text(dated) == "X" * len("Wednesday 30 September 2026")


def test_all_variants_invalid_means_the_offline_engine_answers_with_the_reasons(store, fake_openai):
    fake_openai.reply({"variants": [{"angle": "Bad", "subject": "S", "body": "{{ 7*7 }}"},
                                    {"angle": "Worse", "subject": "", "body": "Hi {{ nickname }}"}]})
    answer = message_variants(store, "summer sale", "playful", "email", _config(fake_openai))
    assert answer.engine == OFFLINE and len(answer.value) == 3
    assert "did not pass our checks" in answer.note and "offline engine answered instead" in answer.note
    assert any("nickname" in p for p in answer.problems) and any("needs a subject" in p for p in answer.problems)
    assert any("Variant 1 (Bad)" in p for p in answer.problems)


@pytest.mark.parametrize("script, words", [
    (FAILURES["401"], "refused the API key"),
    (FAILURES["429"], "rate-limiting"),
    (FAILURES["500"], "HTTP 500"),
    (FAILURES["timeout"], "did not answer within 1 seconds"),
    (FAILURES["not json"], "not the JSON"),
    (lambda f: f.reply({"ideas": ["not", "our", "shape"]}), "held no message variants"),
])
def test_every_failure_falls_back_to_the_offline_engine_with_a_note(store, fake_openai, script, words):
    script(fake_openai)
    answer = message_variants(store, "thank loyal customers", "warm", "whatsapp", _config(fake_openai, timeout=1.0))
    assert answer.engine == OFFLINE and words in answer.note
    assert [v.angle for v in answer.value] == [a.name for a in GOAL_KINDS["thanks"].angles]


def test_without_a_key_the_offline_engine_answers_and_says_why(store):
    answer = message_variants(store, "welcome new customers", "friendly", "email")
    assert answer.engine == OFFLINE and "No API key" in answer.note and len(answer.value) == 3
    assert "Goal: welcome new customers" in answer.prompt  # what would have been sent can still be seen


@pytest.mark.parametrize("kind", list(GOALS))
@pytest.mark.parametrize("tone", list(TONES))
@pytest.mark.parametrize("channel", list(CHANNELS))
def test_offline_variants_are_valid_for_every_goal_tone_and_channel(store, kind, tone, channel):
    variables = _variables(store)
    answer = message_variants(store, GOALS[kind], tone, channel, AiConfig(mode="offline"))
    assert answer.engine == OFFLINE and "offline engine is chosen" in answer.note
    assert len(answer.value) == 3 and len({v.body for v in answer.value}) == 3
    for v in answer.value:
        assert v.within_limit and v.length <= CHANNELS[channel].body_limit
        body = parse_template(v.body, variables)
        assert (v.subject is not None) == CHANNELS[channel].has_subject
        if v.subject:
            parse_template(v.subject, variables)
        if channel == "sms":  # written for one segment even with a 40-character first name
            assert v.segments == 1 and sms_length(worst_case_text(body)).segments == 1
        filled = render(body, {key: None for key in body.variables})  # a customer with no values at all
        assert "{{" not in filled and filled.strip()
    again = message_variants(store, GOALS[kind], tone, channel, AiConfig(mode="offline"))
    assert again.value == answer.value  # deterministic


@pytest.mark.parametrize("goal, kind", [
    ("Win back lapsed buyers", "win_back"), ("re-engage inactive customers", "win_back"),
    ("customers who haven't ordered in 90 days", "win_back"), ("Welcome new customers", "welcome"),
    ("a welcome offer for new sign ups", "welcome"), ("Launch our new product line", "launch"),
    ("introducing the winter collection", "launch"), ("thank our best customers", "thanks"),
    ("VIP loyalty reward", "thanks"), ("Black Friday deals", "sale"), ("15% off everything", "sale"),
    ("tell people about our newsletter", "generic"), ("", "generic"),
])
def test_goal_kinds_are_recognised_by_their_keywords(goal, kind):
    assert goal_kind(goal).key == kind


def test_offline_win_back_fills_in_the_last_order_date_or_its_fallback(store):
    email = message_variants(store, "win back lapsed buyers", "friendly", "email").value[0]
    body = parse_template(email.body, _variables(store))
    from datetime import date
    assert "was 7 March 2026, and" in render(body, {"first_name": "Ana", "last_order_date": date(2026, 3, 7)})
    assert "Hi there,\n\nYour last order with us was a while ago," in render(
        body, {"first_name": None, "last_order_date": None})


@pytest.mark.parametrize("goal, tone, channel, field", [
    ("", "friendly", "email", "goal"), ("   \n ", "friendly", "email", "goal"),
    ("x" * (GOAL_LIMIT + 1), "friendly", "email", "goal"), ("win back", "grumpy", "email", "tone"),
    ("win back", "friendly", "fax", "channel"), (None, "friendly", "email", "goal"),
])
def test_a_bad_goal_tone_or_channel_is_refused_with_a_message(store, goal, tone, channel, field):
    with pytest.raises(ValidationError) as caught:
        message_variants(store, goal, tone, channel)
    assert set(caught.value.errors) == {field}


def test_a_goal_of_exactly_the_limit_is_accepted(store):
    assert len(message_variants(store, "w" * GOAL_LIMIT, "friendly", "sms").value) == 3


def test_no_customer_name_email_or_phone_is_ever_sent(store, fake_openai):
    load_demo(store, 60, 300)
    people = store.rows("SELECT name, email, phone FROM customers")
    fake_openai.reply({"variants": [GOOD]})
    message_variants(store, "win back lapsed buyers", "friendly", "email", _config(fake_openai))
    fake_openai.fail(500)
    message_variants(store, "welcome", "warm", "sms", _config(fake_openai))
    bodies = fake_openai.bodies()
    assert len(bodies) == 2
    secrets = [v.strip() for row in people for v in row if v and len(v.strip()) > 4]
    assert len(secrets) > 100
    leaked = [s for s in secrets if any(s in body for body in bodies)]
    assert leaked == []
