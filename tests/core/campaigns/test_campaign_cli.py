"""`python -m crm_core campaign list|show|launch|log` and `worker`, called in-process: a headless launch
delivers to the end, errors are one line without a traceback, the log exports."""
from __future__ import annotations

import polars as pl
import pytest

from crm_core.campaigns.editing import get_campaign
from crm_core.campaigns.reporting import delivery_counts
from crm_core.cli import main
from tests.core.campaigns.shop import new_campaign, open_shop

FAST = {"latency_min_seconds": 0, "latency_max_seconds": 0.2, "transient_error_rate": 0, "receipt_failure_rate": 0}


@pytest.fixture
def shop(store):
    ids = open_shop(store, customers=150, orders=600)
    return store, str(store.path), ids


def test_headless_launch_delivers_and_log_exports(shop, tmp_path, capsys):
    store, db, ids = shop
    cid = new_campaign(store, ids["big"], name="Thank you", vendor=FAST)
    assert main(["--db", db, "campaign", "launch", "thank you", "--user", "ops"]) == 0
    out = capsys.readouterr().out
    campaign = get_campaign(store, cid)
    counts = delivery_counts(store, cid)
    assert f"launched 'Thank you': {campaign.recipients:,} recipients" in out
    assert campaign.status == "completed" and campaign.launched_by == "ops"
    assert counts.queued == 0 and f"sent {counts.sent:,}" in out.splitlines()[-1]
    assert store.scalar("SELECT count(*) FROM vendor_receipt_queue WHERE state = 'pending'") == 0
    assert main(["--db", db, "campaign", "list"]) == 0
    assert "Thank you" in capsys.readouterr().out
    target = tmp_path / "log.parquet"
    assert main(["--db", db, "campaign", "log", "Thank you", "--out", str(target)]) == 0
    frame = pl.read_parquet(target)
    assert frame.height == campaign.recipients and {"body", "status", "vendor_message_id"} <= set(frame.columns)


def test_no_wait_then_worker_until_idle(shop, capsys):
    store, db, ids = shop
    cid = new_campaign(store, ids["everyone"], name="Later", vendor=FAST)
    assert main(["--db", db, "campaign", "launch", "Later", "--no-wait"]) == 0
    assert get_campaign(store, cid).status == "running"
    assert main(["--db", db, "worker", "--until-idle", "--interval", "0.05"]) == 0
    assert get_campaign(store, cid).status == "completed"
    assert "idle: nothing to send, 0 receipts pending" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["campaign", "launch", "Nope"], "There is no campaign named 'Nope'."),
    (["campaign", "show", "Nope"], "There is no campaign named 'Nope'."),
])
def test_errors_are_one_line(shop, capsys, argv, message):
    _, db, _ = shop
    assert main(["--db", db, *argv]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"error: {message}" and "Traceback" not in err


def test_launching_twice_is_refused(shop, capsys):
    store, db, ids = shop
    new_campaign(store, ids["big"], name="Once", vendor=FAST)
    assert main(["--db", db, "campaign", "launch", "Once", "--no-wait"]) == 0
    assert main(["--db", db, "campaign", "launch", "Once", "--no-wait"]) == 1
    assert "A running campaign cannot launch" in capsys.readouterr().err
