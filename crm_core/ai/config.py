"""Where the model lives: API key (environment or the secrets file, never the database), base URL, model
name, timeout and whether to use it at all. Admin choices are kept in workspace_meta; the key never is."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from crm_core.config import PROJECT_ROOT
from crm_core.store import Store
from crm_core.validation import ValidationError

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TIMEOUT = 20.0
MIN_TIMEOUT, MAX_TIMEOUT = 1.0, 300.0
MODES = {"auto": "Use the model when a key is set, else the offline engine",
         "offline": "Always use the offline engine (nothing leaves this machine)"}
# workspace_meta keys of the admin's choices; the API key is never among them
META_KEYS = {"mode": "ai_mode", "base_url": "ai_base_url", "model": "ai_model", "timeout": "ai_timeout"}


def secrets_path() -> Path:
    """The Streamlit secrets file read for OPENAI_API_KEY / OPENAI_BASE_URL (CRM_SECRETS_PATH overrides)."""
    return Path(os.environ.get("CRM_SECRETS_PATH") or PROJECT_ROOT / ".streamlit" / "secrets.toml")


def _secrets() -> dict:
    path = secrets_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}
    flat = {k: v for k, v in data.items() if isinstance(v, str)}
    nested = data.get("openai") if isinstance(data.get("openai"), dict) else {}
    for key in ("api_key", "base_url", "model"):
        if isinstance(nested.get(key), str):
            flat.setdefault(f"OPENAI_{key.upper()}", nested[key])
    return flat


@dataclass(frozen=True)
class AiConfig:
    """Everything needed to call the model; `api_key` never leaves this object (not in repr)."""

    api_key: str | None = field(default=None, repr=False)
    key_source: str = "none"  # "environment" | "secrets file" | "none"
    base_url: str | None = None  # None: OpenAI's own endpoint
    model: str = DEFAULT_MODEL
    timeout: float = DEFAULT_TIMEOUT
    mode: str = "auto"

    @property
    def uses_model(self) -> bool:
        """Whether requests go to the model (a key is set and the admin did not choose offline only)."""
        return self.mode == "auto" and bool(self.api_key)

    @property
    def endpoint(self) -> str:
        """The base URL as shown to users."""
        return self.base_url or "OpenAI (default)"


def _stored(store: Store) -> dict[str, str]:
    keys = list(META_KEYS.values())
    return dict(store.rows("SELECT key, value FROM workspace_meta WHERE list_contains(?, key)", [keys]))


def load_config(store: Store) -> AiConfig:
    """The current configuration: the admin's stored choices over environment/secrets over defaults."""
    secrets, stored = _secrets(), _stored(store)
    env_key = os.environ.get("OPENAI_API_KEY", "").strip()
    file_key = str(secrets.get("OPENAI_API_KEY", "")).strip()
    key, source = (env_key, "environment") if env_key else (file_key, "secrets file") if file_key else (None, "none")
    base = (stored.get(META_KEYS["base_url"]) or os.environ.get("OPENAI_BASE_URL", "").strip()
            or str(secrets.get("OPENAI_BASE_URL", "")).strip() or None)
    model = (stored.get(META_KEYS["model"]) or os.environ.get("OPENAI_MODEL", "").strip()
             or str(secrets.get("OPENAI_MODEL", "")).strip() or DEFAULT_MODEL)
    try:
        timeout = float(stored.get(META_KEYS["timeout"]) or DEFAULT_TIMEOUT)
    except ValueError:
        timeout = DEFAULT_TIMEOUT
    mode = stored.get(META_KEYS["mode"]) if stored.get(META_KEYS["mode"]) in MODES else "auto"
    return AiConfig(key, source, base, model, min(max(timeout, MIN_TIMEOUT), MAX_TIMEOUT), mode)


def save_settings(store: Store, mode: str, base_url: str, model: str, timeout: float) -> None:
    """Keep the admin's choices (an empty base URL or model falls back to environment/secrets/default)."""
    problems = {}
    base_url, model = (base_url or "").strip(), (model or "").strip()
    if mode not in MODES:
        problems["mode"] = "Choose how AI answers."
    if base_url and not base_url.startswith(("http://", "https://")):
        problems["base_url"] = "The base URL starts with http:// or https://, e.g. http://localhost:11434/v1."
    if len(base_url) > 500 or len(model) > 200:
        problems["model"] = "That is too long for a base URL or a model name."
    try:
        timeout = float(timeout)
        if not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
            raise ValueError
    except (TypeError, ValueError):
        problems["timeout"] = f"The timeout is between {MIN_TIMEOUT:g} and {MAX_TIMEOUT:g} seconds."
    if problems:
        raise ValidationError(problems)
    values = {"mode": mode, "base_url": base_url, "model": model, "timeout": f"{timeout:g}"}

    def work(cur) -> None:
        for name, value in values.items():
            cur.execute("INSERT OR REPLACE INTO workspace_meta VALUES (?, ?)", [META_KEYS[name], value])

    store.write(work, data=False)
