"""Time the customers page query (crm_core.customer_search.list_customers) at several data scales.

    python bench/customers_page.py --scales S M L [--repeat 15] [--rebuild]

For each scale a workspace file bench/out/<scale>/crm.duckdb is built once (crm_core.demo.load_demo
with a fixed seed and anchor date) and reused afterwards; --rebuild forces a fresh one. Each scale is
built and measured in its own child process, so the peak memory reported for a scale is that
scale's alone and the build's peak does not leak into the query's.

Per variant it reports the first call (cold caches) and min/median/p90 of --repeat further calls;
the time per call of the queries list_customers sends through the store, split into count(*)
queries and the others (the page); and the median of a naive baseline in the same process: read the
whole customers + customer_stats join into Polars and filter/sort/slice there, every time. The
baseline's page and total must equal list_customers'.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

import polars as pl  # noqa: E402

from crm_core import demo, stats  # noqa: E402
from crm_core.customer_search import CustomerFilter, list_customers  # noqa: E402
from crm_core.listing import contains_term, page_bounds  # noqa: E402
from crm_core.store import Store  # noqa: E402
from generate import ANCHOR, DEFAULT_SEED, OUT_ROOT, SCALES  # noqa: E402

TARGET_MS = 100.0
TARGET_VARIANT = "realistic"
PAGE_SIZE = 25
SEARCH_TERM = "son"  # Johnson, Wilson, Anderson, ...: about 8% of customers
COUNTRY = "United States"  # about 38% of customers
SPEND_MIN, SPEND_MAX = Decimal("100"), Decimal("2000")
NAIVE_SQL = "SELECT * FROM customers c LEFT JOIN customer_stats s ON s.customer_id = c.id"


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    flt: CustomerFilter
    sort: str
    descending: bool
    page: int | None  # None: the middle page of the result (a deep page)


VARIANTS = (
    Variant("realistic",
            f"search '{SEARCH_TERM}' + country {COUNTRY} + spend {SPEND_MIN}..{SPEND_MAX}, "
            "sort Total spend desc, page 3",
            CustomerFilter(search=SEARCH_TERM, countries=(COUNTRY,), spend_min=SPEND_MIN, spend_max=SPEND_MAX),
            "Total spend", True, 3),
    Variant("no_filter", "no filter, default sort (Signed up desc), page 1",
            CustomerFilter(), "Signed up", True, 1),
    Variant("search_only", f"search '{SEARCH_TERM}' only, default sort, page 1",
            CustomerFilter(search=SEARCH_TERM), "Signed up", True, 1),
    Variant("deep_page", "no filter, sort Total spend desc, middle page (offset = half the table)",
            CustomerFilter(), "Total spend", True, None),
)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def workspace_path(scale: str) -> Path:
    return OUT_ROOT / scale / "crm.duckdb"


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


# -- building a workspace (child process) ---------------------------------------------------------
def _load_direct(store: Store, customers: int, orders: int, seed: int) -> None:
    """Insert generated customers and orders (no line items) directly, then rebuild customer_stats."""
    data = demo.generate(customers, orders, seed=seed, anchor=ANCHOR, with_items=False)
    now = demo.utc_now()

    def work(cur) -> None:
        for table in ("order_items", "orders", "customer_stats", "customers"):
            cur.execute(f"DELETE FROM {table}")
        cur.register("bench_customers", data.customers)
        cur.register("bench_orders", data.orders)
        cur.execute("INSERT INTO customers SELECT id, external_id, name, email, phone, city, state, country, "
                    "created_at, created_at, '{}' FROM bench_customers")
        cur.execute("INSERT INTO orders SELECT id, external_id, customer_id, ordered_at, "
                    "((amount_cents)::DECIMAL(18,2) * 0.01::DECIMAL(3,2))::DECIMAL(18,2), "
                    "currency, status, NULL, ordered_at, ? "
                    "FROM bench_orders", [now])
        stats.rebuild_all(cur)
        for name, start in (("customer_ids", customers + 1), ("order_ids", orders + 1)):
            cur.sql(f"SELECT max(nextval('{name}')) FROM range(?)", params=[start - 1]).fetchall()

    store.write(work)


def build(scale: str, seed: int, loader: str) -> dict[str, Any]:
    """Build the scale's workspace into a temporary file and move it into place when complete."""
    customers, orders = SCALES[scale]
    final = workspace_path(scale)
    partial = final.with_name(final.name + ".partial")
    _remove(partial)
    started = time.perf_counter()
    store = Store(partial)
    if loader == "demo":
        demo.load_demo(store, customers, orders, seed=seed, anchor=ANCHOR)
    else:
        _load_direct(store, customers, orders, seed)
    store.write(lambda cur: cur.execute(
        "INSERT OR REPLACE INTO workspace_meta VALUES ('bench_scale', ?), ('bench_seed', ?), ('bench_loader', ?)",
        [scale, str(seed), loader]))
    store.close()
    _remove(final)
    partial.replace(final)
    return {"scale": scale, "seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb(),
            "file_mb": final.stat().st_size / 1e6, "loader": loader}


def workspace_matches(scale: str, seed: int) -> tuple[bool, str]:
    """Whether the existing workspace file holds this scale built with this seed."""
    path = workspace_path(scale)
    if not path.exists():
        return False, "no workspace yet"
    store = Store(path)
    try:
        meta = dict(store.rows("SELECT key, value FROM workspace_meta WHERE key LIKE 'bench_%'"))
        counts = store.rows("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders)")[0]
    finally:
        store.close()
    if meta.get("bench_scale") != scale or meta.get("bench_seed") != str(seed) or tuple(counts) != SCALES[scale]:
        return False, f"existing workspace does not match (meta {meta}, counts {tuple(counts)})"
    return True, f"reusing {path} ({meta.get('bench_loader')} loader)"


# -- the naive baseline ---------------------------------------------------------------------------
def naive_page(frame: pl.DataFrame, flt: CustomerFilter, sort: str, descending: bool, page: int,
               page_size: int) -> tuple[pl.DataFrame, int]:
    """Filter, sort and slice the whole customers + stats frame in Polars (same semantics as the SQL)."""
    page, size, offset = page_bounds(page, page_size)
    conds = []
    term = contains_term(flt.search)
    if term:
        conds.append(pl.col("name").str.to_lowercase().str.contains(term, literal=True)
                     | pl.col("email").str.contains(term, literal=True)
                     | pl.col("phone").str.contains(term, literal=True))
    if flt.countries:
        conds.append(pl.col("country").is_in(list(flt.countries)))
    spend = pl.col("total_spend").fill_null(Decimal(0))
    if flt.spend_min is not None:
        conds.append(spend >= Decimal(str(flt.spend_min)))
    if flt.spend_max is not None:
        conds.append(spend <= Decimal(str(flt.spend_max)))
    out = frame.filter(*conds) if conds else frame
    key = {"Total spend": spend, "Signed up": pl.col("created_at"), "Name": pl.col("name")}[sort]
    out = out.sort([key, pl.col("id")], descending=descending, nulls_last=True)
    return out.slice(offset, size), out.height


def naive(store: Store, flt: CustomerFilter, sort: str, descending: bool, page: int) -> tuple[pl.DataFrame, int, float]:
    started = time.perf_counter()
    frame = store.frame(NAIVE_SQL)
    load_ms = (time.perf_counter() - started) * 1000
    rows, total = naive_page(frame, flt, sort, descending, page, PAGE_SIZE)
    return rows, total, load_ms


# -- measuring (child process) --------------------------------------------------------------------
class OtherCpu:
    """CPU time used by other processes during a measurement, in cores (Linux /proc/stat; else None)."""

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as fh:
                fields = [int(x) for x in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        busy = sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait
        own = os.times()
        return busy / os.sysconf("SC_CLK_TCK"), own.user + own.system, time.monotonic()

    def stop(self) -> float | None:
        end = self._sample()
        if self.start is None or end is None or end[2] <= self.start[2]:
            return None
        return max(0.0, ((end[0] - self.start[0]) - (end[1] - self.start[1])) / (end[2] - self.start[2]))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def _query_kind(sql: str) -> str:
    return "count" if re.match(r"\s*SELECT\s+count\(\*\)", sql, re.IGNORECASE) else "page"


def query_breakdown(store: Store, call: Callable[[], Any], repeat: int) -> dict[str, dict[str, float]]:
    """Run `call` `repeat` times recording the SQL it sends through the store: per kind of query
    ("count" for a SELECT count(*), else "page"), the summary of its time per call."""
    log: list[tuple[str, float]] = []
    plain_rows, plain_frame = store.rows, store.frame

    def recorded(run: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(sql: str, params: Any = None) -> Any:
            started = time.perf_counter()
            try:
                return run(sql, params)
            finally:
                log.append((_query_kind(sql), (time.perf_counter() - started) * 1000))
        return wrapper

    per_call: dict[str, list[float]] = {}
    store.rows, store.frame = recorded(plain_rows), recorded(plain_frame)  # instance attributes shadow
    try:
        for i in range(repeat):
            log.clear()
            call()
            for kind in {k for k, _ in log}:
                per_call.setdefault(kind, [0.0] * repeat)[i] = sum(ms for k, ms in log if k == kind)
    finally:
        del store.rows, store.frame
    return {kind: summary(samples) for kind, samples in sorted(per_call.items())}


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median": statistics.median(ordered), "min": ordered[0],
            "p90": ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]}


def measure(scale: str, repeat: int, naive_repeat: int, warmup: int) -> dict[str, Any]:
    store = Store(workspace_path(scale))
    settings = dict(store.rows("SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', 'memory_limit')"))
    customers = int(store.scalar("SELECT count(*) FROM customers"))
    other_cpu = OtherCpu()
    results: dict[str, Any] = {"scale": scale, "customers": customers, "loadavg_start": os.getloadavg(),
                               "orders": int(store.scalar("SELECT count(*) FROM orders")),
                               "duckdb_settings": settings, "variants": {}}
    plans = []
    for v in VARIANTS:
        page = v.page or max(1, (customers // PAGE_SIZE) // 2)
        plans.append((v, page))

    # 1. list_customers, plus its two queries timed on their own
    for v, page in plans:
        call = lambda v=v, page=page: list_customers(store, v.flt, v.sort, v.descending, page, PAGE_SIZE)  # noqa: E731
        cold_ms, first = timed(call)
        for _ in range(warmup):
            call()
        samples = [timed(call)[0] for _ in range(repeat)]
        queries = query_breakdown(store, call, repeat)
        results["variants"][v.name] = {
            "description": v.description, "page": page, "matches": first.total, "rows": first.rows.height,
            "cold_ms": cold_ms, "list_ms": summary(samples),
            "queries_ms": queries,
            "_ids": first.rows["id"].to_list(),
        }
    results["peak_rss_mb_list_customers"] = peak_rss_mb()

    # 2. the naive baseline, in the same process, after the measurements above
    for v, page in plans:
        entry = results["variants"][v.name]
        samples, loads = [], []
        for _ in range(naive_repeat):
            ms, (rows, total, load_ms) = timed(lambda: naive(store, v.flt, v.sort, v.descending, page))
            samples.append(ms)
            loads.append(load_ms)
        ids = entry.pop("_ids")
        entry["naive_ms"] = summary(samples)
        entry["naive_load_ms"] = summary(loads)
        entry["naive_matches_list_customers"] = rows["id"].to_list() == ids and total == entry["matches"]
        entry["speedup_vs_naive"] = entry["naive_ms"]["median"] / entry["list_ms"]["median"]
    results["peak_rss_mb_with_naive"] = peak_rss_mb()
    results["loadavg_end"] = os.getloadavg()
    results["other_cpu_cores"] = other_cpu.stop()
    store.close()
    target = results["variants"][TARGET_VARIANT]["list_ms"]["median"]
    results["target"] = {"variant": TARGET_VARIANT, "limit_ms": TARGET_MS, "median_ms": target,
                         "met": target <= TARGET_MS}
    return results


# -- orchestration ----------------------------------------------------------------------------------
def child(stage: str, scale: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one stage for one scale in a fresh Python process; return its JSON result."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--stage", stage, "--scales", scale,
           "--repeat", str(args.repeat), "--naive-repeat", str(args.naive_repeat), "--warmup", str(args.warmup),
           "--seed", str(args.seed), "--loader", args.loader]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{stage} for scale {scale} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_scale(res: dict[str, Any]) -> None:
    print(f"\nScale {res['scale']}: {res['customers']:,} customers, {res['orders']:,} orders "
          f"(DuckDB threads={res['duckdb_settings'].get('threads')}, "
          f"memory_limit={res['duckdb_settings'].get('memory_limit')})")
    head = (f"  {'variant':<12} {'matches':>9} {'cold':>8} {'min':>8} {'median':>8} {'p90':>8} {'count q':>8} "
            f"{'page q':>8} {'naive':>8} {'naive/list':>10}  same page")
    print(head)
    for name, e in res["variants"].items():
        q = {kind: f"{e['queries_ms'][kind]['median']:>8.1f}" if kind in e["queries_ms"] else f"{'-':>8}"
             for kind in ("count", "page")}
        print(f"  {name:<12} {e['matches']:>9,} {e['cold_ms']:>8.1f} {e['list_ms']['min']:>8.1f} "
              f"{e['list_ms']['median']:>8.1f} {e['list_ms']['p90']:>8.1f} {q['count']} {q['page']} "
              f"{e['naive_ms']['median']:>8.1f} {e['speedup_vs_naive']:>9.1f}x  "
              f"{'yes' if e['naive_matches_list_customers'] else 'NO'}")
    print("  (times in ms; cold = first call, min/median/p90 over the repeats; count q / page q = median time "
          "per call of the count(*) queries and of the other queries list_customers sent, '-' = none)")
    other = res.get("other_cpu_cores")
    if other is not None:
        print(f"  other processes used {other:.2f} CPU cores on average while measuring"
              + (" -- the machine was not quiet, timings are inflated" if other > 0.25 else ""))
    print(f"  peak RSS: {res['peak_rss_mb_list_customers']:.0f} MB after list_customers, "
          f"{res['peak_rss_mb_with_naive']:.0f} MB after the naive baseline")
    t = res["target"]
    print(f"  target: {t['variant']} median {t['median_ms']:.1f} ms <= {t['limit_ms']:.0f} ms: "
          f"{'MET' if t['met'] else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", default=["S", "M"], type=str.upper, choices=sorted(SCALES))
    parser.add_argument("--repeat", type=int, default=15, help="timed calls per variant (default 15)")
    parser.add_argument("--naive-repeat", type=int, default=None,
                        help="timed calls per variant for the naive baseline (default: --repeat)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="untimed calls per variant after the cold one, before the timed ones (default 2)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the workspace files even if present")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--loader", choices=("demo", "direct"), default="demo",
                        help="demo: crm_core.demo.load_demo (with line items, default); direct: insert "
                             "generated customers and orders without items, then stats.rebuild_all")
    parser.add_argument("--json", type=Path, default=OUT_ROOT / "customers_page.json",
                        help="where to write all results as JSON (default bench/out/customers_page.json)")
    parser.add_argument("--stage", choices=("build", "measure"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.naive_repeat = args.naive_repeat or args.repeat

    if args.stage:  # child process: one stage, one scale, JSON on the last stdout line
        scale = args.scales[0]
        out = build(scale, args.seed, args.loader) if args.stage == "build" else \
            measure(scale, args.repeat, args.naive_repeat, args.warmup)
        print(json.dumps(out, default=str))
        return 0

    all_results = {"date": date.today().isoformat(), "python": sys.version.split()[0],
                   "cpus": os.cpu_count(), "repeat": args.repeat, "warmup": args.warmup,
                   "naive_repeat": args.naive_repeat,
                   "seed": args.seed, "scales": {}}
    try:
        import duckdb
        all_results["duckdb"] = duckdb.__version__
    except Exception:  # noqa: BLE001 - informational only
        pass
    for scale in args.scales:
        ok, why = (False, "--rebuild") if args.rebuild else workspace_matches(scale, args.seed)
        built = None
        if ok:
            print(f"[{scale}] {why}", flush=True)
        else:
            print(f"[{scale}] building workspace ({why}) ...", flush=True)
            built = child("build", scale, args)
            print(f"[{scale}] built {workspace_path(scale)} in {built['seconds']:.1f}s, "
                  f"{built['file_mb']:.0f} MB on disk, build peak RSS {built['peak_rss_mb']:.0f} MB", flush=True)
        print(f"[{scale}] measuring ({args.repeat} repeats per variant) ...", flush=True)
        res = child("measure", scale, args)
        res["build"] = built
        all_results["scales"][scale] = res
        print_scale(res)
        sys.stdout.flush()
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(all_results, indent=2, default=str))
    print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
