"""Segment facts: derived, read-optimised copies of the data that segment previews read instead of joins.

- `customer_facts`: one row per customer, in id order: the profile columns rules use, customer_stats'
  figures and, per item field, a bit for each value the customer bought. A rule mixing profile and order
  figures, or asking for a category bought, scans this one table.
- `customer_days`: one row per customer and order day, in day order, with the customer's previous order
  day (0001-01-01 before the first) and the revenue and orders from that day to their last order. "Spend
  in the last N days" (from day D on) is the one row per customer with prev_day < D <= day: no grouping
  of raw orders per preview. `customer_recent_days` repeats the rows of the last 92 days for the
  windows that fit in them.
- `facts_values` (every value bought, lower-cased, with its bit when the field has at most 128 values)
  and `customer_items` (value, customer) pairs, sorted by value, for a field with more values.

Exactness: the facts are rebuilt whole in one transaction, stamped with the data version they were read
at, and offered to the compiler (through the catalog) only while that equals the workspace's current data
version, which every write that may change customers, orders or items bumps in its own transaction
(Store.write). The compiler uses them only when no order is after the as-of date: `customer_days` sums
from a day to the customer's last order. A rebuild runs in a background thread where the app asks for it
(`keep_fresh`); meanwhile previews read the live tables, as before.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import duckdb

from crm_core.stats import REVENUE_CONDITION
from crm_core.store import Store

log = logging.getLogger(__name__)

MAX_BITS = 128  # values of an item field that get a bit in customer_facts (UHUGEINT)
RECENT_DAYS = 92  # customer_recent_days: the order days from 92 days before the last one (windows up to 3 months)
BITS_COLUMNS = {"category": "category_bits", "product_id": "product_bits"}  # item column -> facts column


@dataclass(frozen=True)
class FactsState:
    """Facts that match the current data: the version they were built from, the customer count, the bit fields."""

    version: int
    customers: int
    bits: frozenset[str]  # item columns whose values have a bit in customer_facts (the others: customer_items)
    day_customers: int = 0  # customers in customer_days: at most that many rows hold any one day's window
    recent_from: date | None = None  # customer_recent_days holds the rows of customer_days from this day on


_STATES: "weakref.WeakKeyDictionary[Store, FactsState]" = weakref.WeakKeyDictionary()  # last read or built


def _read_state(store: Store) -> FactsState:
    version, customers, category, product, day_customers, recent_from = store.rows(
        "SELECT data_version, customers, category_bits, product_bits, day_customers, recent_from FROM facts_state")[0]
    bits = frozenset(k for k, on in (("category", category), ("product_id", product)) if on)
    return FactsState(int(version), int(customers), bits, int(day_customers), recent_from)


def current(store: Store, data_version: int | None = None) -> FactsState | None:
    """The facts when they were built from the current data version (no query while they are), else None."""
    data = store.versions()[1] if data_version is None else data_version
    state = _STATES.get(store)
    if state is None or state.version != data:
        state = _STATES[store] = _read_state(store)
    return state if state.version == data else None


# -- the rebuild ------------------------------------------------------------------------------------
_BOUGHT = f"""CREATE TEMP TABLE facts_bought AS
SELECT o.customer_id, lower(i.category) AS category, lower(i.product_id) AS product_id
FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.{REVENUE_CONDITION}"""

_VALUES = """INSERT INTO facts_values
SELECT kind, value, CASE WHEN count(*) OVER (PARTITION BY kind) <= $max_bits
                         THEN 1::UHUGEINT << (row_number() OVER (PARTITION BY kind ORDER BY value) - 1)::UHUGEINT END
FROM (SELECT DISTINCT 'category' AS kind, category AS value FROM facts_bought WHERE category IS NOT NULL
      UNION ALL
      SELECT DISTINCT 'product_id', product_id FROM facts_bought WHERE product_id IS NOT NULL)"""

_BITS = """CREATE TEMP TABLE facts_bits AS
SELECT b.customer_id, coalesce(bit_or(vc.mask), 0::UHUGEINT) AS category_bits,
       coalesce(bit_or(vp.mask), 0::UHUGEINT) AS product_bits
FROM facts_bought b
LEFT JOIN facts_values vc ON vc.kind = 'category' AND vc.value = b.category
LEFT JOIN facts_values vp ON vp.kind = 'product_id' AND vp.value = b.product_id
GROUP BY b.customer_id"""

_PAIRS = """INSERT INTO customer_items
SELECT DISTINCT 'category', category, customer_id FROM facts_bought
WHERE category IS NOT NULL AND NOT $category_bits
UNION ALL
SELECT DISTINCT 'product_id', product_id, customer_id FROM facts_bought
WHERE product_id IS NOT NULL AND NOT $product_bits
ORDER BY 1, 2, 3"""

_CUSTOMERS = """INSERT INTO customer_facts
SELECT c.id, c.external_id, c.name, c.email, c.phone, c.city, c.state, c.country, c.created_at, c.attributes,
       coalesce(s.total_spend, 0), coalesce(s.order_count, 0), s.revenue_order_count, s.avg_order_value,
       s.first_order_at, s.last_order_at,
       coalesce(b.category_bits, 0::UHUGEINT), coalesce(b.product_bits, 0::UHUGEINT)
FROM customers c
LEFT JOIN customer_stats s ON s.customer_id = c.id
LEFT JOIN facts_bits b ON b.customer_id = c.id
ORDER BY c.id"""

# Per customer and day: the previous order day, and revenue and orders from that day on (the same sums as the
# live window: revenue leaves cancelled and returned orders out, orders counts them all).
_DAYS = f"""INSERT INTO customer_days
WITH per_day AS (
    SELECT customer_id, ordered_at::DATE AS day, sum(amount) FILTER (WHERE {REVENUE_CONDITION}) AS spend,
           count(*) AS orders
    FROM orders GROUP BY customer_id, day)
SELECT customer_id, day, coalesce(lead(day) OVER later, DATE '0001-01-01') AS prev_day,
       coalesce(sum(spend) OVER (later ROWS UNBOUNDED PRECEDING), 0)::DECIMAL(18,2),
       (sum(orders) OVER (later ROWS UNBOUNDED PRECEDING))::INTEGER
FROM per_day
WINDOW later AS (PARTITION BY customer_id ORDER BY day DESC)
ORDER BY day, customer_id"""


def _build(cur: duckdb.DuckDBPyConnection, token: str) -> FactsState:
    started = time.perf_counter()
    version = int(cur.sql("SELECT value FROM workspace_meta WHERE key = 'data_version'").fetchall()[0][0])
    for table in ("customer_facts", "customer_days", "customer_recent_days", "facts_values", "customer_items"):
        cur.execute(f"DELETE FROM {table}")
    cur.execute(_BOUGHT)
    cur.execute(_VALUES, {"max_bits": min(MAX_BITS, 128)})
    bits = {kind for (kind,) in cur.sql("SELECT DISTINCT kind FROM facts_values WHERE mask IS NOT NULL").fetchall()}
    bits |= set(BITS_COLUMNS) - {k for (k,) in cur.sql("SELECT DISTINCT kind FROM facts_values").fetchall()}
    cur.execute(_BITS)
    cur.execute(_PAIRS, {"category_bits": "category" in bits, "product_bits": "product_id" in bits})
    cur.execute(_CUSTOMERS)
    cur.execute(_DAYS)
    last_day = cur.sql("SELECT max(day) FROM customer_days").fetchall()[0][0]
    recent_from = None if last_day is None else last_day - timedelta(days=RECENT_DAYS)
    cur.execute("INSERT INTO customer_recent_days SELECT * FROM customer_days WHERE day >= ? ORDER BY day, customer_id",
                [recent_from])
    cur.execute("DROP TABLE facts_bought")
    cur.execute("DROP TABLE facts_bits")
    customers, day_customers = cur.sql("SELECT (SELECT count(*) FROM customer_facts), "
                                       "(SELECT count(DISTINCT customer_id) FROM customer_days)").fetchall()[0]
    cur.execute("UPDATE facts_state SET data_version = ?, customers = ?, day_customers = ?, recent_from = ?, "
                "category_bits = ?, product_bits = ?, built_at = ?, seconds = ?, token = ?",
                [version, customers, day_customers, recent_from, "category" in bits, "product_id" in bits,
                 datetime.now(timezone.utc).replace(tzinfo=None), time.perf_counter() - started, token])
    return FactsState(version, int(customers), frozenset(bits), int(day_customers), recent_from)


class FactsError(RuntimeError):
    """The facts could not be rebuilt (the previews keep reading the live tables)."""


def rebuild(store: Store) -> FactsState:
    """Rebuild every fact table from the current data in one transaction; return the new state."""
    keeper = _keeper(store)
    with keeper.lock:
        token = uuid.uuid4().hex
        with store.cursor() as cur:
            keeper.cursor = cur
            try:
                cur.begin()
                state = _build(cur, token)
                cur.commit()
            except BaseException:
                try:
                    cur.rollback()
                except duckdb.Error:
                    pass
                raise
            finally:
                keeper.cursor = None
        if store.scalar("SELECT token FROM facts_state") != token:  # a discarded commit (DESIGN.md, DuckDB traps)
            raise FactsError("the rebuilt segment facts were not saved")
        _STATES[store] = state
        return state


def refresh(store: Store) -> FactsState:
    """The facts, rebuilt first if they do not match the current data."""
    return current(store) or rebuild(store)


# -- keeping them fresh in the background ------------------------------------------------------------
class _Keeper:
    """One workspace's rebuild lock and background thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # one rebuild at a time
        self.guard = threading.Lock()
        self.background = False
        self.closing = False
        self.thread: threading.Thread | None = None
        self.cursor: duckdb.DuckDBPyConnection | None = None

    def stop(self) -> None:
        """Stop background work before the Store closes: interrupt a running rebuild and wait for it."""
        with self.guard:
            self.closing = True
            thread, cursor = self.thread, self.cursor
        if thread is not None and thread.is_alive():
            if cursor is not None:
                try:
                    cursor.interrupt()
                except duckdb.Error:
                    pass
            thread.join(timeout=60)


_KEEPERS: "weakref.WeakKeyDictionary[Store, _Keeper]" = weakref.WeakKeyDictionary()
_KEEPERS_GUARD = threading.Lock()


def _keeper(store: Store) -> _Keeper:
    with _KEEPERS_GUARD:
        keeper = _KEEPERS.get(store)
        if keeper is None:
            keeper = _KEEPERS[store] = _Keeper()
            store.on_close(keeper.stop)
        return keeper


def keep_fresh(store: Store) -> None:
    """Rebuild this workspace's facts in a background thread whenever they are found out of date (the app's Store)."""
    _keeper(store).background = True
    if current(store) is None:
        request(store)


def request(store: Store) -> bool:
    """Start a background rebuild if this Store keeps its facts fresh and none is running; True when one started."""
    keeper = _KEEPERS.get(store)
    if keeper is None or not keeper.background:
        return False
    with keeper.guard:
        if keeper.closing or (keeper.thread is not None and keeper.thread.is_alive()):
            return False
        keeper.thread = threading.Thread(target=_rebuild_quietly, args=(store,), name="segment-facts", daemon=True)
        keeper.thread.start()
        return True


def wait(store: Store, timeout: float | None = None) -> None:
    """Wait for this Store's background rebuild, if one is running (tests, benchmarks)."""
    keeper = _KEEPERS.get(store)
    thread = keeper.thread if keeper else None
    if thread is not None:
        thread.join(timeout)


def _rebuild_quietly(store: Store) -> None:
    try:
        refresh(store)
    except Exception:  # noqa: BLE001 - a background rebuild must never take the app down; previews fall back
        if not _keeper(store).closing:
            log.exception("rebuilding the segment facts failed")
