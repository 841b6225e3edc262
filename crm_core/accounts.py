"""Login accounts kept in a git-ignored YAML credentials file: first admin setup, password rules, hashing."""
from __future__ import annotations

import fcntl
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from crm_core.permissions import ADMIN, ROLES
from crm_core.validation import ValidationError, as_sentence, normalize_email, utc_now

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_BYTES = 72  # bcrypt ignores anything past 72 bytes, so longer passwords are refused
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,31}$")
_THREAD_LOCK = threading.Lock()
# Compared against when a username does not exist, so an unknown name costs as long as a wrong password.
_DUMMY_HASH = bcrypt.hashpw(b"no such account", bcrypt.gensalt(rounds=12)).decode("ascii")


@dataclass(frozen=True)
class Account:
    """One login account as the app sees it (never its password hash)."""

    username: str
    name: str
    email: str
    roles: tuple[str, ...]
    disabled: bool
    must_change_password: bool
    created_at: str | None

    @property
    def role(self) -> str:
        """The account's role (the first one listed)."""
        return self.roles[0] if self.roles else "analyst"


def load(path: str | Path) -> dict[str, Any]:
    """The credentials config ({'credentials': {'usernames': {...}}}), empty if absent (streamlit-authenticator's
    file format; a `cookie` section older files hold is kept as it is and read by nothing)."""
    target = Path(path)
    if not target.exists():
        return {"credentials": {"usernames": {}}}
    with open(target, encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    config.setdefault("credentials", {}).setdefault("usernames", {})
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


def _check_profile(config: dict[str, Any], name: str, email: str, role: str,
                   username: str | None = None) -> tuple[str, str, dict[str, str]]:
    """(display name, e-mail, errors) after checking a name, an e-mail unique among accounts, and a role."""
    errors: dict[str, str] = {}
    display = (name or "").strip()
    if not display:
        errors["name"] = "A name is required."
    elif len(display) > 100:
        errors["name"] = "Use at most 100 characters for the name."
    clean_email = ""
    try:
        clean_email = normalize_email(email) or ""
        if not clean_email:
            errors["email"] = "An e-mail is required."
    except ValueError as exc:
        errors["email"] = as_sentence(exc)
    if clean_email and any((u.get("email") or "").lower() == clean_email and other != username
                           for other, u in config["credentials"]["usernames"].items()):
        errors["email"] = "Another account uses this e-mail."
    if role not in ROLES:
        errors["role"] = f"The role must be one of {', '.join(ROLES)}."
    return display, clean_email, errors


def create_user(path: str | Path, username: str, name: str, email: str, password: str,
                role: str = "admin", confirm: str | None = None, must_change_password: bool = False) -> str:
    """Validate and add an account; return the normalised username."""
    user = (username or "").strip().lower()
    created: list[str] = []

    def change(config: dict[str, Any]) -> None:
        display, clean_email, errors = _check_profile(config, name, email, role)
        if not USERNAME_RE.match(user):
            errors["username"] = "Use 3 to 32 lower-case letters, digits, dots, dashes or underscores."
        elif user in config["credentials"]["usernames"]:
            errors["username"] = "This username is taken."
        try:
            check_password(password, confirm)
        except ValidationError as exc:
            errors.update(exc.errors)
        if errors:
            raise ValidationError(errors)
        first, _, last = display.partition(" ")
        config["credentials"]["usernames"][user] = {
            "email": clean_email, "first_name": first, "last_name": last,
            "password": hash_password(password), "roles": [role], "disabled": False,
            "must_change_password": bool(must_change_password), "created_at": utc_now().isoformat(timespec="seconds"),
        }
        created.append(user)

    _change(path, change)
    return created[0]


def create_first_admin(path: str | Path, username: str, name: str, email: str, password: str,
                       confirm: str | None = None) -> str:
    """Create the first admin account; refused once any account exists."""
    if has_accounts(path):
        raise ValidationError({"username": "An admin account already exists: log in instead."})
    return create_user(path, username, name, email, password, role="admin", confirm=confirm)


@contextmanager
def _locked(path: str | Path) -> Iterator[None]:
    """Hold the credentials file's lock (threads of this process and other processes) for a read-modify-write."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _THREAD_LOCK, open(target.with_name(target.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _change(path: str | Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Load, change and save the credentials file under its lock (nothing is written if `change` raises)."""
    with _locked(path):
        config = load(path)
        change(config)
        _save(path, config)


def _account(username: str, entry: dict[str, Any]) -> Account:
    name = " ".join(p for p in (entry.get("first_name"), entry.get("last_name")) if p) or username
    return Account(username, name, entry.get("email") or "", tuple(entry.get("roles") or ()),
                   bool(entry.get("disabled")), bool(entry.get("must_change_password")), entry.get("created_at"))


def list_accounts(path: str | Path) -> list[Account]:
    """Every account, by username."""
    users = load(path)["credentials"]["usernames"]
    return [_account(u, users[u]) for u in sorted(users)]


def get_account(path: str | Path, username: str) -> Account | None:
    """The account with this username, or None."""
    entry = load(path)["credentials"]["usernames"].get((username or "").strip().lower())
    return _account(username.strip().lower(), entry) if entry else None


def account_by_email(path: str | Path, email: str) -> Account | None:
    """The account whose e-mail this is (case-insensitive), or None."""
    wanted = (email or "").strip().lower()
    for username, entry in load(path)["credentials"]["usernames"].items():
        if wanted and (entry.get("email") or "").lower() == wanted:
            return _account(username, entry)
    return None


def authenticate(path: str | Path, username: str, password: str) -> Account | None:
    """The account when the password is right (disabled ones too: the caller decides), else None."""
    entry = load(path)["credentials"]["usernames"].get((username or "").strip().lower())
    hashed = entry.get("password") if entry else None
    if not verify_password(password or "", hashed or _DUMMY_HASH) or not entry:
        return None
    return _account(username.strip().lower(), entry)


def _existing(config: dict[str, Any], username: str) -> dict[str, Any]:
    entry = config["credentials"]["usernames"].get(username)
    if entry is None:
        raise ValidationError({"username": f"There is no account '{username}'."})
    return entry


def _keeps_an_admin(config: dict[str, Any], username: str, roles: list[str], disabled: bool) -> None:
    """Refuse a change that would leave no enabled admin account."""
    others = [u for name, u in config["credentials"]["usernames"].items()
              if name != username and ADMIN in (u.get("roles") or []) and not u.get("disabled")]
    if not others and (ADMIN not in roles or disabled):
        raise ValidationError({"role": "This is the last enabled admin account: make another admin first."})


def update_account(path: str | Path, username: str, name: str, email: str, role: str) -> Account:
    """Change an account's name, e-mail and role (the last enabled admin keeps the admin role)."""
    def change(config: dict[str, Any]) -> None:
        entry = _existing(config, username)
        display, clean_email, errors = _check_profile(config, name, email, role, username)
        if errors:
            raise ValidationError(errors)
        _keeps_an_admin(config, username, [role], bool(entry.get("disabled")))
        first, _, last = display.partition(" ")
        entry.update(email=clean_email, first_name=first, last_name=last, roles=[role])

    _change(path, change)
    return get_account(path, username)


def set_disabled(path: str | Path, username: str, disabled: bool) -> Account:
    """Disable (no login) or enable an account; the last enabled admin cannot be disabled."""
    def change(config: dict[str, Any]) -> None:
        entry = _existing(config, username)
        if disabled:
            _keeps_an_admin(config, username, list(entry.get("roles") or []), True)
        entry["disabled"] = bool(disabled)

    _change(path, change)
    return get_account(path, username)


def delete_account(path: str | Path, username: str, by: str | None = None) -> None:
    """Delete an account (not your own, not the last enabled admin)."""
    def change(config: dict[str, Any]) -> None:
        _existing(config, username)
        if by and by == username:
            raise ValidationError({"username": "You cannot delete your own account."})
        _keeps_an_admin(config, username, [], True)
        del config["credentials"]["usernames"][username]

    _change(path, change)


def set_password(path: str | Path, username: str, password: str, confirm: str | None = None,
                 must_change: bool = False) -> None:
    """Set a new password (an admin's temporary one: must_change=True makes the user choose their own)."""
    check_password(password, confirm)

    def change(config: dict[str, Any]) -> None:
        entry = _existing(config, username)
        entry["password"] = hash_password(password)
        entry["must_change_password"] = bool(must_change)

    _change(path, change)


def change_own_password(path: str | Path, username: str, current: str, new: str, confirm: str) -> None:
    """A user's own change: the current password must be right and the new one must differ from it."""
    if authenticate(path, username, current) is None:
        raise ValidationError({"current": "The current password is not right."})
    if new == current:
        raise ValidationError({"password": "Choose a password different from the current one."})
    set_password(path, username, new, confirm, must_change=False)
