"""Login accounts kept in a git-ignored YAML credentials file: first admin setup, password rules, hashing."""
from __future__ import annotations

import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from crm_core.validation import ValidationError, as_sentence, normalize_email

ROLES = ("admin", "marketer", "analyst")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_BYTES = 72  # bcrypt ignores anything past 72 bytes, so longer passwords are refused
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,31}$")
COOKIE_NAME = "mini_crm_auth"
COOKIE_EXPIRY_DAYS = 7


def load(path: str | Path) -> dict[str, Any]:
    """The credentials config ({'credentials': {'usernames': {...}}, 'cookie': {...}}), empty if absent."""
    target = Path(path)
    if not target.exists():
        return {"credentials": {"usernames": {}}, "cookie": {}}
    with open(target, encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    config.setdefault("credentials", {}).setdefault("usernames", {})
    config.setdefault("cookie", {})
    return config


def has_accounts(path: str | Path) -> bool:
    """Whether at least one login account exists."""
    return bool(load(path)["credentials"]["usernames"])


def check_password(password: str, confirm: str | None = None) -> None:
    """Raise ValidationError when a new password breaks the rules (length, bcrypt limit, confirmation)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError({"password": f"Use at least {MIN_PASSWORD_LENGTH} characters."})
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise ValidationError({"password": f"Use at most {MAX_PASSWORD_BYTES} bytes (bcrypt's limit)."})
    if confirm is not None and confirm != password:
        raise ValidationError({"confirm": "The two passwords differ."})


def hash_password(password: str) -> str:
    """A bcrypt hash of the password."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii")


def verify_password(password: str, hashed: str) -> bool:
    """Whether the password matches the bcrypt hash (False for over-long or malformed input)."""
    try:
        return bcrypt.checkpw(password.encode("utf-8"), hashed.encode("ascii"))
    except ValueError:
        return False


def _save(path: str | Path, config: dict[str, Any]) -> None:
    """Write the file atomically (temp file + rename), readable by the owner only."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".auth-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.safe_dump(config, handle, allow_unicode=True, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def create_user(path: str | Path, username: str, name: str, email: str, password: str,
                role: str = "admin", confirm: str | None = None) -> str:
    """Validate and add an account; return the normalised username."""
    errors: dict[str, str] = {}
    user = (username or "").strip().lower()
    if not USERNAME_RE.match(user):
        errors["username"] = "Use 3 to 32 lower-case letters, digits, dots, dashes or underscores."
    display = (name or "").strip()
    if not display:
        errors["name"] = "A name is required."
    try:
        clean_email = normalize_email(email)
        if clean_email is None:
            errors["email"] = "An e-mail is required."
    except ValueError as exc:
        errors["email"] = as_sentence(exc)
        clean_email = None
    if role not in ROLES:
        errors["role"] = f"The role must be one of {', '.join(ROLES)}."
    try:
        check_password(password, confirm)
    except ValidationError as exc:
        errors.update(exc.errors)
    config = load(path)
    if user in config["credentials"]["usernames"]:
        errors["username"] = "This username is taken."
    if errors:
        raise ValidationError(errors)
    first, _, last = display.partition(" ")
    config["credentials"]["usernames"][user] = {
        "email": clean_email, "first_name": first, "last_name": last,
        "password": hash_password(password), "roles": [role],
    }
    if not config["cookie"].get("key"):
        config["cookie"] = {
            "name": COOKIE_NAME, "key": secrets.token_hex(32), "expiry_days": COOKIE_EXPIRY_DAYS,
        }
    _save(path, config)
    return user


def create_first_admin(path: str | Path, username: str, name: str, email: str, password: str,
                       confirm: str | None = None) -> str:
    """Create the first admin account; refused once any account exists."""
    if has_accounts(path):
        raise ValidationError({"username": "An admin account already exists: log in instead."})
    return create_user(path, username, name, email, password, role="admin", confirm=confirm)
