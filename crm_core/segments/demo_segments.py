"""A few saved segments for the demo workspace, so a first visit shows what segments can do."""
from __future__ import annotations

from crm_core.segments.saved import save_segment, segment_by_name
from crm_core.store import Store

_BIG_SPENDERS = {"match": "all", "negate": False, "rules": [{"field": "total_spend", "op": ">=", "value": 3000}]}
DEMO_SEGMENTS = (
    ("Big spenders", "Customers who spent 3,000 or more in all.", _BIG_SPENDERS),
    ("Lapsed repeat buyers", "Bought at least twice, but not in the last 90 days: a win-back audience.",
     {"match": "all", "negate": False, "rules": [
         {"field": "order_count", "op": ">=", "value": 2},
         {"field": "last_order_date", "op": "more_than_days_ago", "value": 90}]}),
    ("New this month", "Signed up in the last 30 days.",
     {"match": "all", "negate": False, "rules": [{"field": "signup_date", "op": "in_last_days", "value": 30}]}),
    ("Electronics fans in the US or Brazil", "Bought electronics and live in the United States or Brazil.",
     {"match": "all", "negate": False, "rules": [
         {"field": "bought_category", "op": "any_of", "value": ["Electronics"]},
         {"match": "any", "negate": False, "rules": [
             {"field": "country", "op": "is", "value": "United States"},
             {"field": "country", "op": "is", "value": "Brazil"}]}]}),
)


def add_demo_segments(store: Store, user: str = "demo") -> int:
    """Save the demo segments that do not exist yet (plus 'Big spenders at risk' using one of them)."""
    if store.scalar("SELECT count(*) FROM segments"):
        return 0
    for name, description, rules in DEMO_SEGMENTS:
        save_segment(store, name, rules, description, user=user)
    big = segment_by_name(store, "Big spenders").id
    save_segment(store, "Big spenders at risk", {"match": "all", "negate": False, "rules": [
        {"field": "segment", "op": "member_of", "value": big},
        {"field": "days_since_last_order", "op": ">", "value": 60}]},
        "Big spenders whose last order is more than 60 days old.", user=user)
    return len(DEMO_SEGMENTS) + 1
