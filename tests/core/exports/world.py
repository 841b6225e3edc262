"""A tiny hand-written shop for the export and backup tests: every value known, so expected rows are hand-picked."""
from __future__ import annotations

from datetime import datetime

from crm_core import stats
from crm_core.campaigns.lifecycle import launch_campaign
from crm_core.segments.saved import save_segment
from crm_core.store import Store
from tests.core.campaigns.shop import new_campaign

T = datetime(2026, 1, 1)
# id, name, email, city, country, created_at
CUSTOMERS = [
    (1, "Ana Lima", "ana@example.com", "Sao Paulo", "Brazil", datetime(2024, 1, 5, 10, 0)),
    (2, "=SUM(A1:A9)", "ben@example.com", "+Paris", "France", datetime(2024, 3, 31, 23, 30)),
    (3, "Chloé Martin", "@chloe@example.com", "Lyon", "France", datetime(2024, 4, 1, 0, 0)),
    (4, "Dan Ode", "dan@example.com", "-Austin", "United States", datetime(2025, 2, 10, 8, 0)),
    (5, "Eve Rocha", None, "Recife", "Brazil", datetime(2025, 6, 30, 12, 0)),
]
# id, customer_id, ordered_at, amount, currency, status
ORDERS = [
    (10, 1, datetime(2025, 1, 2, 9, 0), "100.00", "USD", "paid"),
    (11, 1, datetime(2025, 3, 1, 9, 0), "20.50", "EUR", "cancelled"),
    (12, 2, datetime(2025, 3, 15, 9, 0), "300.00", "EUR", "shipped"),
    (13, 3, datetime(2025, 3, 31, 23, 59), "45.25", "EUR", "paid"),
    (14, 4, datetime(2025, 4, 1, 0, 0), "75.00", "USD", "paid"),
    (15, 2, datetime(2025, 12, 24, 18, 0), "12.00", "EUR", "returned"),
]
# order_id, line_no, product_id, name, category, quantity, unit_price
ITEMS = [
    (10, 1, "P1", "Kettle", "Kitchen", 1, "60.00"),
    (10, 2, "P2", "Mug", "Kitchen", 2, "20.00"),
    (12, 1, "P3", "=cmd|' /C calc'!A0", "Garden", 3, "100.00"),
    (13, 1, "P4", "Gloves", "Garden", 1, "45.25"),
    (14, 1, "P5", "Lamp", "Living", 1, "75.00"),
]
FRANCE = {"match": "all", "negate": False, "rules": [{"field": "country", "op": "is", "value": "France"}]}
EVERYONE = {"match": "all", "negate": False, "rules": []}


def build(store: Store) -> dict[str, int]:
    """Write the shop, a saved segment 'France' and 'Everyone', and a launched campaign (one message failed)."""
    def work(cur) -> None:
        cur.executemany("INSERT INTO customers (id, external_id, name, email, phone, city, state, country, created_at, "
                        "updated_at, attributes) VALUES (?, NULL, ?, ?, NULL, ?, NULL, ?, ?, ?, '{}')",
                        [(*c, T) for c in CUSTOMERS])
        cur.executemany("INSERT INTO orders (id, external_id, customer_id, ordered_at, amount, currency, status, "
                        "source_import_id, created_at, updated_at) VALUES (?, NULL, ?, ?, ?, ?, ?, NULL, ?, ?)",
                        [(*o, T, T) for o in ORDERS])
        cur.executemany("INSERT INTO order_items VALUES (?, ?, ?, ?, ?, ?, ?)", ITEMS)
        stats.rebuild_all(cur)
        for name, past in (("customer_ids", 5), ("order_ids", 15)):
            cur.sql(f"SELECT max(nextval('{name}')) FROM range(?)", params=[past]).fetchall()
    store.write(work)
    france = save_segment(store, "France", FRANCE)
    everyone = save_segment(store, "Everyone", EVERYONE)
    campaign = new_campaign(store, everyone, name="Spring news")
    launch_campaign(store, campaign, "mia", datetime(2026, 3, 1, 9, 0))
    store.write(lambda cur: cur.execute("UPDATE messages SET status = 'failed', error = '=bounced' "
                                        "WHERE customer_id = 2"), data=False)
    return {"france": france, "everyone": everyone, "campaign": campaign}
