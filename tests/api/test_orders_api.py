"""Orders over real HTTP: upsert by order number, read with items, list by customer, status and dates with pages,
change, delete, bulk JSON and CSV through the dashboard's import (same rejects), roles, conflicts, validation."""
from __future__ import annotations

from decimal import Decimal

from tests.api.conftest import error_of
from tests.api.test_customers_api import make, tag
from tests.core.ingest.helpers import DATA, run


def customer(api) -> dict:
    t = tag()
    return make(api, name=f"Buyer {t}", email=f"{t}@example.com", external_id=f"cust-{t}")


def order(api, key="marketer", **fields):
    answer = api.post("/orders", key, json=fields)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_create_an_order_with_items_then_read_it_and_the_customers_stats(api):
    c = customer(api)
    made = order(api, customer_id=c["id"], ordered_at="2026-03-04T05:06:07Z", external_id=f"n-{tag()}",
                 items=[{"name": "Mug", "quantity": 2, "unit_price": "4.25"}, {"product_id": "SKU-1", "quantity": 1,
                                                                                "unit_price": 10}])
    assert made["amount"] == "18.50" and made["status"] == "paid" and made["currency"] == "USD"
    assert made["ordered_at"] == "2026-03-04T05:06:07Z" and made["customer_id"] == c["id"]
    assert [(i["line_no"], i["quantity"], i["unit_price"], i["line_total"]) for i in made["items"]] == \
        [(1, 2, "4.25", "8.50"), (2, 1, "10.00", "10.00")]
    assert api.get(f"/orders/{made['id']}", "analyst").json() == made
    stats = api.get(f"/customers/{c['id']}").json()
    assert (stats["total_spend"], stats["order_count"], stats["last_order_at"]) == ("18.50", 1, "2026-03-04T05:06:07Z")


def test_money_in_as_a_json_number_and_out_as_text(api):
    c = customer(api)
    made = order(api, customer_id=c["id"], ordered_at="2026-01-02", amount=12.5)
    assert made["amount"] == "12.50" and made["items"] == [] and made["ordered_at"] == "2026-01-02T00:00:00Z"


def test_post_with_a_known_order_number_updates_it(api):
    c, number = customer(api), f"n-{tag()}"
    made = order(api, customer_id=c["id"], ordered_at="2026-02-01", external_id=number,
                 items=[{"name": "Pen", "quantity": 3, "unit_price": "1.00"}])
    again = api.post("/orders", json={"external_id": number, "status": "shipped"})
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["id"] == made["id"] and body["status"] == "shipped" and body["amount"] == "3.00"
    assert body["items"] == made["items"]
    patched = api.call("PATCH", f"/orders/{made['id']}", json={"items": [{"name": "Pen", "quantity": 5,
                                                                           "unit_price": "1.00"}]})
    assert patched.status_code == 200 and patched.json()["amount"] == "5.00"
    assert api.get(f"/customers/{c['id']}").json()["total_spend"] == "5.00"


def test_a_taken_order_number_is_409(api):
    c = customer(api)
    first = order(api, customer_id=c["id"], ordered_at="2026-02-01", amount="1.00", external_id=f"n-{tag()}")
    second = order(api, customer_id=c["id"], ordered_at="2026-02-02", amount="2.00", external_id=f"n-{tag()}")
    clash = api.call("PATCH", f"/orders/{second['id']}", json={"external_id": first["external_id"]})
    assert clash.status_code == 409 and "external_id" in error_of(clash)["details"]["fields"]
    assert api.get(f"/orders/{second['id']}").json()["external_id"] == second["external_id"]


def test_bad_values_are_422_and_unknown_orders_404(api):
    answer = api.post("/orders", json={"customer_id": 999999999, "ordered_at": "someday", "amount": "abc"})
    assert answer.status_code == 422
    fields = error_of(answer)["details"]["fields"]
    assert {"ordered_at", "amount"} <= set(fields)
    missing_customer = api.post("/orders", json={"customer_id": 999999999, "ordered_at": "2026-01-01", "amount": 1})
    assert missing_customer.status_code == 422
    assert "does not exist" in error_of(missing_customer)["details"]["fields"]["customer_id"]
    assert api.post("/orders", json={"customer_id": 1, "status": "teleported"}).status_code == 422
    for method in ("GET", "PATCH", "DELETE"):
        gone = api.call(method, "/orders/999999999", json={"status": "paid"} if method == "PATCH" else None)
        assert gone.status_code == 404 and error_of(gone)["code"] == "not_found"


def test_delete_and_an_analyst_key_that_changes_nothing(api):
    c = customer(api)
    made = order(api, customer_id=c["id"], ordered_at="2026-02-01", amount="7.00")
    for answer in (api.post("/orders", "analyst", json={"customer_id": c["id"], "ordered_at": "2026-02-01", "amount": 1}),
                   api.call("PATCH", f"/orders/{made['id']}", "analyst", json={"status": "cancelled"}),
                   api.call("DELETE", f"/orders/{made['id']}", "analyst"),
                   api.post("/orders/bulk", "analyst", json=[{"external_id": f"n-{tag()}", "customer_ref": c["external_id"],
                                                             "amount": "1.00", "ordered_at": "2026-01-01"}])):
        assert answer.status_code == 403 and error_of(answer)["details"]["role"] == "analyst"
    listed = api.get("/orders", "analyst", params={"customer_id": c["id"]}).json()
    assert [o["id"] for o in listed["data"]] == [made["id"]] and listed["data"][0]["status"] == "paid"
    assert api.call("DELETE", f"/orders/{made['id']}").status_code == 204
    assert api.get(f"/orders/{made['id']}").status_code == 404
    assert api.get(f"/customers/{c['id']}").json()["order_count"] == 0


def test_list_by_customer_status_and_dates_page_by_page(api):
    c = customer(api)
    days = [f"2026-05-{d:02d}" for d in range(1, 8)]
    made = {d: order(api, customer_id=c["id"], ordered_at=d, amount=str(i + 1),
                     status="cancelled" if i == 2 else "paid")["id"] for i, d in enumerate(days)}
    seen, page = [], 1
    while True:
        body = api.get("/orders", params={"customer_id": c["id"], "per_page": 2, "page": page}).json()
        assert body["pagination"]["total"] == 7
        seen += [o["id"] for o in body["data"]]
        if not body["pagination"]["has_more"]:
            break
        page += 1
    assert page == 4 and seen == [made[d] for d in reversed(days)]  # newest first
    window = api.get("/orders", params={"customer_id": c["id"], "from": "2026-05-02", "to": "2026-05-04",
                                        "status": "paid", "sort": "amount", "order": "asc"}).json()
    assert [o["id"] for o in window["data"]] == [made["2026-05-02"], made["2026-05-04"]]
    assert [Decimal(o["amount"]) for o in window["data"]] == [Decimal(2), Decimal(4)]
    assert api.get("/orders", params={"status": "lost"}).status_code == 400
    assert api.get("/orders", params={"from": "May"}).status_code == 400


def test_bulk_csv_gives_the_same_rejects_as_the_dashboards_import(api, store, tmp_path):
    path = DATA / "bad_csv" / "unknown_status.csv"
    expected = run(store, tmp_path, "orders", path, commit=False)
    answer = api.post("/orders/bulk", data=path.read_bytes(), headers={"Content-Type": "text/csv"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["rejected"] == expected.counts["reject"] >= 1
    assert [(r["line"], r["reason"]) for r in body["rejects"]] == \
        list(zip(expected.rejects["line"], expected.rejects["reason"]))
    assert body["reasons"][0]["code"] == "unknown_status"


def test_bulk_json_orders_refer_to_customers_by_external_id(api):
    c, t = customer(api), tag()
    rows = [{"external_id": f"{t}-{n}", "customer_ref": c["external_id"], "ordered_at": f"2026-06-0{n + 1}",
             "amount": 10 + n, "status": "paid"} for n in range(3)]
    rows[1]["status"] = "teleported"
    answer = api.post("/orders/bulk", json=rows, params={"missing_customers": "reject"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["inserted"], body["rejected"]) == (2, 1)
    assert body["rejects"][0]["index"] == 1 and body["rejects"][0]["line"] == 3
    listed = api.get("/orders", params={"customer_id": c["id"]}).json()["data"]
    assert sorted(o["external_id"] for o in listed) == [f"{t}-0", f"{t}-2"]
    assert api.get(f"/customers/{c['id']}").json()["total_spend"] == "22.00"
