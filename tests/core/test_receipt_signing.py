"""Signed receipt posts: the signature over "<timestamp>.<body>", its check (wrong secret, tampered body, old or
future timestamps, missing headers), the shared secret (made once, env override, rotation audited) and backups
that leave it out."""
from __future__ import annotations

import hashlib
import hmac
import zipfile

import pyarrow.parquet as pq
import pytest

from crm_core import backup
from crm_core.integrations import receipt_signing
from crm_core.integrations.signing import SignatureError, signature, signed_headers, verify
from crm_core.permissions import Actor, PermissionDenied
from crm_core.services import receipt_secret
from crm_core.validation import ValidationError

SECRET = "whsec_test-secret"
BODY = b'[{"receipt_id":"r1","vendor_message_id":"sim-1","event":"delivered","occurred_at":"2026-11-02T09:00:00Z"}]'
NOW = 1_793_600_000
ADMIN, ANALYST = Actor("ada", "Ada", ("admin",)), Actor("ann", "Ann", ("analyst",))


def _headers(secret=SECRET, stamp=NOW, body=BODY):
    return {"X-CRM-Timestamp": str(stamp), "X-CRM-Signature": signature(secret, stamp, body)}


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, NOW, BODY) == f"v1={expected}"
    assert signed_headers(SECRET, BODY, now=NOW) == {"X-CRM-Timestamp": str(NOW),
                                                             "X-CRM-Signature": f"v1={expected}"}


def test_a_good_signature_passes_whatever_the_header_case():
    assert verify(SECRET, _headers(), BODY, now=NOW) == NOW
    lower = {k.lower(): v for k, v in _headers().items()}
    assert verify(SECRET, lower, BODY, now=NOW + 10) == NOW


def test_one_matching_signature_among_several_is_enough():
    headers = _headers()
    headers["X-CRM-Signature"] = signature("old-secret", NOW, BODY) + ", " + headers["X-CRM-Signature"]
    assert verify(SECRET, headers, BODY, now=NOW) == NOW


@pytest.mark.parametrize(("headers", "body", "message"), [
    (_headers(secret="another-secret"), BODY, "does not match"),
    (_headers(), BODY.replace(b"delivered", b"clicked"), "does not match"),  # tampered body
    ({"X-CRM-Timestamp": str(NOW - 1), "X-CRM-Signature": signature(SECRET, NOW, BODY)}, BODY,
     "does not match"),  # the timestamp is part of what is signed
    ({"X-CRM-Timestamp": str(NOW), "X-CRM-Signature": "v1=" + "0" * 64}, BODY, "does not match"),
    ({"X-CRM-Timestamp": str(NOW)}, BODY, "needs signed posts"),
    ({"X-CRM-Signature": signature(SECRET, NOW, BODY)}, BODY, "needs signed posts"),
    ({"X-CRM-Timestamp": "2026-11-02T09:00:00Z", "X-CRM-Signature": "v1=00"}, BODY, "Unix seconds"),
])
def test_bad_signatures_are_refused_with_the_reason(headers, body, message):
    with pytest.raises(SignatureError, match=message):
        verify(SECRET, headers, body, now=NOW)


def test_timestamps_more_than_five_minutes_away_are_refused_as_replays():
    for offset in (-300, 0, 300):  # within the window: accepted (a signature made 5 min ago or ahead)
        assert verify(SECRET, _headers(stamp=NOW + offset), BODY, now=NOW) == NOW + offset
    with pytest.raises(SignatureError, match="301 s old"):
        verify(SECRET, _headers(stamp=NOW - 301), BODY, now=NOW)
    with pytest.raises(SignatureError, match="far in the future"):
        verify(SECRET, _headers(stamp=NOW + 301), BODY, now=NOW)


def test_the_secret_is_made_once_and_kept(store, monkeypatch):
    monkeypatch.delenv(receipt_signing.SECRET_ENV, raising=False)
    first = receipt_signing.receipt_secret(store)
    assert first.startswith("whsec_") and len(first) == len("whsec_") + 64
    assert receipt_signing.receipt_secret(store) == first
    assert store.scalar("SELECT value FROM workspace_meta WHERE key = 'receipt_signing_secret'") == first
    masked = receipt_signing.masked(first)
    assert first[-4:] in masked and first[12:-4] not in masked


def test_the_environment_sets_the_secret_and_blocks_rotation(store, monkeypatch):
    monkeypatch.setenv(receipt_signing.SECRET_ENV, "from-env")
    assert receipt_signing.receipt_secret(store) == "from-env"
    assert store.scalar("SELECT count(*) FROM workspace_meta WHERE key = 'receipt_signing_secret'") == 0
    with pytest.raises(ValidationError, match="environment"):
        receipt_secret.rotate_signing_secret(store, ADMIN)
    assert receipt_secret.signing_secret(store, ADMIN).from_environment


def test_rotation_refuses_the_old_secret_and_is_audited_without_the_secret(store, monkeypatch):
    monkeypatch.delenv(receipt_signing.SECRET_ENV, raising=False)
    old = receipt_secret.signing_secret(store, ADMIN).secret
    new = receipt_secret.rotate_signing_secret(store, ADMIN).secret
    assert new != old and receipt_signing.receipt_secret(store) == new
    with pytest.raises(SignatureError):
        receipt_signing.check_post(store, _headers(secret=old), BODY, now=NOW)
    assert receipt_signing.check_post(store, _headers(secret=new), BODY, now=NOW) == NOW
    entries = store.rows("SELECT username, action, outcome, object_name, details FROM audit_log")
    assert [(u, a, o, n) for u, a, o, n, _ in entries] == [("ada", "settings.change", "ok",
                                                           "Delivery receipt signing secret")]
    assert old not in entries[0][4] and new not in entries[0][4]


def test_only_admins_see_or_rotate_the_secret(store):
    for call in (receipt_secret.signing_secret, receipt_secret.rotate_signing_secret):
        with pytest.raises(PermissionDenied):
            call(store, ANALYST)
    assert store.scalar("SELECT count(*) FROM workspace_meta WHERE key = 'receipt_signing_secret'") == 0


def test_backups_leave_the_secret_out(store, tmp_path, monkeypatch):
    monkeypatch.delenv(receipt_signing.SECRET_ENV, raising=False)
    secret = receipt_signing.receipt_secret(store)
    store.write(lambda cur: cur.execute("INSERT INTO workspace_meta VALUES ('demo_seed', '7')"), data=False)
    made = backup.backup(store, tmp_path / "b.zip")
    with zipfile.ZipFile(made.path) as archive:
        archive.extract("tables/workspace_meta.parquet", tmp_path)
        assert secret.encode() not in b"".join(archive.read(n) for n in archive.namelist())
    keys = pq.read_table(tmp_path / "tables/workspace_meta.parquet").column("key").to_pylist()
    assert "receipt_signing_secret" not in keys and "demo_seed" in keys  # other settings are kept
