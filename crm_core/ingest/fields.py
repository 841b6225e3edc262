"""The import field catalog: for each kind of file, the fields a column can fill, their types and header spellings.

This one registry drives the mapping suggestions, the mapping widgets, the parsing SQL, the required-field
checks and the descriptions shown to the user.
"""
from __future__ import annotations

from dataclasses import dataclass

KINDS = ("customers", "orders", "items", "transactions")
KIND_LABELS = {
    "customers": "Customers",
    "orders": "Orders",
    "items": "Order line items",
    "transactions": "Transactions (one row per line item)",
}
KIND_HELP = {
    "customers": "One row per customer: id and/or e-mail, name, contact details, location, anything else "
                 "as custom attributes. Customers are matched by id, then by e-mail.",
    "orders": "One row per order: order id, the customer's id or e-mail, date, amount, status. "
              "Payment files with several rows per order can add their amounts up.",
    "items": "One row per order line: order id, product, quantity, unit price. The orders must exist.",
    "transactions": "One row per line item of an invoice (like the Online Retail data set): invoice id, "
                    "customer id, product, quantity, unit price, date, country. Orders, items and new "
                    "customers are all derived; amount = quantity x unit price.",
}

# Field types: how a cell is parsed (see ingest/parse_sql.py).
TYPES = ("id", "text", "email", "phone", "datetime", "money", "integer", "status", "currency")

ATTRIBUTE_PREFIX = "attribute:"
IGNORE = ""


@dataclass(frozen=True)
class ImportField:
    """One target a column can be mapped to: key, label, type, whether required, header spellings."""

    key: str
    label: str
    type: str
    aliases: tuple[str, ...]
    required: bool = False
    help: str = ""


def _f(key: str, label: str, type_: str, aliases: str, required: bool = False, help: str = "") -> ImportField:
    return ImportField(key, label, type_, tuple(a.strip() for a in aliases.split("|") if a.strip()),
                       required, help)


# Aliases are written as lower-case words; headers are normalised the same way before matching
# (`customerEmail`, `Customer_Email` and `customer email` all become "customer email").
# Earlier aliases win over later ones.
_CUSTOMER_LOCATION = (
    _f("city", "City", "text", "city|town|customer city|billing city|shipping city|location|address city"),
    _f("state", "State / region", "text", "state|region|province|county|customer state|state code|billing state"),
    _f("country", "Country", "text", "country|country code|nation|customer country|billing country"),
)

FIELDS: dict[str, tuple[ImportField, ...]] = {
    "customers": (
        _f("external_id", "Customer ID", "id",
           "customer unique id|unique id|customer external id|external id|customer id|customer number|"
           "customer no|customer code|cust id|client id|contact id|member id|user id|account id|id",
           help="Your own id for the customer; customers are matched on it first."),
        _f("alias_id", "Other customer ID (alias)", "id",
           "legacy id|old id|other id|alias|alternate id|secondary id|customer id",
           help="A second id the same person is known by (for example a per-order customer id); "
                "orders that refer to it find the customer."),
        _f("email", "E-mail", "email",
           "email|e mail|email address|e mail address|mail|customer email|contact email|email id|emailaddress"),
        _f("name", "Full name", "text", "name|full name|customer name|contact name|client name|display name"),
        _f("first_name", "First name", "text", "first name|firstname|given name|fname|forename"),
        _f("last_name", "Last name", "text", "last name|lastname|surname|family name|lname"),
        _f("phone", "Phone", "phone",
           "phone|phone number|mobile|mobile number|telephone|tel|cell|cell phone|contact number|whatsapp"),
        *_CUSTOMER_LOCATION,
        _f("created_at", "Signed up", "datetime",
           "signup date|sign up date|signed up|signed up at|signup|created at|created|created date|"
           "registration date|registered at|registered|join date|joined|joined at|date joined|"
           "customer since|user created at|first seen"),
    ),
    "orders": (
        _f("external_id", "Order ID", "id",
           "order id|order external id|order number|order no|order ref|order reference|invoice|invoice no|"
           "invoice number|invoice id|transaction id|receipt id|id", required=True,
           help="Orders are matched on it: a second import with the same id updates the order."),
        _f("customer_ref", "Customer ID", "id",
           "customer id|customer external id|customer unique id|cust id|customer number|customer no|"
           "client id|user id|buyer id|account id|customer"),
        _f("customer_email", "Customer e-mail", "email",
           "customer email|email|buyer email|e mail|email address|user email|customer mail"),
        _f("ordered_at", "Order date", "datetime",
           "order date|ordered at|order purchase timestamp|purchase timestamp|purchase date|order time|"
           "order timestamp|invoice date|order created at|created at|placed at|transaction date|date|"
           "timestamp|datetime"),
        _f("amount", "Amount", "money",
           "amount|order amount|total|order total|total amount|amount total|grand total|payment value|"
           "payment amount|order value|value|revenue|sales|total price|price|subtotal|net amount"),
        _f("currency", "Currency", "currency", "currency|currency code|curr|ccy"),
        _f("status", "Status", "status", "status|order status|fulfillment status|fulfilment status|state of order"),
        _f("customer_name", "Customer name", "text", "customer name|name|buyer name|full name|client name"),
        _f("customer_city", "Customer city", "text", "customer city|city|shipping city|billing city"),
        _f("customer_state", "Customer state", "text", "customer state|shipping state|billing state|region"),
        _f("customer_country", "Customer country", "text", "customer country|country|shipping country"),
        _f("item_product_id", "Product ID (single item)", "id", "product id|sku|stock code|item id|product code"),
        _f("item_name", "Product name (single item)", "text",
           "item name|product name|items|item|product|description|product title"),
        _f("item_category", "Product category (single item)", "text", "category|product category|item category"),
    ),
    "items": (
        _f("order_ref", "Order ID", "id",
           "order id|order external id|order number|order no|invoice|invoice no|invoice number|order ref",
           required=True),
        _f("line_no", "Line number", "integer",
           "order item id|line no|line number|line|item number|item no|position|line item id|seq"),
        _f("product_id", "Product ID", "id", "product id|sku|stock code|item id|product code|article id"),
        _f("name", "Product name", "text", "product name|item name|description|name|product|title|item"),
        _f("category", "Category", "text", "category|product category|product category name|item category"),
        _f("quantity", "Quantity", "integer", "quantity|qty|units|count|quantity ordered|amount of items"),
        _f("unit_price", "Unit price", "money",
           "unit price|price|item price|price each|unit cost|price per unit|sale price", required=True),
    ),
    "transactions": (
        _f("order_ref", "Invoice / order ID", "id",
           "invoice|invoice no|invoice number|invoice id|order id|order number|order no|transaction id|"
           "receipt id|receipt no|basket id", required=True),
        _f("customer_ref", "Customer ID", "id",
           "customer id|customer|cust id|customer number|customer no|client id|user id|member id",
           required=True),
        _f("customer_email", "Customer e-mail", "email", "customer email|email|e mail|email address"),
        _f("customer_name", "Customer name", "text", "customer name|name|full name|client name"),
        _f("ordered_at", "Invoice date", "datetime",
           "invoice date|order date|transaction date|purchase date|date|timestamp|datetime|created at",
           required=True),
        _f("product_id", "Product ID", "id", "stock code|stockcode|product id|sku|item code|product code|item id"),
        _f("name", "Product name", "text", "description|product name|item name|product|item|title"),
        _f("category", "Category", "text", "category|product category|item category"),
        _f("quantity", "Quantity", "integer", "quantity|qty|units", required=True),
        _f("unit_price", "Unit price", "money", "unit price|price|price each|item price|unit cost",
           required=True),
        _f("currency", "Currency", "currency", "currency|currency code"),
        *_CUSTOMER_LOCATION,
    ),
}


def fields(kind: str) -> tuple[ImportField, ...]:
    """The target fields of one kind of file."""
    if kind not in FIELDS:
        raise ValueError(f"unknown import kind '{kind}' (expected one of {', '.join(KINDS)})")
    return FIELDS[kind]


def field(kind: str, key: str) -> ImportField:
    """One target field by key."""
    for item in fields(kind):
        if item.key == key:
            return item
    raise KeyError(f"{kind} has no field '{key}'")


def allows_attributes(kind: str) -> bool:
    """Whether columns of this kind can become custom customer attributes."""
    return kind == "customers"


def target_label(kind: str, target: str) -> str:
    """A mapping target in words: a field label, 'Custom attribute: x' or 'Ignore'."""
    if target == IGNORE:
        return "Ignore"
    if target.startswith(ATTRIBUTE_PREFIX):
        return f"Custom attribute: {target[len(ATTRIBUTE_PREFIX):]}"
    return field(kind, target).label
