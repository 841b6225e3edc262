"""Time customer ingestion over the HTTP API: one bulk request of 100,000 customers, and 1,000 single-customer POSTs
from 8 concurrent clients.

    python bench/api_ingest.py [--rows 100000] [--repeat 3] [--singles 1000] [--clients 8]

It serves the app as `make run` does (`streamlit run server.py`, tests/app_server.AppServer) on a free port, on a
fresh workspace in a temp folder (no demo data), with a marketer API key made before the server starts.

(1) Bulk: `POST /api/v1/customers/bulk` with --rows new customers (seeded rows: external id, name, e-mail, phone,
city, state, country, sign-up time), as a CSV body and as a JSON list, --repeat times each (alternating; every run
sends customers not seen before, so the workspace grows by --rows per run). Timed: the client's round trip (send,
server work, answer) and, from the answer, the import's own seconds (parse, check, plan, write, history; what the
Import page runs). Baseline in the same process: the same CSV body through the same service call
(crm_core.services.imports.import_body) in-process on a fresh workspace, without HTTP. A second, naive baseline:
one request per customer, extrapolated from (2)'s measured throughput.

(2) Singles: --singles `POST /api/v1/customers` (new customers) from --clients threads, each with its own HTTP
session. Checked: the workspace's customer count after == before + --singles, and every returned id is readable
with the e-mail it was created with. Reported: p50/p95/max latency per request and requests per second; baseline in
the same process: the same creates through the same service call (services.records.upsert_customer), in-process,
one after another, without HTTP.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

import requests  # noqa: E402

from crm_core import workspace  # noqa: E402
from crm_core.integrations import api_keys  # noqa: E402
from crm_core.permissions import Actor  # noqa: E402
from crm_core.services import imports  # noqa: E402
from crm_core.store import close_all  # noqa: E402
from tests.app_server import AppServer  # noqa: E402

SEED = 2017
TARGET_BULK_SECONDS = 3.0
CITIES = (("Austin", "TX", "US"), ("Lyon", "ARA", "FR"), ("Porto", "13", "PT"), ("Osaka", "27", "JP"),
          ("Recife", "PE", "BR"), ("Leeds", "ENG", "GB"))
COLUMNS = ("external_id", "name", "email", "phone", "city", "state", "country", "created_at")


def rows(run: str, n: int, seed: int) -> list[dict[str, str]]:
    """n seeded customers whose ids and e-mails are unique to `run`."""
    rng = random.Random(f"{seed}-{run}")
    out = []
    for i in range(n):
        city, state, country = CITIES[rng.randrange(len(CITIES))]
        out.append({"external_id": f"{run}-{i:07d}", "name": f"Person {run} {i}", "email": f"p{i}.{run}@example.com",
                    "phone": f"+1 555 {rng.randrange(10**7):07d}", "city": city, "state": state, "country": country,
                    "created_at": f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} 10:00:00"})
    return out


def csv_bytes(data: list[dict[str, str]]) -> bytes:
    """The rows as a CSV file with a header (the import maps these column names itself)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([r[c] for c in COLUMNS] for r in data)
    return text.getvalue().encode("utf-8")


def make_workspace(folder: Path) -> str:
    """A fresh workspace without demo data and a marketer key; returns the key's secret (the file is closed)."""
    os.environ["CRM_DEMO"] = "0"
    try:
        store = workspace.prepare(folder / "crm.duckdb")[0]
        return api_keys.create_key(store, "bench", "marketer", "bench", rate_limit=100_000, ai_rate_limit=20)[1]
    finally:
        close_all()


def pct(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of the values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def customer_count(url: str, headers: dict[str, str]) -> int:
    """The workspace's customer count, read through the API."""
    answer = requests.get(f"{url}/api/v1/customers", params={"per_page": 1}, headers=headers, timeout=60)
    answer.raise_for_status()
    return answer.json()["pagination"]["total"]


def bulk_runs(url: str, headers: dict[str, str], n: int, repeat: int, seed: int) -> dict[str, list[dict]]:
    """Round trips of the bulk request, per body format."""
    runs: dict[str, list[dict]] = {"csv": [], "json": []}
    for r in range(repeat):
        for fmt in ("csv", "json"):
            data = rows(f"b{fmt}{r}", n, seed)
            if fmt == "csv":
                body, kind = csv_bytes(data), "text/csv"
            else:
                body, kind = json.dumps(data).encode("utf-8"), "application/json"
            started = time.perf_counter()
            answer = requests.post(f"{url}/api/v1/customers/bulk", data=body,
                                   headers={**headers, "Content-Type": kind}, timeout=600)
            seconds = time.perf_counter() - started
            result = answer.json()
            if answer.status_code != 200 or result["inserted"] != n:
                raise SystemExit(f"bulk {fmt} run {r} failed: {answer.status_code} {str(result)[:500]}")
            runs[fmt].append({"seconds": seconds, "import_seconds": result["seconds"], "mb": len(body) / 1e6})
            print(f"  bulk {fmt:<4} run {r + 1}: {seconds:.2f} s round trip, import {result['seconds']:.2f} s, "
                  f"body {len(body) / 1e6:.1f} MB", flush=True)
    return runs


def in_process_baseline(n: int, repeat: int, seed: int) -> list[float]:
    """The same CSV body through the same service call in this process, without HTTP, on a fresh workspace."""
    times = []
    for r in range(repeat):
        with tempfile.TemporaryDirectory(prefix="crm-bench-base-") as folder:
            os.environ["CRM_DEMO"] = "0"
            store = workspace.prepare(Path(folder) / "crm.duckdb")[0]
            body = csv_bytes(rows(f"base{r}", n, seed))
            started = time.perf_counter()
            summary = imports.import_body(store, Actor("bench", "bench", ("marketer",)), "customers", body, "base.csv")
            times.append(time.perf_counter() - started)
            assert summary.counts["create"] == n
            close_all()
    return times


def in_process_singles(n: int) -> float:
    """Seconds for n customer creates through the same service call in this process (one thread, no HTTP)."""
    from crm_core.services import records

    with tempfile.TemporaryDirectory(prefix="crm-bench-single-") as folder:
        os.environ["CRM_DEMO"] = "0"
        store = workspace.prepare(Path(folder) / "crm.duckdb")[0]
        actor = Actor("bench", "bench", ("marketer",))
        started = time.perf_counter()
        for i in range(n):
            records.upsert_customer(store, actor, {"name": f"Single {i}", "email": f"single{i}@example.com"})
        took = time.perf_counter() - started
        close_all()
    return took


def singles(url: str, headers: dict[str, str], n: int, clients: int) -> dict:
    """n single-customer POSTs from `clients` threads; checks that no write is lost."""
    before = customer_count(url, headers)
    local = threading.local()
    run = f"s{int(time.time())}"

    def post(i: int) -> tuple[float, int, str]:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        email = f"single{i}.{run}@example.com"
        started = time.perf_counter()
        answer = local.session.post(f"{url}/api/v1/customers", json={"name": f"Single {i}", "email": email},
                                    headers=headers, timeout=120)
        took = time.perf_counter() - started
        if answer.status_code != 201:
            raise RuntimeError(f"POST {i}: {answer.status_code} {answer.text[:300]}")
        return took, answer.json()["id"], email

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        done = list(pool.map(post, range(n)))
    wall = time.perf_counter() - started
    after = customer_count(url, headers)

    def readable(item: tuple[float, int, str]) -> bool:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        answer = local.session.get(f"{url}/api/v1/customers/{item[1]}", headers=headers, timeout=60)
        return answer.status_code == 200 and answer.json()["email"] == item[2]

    with ThreadPoolExecutor(clients) as pool:
        ok = sum(pool.map(readable, done))
    latencies = [d[0] * 1000 for d in done]
    return {"before": before, "after": after, "lost": before + n - after, "distinct_ids": len({d[1] for d in done}),
            "readable": ok, "wall_seconds": wall, "per_second": n / wall, "p50_ms": pct(latencies, 0.5),
            "p95_ms": pct(latencies, 0.95), "max_ms": max(latencies)}


def main() -> None:
    """Serve the app, run both measurements, print medians and ratios, and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--singles", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--json", type=Path, default=BENCH_DIR / "out" / "api_ingest.json")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="crm-bench-api-") as folder:
        secret = make_workspace(Path(folder))
        server = AppServer(Path(folder), {"CRM_DEMO": "0"})
        headers = {"Authorization": f"Bearer {secret}"}
        try:
            print(f"[singles] {args.singles:,} POST /customers from {args.clients} clients ...", flush=True)
            single = singles(server.url, headers, args.singles, args.clients)
            print(f"[bulk] {args.rows:,} customers per request, {args.repeat} runs per format ...", flush=True)
            bulk = bulk_runs(server.url, headers, args.rows, args.repeat, args.seed)
        finally:
            server.stop()
    print("[baseline] the same CSV body through services.imports.import_body in-process ...", flush=True)
    base = in_process_baseline(args.rows, args.repeat, args.seed)
    print(f"[baseline] {args.singles:,} creates through services.records.upsert_customer in-process ...", flush=True)
    single_base = in_process_singles(args.singles)
    load_after = os.getloadavg()
    med = {fmt: statistics.median(r["seconds"] for r in runs) for fmt, runs in bulk.items()}
    med_import = {fmt: statistics.median(r["import_seconds"] for r in runs) for fmt, runs in bulk.items()}
    base_med = statistics.median(base)
    naive = args.rows / single["per_second"]
    print(f"\nBulk ingestion of {args.rows:,} customers in one request (median of {args.repeat}):")
    for fmt in ("csv", "json"):
        verdict = "met" if med[fmt] <= TARGET_BULK_SECONDS else "MISSED"
        print(f"  {fmt.upper():<4} body: {med[fmt]:.2f} s round trip (import itself {med_import[fmt]:.2f} s); "
              f"target <= {TARGET_BULK_SECONDS:.0f} s {verdict}")
    print(f"  baseline, same CSV through the core in-process (no HTTP): {base_med:.2f} s "
          f"-> HTTP overhead x{med['csv'] / base_med:.2f}")
    print(f"  naive baseline, one request per customer (from the singles' throughput): {naive:.0f} s "
          f"-> bulk CSV is x{naive / med['csv']:.0f} faster")
    print(f"\n{args.singles:,} single POSTs from {args.clients} clients: {single['wall_seconds']:.1f} s, "
          f"{single['per_second']:.0f} req/s; latency p50 {single['p50_ms']:.0f} ms, p95 {single['p95_ms']:.0f} ms, "
          f"max {single['max_ms']:.0f} ms")
    print(f"  baseline, the same creates through the core in-process, one after another (no HTTP): "
          f"{single_base:.1f} s, {args.singles / single_base:.0f} per s -> HTTP with {args.clients} clients "
          f"x{single_base / single['wall_seconds']:.2f} the throughput")
    print(f"  count before {single['before']:,}, after {single['after']:,}: lost writes {single['lost']}; "
          f"distinct ids {single['distinct_ids']:,}; readable with their e-mail {single['readable']:,}")
    print(f"load average after: {load_after}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"rows": args.rows, "bulk": bulk, "bulk_median_s": med,
                                     "bulk_import_median_s": med_import, "baseline_in_process_s": base,
                                     "naive_one_request_each_s": naive, "singles": single,
                                     "singles_in_process_s": single_base,
                                     "load_after": load_after}, indent=2))
    print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
