"""JSON rows (the API's bulk bodies) written as the import's CSV, and imported through services.imports.import_body:
the same history entry (undoable), audit entry under the caller's name, and refusals for read-only roles."""
from __future__ import annotations

import csv
from decimal import Decimal

import pytest

from crm_core.ingest import history
from crm_core.ingest.json_rows import write_rows_csv
from crm_core.permissions import Actor, PermissionDenied
from crm_core.services import imports
from crm_core.validation import ValidationError

API_MARKETER = Actor("api:shop", "API key shop", ("marketer",))
API_ANALYST = Actor("api:reader", "API key reader", ("analyst",))


def test_rows_become_a_csv_with_the_fields_used_and_attribute_columns(tmp_path):
    path = tmp_path / "rows.csv"
    mapping = write_rows_csv("customers", [
        {"email": "a@example.com", "name": "A", "attributes": {"vip": True, "score": Decimal("1.50")}},
        {"external_id": 7, "name": "B, with comma", "attributes": {"since": None}},
    ], path)
    assert mapping == {"external_id": "external_id", "email": "email", "name": "name",
                       "attributes.vip": "attribute:vip", "attributes.score": "attribute:score",
                       "attributes.since": "attribute:since"}
    with open(path, newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [
            ["external_id", "email", "name", "attributes.vip", "attributes.score", "attributes.since"],
            ["", "a@example.com", "A", "true", "1.50", ""],
            ["7", "", "B, with comma", "", "", ""]]


@pytest.mark.parametrize("rows, pointer", [
    ([], "/"),
    ({"name": "A"}, "/"),
    (7, "/"),
    ([{"name": "A"}, "text"], "/1"),
    ([{"name": "A", "colour": "red"}], "/0"),
    ([{"name": "A"}, {"name": {"first": "B"}}], "/1/name"),
    ([{"name": "A", "attributes": ["x"]}], "/0/attributes"),
    ([{"name": "A", "attributes": {"ok": 1}}, {"name": "B", "attributes": {"": 1, "Bad Name": 2}}], "/1/attributes"),
    ([{"name": "A", "attributes": {"": Decimal("1E-54")}}], "/0/attributes"),
])
def test_rows_that_cannot_be_written_are_refused_by_json_pointer(tmp_path, rows, pointer):
    with pytest.raises(ValidationError) as caught:
        write_rows_csv("customers", rows, tmp_path / "rows.csv")
    assert list(caught.value.errors) == [pointer]


def test_a_json_body_is_imported_recorded_audited_and_undoable(store):
    rows = [{"external_id": "S1", "name": "Sam", "email": "sam@example.com"},
            {"external_id": "S2", "name": "Sue", "email": "sue(at)example.com"}]
    summary = imports.import_body(store, API_MARKETER, "customers", rows, "api-customers.json")
    assert summary.counts["create"] == 1 and summary.counts["reject"] == 1
    assert list(summary.rejects["line"]) == [3]
    record = history.get_import(store, summary.import_id)
    assert (record["file_name"], record["user_name"], record["created"]) == ("api-customers.json", "api:shop", 1)
    audit = store.rows("SELECT username, outcome, object_id FROM audit_log WHERE action = 'import.run'")
    assert audit == [("api:shop", "ok", str(summary.import_id))]
    imports.undo_import(store, API_MARKETER, summary.import_id)
    assert store.scalar("SELECT count(*) FROM customers") == 0


def test_a_csv_body_is_mapped_like_an_upload(store):
    body = b"Customer ID,Full Name,E-mail,Tier\nC9,Cy,cy@example.com,gold\n"
    summary = imports.import_body(store, API_MARKETER, "customers", body, "api-customers.csv")
    assert summary.counts["create"] == 1
    assert store.rows("SELECT external_id, name, email, attributes->>'tier' FROM customers") == \
        [("C9", "Cy", "cy@example.com", "gold")]


def test_a_read_only_key_is_refused_before_anything_is_written(store):
    with pytest.raises(PermissionDenied):
        imports.import_body(store, API_ANALYST, "customers", [{"name": "X", "email": "x@example.com"}], "a.json")
    assert store.scalar("SELECT count(*) FROM customers") == 0
    assert store.scalar("SELECT count(*) FROM imports") == 0
    assert store.rows("SELECT username, outcome FROM audit_log WHERE action = 'import.run'") == [("api:reader", "denied")]
