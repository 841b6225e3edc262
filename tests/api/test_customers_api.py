"""Customers over real HTTP: upsert, read, list with filters and pages, change, delete, bulk JSON and CSV through the
dashboard's import (same rejects), role checks with nothing changed, conflicts, validation and size limits."""
from __future__ import annotations

import http.client
import json
import uuid
from urllib.parse import urlparse

from tests.api.conftest import error_of
from tests.core.ingest.helpers import DATA, run


def tag() -> str:
    """A word no other test uses, to find this test's records."""
    return "t" + uuid.uuid4().hex[:10]


def make(api, key="marketer", **fields):
    answer = api.post("/customers", key, json=fields)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_create_then_read_a_customer(api):
    t = tag()
    made = make(api, name=f"Ada {t}", email=f"{t}@example.com", phone="+1 555 0100 22", city="Lyon",
                country="FR", external_id=f"ext-{t}", attributes={"tier": "gold", "score": 7.5})
    assert made["id"] > 0 and made["email"] == f"{t}@example.com" and made["external_id"] == f"ext-{t}"
    assert made["total_spend"] == "0.00" and made["order_count"] == 0 and made["last_order_at"] is None
    assert made["attributes"] == {"tier": "gold", "score": 7.5}
    assert made["created_at"].endswith("Z")
    read = api.get(f"/customers/{made['id']}", "analyst")
    assert read.status_code == 200 and read.json() == made


def test_post_with_a_known_external_id_or_email_updates_only_the_fields_sent(api):
    t = tag()
    made = make(api, name=f"Bo {t}", email=f"{t}@example.com", external_id=f"ext-{t}", city="Oslo", phone="5550100200")
    again = api.post("/customers", json={"external_id": f"ext-{t}", "city": "Bergen", "phone": None})
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["id"] == made["id"] and body["city"] == "Bergen" and body["phone"] is None
    assert body["name"] == f"Bo {t}" and body["email"] == f"{t}@example.com"
    by_mail = api.post("/customers", json={"email": f"{t.upper()}@EXAMPLE.com", "state": "Vestland"})
    assert by_mail.status_code == 200 and by_mail.json()["id"] == made["id"] and by_mail.json()["state"] == "Vestland"


def test_a_taken_email_is_409_and_nothing_is_created(api):
    t = tag()
    first = make(api, name=f"Cy {t}", email=f"{t}@example.com", external_id=f"a-{t}")
    clash = api.post("/customers", json={"name": "Other", "email": f"{t}@example.com", "external_id": f"b-{t}"})
    assert clash.status_code == 409
    err = error_of(clash)
    assert err["code"] == "conflict" and f"#{first['id']}" in err["details"]["fields"]["email"]
    listed = api.get("/customers", params={"search": t}).json()
    assert [c["id"] for c in listed["data"]] == [first["id"]]
    other = make(api, name=f"Di {t}", email=f"di-{t}@example.com")
    taken = api.call("PATCH", f"/customers/{other['id']}", json={"email": f"{t}@example.com"})
    assert taken.status_code == 409 and api.get(f"/customers/{other['id']}").json()["email"] == f"di-{t}@example.com"


def test_bad_values_are_422_with_each_field_named(api):
    answer = api.post("/customers", json={"email": "not-an-email", "phone": "12"})
    assert answer.status_code == 422
    fields = error_of(answer)["details"]["fields"]
    assert set(fields) == {"name", "email", "phone"} and "not a valid e-mail" in fields["email"]
    unknown = api.post("/customers", json={"name": "X", "emial": "x@example.com"})
    assert unknown.status_code == 422 and error_of(unknown)["code"] == "validation_failed"
    assert api.post("/customers", data=b"{not json", headers={"Content-Type": "application/json"}).status_code == 400


def test_patch_changes_fields_merges_attributes_and_unknown_ids_are_404(api):
    t = tag()
    made = make(api, name=f"Ed {t}", email=f"{t}@example.com", attributes={"a": "1", "b": "2"})
    answer = api.call("PATCH", f"/customers/{made['id']}", json={"city": "Rome", "attributes": {"b": None, "c": 3}})
    assert answer.status_code == 200
    assert answer.json()["city"] == "Rome" and answer.json()["attributes"] == {"a": "1", "c": 3}
    assert api.call("PATCH", f"/customers/{made['id']}", json={"name": None}).status_code == 422
    for method in ("GET", "PATCH", "DELETE"):
        missing = api.call(method, "/customers/999999999", json={"city": "x"} if method == "PATCH" else None)
        assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    assert api.get("/customers/abc").status_code == 404


def test_delete_is_204_then_gone(api):
    made = make(api, name="Fay", email=f"{tag()}@example.com")
    answer = api.call("DELETE", f"/customers/{made['id']}")
    assert answer.status_code == 204 and answer.content == b""
    assert api.get(f"/customers/{made['id']}").status_code == 404


def test_an_analyst_key_changes_nothing(api):
    t = tag()
    made = make(api, name=f"Gus {t}", email=f"{t}@example.com")
    refused = [api.post("/customers", "analyst", json={"name": f"New {t}", "email": f"new-{t}@example.com"}),
               api.call("PATCH", f"/customers/{made['id']}", "analyst", json={"city": "Paris"}),
               api.call("DELETE", f"/customers/{made['id']}", "analyst"),
               api.post("/customers/bulk", "analyst", json=[{"name": f"Bulk {t}", "email": f"bulk-{t}@example.com"}]),
               api.post("/customers/bulk", "analyst", data=f"name,email\nCsv {t},csv-{t}@example.com\n".encode(),
                        headers={"Content-Type": "text/csv"})]
    for answer in refused:
        assert answer.status_code == 403, answer.text
        err = error_of(answer)
        assert err["code"] == "forbidden" and "cannot" in err["message"] and err["details"]["role"] == "analyst"
    assert api.get(f"/customers/{made['id']}", "analyst").json() == made
    listed = api.get("/customers", "analyst", params={"search": t}).json()
    assert [c["id"] for c in listed["data"]] == [made["id"]] and listed["pagination"]["total"] == 1


def test_list_filters_and_a_walk_through_the_pages(api):
    t = tag()
    made = [make(api, name=f"P{n} {t}", email=f"p{n}-{t}@example.com", country="PT" if n % 2 else "ES")["id"]
            for n in range(7)]
    seen, page = [], 1
    while True:
        body = api.get("/customers", params={"search": t, "per_page": 3, "page": page}).json()
        assert body["pagination"]["total"] == 7 and len(body["data"]) == min(3, 7 - (page - 1) * 3)
        seen += [c["id"] for c in body["data"]]
        if not body["pagination"]["has_more"]:
            break
        page += 1
    assert page == 3 and seen == sorted(made, reverse=True)  # newest sign-ups first (ids follow creation)
    by_name = api.get("/customers", params={"search": t, "sort": "name", "order": "asc", "per_page": 10}).json()
    assert [c["name"] for c in by_name["data"]] == sorted(f"P{n} {t}" for n in range(7))
    pt = api.get("/customers", params={"search": t, "country": "PT, XX"}).json()
    assert sorted(c["id"] for c in pt["data"]) == sorted(made[1::2])
    bad = api.get("/customers", params={"per_page": 0, "signed_up_from": "yesterday"})
    assert bad.status_code == 400 and {p["parameter"] for p in error_of(bad)["details"]["problems"]} == \
        {"per_page", "signed_up_from"}


def _rejects(answer) -> list[tuple[int, str]]:
    return [(r["line"], r["reason"]) for r in answer["rejects"]]


def test_bulk_csv_gives_the_same_rejects_as_the_dashboards_import(api, store, tmp_path):
    path = DATA / "bad_csv" / "invalid_emails.csv"
    expected = run(store, tmp_path, "customers", path, commit=False)  # the import core, in a workspace of its own
    answer = api.post("/customers/bulk", data=path.read_bytes(), headers={"Content-Type": "text/csv"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["rows"] == 6 and body["rejected"] == 4 and body["inserted"] + body["updated"] == 2
    assert _rejects(body) == list(zip(expected.rejects["line"], expected.rejects["reason"]))
    assert [r["index"] for r in body["rejects"]] == [None] * 4 and body["rejects"][0]["values"]["name"] == "Bob Stone"
    assert body["reasons"][0]["code"] == "invalid_email" and isinstance(body["import_id"], int)
    again = api.post("/customers/bulk", data=path.read_bytes(), headers={"Content-Type": "text/csv"}).json()
    assert again["inserted"] == 0 and again["unchanged"] == 2  # a re-upload duplicates nothing


def test_bulk_json_imports_the_good_rows_and_rejects_the_bad_one_with_its_index(api, store, tmp_path):
    t = tag()
    rows = [{"external_id": f"{t}-{n}", "name": f"J{n} {t}", "email": f"j{n}-{t}@example.com",
             "attributes": {"plan": "pro"}} for n in range(5)]
    rows[3]["email"] = "j3(at)example.com"
    csv_path = tmp_path / "same.csv"
    csv_path.write_text("customer_id,name,email\n" + "".join(f"{r['external_id']},{r['name']},{r['email']}\n"
                                                            for r in rows))
    expected = run(store, tmp_path, "customers", csv_path, commit=False)
    answer = api.post("/customers/bulk", json=rows)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["rows"], body["inserted"], body["rejected"]) == (5, 4, 1)
    assert body["rejects"] == [{"line": 5, "index": 3, "reason": expected.rejects["reason"][0], "values": {
        "external_id": f"{t}-3", "name": f"J3 {t}", "email": "j3(at)example.com", "attributes.plan": "pro"}}]
    listed = api.get("/customers", params={"search": t, "per_page": 10}).json()["data"]
    assert sorted(c["external_id"] for c in listed) == [f"{t}-{n}" for n in (0, 1, 2, 4)]
    assert {c["attributes"]["plan"] for c in listed} == {"pro"}


def test_bulk_bodies_that_cannot_be_read_are_refused_whole(api):
    t = tag()
    assert api.post("/customers/bulk", json=[]).status_code == 422
    unknown = api.post("/customers/bulk", json=[{"name": "A", "email": f"{t}@example.com", "colour": "red"}])
    assert unknown.status_code == 422
    half_a_character = api.post("/customers/bulk", data=b'[{"name": "x\\ud933", "email": "a@example.com"}]',
                                headers={"Content-Type": "application/json"})
    assert half_a_character.status_code == 400 and "surrogate" in error_of(half_a_character)["message"]
    wrong_type = api.post("/customers/bulk", data=b"a,b\n1,2\n", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 400
    no_key = api.post("/customers/bulk", data=b"name,city\nAl,Rome\n", headers={"Content-Type": "text/csv"})
    assert no_key.status_code == 422 and "Customer ID or E-mail" in error_of(no_key)["message"]
    assert api.get("/customers", params={"search": t}).json()["pagination"]["total"] == 0


def test_oversized_bodies_are_413(api):
    big = api.post("/customers", json={"name": "x" * (1024 * 1024 + 10)})
    assert big.status_code == 413 and error_of(big)["code"] == "payload_too_large"
    url = urlparse(api.server.url)  # a bulk body declared larger than 64 MB is refused before it is sent
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.putrequest("POST", "/api/v1/customers/bulk")
    for name, value in (("Authorization", f"Bearer {api.keys['marketer']}"), ("Content-Type", "text/csv"),
                        ("Content-Length", str(65 * 1024 * 1024))):
        conn.putheader(name, value)
    conn.endheaders()
    answer = conn.getresponse()
    assert answer.status == 413 and json.loads(answer.read())["error"]["details"]["limit_bytes"] == 64 * 1024 * 1024
    conn.close()


def test_bulk_json_that_is_not_a_list_of_rows_is_422_naming_the_place(api):
    for body, pointer in (({"name": "A"}, "/"), (7, "/"), ([{"name": "A"}, {"name": ["B"]}], "/1/name"),
                          ([{"email": "a@example.com", "attributes": {"x": {"y": 1}}}], "/0/attributes/x")):
        answer = api.post("/customers/bulk", json=body)
        assert answer.status_code == 422, answer.text
        assert list(error_of(answer)["details"]["fields"]) == [pointer]
