"""Time the CSV import (crm_core.ingest) end to end at several data scales, against a plain DuckDB read_csv.

    python bench/import_csv.py --scales S M L [--repeat 3]

For each scale the CSV files bench/out/<scale>/customers.csv and orders.csv are generated first when
missing (bench/generate.py, fixed seed). Then, per run, on a fresh workspace file
bench/out/<scale>/import_bench.duckdb: import customers.csv (kind customers), then orders.csv (kind
orders), each timed end to end: sniff_file + suggest_mapping + runner.commit (parse, validate,
upsert, stats refresh, history, commit). The baseline, in the same run: CREATE TABLE t AS SELECT *
FROM read_csv(path) into a fresh DuckDB file, per CSV file; and, to show what the workspace's schema
costs by itself, the same file inserted with one INSERT ... SELECT FROM read_csv into the customers or
orders table of a fresh workspace (the table's own keys and indexes; no checks, no plan,
no history: "into schema").

Every import and every baseline runs in its own child process (this script with a hidden flag), so
the peak memory reported for it (VmHWM, the child's peak resident set) is its own. The runner's
progress callback is timestamped to show where the time goes: read (scan the file into a staging
table), check (parse and validate every cell; orders and customers are matched with the workspace in
the same pass), plan (duplicates, reasons, an action per row, counts), write (insert/update,
before-images, stats) and record (rejects, history row, commit).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

from generate import DEFAULT_SEED, OUT_ROOT, SCALES, write_scale  # noqa: E402

FILES = ("customers", "orders")  # import order: orders refer to the customers imported just before
TARGETS_S = {"customers": 3.0, "orders": 10.0}  # at L, end to end
TARGET_PEAK_MB = 4096.0
TARGET_SCALE = "L"
# progress fractions runner.commit reports at the start of each stage (and 1.0 when committed)
STAGES = (("read", 0.05), ("check", 0.35), ("plan", 0.55), ("write", 0.7), ("record", 0.95))


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM; ru_maxrss where /proc is missing), in MB."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


def workspace_path(scale: str) -> Path:
    return OUT_ROOT / scale / "import_bench.duckdb"


def baseline_path(scale: str) -> Path:
    return OUT_ROOT / scale / "import_baseline.duckdb"


def csv_path(scale: str, kind: str) -> Path:
    return OUT_ROOT / scale / f"{kind}.csv"


# -- child processes ---------------------------------------------------------------------------
def stage_seconds(marks: list[tuple[float, float, str]], started: float, finished: float) -> dict[str, float]:
    """Seconds per stage from the progress callback's timestamps (sniff = before the first report)."""
    starts = {}
    for name, fraction in STAGES:
        hit = next((t for t, f, _ in marks if abs(f - fraction) < 1e-9), None)
        if hit is not None:
            starts[name] = hit
    out = {"sniff": (starts.get("read", finished) - started)}
    names = [n for n, _ in STAGES if n in starts]
    for i, name in enumerate(names):
        end = starts[names[i + 1]] if i + 1 < len(names) else finished
        out[name] = end - starts[name]
    return out


def run_import(scale: str, kind: str) -> dict[str, Any]:
    """Import one CSV into the scale's bench workspace (customers: a fresh file) and time it."""
    from crm_core.ingest import runner
    from crm_core.ingest.mapping import suggest_mapping
    from crm_core.ingest.options import ImportOptions
    from crm_core.ingest.sniff import sniff_file
    from crm_core.store import Store
    from customers_page import OtherCpu

    path, db = csv_path(scale, kind), workspace_path(scale)
    if kind == FILES[0]:
        _remove(db)
    store = Store(db)
    settings = dict(store.rows("SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', 'memory_limit')"))
    marks: list[tuple[float, float, str]] = []
    other = OtherCpu()
    started = time.perf_counter()
    source = sniff_file(path, path.name, path.parent)
    mapping = suggest_mapping(kind, source.headers)
    summary = runner.commit(store, kind, source, mapping, ImportOptions(), user="bench",
                            progress=lambda f, m: marks.append((time.perf_counter(), f, m)))
    finished = time.perf_counter()
    other_cores = other.stop()
    counts = store.rows("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders), "
                        "(SELECT count(*) FROM customer_stats)")[0]
    store.close()
    return {"kind": kind, "seconds": finished - started, "rows": summary.rows_total, "counts": summary.counts,
            "reasons": [r[:3] for r in summary.reasons], "mapping": mapping, "stages": stage_seconds(marks, started, finished),
            "runner_seconds": summary.seconds, "peak_mb": peak_mb(), "other_cpu_cores": other_cores,
            "workspace": {"customers": counts[0], "orders": counts[1], "customer_stats": counts[2]},
            "duckdb_settings": settings}


def run_baseline(scale: str, kind: str) -> dict[str, Any]:
    """The same CSV read by DuckDB into a table of a fresh file, nothing else."""
    import duckdb
    from customers_page import OtherCpu

    path, db = csv_path(scale, kind), baseline_path(scale)
    _remove(db)
    con = duckdb.connect(str(db))
    other = OtherCpu()
    started = time.perf_counter()
    con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [str(path)])
    seconds = time.perf_counter() - started
    other_cores = other.stop()
    rows = con.sql("SELECT count(*) FROM t").fetchall()[0][0]
    con.close()
    _remove(db)
    return {"kind": kind, "seconds": seconds, "rows": rows, "peak_mb": peak_mb(), "other_cpu_cores": other_cores}


# One INSERT ... SELECT from the file into the workspace's own table (ids in file order; orders get a made-up
# customer id, as the customers table is empty there), committed like an import.
FLOOR_SQL = {
    "customers": "INSERT INTO customers SELECT row_number() OVER (), customer_id, name, email, phone, city, state, "
                 "country, signup_date, signup_date, '{}' FROM read_csv($path)",
    "orders": "INSERT INTO orders SELECT row_number() OVER (), order_id, hash(customer_id) % 1000000 + 1, ordered_at, "
              "amount, currency, status, NULL, ordered_at, ordered_at FROM read_csv($path)",
}


def run_floor(scale: str, kind: str) -> dict[str, Any]:
    """The CSV inserted straight into the workspace's table of a fresh file (its keys, none of the checks)."""
    from crm_core.store import Store
    from customers_page import OtherCpu

    path, db = csv_path(scale, kind), baseline_path(scale)
    _remove(db)
    store = Store(db)
    other = OtherCpu()
    started = time.perf_counter()
    store.write(lambda cur: cur.execute(FLOOR_SQL[kind], {"path": str(path)}))
    seconds = time.perf_counter() - started
    other_cores = other.stop()
    rows = store.scalar(f"SELECT count(*) FROM {kind}")
    store.close()
    _remove(db)
    return {"kind": kind, "seconds": seconds, "rows": rows, "peak_mb": peak_mb(), "other_cpu_cores": other_cores}


def child(job: str, scale: str, kind: str) -> dict[str, Any]:
    """Run one import or baseline in a fresh Python process; return its JSON result."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--job", job, "--scales", scale, "--kind", kind]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{job} of {kind}.csv at scale {scale} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- orchestration -----------------------------------------------------------------------------
def ensure_csvs(scale: str, seed: int) -> None:
    if all(csv_path(scale, kind).exists() for kind in FILES):
        return
    print(f"[{scale}] generating CSV files (seed {seed}) ...", flush=True)
    started = time.perf_counter()
    counts = write_scale(scale, OUT_ROOT / scale, seed)
    print(f"[{scale}] wrote {counts['customers']:,} customers and {counts['orders']:,} orders in "
          f"{time.perf_counter() - started:.1f}s", flush=True)


def measure_scale(scale: str, repeat: int) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for i in range(repeat):
        run: dict[str, Any] = {}
        for kind in FILES:
            run[kind] = {job: child(job, scale, kind) for job in ("import", "baseline", "floor")}
            imp, base, floor = run[kind]["import"], run[kind]["baseline"], run[kind]["floor"]
            print(f"[{scale}] run {i + 1}/{repeat} {kind}: import {imp['seconds']:.2f}s "
                  f"(peak {imp['peak_mb']:.0f} MB), read_csv {base['seconds']:.2f}s, "
                  f"into schema {floor['seconds']:.2f}s", flush=True)
        runs.append(run)
    _remove(workspace_path(scale))
    result: dict[str, Any] = {"scale": scale, "runs": runs, "files": {}}
    for kind in FILES:
        imports = [r[kind]["import"] for r in runs]
        bases = [r[kind]["baseline"] for r in runs]
        floors = [r[kind]["floor"] for r in runs]
        floor_med = statistics.median(x["seconds"] for x in floors)
        med = statistics.median(x["seconds"] for x in imports)
        base_med = statistics.median(x["seconds"] for x in bases)
        rows = imports[0]["rows"]
        expected = SCALES[scale][FILES.index(kind)]
        clean = all(x["rows"] == expected and x["counts"]["create"] == expected and x["counts"]["reject"] == 0
                    for x in imports)
        others = [x["other_cpu_cores"] for x in imports + bases + floors if x["other_cpu_cores"] is not None]
        result["files"][kind] = {
            "rows": rows, "median_s": med, "min_s": min(x["seconds"] for x in imports),
            "rows_per_s": rows / med, "peak_mb": max(x["peak_mb"] for x in imports),
            "baseline_median_s": base_med, "baseline_peak_mb": max(x["peak_mb"] for x in bases),
            "ratio": med / base_med, "all_rows_created": clean,
            "schema_median_s": floor_med, "schema_peak_mb": max(x["peak_mb"] for x in floors),
            "ratio_to_schema": med / floor_med,
            "stages_median_s": {s: statistics.median(x["stages"][s] for x in imports if s in x["stages"])
                                for s in ("sniff", *(n for n, _ in STAGES))},
            "other_cpu_cores_max": max(others) if others else None,
            "mapping": imports[0]["mapping"], "workspace_after": imports[-1]["workspace"],
            "duckdb_settings": imports[0]["duckdb_settings"],
        }
    return result


def print_scale(res: dict[str, Any]) -> None:
    print(f"\nScale {res['scale']} ({len(res['runs'])} runs; times are medians)")
    print(f"  {'file':<10} {'rows':>11} {'import s':>9} {'rows/s':>11} {'peak MB':>8} {'read_csv s':>10} "
          f"{'ratio':>6} {'schema s':>9} {'ratio':>6}  all created")
    for kind, f in res["files"].items():
        print(f"  {kind:<10} {f['rows']:>11,} {f['median_s']:>9.2f} {f['rows_per_s']:>11,.0f} {f['peak_mb']:>8.0f} "
              f"{f['baseline_median_s']:>10.2f} {f['ratio']:>5.1f}x {f['schema_median_s']:>9.2f} "
              f"{f['ratio_to_schema']:>5.1f}x  {'yes' if f['all_rows_created'] else 'NO'}")
    print("  (read_csv = CREATE TABLE t AS SELECT * FROM read_csv(path) into a fresh file; schema = INSERT ... SELECT "
          "FROM read_csv into the workspace's table, with its keys; ratios = import / those; peak MB = the "
          "import child's peak resident memory)")
    print("  where the time goes (median seconds per stage):")
    for kind, f in res["files"].items():
        print(f"    {kind:<10} " + "  ".join(f"{s} {v:.2f}" for s, v in f["stages_median_s"].items()))
    others = [f["other_cpu_cores_max"] for f in res["files"].values() if f["other_cpu_cores_max"] is not None]
    if others:
        worst = max(others)
        print(f"  other processes used up to {worst:.2f} CPU cores during a measurement"
              + (" -- the machine was not quiet, timings are inflated" if worst > 0.25 else ""))
    if res["scale"] == TARGET_SCALE:
        for kind, f in res["files"].items():
            ok = f["median_s"] <= TARGETS_S[kind] and f["peak_mb"] <= TARGET_PEAK_MB
            print(f"  target {kind}: <= {TARGETS_S[kind]:.0f} s and <= {TARGET_PEAK_MB:.0f} MB: "
                  f"{f['median_s']:.2f} s, {f['peak_mb']:.0f} MB: {'MET' if ok else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", default=["S", "M"], type=str.upper, choices=sorted(SCALES))
    parser.add_argument("--repeat", type=int, default=3, help="runs per scale, each on a fresh workspace (default 3)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed for missing CSV files")
    parser.add_argument("--json", type=Path, default=OUT_ROOT / "import_csv.json",
                        help="where to write all results as JSON (default bench/out/import_csv.json)")
    parser.add_argument("--job", choices=("import", "baseline", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--kind", choices=FILES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    if args.job:  # child process: one import or baseline, JSON on the last stdout line
        run = {"import": run_import, "baseline": run_baseline, "floor": run_floor}[args.job]
        print(json.dumps(run(args.scales[0], args.kind), default=str))
        return 0

    import duckdb
    results: dict[str, Any] = {"date": date.today().isoformat(), "python": sys.version.split()[0],
                               "duckdb": duckdb.__version__, "cpus": os.cpu_count(), "repeat": args.repeat,
                               "scales": {}}
    for scale in args.scales:
        ensure_csvs(scale, args.seed)
        results["scales"][scale] = res = measure_scale(scale, args.repeat)
        print_scale(res)
        sys.stdout.flush()
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
