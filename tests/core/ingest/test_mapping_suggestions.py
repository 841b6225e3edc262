"""Mapping suggestions from header spellings, mapping checks, header signatures and saved mappings."""
from __future__ import annotations

import pytest

from crm_core.ingest.mapping import attribute_name, check_mapping, header_signature, normalize_header, suggest_mapping
from crm_core.ingest.saved_mappings import initial_mapping, save_mapping, saved_mapping
from crm_core.store import Store
from crm_core.validation import ValidationError

# (kind, header as users write it, expected target when the header is the file's only column)
SPELLINGS = [
    # customers
    ("customers", "email", "email"),
    ("customers", "Email Address", "email"),
    ("customers", "customerEmail", "email"),
    ("customers", "customer_email", "email"),
    ("customers", "E-mail", "email"),
    ("customers", "E-Mail Address", "email"),
    ("customers", "Total Spent", "attribute:total_spent"),
    ("customers", "Customer ID", "external_id"),
    ("customers", "CustomerID", "external_id"),
    ("customers", "customer_id", "external_id"),
    ("customers", "customer_unique_id", "external_id"),
    ("customers", "ID", "external_id"),
    ("customers", "Client ID", "external_id"),
    ("customers", "Legacy ID", "alias_id"),
    ("customers", "first_name", "first_name"),
    ("customers", "First Name", "first_name"),
    ("customers", "Last Name", "last_name"),
    ("customers", "surname", "last_name"),
    ("customers", "Full Name", "name"),
    ("customers", "Customer Name", "name"),
    ("customers", "Phone Number", "phone"),
    ("customers", "mobile", "phone"),
    ("customers", "Tel", "phone"),
    ("customers", "Signup Date", "created_at"),
    ("customers", "signup_date", "created_at"),
    ("customers", "Date Joined", "created_at"),
    ("customers", "customer_city", "city"),
    ("customers", "Town", "city"),
    ("customers", "Region", "state"),
    ("customers", "Country Code", "country"),
    ("customers", "Zip Code", "attribute:zip_code"),
    ("customers", "Last Order Date", "attribute:last_order_date"),
    # orders
    ("orders", "order_id", "external_id"),
    ("orders", "orderNumber", "external_id"),
    ("orders", "InvoiceNo", "external_id"),
    ("orders", "Invoice", "external_id"),
    ("orders", "InvoiceDate", "ordered_at"),
    ("orders", "Order Date", "ordered_at"),
    ("orders", "order_purchase_timestamp", "ordered_at"),
    ("orders", "date", "ordered_at"),
    ("orders", "payment_value", "amount"),
    ("orders", "Grand Total", "amount"),
    ("orders", "Price", "amount"),
    ("orders", "Customer ID", "customer_ref"),
    ("orders", "CustomerID", "customer_ref"),
    ("orders", "customer_unique_id", "customer_ref"),
    ("orders", "customerEmail", "customer_email"),
    ("orders", "Email", "customer_email"),
    ("orders", "order_status", "status"),
    ("orders", "Currency", "currency"),
    ("orders", "Description", "item_name"),
    ("orders", "StockCode", "item_product_id"),
    ("orders", "Country", "customer_country"),
    ("orders", "payment_type", ""),
    # items
    ("items", "order_id", "order_ref"),
    ("items", "InvoiceNo", "order_ref"),
    ("items", "order_item_id", "line_no"),
    ("items", "StockCode", "product_id"),
    ("items", "SKU", "product_id"),
    ("items", "Description", "name"),
    ("items", "Quantity", "quantity"),
    ("items", "Qty", "quantity"),
    ("items", "UnitPrice", "unit_price"),
    ("items", "Price", "unit_price"),
    ("items", "product_category_name", "category"),
    ("items", "freight_value", ""),
    # transactions (Online Retail and Online Retail II)
    ("transactions", "InvoiceNo", "order_ref"),
    ("transactions", "Invoice", "order_ref"),
    ("transactions", "StockCode", "product_id"),
    ("transactions", "Description", "name"),
    ("transactions", "Quantity", "quantity"),
    ("transactions", "InvoiceDate", "ordered_at"),
    ("transactions", "UnitPrice", "unit_price"),
    ("transactions", "Price", "unit_price"),
    ("transactions", "CustomerID", "customer_ref"),
    ("transactions", "Customer ID", "customer_ref"),
    ("transactions", "Country", "country"),
    ("transactions", "Email", "customer_email"),
]

# Whole headers: columns compete for fields, the best pairs win.
HEADERS = [
    ("customers", ["customer_id", "customer_unique_id", "customer_zip_code_prefix", "customer_city", "customer_state"],
     ["alias_id", "external_id", "attribute:customer_zip_code_prefix", "city", "state"]),
    ("customers", ["Customer ID", "Email", "First Name", "Last Name", "Mobile", "Signup Date", "Total Spent"],
     ["external_id", "email", "first_name", "last_name", "phone", "created_at", "attribute:total_spent"]),
    ("customers", ["ID", "Name", "E-mail", "Email Address"],
     ["external_id", "name", "email", "attribute:email_address"]),
    ("transactions", ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID",
                      "Country"],
     ["order_ref", "product_id", "name", "quantity", "ordered_at", "unit_price", "customer_ref", "country"]),
    ("transactions", ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID",
                      "Country"],
     ["order_ref", "product_id", "name", "quantity", "ordered_at", "unit_price", "customer_ref", "country"]),
    ("orders", ["order_id", "payment_sequential", "payment_type", "payment_installments", "payment_value"],
     ["external_id", "", "", "", "amount"]),
    ("orders", ["Order ID", "Customer ID", "Order Date", "Amount", "Total", "Status"],
     ["external_id", "customer_ref", "ordered_at", "amount", "", "status"]),
]


def test_the_table_is_large_enough() -> None:
    assert len(SPELLINGS) >= 40
    assert len({(k, h) for k, h, _ in SPELLINGS}) == len(SPELLINGS)


@pytest.mark.parametrize(("kind", "header", "expected"), SPELLINGS, ids=[f"{k}:{h}" for k, h, _ in SPELLINGS])
def test_header_spelling(kind: str, header: str, expected: str) -> None:
    assert suggest_mapping(kind, [header]) == {header: expected}


@pytest.mark.parametrize(("kind", "headers", "expected"), HEADERS, ids=[f"{k}:{h[0]}" for k, h, _ in HEADERS])
def test_whole_header(kind: str, headers: list[str], expected: list[str]) -> None:
    mapping = suggest_mapping(kind, headers)
    assert list(mapping) == headers
    assert list(mapping.values()) == expected
    assert check_mapping(kind, headers, mapping) == []


def test_normalized_headers_and_attribute_names() -> None:
    for header in ("customerEmail", "Customer_Email", "customer email", " CUSTOMER-EMAIL ", "\ufeffcustomer_email"):
        assert normalize_header(header) == "customer email"
    assert attribute_name("Total Spent") == "total_spent"
    assert attribute_name("lastOrderDate") == "last_order_date"
    assert attribute_name("2024 spend") == "col_2024_spend"
    assert suggest_mapping("customers", ["Notes", "notes"]) == {"Notes": "attribute:notes", "notes": ""}
    assert suggest_mapping("orders", ["Notes"]) == {"Notes": ""}  # attributes only come from customers files


def test_check_mapping_problems() -> None:
    headers = ["a", "b", "c"]
    problems = check_mapping("customers", headers, {"a": "email", "b": "email", "c": ""})
    assert problems == ["Columns 'a' and 'b' are both mapped to E-mail; keep one."]
    problems = check_mapping("customers", headers, {"a": "email", "b": "attribute:x", "c": "attribute:x"})
    assert len(problems) == 1 and "'b' and 'c' are both mapped" in problems[0]
    for bad in ("Bad Name", "1st", "_x", "x" * 64, ""):
        problems = check_mapping("customers", headers, {"a": "email", "b": f"attribute:{bad}"})
        assert len(problems) == 1 and f"attribute name '{bad}'" in problems[0], bad
    assert check_mapping("customers", headers, {"a": "email", "b": "attribute:" + "x" * 63}) == []
    problems = check_mapping("orders", headers, {"a": "external_id", "b": "attribute:notes", "c": "nope"})
    assert problems == ["Column 'b': custom attributes can only come from a customers file.",
                        "Column 'c': 'nope' is not a field of a orders file."]
    assert check_mapping("customers", headers, {"a": "name"}) == [
        "Map a column to Customer ID or E-mail: customers are matched on one of them."]
    assert check_mapping("customers", headers, {"a": "external_id"}) == []
    missing = check_mapping("transactions", headers, {"a": "order_ref"})
    assert [p.split(":")[0] for p in missing] == ["Map a column to Customer ID", "Map a column to Invoice date",
                                                  "Map a column to Quantity", "Map a column to Unit price"]
    assert check_mapping("items", headers, {"a": "order_ref"}) == [
        "Map a column to Unit price: it is required for a items file."]
    assert check_mapping("orders", headers, {}) == ["Map a column to Order ID: it is required for a orders file."]


def test_header_signature_is_stable() -> None:
    headers = ["Customer ID", "Email", "Name"]
    signature = header_signature("customers", headers)
    assert signature == header_signature("customers", tuple(headers)) == header_signature("customers", list(headers))
    assert len(signature) == 32 and int(signature, 16) >= 0
    # Pinned: saved mappings are found by this value, so it must not change between versions.
    assert signature == "5e241cec0ccfa8216bc47594a37b1289"
    others = {header_signature("orders", headers), header_signature("customers", ["Email", "Customer ID", "Name"]),
              header_signature("customers", ["Customer Id", "Email", "Name"]),
              header_signature("customers", ["Customer ID", "Email", "Name", "City"]),
              header_signature("customers", ["Customer ID", "Email"])}
    assert signature not in others and len(others) == 5


def test_saved_mapping_round_trip(store: Store) -> None:
    headers = ["Customer ID", "Email", "Notes", "Old Number"]
    suggested = suggest_mapping("customers", headers)
    assert suggested == {"Customer ID": "external_id", "Email": "email", "Notes": "attribute:notes",
                         "Old Number": "attribute:old_number"}
    assert saved_mapping(store, "customers", headers) is None
    assert initial_mapping(store, "customers", headers) == (suggested, False)
    chosen = {"Customer ID": "external_id", "Email": "email", "Notes": "", "Old Number": "alias_id"}
    save_mapping(store, "customers", headers, {**chosen, "Not in the header": "name"}, user="tester")
    assert saved_mapping(store, "customers", headers) == chosen
    # The saved mapping wins over the suggestions for the same header...
    assert initial_mapping(store, "customers", headers) == (chosen, True)
    # ...but not for another kind, another order, or a header with one more column.
    assert initial_mapping(store, "orders", headers) == (suggest_mapping("orders", headers), False)
    reordered = list(reversed(headers))
    assert initial_mapping(store, "customers", reordered) == (suggest_mapping("customers", reordered), False)
    longer = [*headers, "City"]
    assert initial_mapping(store, "customers", longer) == (suggest_mapping("customers", longer), False)
    # Saving again replaces the mapping.
    replaced = {**chosen, "Notes": "attribute:remarks"}
    save_mapping(store, "customers", headers, replaced)
    assert initial_mapping(store, "customers", headers) == (replaced, True)
    assert store.scalar("SELECT count(*) FROM saved_mappings") == 1


def test_a_broken_mapping_is_not_saved(store: Store) -> None:
    headers = ["a", "b"]
    with pytest.raises(ValidationError):
        save_mapping(store, "customers", headers, {"a": "email", "b": "email"})
    with pytest.raises(ValidationError):
        save_mapping(store, "customers", headers, {"a": "name"})
    assert saved_mapping(store, "customers", headers) is None
