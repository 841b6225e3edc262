"""Settings → AI assistant: the key's status without the key, saving the admin's choices, a connection test
against a local fake OpenAI-compatible server (who may open Settings is tested in test_login_and_guards.py)."""
from __future__ import annotations

from crm_core.ai.config import load_config
from tests.ui.conftest import texts
from tests.ui.helpers import button, db, errors, page, toasts

SETTINGS = "pages/settings.py"


def _text_input(at, label: str):
    return next(t for t in at.text_input if t.label == label)


def test_without_a_key_the_offline_engine_is_said_and_the_test_button_is_off():
    at = page(SETTINGS)
    body = texts(at)
    assert "**API key:** not set: the offline engine answers every request" in body
    assert "the **offline engine**" in body
    assert button(at, "Test connection").disabled


def test_the_key_is_never_shown_and_a_connection_test_says_it_worked(fake_openai):
    at = page(SETTINGS)
    body = texts(at)
    assert "set, from the environment variable OPENAI_API_KEY" in body and "sk-test-fake" not in body
    assert fake_openai.base_url in body
    button(at, "Test connection").click().run()
    assert not at.exception
    assert any("answered in" in s.value for s in at.success)
    assert fake_openai.requests[-1]["path"] == "/v1/chat/completions"


def test_a_refused_key_gives_a_plain_error(fake_openai):
    fake_openai.fail(401)
    at = page(SETTINGS)
    button(at, "Test connection").click().run()
    assert any("refused the API key" in e for e in errors(at))


def test_saving_choices_keeps_them_and_bad_ones_are_refused(fake_openai):
    at = page(SETTINGS)
    _text_input(at, "Base URL").set_value("localhost:11434")
    button(at, "Save AI settings").click().run()
    assert any("starts with http://" in e for e in errors(at))
    assert load_config(db()).base_url == fake_openai.base_url  # nothing saved
    _text_input(at, "Base URL").set_value("http://localhost:11434/v1")
    _text_input(at, "Model").set_value("llama3.1")
    next(r for r in at.radio if r.label == "Engine").set_value("offline")
    button(at, "Save AI settings").click().run()
    assert not at.exception and "AI settings saved" in toasts(at)
    config = load_config(db())
    assert (config.base_url, config.model, config.mode, config.uses_model) == (
        "http://localhost:11434/v1", "llama3.1", "offline", False)
    assert "the **offline engine**" in texts(at)
