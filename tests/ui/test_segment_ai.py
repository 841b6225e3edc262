"""The workbench's plain-English box through app.py: the offline path and the model path (the local fake
OpenAI server) fill the editor, the count follows, the engine is named, a refused model rule shows why."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from crm_core.ai import nl_rules
from tests.ui.conftest import texts
from tests.ui.helpers import button, db, has_button, metric, page
from ui.segment_editor import canonical

SEGMENTS = "pages/segments.py"
SENTENCE = "customers who spent more than $500 and live in the United States"
US_BIG = {"match": "all", "negate": False, "rules": [{"field": "total_spend", "op": ">", "value": 500},
                                                     {"field": "country", "op": "is", "value": "United States"}]}
SPEND = ("(SELECT coalesce(sum(o.amount) FILTER (WHERE o.status NOT IN ('cancelled', 'returned')), 0) "
         "FROM orders o WHERE o.customer_id = c.id)")


@dataclass
class FakeParse:
    rules: dict | None
    reason: str | None = None


class NoPlaces:
    def lookup(self, name: str) -> list[tuple[str, str]]:
        return []


@pytest.fixture
def offline(monkeypatch):
    """The offline parser (merged separately) replaced by a fake that reads any sentence as US_BIG."""
    monkeypatch.setattr(nl_rules, "parse_sentence", lambda text, catalog, places, today=None: FakeParse(US_BIG))
    monkeypatch.setattr(nl_rules, "known_places", lambda store: NoPlaces())


def _count(sql_condition: str, params: list) -> int:
    """Customers matching, computed from raw orders (not from the stats the app reads)."""
    return int(db().scalar(f"SELECT count(*) FROM customers c WHERE {sql_condition}", params))


def _audience(at) -> int:
    return int(metric(at, "Audience").value.replace(",", ""))


def _ask(role: str, sentence: str = SENTENCE):
    at = page(SEGMENTS, role=role)
    button(at, "New segment").click().run()
    at.text_area(key="seg-ai-text").input(sentence).run()
    button(at, "Build the rule").click().run()
    assert not at.exception
    return at


def test_without_a_key_the_offline_engine_fills_the_editor_and_says_so(offline):
    at = _ask("admin")
    assert canonical(at.session_state["seg-tree"]) == US_BIG
    assert _audience(at) == _count(f"{SPEND} > ? AND lower(c.country) = lower(?)", [500, "United States"]) > 0
    shown = texts(at)
    assert "Answered by the offline engine: No API key is set" in shown
    assert "total spend is more than 500 and country is 'United States'" in shown.replace("\\", "")
    assert "See exactly what would be sent to a model" in [e.label for e in at.expander]
    assert "Answered by the model" not in shown


def test_the_model_path_names_the_model_and_loads_its_rule(fake_openai, monkeypatch, offline):
    monkeypatch.setenv("OPENAI_MODEL", "fake-model-7")
    rule = {"match": "any", "negate": False, "rules": [{"field": "order_count", "op": ">=", "value": 8},
                                                       {"field": "country", "op": "is", "value": "Canada"}]}
    fake_openai.reply({"rules": rule, "notes": "Frequent buyers or Canadians."})
    at = _ask("admin", "frequent buyers or anyone in Canada")
    assert canonical(at.session_state["seg-tree"]) == rule
    assert _audience(at) == _count("(SELECT count(*) FROM orders o WHERE o.customer_id = c.id) >= ? "
                                   "OR lower(c.country) = lower(?)", [8, "Canada"])
    shown = texts(at).replace("\\", "")
    assert "Answered by the model fake-model-7" in shown and "Frequent buyers or Canadians" in shown
    assert "Answered by the offline engine" not in shown
    assert len(fake_openai.requests) == 1
    assert "frequent buyers or anyone in Canada" in fake_openai.requests[0]["raw"]


def test_a_refused_model_rule_shows_its_problems_and_is_not_applied(fake_openai, offline):
    fake_openai.reply({"rules": {"match": "all", "rules": [{"field": "loyalty_tier", "op": "is", "value": "gold"},
                                                           {"field": "total_spend", "op": "contains", "value": "9"}]},
                       "notes": ""})
    at = _ask("admin")
    assert canonical(at.session_state["seg-tree"]) == US_BIG  # the offline reading, not the model's
    warning = " ".join(str(w.value) for w in at.warning).replace("\\", "")
    assert "The model's rule was not applied" in warning
    assert 'Condition 1: unknown field "loyalty_tier"' in warning
    assert "Condition 2: Total spend cannot use 'contains'" in warning
    assert "Answered by the offline engine: The model's rule did not pass our checks." in texts(at).replace("\\", "")


def test_an_analyst_gets_a_caption_instead_of_the_ai_box(offline):
    at = page(SEGMENTS, role="analyst")
    button(at, "New segment").click().run()
    assert not at.exception
    assert "AI help is for marketers and admins" in texts(at)
    assert not has_button(at, "Build the rule") and not has_button(at, "Describe this segment")
    assert not has_button(at, "Save")


def test_a_refusal_or_an_empty_sentence_leaves_the_editor_alone(monkeypatch):
    monkeypatch.setattr(nl_rules, "parse_sentence",
                        lambda text, catalog, places, today=None: FakeParse(None, "'vibes' is not something it can count."))
    monkeypatch.setattr(nl_rules, "known_places", lambda store: NoPlaces())
    at = _ask("admin", "people with good vibes")
    before = {"match": "all", "negate": False, "rules": [{"field": "total_spend", "op": ">", "value": 1000}]}
    assert canonical(at.session_state["seg-tree"]) == before
    shown = texts(at).replace("\\", "")
    assert "could not read the sentence: 'vibes' is not something it can count." in shown
    assert "No rule was built" in shown
    at.text_area(key="seg-ai-text").input("   ").run()
    button(at, "Build the rule").click().run()
    assert "Describe the audience in a sentence first." in texts(at).replace("\\", "") and not at.exception
    assert canonical(at.session_state["seg-tree"]) == before


def test_the_offline_grammar_is_shown_when_its_document_exists(offline, monkeypatch, tmp_path):
    import ui.segment_ai as box
    monkeypatch.setattr(box, "GRAMMAR", tmp_path / "missing.md")
    at = _ask("admin")
    assert "What the offline engine understands" not in [e.label for e in at.expander]
    (tmp_path / "grammar.md").write_text("Say **spent more than 500**.")
    monkeypatch.setattr(box, "GRAMMAR", tmp_path / "grammar.md")
    at.run()
    assert "What the offline engine understands" in [e.label for e in at.expander]
    assert "Say **spent more than 500**." in [str(m.value) for m in at.markdown]
