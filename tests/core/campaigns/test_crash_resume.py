"""A crash mid-campaign loses nobody and sends nobody a message twice: in-process (the process dies between
the vendor accepting a batch and our recording its answers) and for real (the worker process is killed)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from crm_core import store as store_module
from crm_core.campaigns import vendor
from crm_core.campaigns.delivery import DeliveryWorker
from crm_core.campaigns.editing import get_campaign
from crm_core.campaigns.lifecycle import launch_campaign
from crm_core.store import open_store
from tests.core.campaigns.shop import Clock, deliver_all, new_campaign, open_shop

ROOT = Path(__file__).resolve().parents[3]


def _exactly_once(store, cid):
    recipients = store.scalar("SELECT count(*) FROM campaign_audience WHERE campaign_id = ? AND role = 'recipient'",
                              [cid])
    per_customer = store.rows("""SELECT m.customer_id, count(v.message_id) FROM messages m
                                 LEFT JOIN vendor_messages v ON v.message_id = m.id
                                 WHERE m.campaign_id = ? GROUP BY m.customer_id""", [cid])
    assert len(per_customer) == recipients
    assert {n for _, n in per_customer} == {1}  # every recipient reached the vendor exactly once
    assert store.scalar("SELECT count(*) FROM messages WHERE campaign_id = ? AND status IN ('queued', 'sending')",
                        [cid]) == 0


def test_crash_between_vendor_accepting_and_recording(store):
    shop = open_shop(store, customers=120, orders=600)
    clock = Clock()
    cid = new_campaign(store, shop["everyone"], vendor={"transient_error_rate": 0})
    launch_campaign(store, cid, None, clock())
    # The first worker claims a batch, the vendor accepts it, and the process "dies" before recording.
    store.write(lambda cur: cur.execute("UPDATE messages SET status = 'sending', attempts = 1 WHERE campaign_id = ? "
                                        "AND id IN (SELECT id FROM messages WHERE campaign_id = ? ORDER BY id LIMIT 40)",
                                        [cid, cid]))
    answered = vendor.submit(store, get_campaign(store, cid), clock())
    assert answered.height == 40
    receipts_before = store.scalar("SELECT count(*) FROM vendor_receipt_queue")
    # A new worker starts: it submits the 40 again (answered from the vendor's record) and the rest fresh.
    again = vendor.submit(store, get_campaign(store, cid), clock())
    assert again.sort("message_id").equals(answered.sort("message_id"))
    assert store.scalar("SELECT count(*) FROM vendor_receipt_queue") == receipts_before
    deliver_all(store, clock)
    _exactly_once(store, cid)
    assert get_campaign(store, cid).status == "completed"


def _worker(db: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "crm_core", "--db", str(db), "worker", "--interval", "0.05",
                             *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_killed_worker_process_resumes_without_double_sends(tmp_path):
    db = tmp_path / "crash.duckdb"
    store = open_store(db)
    shop = open_shop(store, customers=500, orders=2_000)
    cid = new_campaign(store, shop["everyone"], throttle_per_second=150,
                       vendor={"latency_min_seconds": 0, "latency_max_seconds": 1, "transient_error_rate": 0.1})
    recipients = launch_campaign(store, cid, None).recipients
    store_module.close_all()  # one process per file: let the worker have it
    first = _worker(db)
    time.sleep(2.5)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    store = open_store(db)
    answered = store.scalar("SELECT count(*) FROM messages WHERE campaign_id = ? AND status NOT IN ('queued', "
                            "'sending')", [cid])
    assert 0 < answered < recipients, "the worker should have been killed mid-campaign"
    store_module.close_all()
    second = _worker(db, "--until-idle")
    output, _ = second.communicate(timeout=120)
    assert second.returncode == 0, output
    store = open_store(db)
    _exactly_once(store, cid)
    assert get_campaign(store, cid).status == "completed"
    assert store.scalar("SELECT count(*) FROM vendor_receipt_queue WHERE state = 'pending'") == 0
