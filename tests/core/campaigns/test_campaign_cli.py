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


def test_performance_prints_the_funnel_and_the_lift(shop, capsys):
    from crm_core.analytics.campaign_funnel import performance
    store, db, ids = shop
    cid = new_campaign(store, ids["everyone"], name="Measured", vendor=FAST, holdout_pct=20)
    assert main(["--db", db, "campaign", "launch", "Measured"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "campaign", "performance", "measured", "--window", "30"]) == 0
    out = capsys.readouterr().out
    perf = performance(store, cid, 30)
    a = perf.attribution
    assert out.splitlines()[0] == "Measured: attribution window 30 days, simulated orders left out"
    assert f"targeted {perf.targeted:,}" in out and f"converted {a.converted:,}" in out
    assert f"attributed revenue {a.revenue:,.2f} from {a.orders:,} orders" in out
    assert a.lift.sentence() in out
    assert main(["--db", db, "campaign", "performance", "Measured", "--window", "91"]) != 0
    assert "between 1 and 90 days" in capsys.readouterr().err
