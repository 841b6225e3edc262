"""Time the export centre writing every customer to a file, with peak memory, against a naive baseline.

    python bench/exports.py --scale L [--repeat 3] [--csv] [--naive]

Runs on a private copy of bench/out/<scale>/crm.duckdb (built by bench/customers_page.py; the original is
never opened; the copy is migrated by opening it). Measured, in this order, in one process:

1. count: `count_rows` of the customers dataset (what the page shows before exporting), --repeat times.
2. parquet: `export_to_file(ExportRequest("customers"), "parquet")`, every column, --repeat times: DuckDB's own
   Parquet writer streams the rows into the file in row groups of 100,000.
3. batches (--batches): the first version, once: pyarrow's ParquetWriter fed 100,000-row Arrow batches from
   Python (`crm_core.export.export_file`, what the list pages' download buttons still use).
4. csv (--csv): the customers as CSV, formula-neutralised, batch by batch, once.
5. naive (--naive): what many tools do: fetch every row into Python objects, build a pandas DataFrame and
   write it with pyarrow in one go (same query, same columns), once.

Peak memory: the process's resident memory sampled every 10 ms during each step (the peak above the RSS before
the step is reported too), and the process's lifetime peak (ru_maxrss) after the streamed steps.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable
import sys

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from crm_core import export  # noqa: E402
from crm_core.exports.centre import ExportRequest, build_query, count_rows, export_to_file  # noqa: E402
from crm_core.store import Store  # noqa: E402

OUT_ROOT = BENCH_DIR / "out"
PARQUET_TARGET_S, MEMORY_TARGET_MB = 3.0, 2048
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    """This process's resident memory now (Linux /proc/self/statm)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 1024 / 1024


class PeakRss:
    """Samples the resident memory every 10 ms while in use; `peak` is the highest seen."""

    def __init__(self) -> None:
        self.start = rss_mb()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def measured(fn: Callable[[], Any]) -> tuple[float, float, float, Any]:
    """(seconds, peak RSS MB, peak above the start MB, result) of one call."""
    with PeakRss() as memory:
        started = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - started
    return seconds, memory.peak, memory.peak - memory.start, result


def naive_parquet(store: Store, request: ExportRequest, path: Path) -> int:
    """Fetch every row into Python tuples, make a pandas frame and write it with pyarrow, all at once."""
    import pandas as pd
    sql, params = build_query(store, request)
    with store.cursor() as cur:
        result = cur.execute(sql, params)
        columns = [d[0] for d in result.description]
        rows = result.fetchall()
    pd.DataFrame(rows, columns=columns).to_parquet(path, engine="pyarrow", index=False)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="L", choices=["S", "M", "L"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--csv", action="store_true", help="also time one CSV export")
    parser.add_argument("--batches", action="store_true", help="also time the pyarrow batch writer once")
    parser.add_argument("--naive", action="store_true", help="also time the naive baseline once")
    args = parser.parse_args()
    original = OUT_ROOT / args.scale / "crm.duckdb"
    if not original.exists():
        raise SystemExit(f"{original} is missing: build it with bench/customers_page.py first")
    scratch = Path(tempfile.mkdtemp(prefix="crm-bench-exports-"))
    try:
        copy = scratch / "crm.duckdb"
        shutil.copyfile(original, copy)
        store = Store(copy)  # migrates the copy
        request = ExportRequest("customers")
        results: dict[str, Any] = {"scale": args.scale, "loadavg_start": os.getloadavg(), "cores": os.cpu_count(),
                                   "customers": int(store.scalar("SELECT count(*) FROM customers"))}
        counts = [measured(lambda: count_rows(store, request))[0] * 1000 for _ in range(args.repeat + 1)][1:]
        results["count_ms_median"] = statistics.median(counts)
        runs = []
        for n in range(args.repeat):
            target = scratch / f"customers-{n}.parquet"
            seconds, peak, above, result = measured(lambda: export_to_file(store, request, "parquet", target))
            runs.append({"seconds": seconds, "peak_rss_mb": peak, "above_start_mb": above, "rows": result.rows,
                         "bytes": result.size})
            target.unlink()
        results["parquet"] = runs
        results["parquet_median_s"] = statistics.median(r["seconds"] for r in runs)
        if args.batches:
            sql, params = build_query(store, request)
            seconds, peak, above, rows = measured(
                lambda: export.export_file(store, sql, params, "parquet", scratch / "b.parquet"))
            results["batches"] = {"seconds": seconds, "peak_rss_mb": peak, "above_start_mb": above, "rows": rows}
        if args.csv:
            seconds, peak, above, result = measured(lambda: export_to_file(store, request, "csv", scratch / "c.csv"))
            results["csv"] = {"seconds": seconds, "peak_rss_mb": peak, "above_start_mb": above, "rows": result.rows,
                              "bytes": result.size}
        results["ru_maxrss_mb_after_streamed"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if args.naive:
            seconds, peak, above, rows = measured(lambda: naive_parquet(store, request, scratch / "naive.parquet"))
            results["naive"] = {"seconds": seconds, "peak_rss_mb": peak, "above_start_mb": above, "rows": rows}
            results["naive_over_parquet"] = seconds / results["parquet_median_s"]
        results["loadavg_end"] = os.getloadavg()
        worst_peak = max(r["peak_rss_mb"] for r in runs)
        results["targets_met"] = {"parquet_s": results["parquet_median_s"] <= PARQUET_TARGET_S,
                                  "peak_mb": worst_peak <= MEMORY_TARGET_MB}
        store.close()
        print(json.dumps(results, indent=2))
        (OUT_ROOT / "exports.json").write_text(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
