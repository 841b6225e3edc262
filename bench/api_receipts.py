"""Post 10,000 signed delivery receipts to the running app concurrently (one receipt per request, many clients)
and check every one was applied exactly once; with group commit (the default) and without it (each post its
own write transaction), on fresh copies of the same workspace.

    python bench/api_receipts.py [--receipts 10000] [--clients 16] [--customers 4000]

Setup (once, in /tmp): a demo workspace of --customers customers, an e-mail campaign to all of them, sent
(the vendor accepts every message; its own receipts are due in a day, and the delivery worker is off, so only
the benchmark's receipts arrive). The receipts: delivered, opened and clicked for each sent message (ids
"<vendor id>:<event>") up to --receipts, of which --repeat-share are posted twice (by different clients, at
about the same time) and --unknown-share name a message we never sent, shuffled with a fixed seed.

Per mode, a fresh copy of the workspace is served by `streamlit run server.py` (tests/app_server.py) with
CRM_RECEIPTS_GROUP_COMMIT=1 or 0; --clients threads, each with its own HTTP session, post the receipts,
signing each at send time. Printed: wall time, posts per second, p50/p95/p99 latency, the answers' sums;
then the server is stopped and the file read: receipts stored, distinct receipt ids, messages moved on.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from crm_core import workspace  # noqa: E402
from crm_core.campaigns.delivery import DeliveryWorker  # noqa: E402
from crm_core.campaigns.editing import CampaignInput, create_campaign, get_campaign  # noqa: E402
from crm_core.campaigns.lifecycle import launch_campaign  # noqa: E402
from crm_core.integrations.receipt_signing import receipt_secret  # noqa: E402
from crm_core.integrations.signing import signed_headers  # noqa: E402
from crm_core.segments.saved import save_segment  # noqa: E402
from crm_core.store import close_all, open_store  # noqa: E402
from crm_core.validation import utc_now  # noqa: E402
from tests.app_server import AppServer  # noqa: E402

URL = "/api/v1/delivery/receipts"
EVENTS = ("delivered", "opened", "clicked")


def build(db: Path, customers: int) -> tuple[int, list[str], str]:
    """The workspace with one sent campaign; returns its id, the sent messages' vendor ids and the secret."""
    os.environ.update({"CRM_DEMO_CUSTOMERS": str(customers), "CRM_DEMO_ORDERS": str(customers * 5)})
    store = workspace.prepare(db)[0]
    segment = save_segment(store, "Bench everyone", {"match": "all", "negate": False, "rules": []})
    cid = create_campaign(store, CampaignInput(
        name="Receipt bench", segment_id=segment, channel="email", subject="Hello", template="Hi {{ first_name }}",
        throttle_per_second=0, vendor={"send_success_rate": 1, "transient_error_rate": 0, "latency_min_seconds": 86_000,
                                       "latency_max_seconds": 86_400}), user="bench")
    launch_campaign(store, cid, None, utc_now())
    DeliveryWorker(store).send_batch(get_campaign(store, cid), utc_now())
    ids = [r[0] for r in store.rows("SELECT vendor_message_id FROM messages WHERE campaign_id = ? AND status = 'sent' "
                                    "ORDER BY id", [cid])]
    secret = receipt_secret(store)
    close_all()
    return cid, ids, secret


def receipts_to_post(ids: list[str], total: int, repeat_share: float, unknown_share: float,
                     seed: int) -> tuple[list[dict], int, int, int]:
    """The posts (one receipt each), and how many distinct known receipts, repeats and unknown ones they hold."""
    rng = random.Random(seed)
    unknown = int(total * unknown_share)
    repeats = int(total * repeat_share)
    distinct = total - unknown - repeats
    if distinct > len(ids) * len(EVENTS):
        raise SystemExit(f"{len(ids):,} sent messages give at most {len(ids) * 3:,} distinct receipts; "
                         "use more --customers")
    at = (utc_now().replace(microsecond=0)).isoformat() + "Z"
    known = [{"receipt_id": f"{vid}:{event}", "vendor_message_id": vid, "event": event, "occurred_at": at}
             for event in EVENTS for vid in ids][:distinct]
    strangers = [{"receipt_id": f"bench-unknown-{n}", "vendor_message_id": f"sim-unknown-{n}", "event": "delivered",
                  "occurred_at": at} for n in range(unknown)]
    posts = known + rng.sample(known, repeats) + strangers
    rng.shuffle(posts)
    return posts, distinct, repeats, unknown


def post_all(base: str, secret: str, posts: list[dict], clients: int) -> tuple[float, list[float], list[dict]]:
    """Post every receipt from `clients` threads; returns wall seconds, latencies (s) and answers."""
    latencies: list[float] = [0.0] * len(posts)
    answers: list[dict] = [{}] * len(posts)
    cursor = iter(range(len(posts)))
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client() -> None:
        session = requests.Session()
        start.wait()
        while True:
            with lock:
                n = next(cursor, None)
            if n is None:
                return
            body = json.dumps(posts[n]).encode()
            headers = {"Content-Type": "application/json", **signed_headers(secret, body)}
            t0 = time.perf_counter()
            answer = session.post(base + URL, data=body, headers=headers, timeout=120)
            latencies[n] = time.perf_counter() - t0
            answers[n] = answer.json() if answer.status_code == 200 else {"status": answer.status_code,
                                                                           "text": answer.text[:200]}

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, latencies, answers


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_mode(name: str, source: Path, workdir: Path, cid: int, secret: str, posts: list[dict], clients: int,
             expected: tuple[int, int, int]) -> dict:
    """Serve a fresh copy of the workspace in one mode, post everything, check the answers and the file."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, workdir / "crm.duckdb")
    store = open_store(workdir / "crm.duckdb")
    writes_before = int(store.scalar("SELECT value FROM workspace_meta WHERE key = 'write_version'"))
    close_all()
    grouped = "1" if name == "group commit" else "0"
    server = AppServer(workdir, {"CRM_DEMO": "0", "CRM_DELIVERY_WORKER": "0", "CRM_RECEIPTS_GROUP_COMMIT": grouped})
    try:
        requests.post(server.url + URL, data=b"[]", timeout=30)  # warm the route (a 401, unsigned)
        cpu0, client0 = _cpu_seconds(server.proc.pid), time.process_time()
        wall, latencies, answers = post_all(server.url, secret, posts, clients)
        server_cpu, client_cpu = _cpu_seconds(server.proc.pid) - cpu0, time.process_time() - client0
    finally:
        server.stop()
    failed = [a for a in answers if "status" in a]
    sums = {k: sum(a.get(k, 0) for a in answers) for k in ("received", "applied", "duplicates", "unknown", "invalid")}
    store = open_store(workdir / "crm.duckdb")
    try:
        writes = int(store.scalar("SELECT value FROM workspace_meta WHERE key = 'write_version'")) - writes_before
        stored, distinct_stored = store.rows("SELECT count(*), count(DISTINCT receipt_id) FROM receipts "
                                             "WHERE campaign_id = ?", [cid])[0]
        moved = store.scalar("SELECT count(*) FROM messages WHERE campaign_id = ? AND status <> 'sent'", [cid])
    finally:
        close_all()
    distinct, repeats, unknown = expected
    exact = (not failed and sums["applied"] == distinct == stored == distinct_stored and
             sums["duplicates"] == repeats and sums["unknown"] == unknown and sums["received"] == len(posts))
    ms = sorted(x * 1000 for x in latencies)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    result = {"mode": name, "posts": len(posts), "clients": clients, "wall_s": round(wall, 2),
              "posts_per_s": round(len(posts) / wall, 1), "p50_ms": round(statistics.median(ms), 1),
              "p95_ms": round(pick(0.95), 1), "p99_ms": round(pick(0.99), 1), "max_ms": round(ms[-1], 1),
              "errors": len(failed), "writes": writes, "receipts_per_write": round(len(posts) / max(writes, 1), 1),
              "server_cpu_s": round(server_cpu, 1), "client_cpu_s": round(client_cpu, 1), "answers": sums, "stored": stored, "distinct_stored": distinct_stored,
              "messages_moved_on": moved, "exactly_once": exact}
    print(json.dumps(result), flush=True)
    if failed:
        print("first failures:", failed[:3], flush=True)
    return result


def main() -> None:
    """Build once, then run each mode and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receipts", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--customers", type=int, default=4_000)
    parser.add_argument("--repeat-share", type=float, default=0.05)
    parser.add_argument("--unknown-share", type=float, default=0.01)
    parser.add_argument("--modes", nargs="+", default=["group commit", "one write per post"],
                        choices=["group commit", "one write per post"])
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crm-bench-receipts-") as scratch:
        root = Path(scratch)
        t0 = time.perf_counter()
        cid, ids, secret = build(root / "source" / "crm.duckdb", args.customers)
        posts, distinct, repeats, unknown = receipts_to_post(ids, args.receipts, args.repeat_share,
                                                             args.unknown_share, args.seed)
        print(f"setup: {len(ids):,} sent messages, {len(posts):,} posts ({distinct:,} distinct known receipts, "
              f"{repeats:,} repeats, {unknown:,} unknown) in {time.perf_counter() - t0:.1f} s", flush=True)
        results = [run_mode(mode, root / "source" / "crm.duckdb", root / mode.replace(" ", "-"), cid, secret, posts,
                            args.clients, (distinct, repeats, unknown)) for mode in args.modes]
    if len(results) == 2:
        print(f"group commit / one write per post: {results[0]['posts_per_s'] / results[1]['posts_per_s']:.1f}x "
              f"throughput, p95 {results[1]['p95_ms'] / max(results[0]['p95_ms'], 0.1):.1f}x lower", flush=True)
    print("uptime:", os.popen("uptime").read().strip(), flush=True)
    if not all(r["exactly_once"] for r in results):
        raise SystemExit("NOT every receipt was applied exactly once")


if __name__ == "__main__":
    main()
