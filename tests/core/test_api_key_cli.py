"""`python -m crm_core api-key create|list|revoke`: the secret printed once, a hash stored, audited as the CLI."""
from __future__ import annotations

from crm_core.cli import main
from crm_core.integrations import api_keys
from crm_core.store import open_store
from crm_core.validation import utc_now


def test_create_list_and_revoke(isolated_workspace, capsys):
    db = str(isolated_workspace / "keys.duckdb")
    assert main(["--db", db, "api-key", "create", "Shop sync", "--role", "marketer", "--expires-days", "30"]) == 0
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    store = open_store(db)
    key = api_keys.check_key(store, secret).key
    assert key.name == "Shop sync" and key.role == "marketer" and key.created_by == "cli"
    assert 29 <= (key.expires_at - utc_now()).days <= 30
    assert secret not in str(store.rows("SELECT * FROM api_keys")) + str(store.rows("SELECT * FROM audit_log"))
    assert store.rows("SELECT action, outcome, username FROM audit_log") == [("apikey.create", "ok", "cli")]

    assert main(["--db", db, "api-key", "list"]) == 0
    listed = capsys.readouterr().out
    assert "Shop sync" in listed and "active" in listed and secret not in listed

    assert main(["--db", db, "api-key", "revoke", str(key.id)]) == 0
    assert api_keys.check_key(store, secret).key is None
    assert main(["--db", db, "api-key", "list"]) == 0
    assert "revoked" in capsys.readouterr().out


def test_a_bad_role_or_name_is_refused_without_a_key(isolated_workspace, capsys):
    db = str(isolated_workspace / "keys.duckdb")
    assert main(["--db", db, "api-key", "create", "  ", "--role", "analyst"]) == 1
    assert "name" in capsys.readouterr().err.lower()
    assert open_store(db).scalar("SELECT count(*) FROM api_keys") == 0
