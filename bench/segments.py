"""Time segment previews and waterfalls (crm_core.segments.preview) at several data scales.

    python bench/segments.py --scales S M L [--repeat 15]

Each scale is measured on a private copy of bench/out/<scale>/crm.duckdb (built first by
bench/customers_page.py's build stage when missing; the original is never opened, and the copy is
migrated to the current schema by opening it with crm_core.store.Store). The copy goes to --work-dir
(default: the system temporary directory) and is deleted afterwards.

Before timing, the segment facts (crm_core.segments.facts) are rebuilt, as the app does in the background after
a change, and the time it took is printed; --live leaves them unbuilt (previews read the live tables).

Per rule: the first call (cold), then min/median/p90 of --repeat calls of `preview` (count + share +
20-row sample + English, the catalog loaded by the call) after --warmup untimed calls, and the
median time per call of each query it sends (catalog, count + sample ids, total, sample rows).
Waterfalls are timed the same way. In the same process, afterwards: the naive baseline the way
typical mini-CRMs evaluate a rule -- load customers and orders (and, for product rules, line items)
into Python objects and filter them in a loop -- whose counts must equal preview's. At L the
baseline runs once (it takes minutes and several GB).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

from crm_core.segments import facts  # noqa: E402
from crm_core.segments import preview as preview_module  # noqa: E402
from crm_core.segments.catalog import load_catalog  # noqa: E402
from crm_core.segments.foreign import import_rules  # noqa: E402
from crm_core.segments.preview import preview, waterfall  # noqa: E402
from crm_core.segments.rules import to_json  # noqa: E402
from crm_core.stats import NON_REVENUE_STATUSES  # noqa: E402
from crm_core.store import Store  # noqa: E402
from customers_page import OtherCpu, peak_rss_mb, summary, timed, workspace_matches, workspace_path  # noqa: E402
from generate import ANCHOR, DEFAULT_SEED, OUT_ROOT, SCALES  # noqa: E402

AS_OF = ANCHOR.date()  # the generated data ends the day before: "today" for it
PREVIEW_TARGET_MS, WATERFALL_TARGET_MS, TARGET_SCALE = 25.0, 150.0, "L"
SAMPLE = 20


def _c(field: str, op: str, value: Any = None, days: int | None = None) -> dict:
    out: dict[str, Any] = {"field": field, "op": op}
    if days is not None:
        out["days"] = days
    if value is not None:
        out["value"] = value
    return out


def _g(match: str, *rules, negate: bool = False) -> dict:
    return {"match": match, "negate": negate, "rules": list(rules)}


# name -> (description, rule in canonical JSON or a foreign format, reads raw orders?)
PREVIEW_RULES: dict[str, tuple[str, Any, bool]] = {
    "spend": ("total spend > 1,000", _g("all", _c("total_spend", ">", 1000)), False),
    "issue_groups": ("the issue's groups example: (spend > 10,000 and state CA) or orders >= 5 (foreign format)",
                     {"groups": [{"conditions": [{"field": "totalSpend", "operator": "greaterThan", "value": 10000},
                                                 {"field": "state", "operator": "equals", "value": "CA"}]},
                                 {"conditions": [{"field": "orderCount", "operator": "greaterThanOrEqual",
                                                  "value": 5}]}]}, False),
    "inactive_90": ("last order more than 90 days ago", _g("all", _c("last_order_date", "more_than_days_ago", 90)),
                    False),
    "profile_text": ("country United States and name contains 'son'",
                     _g("all", _c("country", "is", "United States"), _c("name", "contains", "son")), False),
    "nested": ("(spend > 500 and orders >= 3) or (state in CA/NY/TX and not ordered in the last 30 days)",
               _g("any", _g("all", _c("total_spend", ">", 500), _c("order_count", ">=", 3)),
                  _g("all", _c("state", "in", ["CA", "NY", "TX"]),
                     _g("all", _c("last_order_date", "in_last_days", 30), negate=True))), False),
    "window_30d": ("spend in the last 30 days > 100 (raw orders)", _g("all", _c("spend_last_days", ">", 100, days=30)),
                   True),
    "category": ("bought in Electronics and spend > 1,000 (raw orders + items)",
                 _g("all", _c("bought_category", "any_of", ["Electronics"]), _c("total_spend", ">", 1000)), True),
}
STATS_RULES = tuple(name for name, (_, _, raw) in PREVIEW_RULES.items() if not raw)
WATERFALL_RULES: dict[str, tuple[str, Any]] = {
    "four_conditions": ("country US, spend > 500, orders >= 3, last order in the last 90 days",
                        _g("all", _c("country", "is", "United States"), _c("total_spend", ">", 500),
                           _c("order_count", ">=", 3), _c("last_order_date", "in_last_days", 90))),
    "four_with_window": ("country US, spend > 500, orders >= 3, spend in the last 90 days > 50 (raw orders)",
                         _g("all", _c("country", "is", "United States"), _c("total_spend", ">", 500),
                            _c("order_count", ">=", 3), _c("spend_last_days", ">", 50, days=90))),
}
TARGET_WATERFALL = "four_conditions"


# -- where the time goes ----------------------------------------------------------------------------
def _kind(sql: str) -> str:
    if "custom_attributes" in sql or "FROM segments" in sql:
        return "catalog"
    if "unnest($ids" in sql:
        return "sample"
    if re.fullmatch(r"\s*SELECT count\(\*\) FROM customers\s*", sql):
        return "total"
    return "count"


def query_breakdown(store: Store, call: Callable[[], Any], repeat: int) -> dict[str, dict[str, float]]:
    """Run `call` `repeat` times timing each query it sends through the store, per kind of query."""
    log: list[tuple[str, float]] = []
    plain = {name: getattr(store, name) for name in ("rows", "frame", "scalar")}
    plain_catalog = preview_module.load_catalog

    def catalog_timed(st: Store) -> Any:  # versions, facts state and (when a write changed it) the catalog itself
        started = time.perf_counter()
        try:
            return plain_catalog(st)
        finally:
            log.append(("catalog", (time.perf_counter() - started) * 1000))

    def recorded(run: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(sql: str, params: Any = None) -> Any:
            started = time.perf_counter()
            try:
                return run(sql, params)
            finally:
                log.append((_kind(sql), (time.perf_counter() - started) * 1000))
        return wrapper

    per_call: dict[str, list[float]] = {}
    for name, run in plain.items():
        setattr(store, name, recorded(run))  # instance attributes shadow the methods
    preview_module.load_catalog = catalog_timed
    try:
        for i in range(repeat):
            log.clear()
            call()
            for kind in {k for k, _ in log}:
                per_call.setdefault(kind, [0.0] * repeat)[i] = sum(ms for k, ms in log if k == kind)
    finally:
        preview_module.load_catalog = plain_catalog
        for name in plain:
            delattr(store, name)
    return {kind: summary(samples) for kind, samples in sorted(per_call.items())}


def _timings(call: Callable[[], Any], repeat: int, warmup: int) -> tuple[float, Any, dict[str, float]]:
    cold_ms, first = timed(call)
    for _ in range(warmup):
        call()
    return cold_ms, first, summary([timed(call)[0] for _ in range(repeat)])


# -- the naive baseline: Python objects and a loop ------------------------------------------------------
class Order:
    __slots__ = ("id", "ordered_at", "amount", "status", "categories")

    def __init__(self, id_: int, ordered_at: datetime, amount: Decimal, status: str):
        self.id, self.ordered_at, self.amount, self.status = id_, ordered_at, amount, status
        self.categories: list[str] = []


class Customer:
    __slots__ = ("id", "name", "email", "city", "state", "country", "orders")

    def __init__(self, id_: int, name, email, city, state, country):
        self.id, self.name, self.email, self.city, self.state, self.country = id_, name, email, city, state, country
        self.orders: list[Order] = []


def naive_load(store: Store, with_items: bool) -> tuple[list[Customer], float, float]:
    """Every customer with their orders (and their line items' categories) as Python objects."""
    started = time.perf_counter()
    with store.cursor() as cur:
        customers = {r[0]: Customer(*r) for r in
                     cur.sql("SELECT id, name, email, city, state, country FROM customers").fetchall()}
        orders: dict[int, Order] = {}
        for id_, customer_id, ordered_at, amount, status in cur.sql(
                "SELECT id, customer_id, ordered_at, amount, status FROM orders").fetchall():
            order = orders[id_] = Order(id_, ordered_at, amount, status)
            customers[customer_id].orders.append(order)
        load_s = time.perf_counter() - started
        items_s = 0.0
        if with_items:
            started = time.perf_counter()
            for order_id, category in cur.sql("SELECT order_id, category FROM order_items").fetchall():
                orders[order_id].categories.append(category)
            items_s = time.perf_counter() - started
    return list(customers.values()), load_s, items_s


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def naive_value(field: str, c: Customer, days: int | None, as_of: date) -> Any:
    """One customer's value of a field, computed from their orders (the same rules as customer_stats)."""
    if field in ("name", "email", "city", "state", "country"):
        return getattr(c, field)
    revenue = [o for o in c.orders if o.status not in NON_REVENUE_STATUSES]
    if field == "total_spend":
        return sum((o.amount for o in revenue), Decimal(0))
    if field == "order_count":
        return len(c.orders)
    if field == "last_order_date":
        return max((o.ordered_at for o in c.orders), default=None)
    if field == "spend_last_days":
        start, end = _midnight(as_of - timedelta(days=days)), _midnight(as_of + timedelta(days=1))
        return sum((o.amount for o in revenue if start <= o.ordered_at < end), Decimal(0))
    if field == "bought_category":
        return {cat.lower() for o in revenue for cat in o.categories if cat}
    raise ValueError(f"the naive baseline does not know the field {field}")


def naive_match(node: dict, c: Customer, as_of: date) -> bool:
    """Whether a customer matches a canonical rule tree (operators as documented in operators.py)."""
    if "rules" in node:
        results = (naive_match(child, c, as_of) for child in node["rules"])
        hit = all(results) if node["match"] == "all" else any(results)
        return not hit if node.get("negate") else hit
    op, wanted = node["op"], node.get("value")
    value = naive_value(node["field"], c, node.get("days"), as_of)
    if op == "any_of":
        return bool(value & {w.lower() for w in wanted})
    if value is None:
        return False
    if op in (">", ">=", "<", "<=", "="):
        wanted = Decimal(str(wanted))
        return {">": value > wanted, ">=": value >= wanted, "<": value < wanted, "<=": value <= wanted,
                "=": value == wanted}[op]
    if op == "is":
        return value.lower() == wanted.lower()
    if op == "contains":
        return wanted.lower() in value.lower()
    if op == "in":
        return value.lower() in {w.lower() for w in wanted}
    if op == "in_last_days":
        return _midnight(as_of - timedelta(days=wanted)) <= value < _midnight(as_of + timedelta(days=1))
    if op == "more_than_days_ago":
        return value < _midnight(as_of - timedelta(days=wanted))
    raise ValueError(f"the naive baseline does not know the operator {op}")


# -- measuring (child process) ------------------------------------------------------------------------------
def measure(path: Path, scale: str, repeat: int, warmup: int, naive_repeat: int,
            use_facts: bool = True) -> dict[str, Any]:
    store = Store(path)  # migrates the copy to the current schema
    settings = dict(store.rows("SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', 'memory_limit')"))
    busy = OtherCpu()
    started = time.perf_counter()
    state = facts.refresh(store) if use_facts else None  # what the app does in the background after a change
    facts_s, facts_busy = time.perf_counter() - started, busy.stop()
    other_cpu = OtherCpu()
    results: dict[str, Any] = {
        "scale": scale, "as_of": AS_OF.isoformat(), "loadavg_start": os.getloadavg(), "duckdb_settings": settings,
        "customers": int(store.scalar("SELECT count(*) FROM customers")),
        "orders": int(store.scalar("SELECT count(*) FROM orders")),
        "items": int(store.scalar("SELECT count(*) FROM order_items")), "preview": {}, "waterfall": {},
        "facts": {"used": state is not None, "rebuild_s": facts_s if state else None, "other_cpu_cores": facts_busy,
                  "bits": sorted(state.bits) if state else []}}
    catalog = load_catalog(store)
    canonical = {name: import_rules(rule, catalog) for name, (_, rule, _) in PREVIEW_RULES.items()}

    for name, (description, _, raw) in PREVIEW_RULES.items():
        call = lambda root=canonical[name]: preview(store, root, AS_OF, sample_size=SAMPLE)  # noqa: E731
        busy = OtherCpu()
        cold_ms, first, stats = _timings(call, repeat, warmup)
        results["preview"][name] = {"description": description, "reads_raw_orders": raw, "matches": first.count,
                                    "sample_rows": first.sample.height, "cold_ms": cold_ms, "preview_ms": stats,
                                    "other_cpu_cores": busy.stop(),
                                    "queries_ms": query_breakdown(store, call, repeat)}
    for name, (description, rule) in WATERFALL_RULES.items():
        root = import_rules(rule, catalog)
        call = lambda root=root: waterfall(store, root, AS_OF)  # noqa: E731
        busy = OtherCpu()
        cold_ms, steps, stats = _timings(call, repeat, warmup)
        results["waterfall"][name] = {"description": description, "cold_ms": cold_ms, "waterfall_ms": stats,
                                      "other_cpu_cores": busy.stop(),
                                      "steps": [(s.label, s.alone, s.running) for s in steps]}
    results["peak_rss_mb_segments"] = peak_rss_mb()
    results["other_cpu_cores_segments"] = other_cpu.stop()  # during the segment timings alone

    # The naive baseline, in the same process, after the measurements above.
    if naive_repeat:
        _naive(store, results, canonical, naive_repeat)
    results["loadavg_end"] = os.getloadavg()
    results["other_cpu_cores"] = other_cpu.stop()
    store.close()
    slowest = max(STATS_RULES, key=lambda n: results["preview"][n]["preview_ms"]["median"])
    preview_ms = results["preview"][slowest]["preview_ms"]["median"]
    waterfall_ms = results["waterfall"][TARGET_WATERFALL]["waterfall_ms"]["median"]
    results["targets"] = {
        "preview_stats_rules": {"slowest": slowest, "median_ms": preview_ms, "limit_ms": PREVIEW_TARGET_MS,
                                "met": preview_ms <= PREVIEW_TARGET_MS},
        "preview_every_rule": {"met": all(e["preview_ms"]["median"] <= PREVIEW_TARGET_MS
                                          for e in results["preview"].values())},
        "waterfall": {"rule": TARGET_WATERFALL, "median_ms": waterfall_ms, "limit_ms": WATERFALL_TARGET_MS,
                      "met": waterfall_ms <= WATERFALL_TARGET_MS},
    }
    return results


def _naive(store: Store, results: dict[str, Any], canonical: dict[str, Any], naive_repeat: int) -> None:
    """Time the naive baseline on every preview rule and check its counts equal preview's."""
    needs_items = any(raw and "bought_category" in json.dumps(to_json(canonical[n]))
                      for n, (_, _, raw) in PREVIEW_RULES.items())
    loads, items_loads, loops = [], [], defaultdict(list)
    for _ in range(naive_repeat):
        customers, load_s, items_s = naive_load(store, needs_items)
        loads.append(load_s * 1000)
        items_loads.append(items_s * 1000)
        for name in PREVIEW_RULES:
            tree = to_json(canonical[name])
            started = time.perf_counter()
            count = sum(1 for c in customers if naive_match(tree, c, AS_OF))
            loops[name].append(((time.perf_counter() - started) * 1000, count))
        del customers
    load_ms, items_ms = summary(loads), summary(items_loads)
    results["naive"] = {"repeat": naive_repeat, "load_customers_orders_ms": load_ms, "load_items_ms": items_ms}
    for name, entry in results["preview"].items():
        loop_ms = summary([ms for ms, _ in loops[name]])
        total_ms = load_ms["median"] + loop_ms["median"] + (items_ms["median"] if "category" in name else 0.0)
        entry["naive_loop_ms"] = loop_ms
        entry["naive_total_ms"] = total_ms
        entry["naive_count_equals_preview"] = all(count == entry["matches"] for _, count in loops[name])
        entry["speedup_vs_naive"] = total_ms / entry["preview_ms"]["median"]
    results["peak_rss_mb_with_naive"] = peak_rss_mb()


# -- orchestration --------------------------------------------------------------------------------------------
def ensure_workspace(scale: str, seed: int) -> None:
    """Build bench/out/<scale>/crm.duckdb with customers_page.py's build stage when it is missing."""
    if workspace_path(scale).exists():
        return
    ok, why = workspace_matches(scale, seed)
    print(f"[{scale}] building workspace ({why}) ...", flush=True)
    subprocess.run([sys.executable, str(BENCH_DIR / "customers_page.py"), "--stage", "build", "--scales", scale,
                    "--seed", str(seed)], check=True, stdout=subprocess.DEVNULL)


def run_scale(scale: str, args: argparse.Namespace) -> dict[str, Any]:
    """Copy the scale's workspace to a private file, measure it in a child process, remove the copy."""
    ensure_workspace(scale, args.seed)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    copy = Path(tempfile.mkdtemp(prefix=f"segments-{scale}-", dir=args.work_dir)) / "crm.duckdb"
    try:
        started = time.perf_counter()
        shutil.copyfile(workspace_path(scale), copy)
        copy_s = time.perf_counter() - started
        naive_repeat = min(1, args.naive_repeat) if scale == "L" else args.naive_repeat
        cmd = [sys.executable, str(Path(__file__).resolve()), "--stage", str(copy), "--scales", scale,
               "--repeat", str(args.repeat), "--warmup", str(args.warmup), "--naive-repeat", str(naive_repeat)]
        cmd += ["--live"] if args.live else []
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"measuring scale {scale} failed (exit {proc.returncode})")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["copy_seconds"] = copy_s
        return result
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)


def print_scale(res: dict[str, Any]) -> None:
    print(f"\nScale {res['scale']}: {res['customers']:,} customers, {res['orders']:,} orders, {res['items']:,} items, "
          f"as of {res['as_of']} (DuckDB threads={res['duckdb_settings'].get('threads')}, "
          f"memory_limit={res['duckdb_settings'].get('memory_limit')})")
    f = res["facts"]
    print(f"  segment facts: rebuilt in {f['rebuild_s']:.1f} s (other processes {f['other_cpu_cores'] or 0:.2f} cores; "
          f"bits for {', '.join(f['bits']) or 'none'})" if f["used"] else
          "  segment facts: not built (--live): previews read customers, customer_stats, orders and items")
    print(f"  {'preview':<14} {'matches':>9} {'cold':>8} {'min':>7} {'median':>7} {'p90':>7} {'catalog':>8} "
          f"{'count':>7} {'total':>6} {'sample':>7} {'naive':>9} {'naive/prev':>10}  same  busy")
    for name, e in res["preview"].items():
        q = {k: f"{e['queries_ms'][k]['median']:.1f}" if k in e["queries_ms"] else "-"
             for k in ("catalog", "count", "total", "sample")}
        print(f"  {name:<14} {e['matches']:>9,} {e['cold_ms']:>8.1f} {e['preview_ms']['min']:>7.1f} "
              f"{e['preview_ms']['median']:>7.1f} {e['preview_ms']['p90']:>7.1f} {q['catalog']:>8} {q['count']:>7} "
              f"{q['total']:>6} {q['sample']:>7} " + (
                  f"{e['naive_total_ms']:>9.0f} {e['speedup_vs_naive']:>9.0f}x  "
                  f"{'yes' if e['naive_count_equals_preview'] else 'NO'}" if "naive_total_ms" in e else
                  f"{'-':>9} {'-':>10}  -  ") + f"  {e['other_cpu_cores'] or 0:.2f}")
    for name, e in res["waterfall"].items():
        w = e["waterfall_ms"]
        print(f"  waterfall {name:<17} cold {e['cold_ms']:.1f}  min {w['min']:.1f}  median {w['median']:.1f}  "
              f"p90 {w['p90']:.1f} ms  busy {e['other_cpu_cores'] or 0:.2f}  "
              f"({', '.join(f'{r:,}' for _, _, r in e['steps'])})")
    n = res.get("naive") or {"repeat": 0, "load_customers_orders_ms": {"median": 0}, "load_items_ms": {"median": 0}}
    print(f"  naive baseline ({n['repeat']} run(s)): load customers + orders {n['load_customers_orders_ms']['median']:,.0f} ms"
          f", items {n['load_items_ms']['median']:,.0f} ms; naive = load + loop (+ items for the category rule)")
    print("  (times in ms; cold = first call, min/median/p90 over the repeats; catalog/count/total/sample = median "
          "time per call of each query preview sent; busy = CPU cores other processes used meanwhile)")
    other = res.get("other_cpu_cores")
    if other is not None:
        during = res.get("other_cpu_cores_segments")
        print(f"  other processes used {other:.2f} CPU cores on average (during the segment timings: "
              f"{during if during is None else f'{during:.2f}'}; load {res['loadavg_start'][0]:.2f} -> "
              f"{res['loadavg_end'][0]:.2f})" + (" -- the machine was not quiet, timings are inflated"
                                                  if max(other, during or 0) > 0.25 else ""))
    print(f"  peak RSS: {res['peak_rss_mb_segments']:.0f} MB after the segment runs, "
          f"{res.get('peak_rss_mb_with_naive', 0):.0f} MB after the naive baseline")
    t = res["targets"]
    p, w = t["preview_stats_rules"], t["waterfall"]
    print(f"  targets: preview (slowest rule answered by customer_stats: {p['slowest']}) {p['median_ms']:.1f} ms "
          f"<= {p['limit_ms']:.0f} ms: {'MET' if p['met'] else 'MISSED'}; every rule incl. raw orders: "
          f"{'MET' if t['preview_every_rule']['met'] else 'MISSED'}; waterfall {w['rule']} {w['median_ms']:.1f} ms "
          f"<= {w['limit_ms']:.0f} ms: {'MET' if w['met'] else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", default=["S", "M"], type=str.upper, choices=sorted(SCALES))
    parser.add_argument("--repeat", type=int, default=15, help="timed calls per rule (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls after the cold one (default 2)")
    parser.add_argument("--naive-repeat", type=int, default=3,
                        help="naive baseline runs at S and M (default 3; at L at most 1; 0 = skip it)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of a workspace built when missing")
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "crm-segments-bench",
                        help="where the private copies of the workspaces go (removed afterwards)")
    parser.add_argument("--json", type=Path, default=OUT_ROOT / "segments.json",
                        help="where to write all results as JSON (default bench/out/segments.json)")
    parser.add_argument("--live", action="store_true",
                        help="leave the segment facts unbuilt: previews read the live tables (the figures before them)")
    parser.add_argument("--stage", help=argparse.SUPPRESS)  # child: the copy to measure
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.naive_repeat < 0:
        parser.error("--repeat must be at least 1 and --naive-repeat 0 or more")
    if args.stage:
        print(json.dumps(measure(Path(args.stage), args.scales[0], args.repeat, args.warmup, args.naive_repeat,
                                 not args.live),
                         default=str))
        return 0
    import duckdb
    all_results = {"date": date.today().isoformat(), "python": sys.version.split()[0], "duckdb": duckdb.__version__,
                   "cpus": os.cpu_count(), "repeat": args.repeat, "warmup": args.warmup, "scales": {}}
    for scale in args.scales:
        print(f"[{scale}] measuring a copy of {workspace_path(scale)} ({args.repeat} repeats per rule) ...", flush=True)
        res = run_scale(scale, args)
        all_results["scales"][scale] = res
        print_scale(res)
        sys.stdout.flush()
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(all_results, indent=2, default=str))
    print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
