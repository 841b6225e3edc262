"""Server time of one keystroke in the segment editor: the whole app script rerun after a value change.

Runs the real app.py through Streamlit's AppTest (no browser: what is timed is the server's work for
one rerun — the script, the core queries, building the page), on a copy of a benchmark workspace,
with a 4-condition rule open in the editor. Each repeat changes the first condition's value, as a
user typing would. The baseline in the same run: the same rule evaluated the way typical mini-CRMs
do it, customers and orders loaded into Python objects and filtered in a loop (once, it is slow).

    .venv/bin/python bench/segment_editor.py --scale L --repeat 15
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RULE = {"match": "all", "negate": False, "rules": [
    {"field": "total_spend", "op": ">", "value": 500},
    {"field": "order_count", "op": ">=", "value": 2},
    {"match": "any", "negate": False, "rules": [
        {"field": "country", "op": "in", "value": ["United States", "Brazil"]},
        {"field": "days_since_last_order", "op": ">", "value": 90}]}]}
AS_OF = date(2026, 11, 1)


def _prepare(scale: str, work: Path) -> Path:
    source = ROOT / "bench" / "out" / scale / "crm.duckdb"
    if not source.exists():
        sys.exit(f"{source} is missing: build it first with bench/customers_page.py --scales {scale}")
    target = work / "crm.duckdb"
    shutil.copy(source, target)
    return target


def _app(db: Path, auth: Path):
    from streamlit.testing.v1 import AppTest

    os.environ.update({"CRM_DB_PATH": str(db), "CRM_AUTH_PATH": str(auth), "CRM_DEMO": "0"})
    from tests.ui.conftest import seed_session  # a real account and server-side session, as after a login

    at = seed_session(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), "bench", "admin")
    at.run()
    return at


def editor_reruns(db: Path, auth: Path, repeat: int) -> list[float]:
    """Seconds per rerun of the segments page after changing the first condition's value."""
    from crm_core.segments import facts
    from crm_core.segments.saved import save_segment
    from crm_core.store import open_store

    store = open_store(db)
    started = time.perf_counter()
    facts.refresh(store)  # what the app does in the background after a change; not part of a keystroke
    print(f"segment facts rebuilt in {time.perf_counter() - started:.1f} s", flush=True)
    segment_id = save_segment(store, "bench rule", RULE, as_of=AS_OF)
    at = _app(db, auth)
    at.query_params["segment"] = str(segment_id)
    at.switch_page("pages/segments.py").run()
    assert not at.exception, at.exception
    value = next(w for w in at.number_input if w.label == "Value 1")
    times = []
    for n in range(repeat + 1):
        value.set_value(500.0 + n)
        started = time.perf_counter()
        at.run()
        elapsed = time.perf_counter() - started
        assert not at.exception, at.exception
        value = next(w for w in at.number_input if w.label == "Value 1")
        if n:  # the first rerun warms caches
            times.append(elapsed)
    return times


def naive_baseline(db: Path) -> tuple[float, int]:
    """The rule over Python objects: load customers and orders, aggregate and filter in loops."""
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect(str(db), read_only=True)
    customers = [dict(zip(("id", "country"), r)) for r in con.sql("SELECT id, country FROM customers").fetchall()]
    stats: dict[int, dict] = {}
    for customer_id, ordered_at, amount, status in con.sql(
            "SELECT customer_id, ordered_at, amount, status FROM orders").fetchall():
        s = stats.setdefault(customer_id, {"spend": 0, "count": 0, "last": None})
        s["count"] += 1
        if status not in ("cancelled", "returned"):
            s["spend"] += amount
        if s["last"] is None or ordered_at > s["last"]:
            s["last"] = ordered_at
    con.close()
    matched = 0
    for c in customers:
        s = stats.get(c["id"], {"spend": 0, "count": 0, "last": None})
        recent = s["last"] is not None and (AS_OF - s["last"].date()).days > 90
        if s["spend"] > 500 and s["count"] >= 2 and (c["country"] in ("United States", "Brazil") or recent):
            matched += 1
    return time.perf_counter() - started, matched


def main() -> None:
    """Time editor reruns (and the naive baseline once) and print medians; write bench/out JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="L", choices=["S", "M", "L"])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = _prepare(args.scale, work)
        times = editor_reruns(db, work / "auth.yaml", args.repeat)
        from crm_core.store import close_all

        close_all()
        baseline = None if args.no_baseline else naive_baseline(db)
    median = statistics.median(times)
    result = {"date": date.today().isoformat(), "scale": args.scale, "python": platform.python_version(),
              "rerun_median_ms": round(median * 1000, 1), "rerun_max_ms": round(max(times) * 1000, 1),
              "repeat": len(times)}
    print(f"{args.scale}: editor rerun median {median * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
          f"over {len(times)} reruns (target <= 300 ms)")
    if baseline:
        seconds, matched = baseline
        result.update(baseline_s=round(seconds, 2), baseline_matched=matched,
                      ratio=round(seconds / median, 1))
        print(f"naive Python baseline: {seconds:.1f} s ({matched:,} customers) = {seconds / median:,.0f}x the rerun")
    out = ROOT / "bench" / "out" / "segment_editor.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
