"""One campaign's performance: the delivery funnel (targeted -> sent -> delivered -> opened -> clicked ->
converted), failures by reason, cumulative metrics over time since launch, and its attribution and lift.
`performance` reads everything the campaign page shows in one cursor (one scan of the campaign's messages per
figure, one join of its people with the orders in reach of the window)."""
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


def _counts(cur: duckdb.DuckDBPyConnection, campaign_id: int) -> dict:
    row = cur.execute("""SELECT count(*), count(sent_at), count(delivered_at), count(opened_at), count(clicked_at),
                                max(sent_at), max(greatest(sent_at, delivered_at, opened_at, clicked_at, failed_at))
                         FROM messages WHERE campaign_id = ?""", [campaign_id]).fetchall()[0]
    keys = ("targeted", "sent", "delivered", "opened", "clicked", "last_sent", "last_event")
    return dict(zip(keys, row))


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


def over_time(cur: duckdb.DuckDBPyConnection, campaign_id: int, launched_at: datetime, bucket: str,
              conversions: pl.Series) -> pl.DataFrame:
    """Cumulative sent, delivered, opened, clicked and converted at the end of each bucket since launch.

    `conversions` holds the time of each converted recipient's first attributed order."""
    unit = {"hour": "hour", "day": "day"}[bucket]  # a registry value, never user text
    counted = cur.sql(f"""
        SELECT grouping(s, d, o, k) AS g, coalesce(s, d, o, k) AS bucket, count(*) AS n FROM (
            SELECT date_trunc('{unit}', sent_at) AS s, date_trunc('{unit}', delivered_at) AS d,
                   date_trunc('{unit}', opened_at) AS o, date_trunc('{unit}', clicked_at) AS k
            FROM messages WHERE campaign_id = ?)
        GROUP BY GROUPING SETS ((s), (d), (o), (k)) HAVING coalesce(s, d, o, k) IS NOT NULL""",
                      params=[campaign_id]).pl()
    # grouping() sets a bit for each column left out: only s kept -> 0b0111, only d -> 0b1011, ...
    kinds = {0b0111: "sent", 0b1011: "delivered", 0b1101: "opened", 0b1110: "clicked"}
    events = counted.with_columns(pl.col("g").replace_strict(kinds, return_dtype=pl.String).alias("kind"))
    converted = (pl.DataFrame({"at": conversions.cast(pl.Datetime("us"))})
                 .select(pl.col("at").dt.truncate(f"1{unit[0]}").alias("bucket"))
                 .group_by("bucket").agg(pl.len().cast(pl.Int64).alias("n"))
                 .with_columns(pl.lit("converted").alias("kind")))
    events = pl.concat([events.select("bucket", "kind", pl.col("n").cast(pl.Int64)),
                        converted.select("bucket", "kind", "n")])
    start = pl.Series([launched_at]).cast(pl.Datetime("us")).dt.truncate(f"1{unit[0]}")[0]
    end = max([start, *events["bucket"].to_list()])
    axis = pl.DataFrame({"bucket": pl.datetime_range(start, end, BUCKETS[bucket], eager=True, time_unit="us")})
    wide = events.pivot(on="kind", index="bucket", values="n") if not events.is_empty() else pl.DataFrame(
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
        counts = _counts(cur, campaign.id)
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
        timeline = over_time(cur, campaign.id, campaign.launched_at, bucket, conversions)
    counts["converted"] = attribution.converted
    return Performance(campaign.id, campaign.launched_at, funnel_frame(counts, tracks_opens(campaign)), failures,
                       timeline, bucket, attribution, simulated)
