"""Seeded, realistic demo data: customers, orders with line items, and loading it into a workspace."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from crm_core import stats
from crm_core.demo_catalog import EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, MONTH_WEIGHTS, PLACES, PRODUCTS
from crm_core.store import Store
from crm_core.validation import utc_now

DEFAULT_SEED = 20_17
SIGNUP_SPAN_DAYS = 730
NO_ORDER_SHARE = 0.15
STATUS_OLD = (("delivered", 0.86), ("cancelled", 0.08), ("returned", 0.06))
STATUS_RECENT = (("pending", 0.2), ("paid", 0.3), ("shipped", 0.35), ("delivered", 0.1), ("cancelled", 0.05))


@dataclass(frozen=True)
class DemoData:
    """Generated tables: customers, orders (amounts in cents) and order items (prices in cents)."""

    customers: pl.DataFrame
    orders: pl.DataFrame
    items: pl.DataFrame | None


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _pick(rng: np.random.Generator, table: tuple, n: int) -> np.ndarray:
    labels, weights = zip(*table)
    p = np.array(weights, dtype=float)
    return np.array(labels, dtype=object)[rng.choice(len(labels), size=n, p=p / p.sum())]


def _customers(rng: np.random.Generator, n: int, anchor: datetime) -> pl.DataFrame:
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    first_names = np.array(FIRST_NAMES, dtype=object)[first]
    last_names = np.array(LAST_NAMES, dtype=object)[last]
    slug_first = np.array([_ascii(x) for x in FIRST_NAMES], dtype=object)[first]
    slug_last = np.array([_ascii(x) for x in LAST_NAMES], dtype=object)[last]
    ids = np.arange(1, n + 1)
    country_w = np.array([p[2] for p in PLACES])
    country_idx = rng.choice(len(PLACES), size=n, p=country_w / country_w.sum())
    city_pick = rng.random(n)
    place_rows = [(p[0], p[1], c, s) for p in PLACES for (c, s) in p[3]]
    offsets = np.cumsum([0] + [len(p[3]) for p in PLACES])
    sizes = np.array([len(p[3]) for p in PLACES])
    flat = offsets[country_idx] + np.minimum((city_pick * sizes[country_idx]).astype(int), sizes[country_idx] - 1)
    place = np.array(place_rows, dtype=object)[flat]
    countries, phones_cc, cities, states = place[:, 0], place[:, 1], place[:, 2], place[:, 3]
    digits = rng.integers(0, 10**10, n)
    has_phone = rng.random(n) > 0.12
    domains = np.array(EMAIL_DOMAINS, dtype=object)[rng.integers(0, len(EMAIL_DOMAINS), n)]
    signup_seconds = rng.integers(0, SIGNUP_SPAN_DAYS * 86400, n)
    frame = pl.DataFrame({
        "id": ids,
        "first": first_names.astype(str), "last": last_names.astype(str),
        "slug": (slug_first + "." + slug_last).astype(str), "domain": domains.astype(str),
        "digits": digits, "cc": phones_cc.astype(str), "has_phone": has_phone,
        "city": cities.astype(str), "state": states.astype(str), "country": countries.astype(str),
        "created_at": (np.datetime64(anchor, "us") - signup_seconds.astype("timedelta64[s]")).astype("datetime64[us]"),
    })
    padded = pl.col("digits").cast(pl.String).str.zfill(10)
    return frame.select(
        "id",
        pl.format("C{}", pl.col("id").cast(pl.String).str.zfill(7)).alias("external_id"),
        pl.format("{} {}", "first", "last").alias("name"),
        pl.format("{}{}@{}", "slug", "id", "domain").alias("email"),
        pl.when("has_phone").then(pl.format("+{} {} {} {}", "cc", padded.str.slice(0, 3),
                                             padded.str.slice(3, 3), padded.str.slice(6, 4))).alias("phone"),
        "city", "state", "country", "created_at",
    )


def _order_times(rng: np.random.Generator, signup: np.ndarray, anchor: datetime) -> np.ndarray:
    """Order times between each customer's signup and the anchor, weighted by month (seasonality)."""
    anchor_s = np.datetime64(anchor, "s")
    span = (anchor_s - signup).astype("int64")
    out = np.empty(len(signup), dtype="datetime64[s]")
    todo = np.arange(len(signup))
    weights = np.array(MONTH_WEIGHTS) / max(MONTH_WEIGHTS)
    for _ in range(60):
        if todo.size == 0:
            break
        cand = signup[todo] + (rng.random(todo.size) * span[todo]).astype("timedelta64[s]")
        months = cand.astype("datetime64[M]").astype(int) % 12
        keep = rng.random(todo.size) < weights[months]
        out[todo[keep]] = cand[keep]
        todo = todo[~keep]
    out[todo] = signup[todo] + (span[todo] // 2).astype("timedelta64[s]")
    return out


def generate(customers: int, orders: int, seed: int = DEFAULT_SEED, anchor: datetime | None = None,
             with_items: bool = True) -> DemoData:
    """Generate `customers` people and `orders` orders, reproducibly for a given seed and anchor."""
    if customers < 1 or orders < 0:
        raise ValueError("the demo needs at least 1 customer and 0 or more orders")
    rng = np.random.default_rng(seed)
    anchor = (anchor or utc_now()).replace(microsecond=0)
    cust = _customers(rng, customers, anchor)
    buyers = np.flatnonzero(rng.random(customers) >= NO_ORDER_SHARE)
    if buyers.size == 0:
        buyers = np.arange(customers)
    appetite = rng.lognormal(0.0, 1.1, buyers.size)  # a long tail of heavy buyers
    tenure = (np.datetime64(anchor, "s") - cust["created_at"].to_numpy().astype("datetime64[s]")[buyers])
    appetite *= 0.02 + tenure.astype("int64") / (SIGNUP_SPAN_DAYS * 86400)  # new signups have had less time
    who = buyers[rng.choice(buyers.size, size=orders, p=appetite / appetite.sum())]
    signup = cust["created_at"].to_numpy().astype("datetime64[s]")[who]
    when = _order_times(rng, signup, anchor)
    recent = when > np.datetime64(anchor - timedelta(days=21), "s")
    status = np.where(recent, _pick(rng, STATUS_RECENT, orders), _pick(rng, STATUS_OLD, orders))
    order_ids = np.arange(1, orders + 1)
    lines = rng.choice([1, 2, 3, 4], size=orders, p=[0.55, 0.25, 0.12, 0.08])
    item_order = np.repeat(order_ids, lines)
    product = rng.integers(0, len(PRODUCTS), item_order.size)
    qty = rng.choice([1, 2, 3], size=item_order.size, p=[0.8, 0.15, 0.05])
    price = np.array([p[3] for p in PRODUCTS])[product]
    line_cents = qty * price
    amount = np.bincount(item_order, weights=line_cents, minlength=orders + 1)[1:].astype(np.int64)
    order_frame = pl.DataFrame({
        "id": order_ids,
        "customer_id": cust["id"].to_numpy()[who],
        "ordered_at": when.astype("datetime64[us]"),
        "amount_cents": amount,
        "currency": "USD",
        "status": status.astype(str),
    })
    order_frame = order_frame.with_columns(
        pl.format("ORD-{}", pl.col("id").cast(pl.String).str.zfill(8)).alias("external_id")
    ).select("id", "external_id", "customer_id", "ordered_at", "amount_cents", "currency", "status")
    items = None
    if with_items:
        line_no = np.arange(item_order.size) - np.repeat(np.cumsum(lines) - lines, lines) + 1
        items = pl.DataFrame({
            "order_id": item_order, "line_no": line_no.astype(np.int32),
            "product_id": np.array([p[0] for p in PRODUCTS])[product],
            "name": np.array([p[1] for p in PRODUCTS])[product],
            "category": np.array([p[2] for p in PRODUCTS])[product],
            "quantity": qty.astype(np.int32), "unit_price_cents": price.astype(np.int64),
        })
    return DemoData(cust, order_frame, items)


# Everything that describes customers and orders; saved column mappings are settings and stay.
RESET_TABLES = (
    "order_items", "orders", "customer_stats", "customers", "customer_aliases", "custom_attributes",
    "import_rejects", "customer_snapshots", "order_snapshots", "item_snapshots", "created_customers", "created_orders",
    "created_items", "imports", "simulated_orders",
)


def load_demo(store: Store, customers: int, orders: int, seed: int = DEFAULT_SEED,
              anchor: datetime | None = None) -> dict[str, int]:
    """Replace the workspace's customers and orders with generated demo data, atomically."""
    data = generate(customers, orders, seed=seed, anchor=anchor)
    now = utc_now()
    cents = "(({})::DECIMAL(18,2) * 0.01::DECIMAL(3,2))::DECIMAL(18,2)"

    def work(cur) -> dict[str, int]:
        for table in RESET_TABLES:
            cur.execute(f"DELETE FROM {table}")
        cur.register("demo_customers", data.customers)
        cur.register("demo_orders", data.orders)
        cur.register("demo_items", data.items)
        cur.execute(
            "INSERT INTO customers SELECT id, external_id, name, email, phone, city, state, country, "
            "created_at, created_at, '{}' FROM demo_customers"
        )
        cur.execute(
            "INSERT INTO orders SELECT id, external_id, customer_id, ordered_at, "
            f"{cents.format('amount_cents')}, currency, status, NULL, ordered_at, ? FROM demo_orders", [now]
        )
        cur.execute(
            "INSERT INTO order_items SELECT order_id, line_no, product_id, name, category, quantity, "
            f"{cents.format('unit_price_cents')} FROM demo_items"
        )
        stats.rebuild_all(cur)
        _reset_sequences(cur, customers + 1, orders + 1)
        cur.execute("INSERT OR REPLACE INTO workspace_meta VALUES ('demo_seed', ?)", [str(seed)])
        return {"customers": customers, "orders": orders, "items": data.items.height}

    return store.write(work)


def _reset_sequences(cur, next_customer: int, next_order: int) -> None:
    """Move id sequences past the generated ids so new records never collide."""
    for name, start in (("customer_ids", next_customer), ("order_ids", next_order)):
        current = cur.sql(f"SELECT nextval('{name}')").fetchall()[0][0]
        if current < start - 1:
            cur.sql(f"SELECT max(nextval('{name}')) FROM range(?)", params=[int(start - current - 1)]).fetchall()
