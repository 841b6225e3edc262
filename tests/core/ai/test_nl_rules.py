"""Plain English to rules against the local fake OpenAI server: valid rules come back canonical, anything that
fails our checks is refused with its problems and the offline parser answers; failures fall back; privacy."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import pytest

from crm_core import workspace
from crm_core.ai import nl_rules
from crm_core.ai.answer import OFFLINE
from crm_core.ai.config import save_settings
from crm_core.ai.nl_rules import REFUSED, rules_from_text
from crm_core.segments.workbench import analyse
from crm_core.validation import ValidationError
from tests.fake_openai import FAILURES

AS_OF = date(2026, 11, 20)
SENTENCE = "customers in São Paulo who spent more than R$500 in the last 3 months but haven't ordered in 30 days"
OFFLINE_RULE = {"match": "all", "negate": False, "rules": [{"field": "total_spend", "op": ">", "value": 500}]}
MODEL_RULE = {"match": "all", "rules": [
    {"field": "city", "op": "is", "value": "sao paulo"},
    {"field": "spend_last_days", "days": 90, "op": ">", "value": "500.00"},
    {"field": "last_order_date", "op": "more_than_days_ago", "value": 30}]}
CANONICAL = {"match": "all", "negate": False, "rules": [
    {"field": "city", "op": "is", "value": "São Paulo"},
    {"field": "spend_last_days", "days": 90, "op": ">", "value": 500},
    {"field": "last_order_date", "op": "more_than_days_ago", "value": 30}]}


@dataclass
class FakeParse:
    rules: dict | None
    reason: str | None = None


class FakePlaces:
    """Stands in for the offline engine's place index: lower-case name -> [(field, stored value)]."""

    def __init__(self, names: dict[str, list[tuple[str, str]]]):
        self.names = names

    def lookup(self, name: str) -> list[tuple[str, str]]:
        return self.names.get(name.strip().lower(), [])


@pytest.fixture
def offline(monkeypatch):
    """The offline parser replaced by a fake that reads every sentence as OFFLINE_RULE (calls recorded)."""
    calls: list[str] = []

    def parse(text, catalog, places, today=None):
        calls.append(text)
        return FakeParse(OFFLINE_RULE)

    monkeypatch.setattr(nl_rules, "parse_sentence", parse)
    monkeypatch.setattr(nl_rules, "known_places", lambda store: FakePlaces(
        {"sao paulo": [("city", "São Paulo"), ("state", "SP")], "são paulo": [("city", "São Paulo")]}))
    return calls


@pytest.fixture
def fast(store):
    """A short timeout, so the timeout case takes a second."""
    save_settings(store, "auto", "", "fake-model", 1)
    return store


def test_a_valid_model_rule_comes_back_canonical_and_the_request_carries_schema_and_sentence(fast, fake_openai, offline):
    fake_openai.reply({"rules": MODEL_RULE, "notes": "São Paulo the city; 3 months as 90 days."})
    answer = rules_from_text(fast, f"  {SENTENCE}  ", as_of=AS_OF)
    assert answer.value == CANONICAL  # place respelled as stored, "500.00" -> 500, negate filled in
    assert answer.engine == "fake-model" and answer.by_model and not answer.problems
    assert answer.note == "The model's reading: São Paulo the city; 3 months as 90 days."
    assert offline == []  # the offline parser was not needed
    body = fake_openai.requests[-1]["body"]
    system, user = body["messages"][0]["content"], body["messages"][1]["content"]
    assert user == f"Audience: {SENTENCE}"
    assert "Today is 2026-11-20" in system and "Never write SQL" in system and "(USD)" in system
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["rules", "notes"] and schema["properties"]["rules"] == {"$ref": "#/$defs/group"}
    fields = {v["properties"]["field"]["const"] for v in schema["$defs"]["condition"]["anyOf"]}
    assert {"city", "spend_last_days", "last_order_date", "bought_category"} <= fields
    assert SENTENCE in answer.prompt and '"$defs"' in answer.prompt  # the viewable prompt is what was sent


@pytest.mark.parametrize("rules, problem", [
    ({"match": "all", "rules": [{"field": "favourite_colour", "op": "is", "value": "red"}]},
     'Condition 1: unknown field "favourite_colour"'),
    ({"match": "all", "rules": [{"field": "order_count", "op": ">", "value": 1},
                                {"field": "total_spend", "op": "contains", "value": "5"}]},
     "Condition 2: Total spend cannot use 'contains'"),
    ({"match": "any", "rules": [{"match": "all", "rules": [{"field": "total_spend", "op": ">", "value": "lots"}]}]},
     "Condition 1.1: Total spend needs a number, not 'lots'"),
    ({"match": "all", "rules": [{"field": "spend_last_days", "op": ">", "value": 10}]},
     "Condition 1: Spend in the last N days: the number of days needs a whole number"),
    ({"match": "all", "rules": [{"sql": "SELECT * FROM customers"}]}, "Condition 1: unknown key(s) in a condition: sql"),
    ({"match": "all", "rules": []}, "The rule has no conditions."),
    ("DELETE FROM customers", "The rule: expected a group or a condition"),
])
def test_a_model_rule_that_fails_our_checks_is_not_applied_its_problems_are_listed_and_offline_answers(
        fast, fake_openai, offline, rules, problem):
    fake_openai.reply({"rules": rules, "notes": "n"})
    answer = rules_from_text(fast, SENTENCE, as_of=AS_OF)
    assert answer.value == OFFLINE_RULE and answer.engine == OFFLINE
    assert answer.note == f"{REFUSED} The offline engine answered instead."
    assert any(p.startswith(problem) for p in answer.problems), answer.problems
    assert offline == [SENTENCE]


def test_an_answer_without_rules_is_refused(fast, fake_openai, offline):
    fake_openai.reply({"filter": "spend > 500"})
    answer = rules_from_text(fast, SENTENCE, as_of=AS_OF)
    assert answer.engine == OFFLINE and answer.value == OFFLINE_RULE and answer.problems == ['The answer has no "rules".']


def test_sql_in_a_value_is_just_text_bound_as_a_parameter(fast, fake_openai, offline):
    injected = "x'); DROP TABLE customers; --"
    fake_openai.reply({"rules": {"match": "all", "negate": False,
                                 "rules": [{"field": "city", "op": "is", "value": injected}]}, "notes": ""})
    answer = rules_from_text(fast, SENTENCE, as_of=AS_OF)
    assert answer.by_model and answer.value["rules"][0]["value"] == injected
    fast.write(lambda cur: cur.execute("INSERT INTO customers (id, name, city, created_at, updated_at) "
                                       "VALUES (1, 'A', 'Lyon', now(), now())"))
    analysis = analyse(fast, answer.value, AS_OF)
    assert analysis.preview.count == 0 and analysis.preview.total == 1  # the table is still there
    assert injected in analysis.preview.english


@pytest.mark.parametrize("script, said", [
    (FAILURES["401"], "refused the API key"),
    (FAILURES["429"], "rate-limiting"),
    (FAILURES["500"], "HTTP 500"),
    (FAILURES["timeout"], "did not answer within 1 seconds"),
    (FAILURES["not json"], "not the JSON that was asked for"),
    (lambda f: f.reply("here is your rule: total_spend > 500"), "not the JSON that was asked for"),
])
def test_each_failure_is_a_clear_note_and_the_offline_answer(fast, fake_openai, offline, script, said):
    script(fake_openai)
    answer = rules_from_text(fast, SENTENCE, as_of=AS_OF)
    assert answer.engine == OFFLINE and answer.value == OFFLINE_RULE
    assert said in answer.note and answer.note.endswith("The offline engine answered instead.")
    assert len(fake_openai.requests) == 1 and answer.prompt and SENTENCE in answer.prompt


def test_without_a_key_the_offline_engine_answers_and_nothing_is_sent(store, fake_openai, offline, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    answer = rules_from_text(store, SENTENCE, as_of=AS_OF)
    assert answer.value == OFFLINE_RULE and answer.engine == OFFLINE and "No API key" in answer.note
    assert fake_openai.requests == []
    save_settings(store, "offline", "", "", 20)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fake")
    answer = rules_from_text(store, SENTENCE, as_of=AS_OF)
    assert "chosen in Settings" in answer.note and fake_openai.requests == []


def test_when_the_offline_parser_refuses_there_is_no_rule_and_the_note_says_why(store, monkeypatch):
    monkeypatch.setattr(nl_rules, "parse_sentence",
                        lambda text, catalog, places, today=None: FakeParse(None, "'loyal-ish' is not a phrase it knows."))
    monkeypatch.setattr(nl_rules, "known_places", lambda s: FakePlaces({}))
    answer = rules_from_text(store, "loyal-ish people", as_of=AS_OF)
    assert answer.value is None and answer.engine == OFFLINE
    assert answer.note == ("No API key is set. The offline engine could not read "
                           "the sentence: 'loyal-ish' is not a phrase it knows.")


@pytest.mark.parametrize("text, message", [("", "Describe the audience"), ("   \n ", "Describe the audience"),
                                           ("x" * 501, "500 characters")])
def test_empty_or_long_text_is_refused_before_anything_is_asked(store, fake_openai, offline, text, message):
    with pytest.raises(ValidationError) as caught:
        rules_from_text(store, text)
    assert message in caught.value.errors["text"] and fake_openai.requests == [] and offline == []


def test_no_customer_data_is_ever_sent(tmp_path, fake_openai, offline):
    demo, loaded = workspace.prepare(tmp_path / "demo.duckdb")
    assert loaded
    save_settings(demo, "auto", "", "fake-model", 1)
    fake_openai.reply({"rules": MODEL_RULE, "notes": ""})
    fake_openai.reply({"rules": {"match": "all", "rules": [{"field": "nope", "op": "is", "value": 1}]}, "notes": ""})
    fake_openai.fail(500)
    for sentence in (SENTENCE, "big spenders in the United States", "people who bought Electronics"):
        rules_from_text(demo, sentence, as_of=AS_OF)
    assert len(fake_openai.requests) == 3
    sent = "\n".join(fake_openai.bodies() + [json.dumps(r["body"], ensure_ascii=False) for r in fake_openai.requests])
    private = [value for row in demo.rows("SELECT name, email, phone, external_id FROM customers") for value in row
               if value]
    assert len(private) > 300
    leaked = [value for value in private if value in sent or value.lower() in sent.lower()]
    assert leaked == []
    assert "Electronics" in sent and "United States" in sent  # the catalog's values do go
