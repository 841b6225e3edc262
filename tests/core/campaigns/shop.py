"""A seeded shop for the campaign tests: demo customers and orders, some without e-mail or phone, two
saved segments, a clock the tests move by hand, and a helper that runs delivery to the end."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from crm_core.campaigns.delivery import DeliveryWorker
from crm_core.campaigns.editing import CampaignInput, create_campaign
from crm_core.campaigns.vendor import pending_receipts
from crm_core.demo import load_demo
from crm_core.segments.saved import save_segment
from crm_core.store import Store

START = datetime(2026, 11, 2, 9, 0)
EVERYONE = {"match": "all", "negate": False, "rules": []}
BIG = {"match": "all", "negate": False, "rules": [{"field": "total_spend", "op": ">", "value": 500}]}


@dataclass
class Clock:
    """A clock that only moves when told to."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds)


def open_shop(store: Store, customers: int = 400, orders: int = 3_000) -> dict[str, int]:
    """Fill the store with seeded demo data, blank some addresses, and save two segments; returns their ids."""
    load_demo(store, customers, orders)
    store.write(lambda cur: cur.execute("UPDATE customers SET email = NULL WHERE id % 10 = 3"))
    store.write(lambda cur: cur.execute("UPDATE customers SET phone = '  ' WHERE id % 7 = 2"))
    return {"everyone": save_segment(store, "Everyone", EVERYONE),
            "big": save_segment(store, "Big spenders", BIG)}


def new_campaign(store: Store, segment_id: int | None, **changes) -> int:
    """A draft e-mail campaign to a segment (fields overridable)."""
    values = dict(name="Autumn sale", segment_id=segment_id, channel="email", subject="Hello {{ first_name }}",
                  template='Hi {{ first_name | default("there") }}, you spent {{ total_spend }} with us.',
                  throttle_per_second=0, vendor={"latency_min_seconds": 1, "latency_max_seconds": 30})
    values.update(changes)
    return create_campaign(store, CampaignInput(**values), user="mia")


def deliver_all(store: Store, clock: Clock, step: float = 1.0, limit: int = 5_000) -> DeliveryWorker:
    """Run worker passes, moving the clock `step` seconds each, until nothing is left to do."""
    worker = DeliveryWorker(store, clock)
    for _ in range(limit):
        worker.tick()
        if worker.idle() and not pending_receipts(store):
            return worker
        clock.advance(step)
    raise AssertionError("delivery did not finish")
