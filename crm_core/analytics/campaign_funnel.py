"""One campaign's performance: the delivery funnel (targeted -> sent -> delivered -> opened -> clicked ->
converted), failures by reason, cumulative metrics over time since launch, and its attribution and lift.
`performance` reads everything the campaign page shows in one cursor: one scan of the campaign's messages for
the stage counts and hourly events, one for the failures, and one join of its people with the orders in reach
of the window; the bucket of the chart is chosen from the span at hour precision."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import polars as pl

from crm_core.analytics.attribution import (DEFAULT_WINDOW_DAYS, Attribution, CampaignBase, check_window,
                                            converter_rows, summarise)
from crm_core.campaigns.editing import get_campaign
from crm_core.campaigns.model import Campaign
from crm_core.store import Store


@dataclass(frozen=True)
class Stage:
    """A step of the funnel: its count's column and the stage its rate is a share of."""

    key: str
    label: str
    base: str | None
    help: str


STAGES = (
    Stage("targeted", "Targeted", None, "Recipients frozen at launch, one message each (the holdout, capped and "
                                        "no-address customers get none)."),
    Stage("sent", "Sent", "targeted", "Accepted by the vendor."),
    Stage("delivered", "Delivered", "sent", "Delivery receipts received."),
    Stage("opened", "Opened", "delivered", "Open receipts received (not tracked when the channel has no opens)."),
    Stage("clicked", "Clicked", "delivered", "Click receipts received."),
    Stage("converted", "Converted", "sent", "Ordered within the attribution window after their message was "
                                            "sent (any order that brings revenue, whether they clicked or not)."),
)
STAGE_LABELS = {s.key: s.label for s in STAGES}
BUCKETS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
HOURLY_UP_TO = timedelta(hours=72)  # a span since launch up to this is drawn per hour, longer ones per day
OVER_TIME = ("sent", "delivered", "opened", "clicked", "converted")


@dataclass(frozen=True)
class Performance:
    """Everything the campaign page's Performance part shows."""

    campaign_id: int
    launched_at: datetime | None
    funnel: pl.DataFrame  # stage, label, count, base, rate, of_targeted
    failures: pl.DataFrame  # reason, when, messages, share
    over_time: pl.DataFrame  # bucket, since_launch, sent, delivered, opened, clicked, converted (cumulative)
    bucket: str  # "hour" or "day"
    attribution: Attribution | None  # None before launch
    simulated_orders: int  # orders the simulator made for this campaign (listed in simulated_orders)

    @property
    def targeted(self) -> int:
        """Messages logged at launch."""
        return int(self.funnel.filter(pl.col("stage") == "targeted")["count"].sum() or 0)

    @property
    def sent(self) -> int:
        """Messages the vendor accepted."""
        return int(self.funnel.filter(pl.col("stage") == "sent")["count"].sum() or 0)


def tracks_opens(campaign: Campaign) -> bool:
    """Whether the campaign's channel reports opens (SMS does not: its simulated open rate is 0)."""
    return campaign.vendor.rates(campaign.channel)[0] > 0


_KINDS = {0b0111: "sent", 0b1011: "delivered", 0b1101: "opened", 0b1110: "clicked"}  # grouping() bits: sets left out


def message_events(cur: duckdb.DuckDBPyConnection, campaign_id: int) -> tuple[dict, pl.DataFrame]:
    """One scan of the campaign's messages: the stage counts and the last send, and how many were sent,
    delivered, opened and clicked in each hour (bucket, kind, n); `last_event` is the latest such hour."""
    frame = cur.sql("""
        SELECT grouping(s, d, o, k) AS g, coalesce(s, d, o, k) AS hour, count(*) AS n, max(sent_at) AS last_sent
        FROM (SELECT sent_at, epoch_us(sent_at) // 3600000000 AS s, epoch_us(delivered_at) // 3600000000 AS d,
                     epoch_us(opened_at) // 3600000000 AS o, epoch_us(clicked_at) // 3600000000 AS k
              FROM messages WHERE campaign_id = ?)
        GROUP BY GROUPING SETS ((), (s), (d), (o), (k))""", params=[campaign_id]).pl()
    total = frame.filter(pl.col("g") == 0b1111)
    events = (frame.filter((pl.col("g") != 0b1111) & pl.col("hour").is_not_null())
              .select(pl.from_epoch(pl.col("hour") * 3600, time_unit="s").cast(pl.Datetime("us")).alias("bucket"),
                      pl.col("g").replace_strict(_KINDS, return_dtype=pl.String).alias("kind"),
                      pl.col("n").cast(pl.Int64)))
    counts: dict = {"targeted": int(total["n"].sum() or 0), "last_sent": total["last_sent"].max(),
                    "last_event": events["bucket"].max()}
    for kind in _KINDS.values():
        counts[kind] = int(events.filter(pl.col("kind") == kind)["n"].sum() or 0)
    return counts, events


def funnel_frame(counts: dict[str, int], opens: bool = True) -> pl.DataFrame:
    """The funnel rows from stage counts: count, the stage it is a share of, that share, and share of targeted."""
    stages = [s for s in STAGES if opens or s.key != "opened"]
    targeted = counts.get("targeted") or 0
    rows = []
    for s in stages:
        value, base = int(counts.get(s.key) or 0), counts.get(s.base) if s.base else None
        rows.append({"stage": s.key, "label": s.label, "count": value,
                     "base": STAGE_LABELS[s.base].lower() if s.base else None,
                     "rate": value / base if base else None, "of_targeted": value / targeted if targeted else None})
    return pl.DataFrame(rows, schema={"stage": pl.String, "label": pl.String, "count": pl.Int64, "base": pl.String,
                                      "rate": pl.Float64, "of_targeted": pl.Float64})


def failures_by_reason(cur: duckdb.DuckDBPyConnection, campaign_id: int) -> pl.DataFrame:
    """Failed messages grouped by reason and by when they failed (refused at sending or after), most first."""
    frame = cur.sql("""SELECT coalesce(nullif(trim(error), ''), 'no reason given') AS reason,
                              CASE WHEN sent_at IS NULL THEN 'refused when sent' ELSE 'after sending' END AS "when",
                              count(*) AS messages
                       FROM messages WHERE campaign_id = ? AND status = 'failed'
                       GROUP BY ALL ORDER BY messages DESC, reason, "when" """, params=[campaign_id]).pl()
    total = frame["messages"].sum() if not frame.is_empty() else 0
    return frame.with_columns((pl.col("messages") / total if total else pl.lit(None, pl.Float64)).alias("share"))


def choose_bucket(launched_at: datetime, last: datetime | None) -> str:
    """'hour' when everything happened within HOURLY_UP_TO of the launch, else 'day'."""
    return "hour" if last is None or last - launched_at <= HOURLY_UP_TO else "day"


def over_time(events: pl.DataFrame, launched_at: datetime, bucket: str, conversions: pl.Series) -> pl.DataFrame:
    """Cumulative sent, delivered, opened, clicked and converted at the end of each bucket since launch, from the
    hourly message events and the time of each converted recipient's first attributed order."""
    every = {"hour": "1h", "day": "1d"}[bucket]
    converted = pl.DataFrame({"bucket": conversions.cast(pl.Datetime("us")), "kind": "converted", "n": 1},
                             schema={"bucket": pl.Datetime("us"), "kind": pl.String, "n": pl.Int64})
    rows = (pl.concat([events.select("bucket", "kind", "n"), converted])
            .with_columns(pl.col("bucket").dt.truncate(every))
            .group_by("bucket", "kind").agg(pl.col("n").sum()))
    start = pl.Series([launched_at]).cast(pl.Datetime("us")).dt.truncate(every)[0]
    end = max([start, *rows["bucket"].to_list()])
    axis = pl.DataFrame({"bucket": pl.datetime_range(start, end, BUCKETS[bucket], eager=True, time_unit="us")})
    wide = rows.pivot(on="kind", index="bucket", values="n") if not rows.is_empty() else pl.DataFrame(
        schema={"bucket": pl.Datetime("us")})
    frame = axis.join(wide, on="bucket", how="left")
    steps = BUCKETS[bucket].total_seconds()
    return frame.select(
        "bucket",
        ((pl.col("bucket") - pl.lit(start)).dt.total_seconds() / steps).cast(pl.Int64).alias("since_launch"),
        *[(pl.col(k).fill_null(0).cum_sum() if k in frame.columns else pl.lit(0, pl.Int64)).cast(pl.Int64).alias(k)
          for k in OVER_TIME])


def _simulated_count(cur: duckdb.DuckDBPyConnection, campaign_id: int) -> int:
    return int(cur.execute("SELECT count(*) FROM simulated_orders WHERE campaign_id = ?",
                           [campaign_id]).fetchall()[0][0])


def performance(store: Store, campaign_id: int, window_days: int = DEFAULT_WINDOW_DAYS,
                include_simulated: bool = False) -> Performance:
    """A campaign's funnel, failures, metrics over time, attribution and lift (window 1 to 90 days)."""
    window = check_window(window_days)
    campaign = get_campaign(store, campaign_id)
    with store.cursor() as cur:
        counts, events = message_events(cur, campaign.id)
        simulated = _simulated_count(cur, campaign.id)
        failures = failures_by_reason(cur, campaign.id)
        if campaign.launched_at is None:
            return Performance(campaign.id, None, funnel_frame(counts, tracks_opens(campaign)), failures,
                               pl.DataFrame(schema={"bucket": pl.Datetime("us")}), "hour", None, simulated)
        base = CampaignBase(campaign.id, campaign.launched_at, campaign.recipients or 0, campaign.holdout or 0,
                            int(counts["sent"]), counts["last_sent"])
        converters = converter_rows(cur, {campaign.id: base}, window)
        attribution = summarise(base, converters, window, include_simulated)
        first = "first_all" if include_simulated else "first_real"
        conversions = converters.filter((pl.col("grp") == "recipient") & pl.col("sent")
                                        & pl.col(first).is_not_null())[first]
        last = max([t for t in (counts["last_event"], conversions.max()) if t is not None], default=None)
        bucket = choose_bucket(campaign.launched_at, last)
        timeline = over_time(events, campaign.launched_at, bucket, conversions)
    counts["converted"] = attribution.converted
    return Performance(campaign.id, campaign.launched_at, funnel_frame(counts, tracks_opens(campaign)), failures,
                       timeline, bucket, attribution, simulated)
