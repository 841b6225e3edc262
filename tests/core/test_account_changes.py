"""Account changes an admin makes (edit, disable, delete, temporary password) and a user's own password change."""
from __future__ import annotations

import threading

import pytest

from crm_core import accounts
from crm_core.validation import ValidationError

PASSWORD = "correct horse battery"


pytestmark = pytest.mark.usefixtures("fast_bcrypt")


@pytest.fixture
def auth(isolated_workspace):
    path = isolated_workspace / "auth.yaml"
    accounts.create_first_admin(path, "ada", "Ada Lovelace", "ada@example.com", PASSWORD)
    accounts.create_user(path, "mia", "Mia Market", "mia@example.com", PASSWORD, role="marketer")
    return path


def test_accounts_are_listed_without_hashes(auth):
    listed = accounts.list_accounts(auth)
    assert [(a.username, a.role, a.disabled) for a in listed] == [("ada", "admin", False), ("mia", "marketer", False)]
    assert all("$2" not in repr(a) for a in listed)
    assert accounts.get_account(auth, " MIA ").name == "Mia Market"
    assert accounts.get_account(auth, "nobody") is None
    assert accounts.account_by_email(auth, "MIA@example.com").username == "mia"
    assert accounts.account_by_email(auth, "") is None


def test_authenticate_needs_the_right_password(auth):
    assert accounts.authenticate(auth, "mia", PASSWORD).username == "mia"
    assert accounts.authenticate(auth, "mia", PASSWORD + "!") is None
    assert accounts.authenticate(auth, "nobody", PASSWORD) is None
    assert accounts.authenticate(auth, "mia", "é" * 80) is None  # over bcrypt's limit: no error, no login


def test_editing_changes_name_email_and_role(auth):
    changed = accounts.update_account(auth, "mia", "Mia M. Jones", "Mia.Jones@Example.com", "analyst")
    assert (changed.name, changed.email, changed.role) == ("Mia M. Jones", "mia.jones@example.com", "analyst")
    assert accounts.authenticate(auth, "mia", PASSWORD) is not None  # the password is untouched


@pytest.mark.parametrize("name, email, role, field", [
    ("", "mia@example.com", "marketer", "name"),
    ("Mia", "not an email", "marketer", "email"),
    ("Mia", "ada@example.com", "marketer", "email"),  # another account's e-mail
    ("Mia", "mia@example.com", "owner", "role"),
])
def test_bad_edits_change_nothing(auth, name, email, role, field):
    before = auth.read_text()
    with pytest.raises(ValidationError) as caught:
        accounts.update_account(auth, "mia", name, email, role)
    assert field in caught.value.errors
    assert auth.read_text() == before


def test_the_last_enabled_admin_stays(auth):
    before = auth.read_text()
    for change in (lambda: accounts.update_account(auth, "ada", "Ada", "ada@example.com", "marketer"),
                   lambda: accounts.set_disabled(auth, "ada", True),
                   lambda: accounts.delete_account(auth, "ada", by="mia")):
        with pytest.raises(ValidationError, match="last enabled admin"):
            change()
    assert auth.read_text() == before
    accounts.update_account(auth, "mia", "Mia", "mia@example.com", "admin")
    assert accounts.set_disabled(auth, "ada", True).disabled
    with pytest.raises(ValidationError, match="last enabled admin"):  # mia is now the only enabled admin
        accounts.set_disabled(auth, "mia", True)
    assert not accounts.set_disabled(auth, "ada", False).disabled


def test_nobody_deletes_their_own_account(auth):
    accounts.update_account(auth, "mia", "Mia", "mia@example.com", "admin")
    with pytest.raises(ValidationError, match="your own account"):
        accounts.delete_account(auth, "mia", by="mia")
    accounts.delete_account(auth, "mia", by="ada")
    assert accounts.get_account(auth, "mia") is None
    with pytest.raises(ValidationError, match="no account 'mia'"):
        accounts.delete_account(auth, "mia", by="ada")


def test_a_temporary_password_must_be_changed_and_the_new_one_differ(auth):
    temporary = "temporary pass 123"
    accounts.set_password(auth, "mia", temporary, temporary, must_change=True)
    assert accounts.get_account(auth, "mia").must_change_password
    assert accounts.authenticate(auth, "mia", PASSWORD) is None
    with pytest.raises(ValidationError, match="different"):
        accounts.change_own_password(auth, "mia", temporary, temporary, temporary)
    with pytest.raises(ValidationError, match="not right"):
        accounts.change_own_password(auth, "mia", "wrong password!!", "brand new password", "brand new password")
    with pytest.raises(ValidationError, match="at least 12"):
        accounts.change_own_password(auth, "mia", temporary, "short", "short")
    accounts.change_own_password(auth, "mia", temporary, "brand new password", "brand new password")
    assert not accounts.get_account(auth, "mia").must_change_password
    assert accounts.authenticate(auth, "mia", "brand new password") is not None
    assert "brand new password" not in auth.read_text() and temporary not in auth.read_text()


def test_concurrent_changes_are_not_lost(auth):
    def add(n: int) -> None:
        accounts.create_user(auth, f"user{n:02d}", f"User {n}", f"user{n}@example.com", PASSWORD, role="analyst")

    threads = [threading.Thread(target=add, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(accounts.list_accounts(auth)) == 14
