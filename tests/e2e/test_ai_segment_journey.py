"""Browser journey: type a sentence on a new segment, get an editable rule from the offline engine (no API key
in tests), see its conditions in the editor, the live count and which engine answered."""
from __future__ import annotations

from tests.e2e.conftest import shot
from tests.e2e.helpers import create_admin, idle, log_in, rule_in_words

SENTENCE = "customers who spent more than $100 and live in the United States"


def _audience(page) -> int:
    return int(page.get_by_test_id("stMetricValue").first.inner_text().replace(",", ""))


def test_a_sentence_becomes_an_editable_rule_with_a_count(app_server, page):
    create_admin(page, app_server.url)
    log_in(page)
    page.goto(app_server.url + "/segments")
    idle(page)
    page.get_by_role("button", name="New segment").click()
    idle(page)
    page.get_by_role("heading", name="New segment").wait_for()
    starter = _audience(page)  # total spend > 1,000
    page.get_by_role("button", name="Build the rule").wait_for()
    shot(page, "segment-ai-box")

    box = page.get_by_role("textbox", name="Describe the audience in plain English")
    box.fill(SENTENCE)
    box.press("Control+Enter")  # commit the text area's value before the click
    idle(page)
    page.get_by_role("button", name="Build the rule").click()
    idle(page)
    page.get_by_text("Answered by the offline engine").wait_for()

    words = rule_in_words(page)
    assert "total spend is more than 100" in words and "United States" in words, words
    count = _audience(page)
    assert 0 < count and count != starter
    assert page.get_by_role("combobox", name="Field 2", exact=True).count() == 1  # two conditions, editable
    assert page.get_by_role("spinbutton", name="Value 1", exact=True).input_value() == "100.00"
    page.mouse.move(5, 5)  # no tooltip over the box in the screenshot
    shot(page, "segment-ai-rule-in-editor")

    page.get_by_text("See exactly what would be sent to a model").click()
    idle(page)
    page.get_by_text("--- system ---").first.wait_for()
    shot(page, "segment-ai-prompt")
