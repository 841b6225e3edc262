"""Login accounts: first admin setup, password and username rules, bcrypt hashes on disk."""
from __future__ import annotations

import stat

import bcrypt
import pytest
import yaml

from crm_core import accounts
from crm_core.validation import ValidationError
from tests.conftest import cheap_bcrypt

PASSWORD = "correct horse battery"
REAL_COST = {"test_hashes_use_a_strong_work_factor"}


@pytest.fixture(autouse=True)
def cheap_salts(request):
    """Cheap salts keep the suite quick; REAL_COST tests keep bcrypt's default work factor."""
    if request.node.name in REAL_COST:
        yield
        return
    with cheap_bcrypt():
        yield


@pytest.fixture
def auth(isolated_workspace):
    return isolated_workspace / "auth.yaml"


def _admin(auth, **changes):
    args = dict(username="admin", name="Ada Lovelace", email="Ada@Example.com", password=PASSWORD,
                confirm=PASSWORD)
    args.update(changes)
    return accounts.create_first_admin(auth, **args)


def test_first_admin_is_written_with_a_bcrypt_hash(auth):
    assert not accounts.has_accounts(auth)
    assert accounts.load(auth)["credentials"]["usernames"] == {}
    assert _admin(auth, username=" Admin ") == "admin"
    text = auth.read_text(encoding="utf-8")
    assert PASSWORD not in text
    user = yaml.safe_load(text)["credentials"]["usernames"]["admin"]
    assert user["password"].startswith("$2")
    assert bcrypt.checkpw(PASSWORD.encode(), user["password"].encode())
    assert (user["email"], user["first_name"], user["last_name"], user["roles"]) == (
        "ada@example.com", "Ada", "Lovelace", ["admin"])
    assert accounts.has_accounts(auth)
    assert stat.S_IMODE(auth.stat().st_mode) == 0o600
    assert not [p for p in auth.parent.iterdir() if p.name.startswith(".auth-")]  # no temp file left


def test_no_cookie_secret_is_written(auth):
    """Logins use server-side sessions: the file holds no re-login cookie key that could sign a cookie."""
    _admin(auth)
    accounts.create_user(auth, "analyst1", "Bob", "bob@example.com", PASSWORD, role="analyst")
    assert set(accounts.load(auth)["credentials"]["usernames"]) == {"admin", "analyst1"}
    assert "cookie" not in yaml.safe_load(auth.read_text(encoding="utf-8"))


def test_second_first_admin_is_refused(auth):
    _admin(auth)
    before = auth.read_bytes()
    with pytest.raises(ValidationError, match="already exists"):
        _admin(auth, username="another")
    assert auth.read_bytes() == before


@pytest.mark.parametrize("password, confirm, field", [
    ("x" * 11, None, "password"),
    ("", None, "password"),
    ("a" * 73, None, "password"),
    ("é" * 37, None, "password"),  # 37 characters but 74 bytes
    (PASSWORD, PASSWORD + "!", "confirm"),
])
def test_password_rules(auth, password, confirm, field):
    with pytest.raises(ValidationError) as info:
        _admin(auth, password=password, confirm=confirm)
    assert field in info.value.errors
    assert not auth.exists()


@pytest.mark.parametrize("password", ["x" * 12, "a" * 72, "é" * 36, "🔑" * 18])
def test_passwords_at_the_limits_are_accepted(auth, password):
    _admin(auth, password=password, confirm=None)
    stored = accounts.load(auth)["credentials"]["usernames"]["admin"]["password"]
    assert accounts.verify_password(password, stored)


@pytest.mark.parametrize("username", ["ab", "", "-admin", "_admin", "ad min", "a" * 33, "admin!", "ädmin"])
def test_bad_usernames_are_refused(auth, username):
    with pytest.raises(ValidationError) as info:
        _admin(auth, username=username)
    assert "username" in info.value.errors


@pytest.mark.parametrize("username, expected", [
    ("abc", "abc"), ("Ada.Lovelace", "ada.lovelace"), ("user_1-x", "user_1-x"), ("a" * 32, "a" * 32),
])
def test_good_usernames_are_normalised(auth, username, expected):
    assert _admin(auth, username=username) == expected


def test_every_bad_field_is_reported_together(auth):
    with pytest.raises(ValidationError) as info:
        accounts.create_user(auth, "x", " ", "not-an-email", "short", role="boss", confirm="other")
    assert set(info.value.errors) == {"username", "name", "email", "role", "password"}


def test_email_is_required(auth):
    with pytest.raises(ValidationError) as info:
        _admin(auth, email="")
    assert info.value.errors == {"email": "An e-mail is required."}


def test_taken_username_is_refused(auth):
    _admin(auth)
    with pytest.raises(ValidationError, match="taken"):
        accounts.create_user(auth, "ADMIN", "Other", "o@example.com", PASSWORD)


def test_verify_password():
    hashed = accounts.hash_password(PASSWORD)
    assert hashed != accounts.hash_password(PASSWORD)  # salted
    assert accounts.verify_password(PASSWORD, hashed)
    assert not accounts.verify_password(PASSWORD + " ", hashed)
    assert not accounts.verify_password("", hashed)
    assert not accounts.verify_password("a" * 100, hashed)  # over bcrypt's limit: False, not an error
    assert not accounts.verify_password(PASSWORD, "not a bcrypt hash")


def test_check_password_direct():
    accounts.check_password("x" * 12)
    accounts.check_password("x" * 12, "x" * 12)
    with pytest.raises(ValidationError):
        accounts.check_password(None)


def test_hashes_use_a_strong_work_factor():
    hashed = accounts.hash_password(PASSWORD)
    assert int(hashed.split("$")[2]) >= 12
    assert accounts.verify_password(PASSWORD, hashed)
