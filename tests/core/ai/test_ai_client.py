"""The model client against a local fake OpenAI-compatible server: real HTTP through the real openai client."""
from __future__ import annotations

import json

import pytest

from crm_core.ai.answer import OFFLINE, answer_with_fallback
from crm_core.ai.client import AiError, AiRequest, ask_json, ask_text, check_connection
from crm_core.ai.config import AiConfig, load_config, save_settings
from crm_core.validation import ValidationError
from tests.fake_openai import FAILURES

REQUEST = AiRequest("system words", "user words", "thing", {"type": "object"})


def _config(fake, **over) -> AiConfig:
    return AiConfig(**{"api_key": "sk-test-fake", "key_source": "environment", "base_url": fake.base_url,
                       "model": "fake-model", "timeout": 2.0, **over})


def test_json_answer_comes_back_parsed_and_the_request_is_what_was_built(fake_openai):
    fake_openai.reply({"hello": "world"})
    assert ask_json(_config(fake_openai), REQUEST) == {"hello": "world"}
    sent = fake_openai.requests[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["authorization"] == "Bearer sk-test-fake"
    assert sent["body"]["model"] == "fake-model"
    assert sent["body"]["messages"] == REQUEST.messages()
    assert sent["body"]["response_format"]["json_schema"]["schema"] == {"type": "object"}


@pytest.mark.parametrize("script, kind", [
    (FAILURES["401"], "auth"),
    (lambda f: f.fail(403), "auth"),
    (FAILURES["429"], "rate_limit"),
    (FAILURES["500"], "server"),
    (lambda f: f.fail(400), "bad_request"),
    (FAILURES["timeout"], "timeout"),
    (FAILURES["not json"], "malformed"),
    (lambda f: f.reply("this is prose, not JSON"), "malformed"),
    (lambda f: f.reply(""), "empty"),
])
def test_each_failure_has_its_kind_and_a_sentence(fake_openai, script, kind):
    script(fake_openai)
    with pytest.raises(AiError) as caught:
        ask_json(_config(fake_openai, timeout=1.0), REQUEST)
    assert caught.value.kind == kind
    assert caught.value.message and "{" not in caught.value.message


def test_an_unreachable_endpoint_is_a_connection_failure():
    config = AiConfig(api_key="k", base_url="http://127.0.0.1:9/v1", timeout=1.0)
    with pytest.raises(AiError) as caught:
        ask_text(config, REQUEST)
    assert caught.value.kind == "connection" and "127.0.0.1:9" in caught.value.message


def test_connection_check_says_what_happened(fake_openai):
    assert check_connection(_config(fake_openai)).ok
    fake_openai.fail(401)
    check = check_connection(_config(fake_openai))
    assert not check.ok and "refused the API key" in check.message
    assert not check_connection(AiConfig()).ok


def test_fallback_answers_offline_and_says_why(fake_openai):
    config = _config(fake_openai)
    fake_openai.fail(500)
    answer = answer_with_fallback(config, REQUEST, lambda r: ask_json(config, r), lambda: "offline value")
    assert answer.value == "offline value" and answer.engine == OFFLINE and "HTTP 500" in answer.note
    fake_openai.reply({"a": 1})
    answer = answer_with_fallback(config, REQUEST, lambda r: ask_json(config, r), lambda: "offline value")
    assert answer.value == {"a": 1} and answer.engine == "fake-model" and answer.by_model
    no_key = answer_with_fallback(AiConfig(), REQUEST, lambda r: 1 / 0, lambda: "offline value")
    assert no_key.value == "offline value" and "No API key" in no_key.note


def test_config_reads_env_then_secrets_and_never_stores_the_key(store, monkeypatch, tmp_path):
    assert load_config(store).api_key is None and not load_config(store).uses_model
    (tmp_path / "secrets.toml").write_text('OPENAI_API_KEY = "sk-from-file"\n[openai]\nbase_url = "http://x/v1"\n')
    config = load_config(store)
    assert (config.api_key, config.key_source, config.base_url) == ("sk-from-file", "secrets file", "http://x/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    assert load_config(store).key_source == "environment"
    assert "sk-from-env" not in repr(load_config(store))
    save_settings(store, "offline", "http://localhost:11434/v1", "llama3.1", 30)
    config = load_config(store)
    assert (config.mode, config.base_url, config.model, config.timeout) == ("offline", "http://localhost:11434/v1",
                                                                          "llama3.1", 30.0)
    assert not config.uses_model
    stored = json.dumps(store.rows("SELECT * FROM workspace_meta"))
    assert "sk-from" not in stored


@pytest.mark.parametrize("args, field", [
    (("sometimes", "", "", 20), "mode"), (("auto", "localhost:1234", "", 20), "base_url"),
    (("auto", "", "", 0), "timeout"), (("auto", "", "", "soon"), "timeout"),
])
def test_bad_settings_are_refused_with_a_message(store, args, field):
    with pytest.raises(ValidationError) as caught:
        save_settings(store, *args)
    assert field in caught.value.errors
