"""The overview's controls: date range (presets or custom), comparison, simulated orders, chart bucket, map level."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import streamlit as st

from crm_core.analytics.dashboard import Dashboard, DataSpan, dashboard, data_span
from crm_core.analytics.periods import PRESETS, Period, bucket_for
from crm_core.segments.preview import today
from crm_core.store import Store

BUCKET_LABELS = {"day": "Day", "week": "Week", "month": "Month"}
MAP_METRICS = {"revenue": "Revenue", "customers": "Customers", "buyers": "Buyers", "orders": "Orders"}
MAX_BARS = 400  # a bucket is offered when the range needs at most this many bars


@dataclass(frozen=True)
class Choice:
    """What the user picked: the period, whether to compare, to count simulated orders, and the chart bucket."""

    period: Period
    compare: bool
    include_simulated: bool
    bucket: str
    span: DataSpan


def _bucket_choice(period: Period) -> str:
    days = {"day": 1, "week": 7, "month": 30}
    auto = bucket_for(period)
    allowed = [b for b in BUCKET_LABELS if period.days / days[b] <= MAX_BARS or b == auto]  # month always
    picked = st.segmented_control("Group by", allowed, default=auto, format_func=BUCKET_LABELS.get,
                                  key=f"home-bucket-{period.start}-{period.end}",
                                  help="Chosen from the range's length; pick another to regroup the charts.")
    return picked or auto


@st.cache_data(max_entries=8, show_spinner=False)
def _span(path: str, versions: tuple[int, int], day: date, _store: Store) -> DataSpan:
    return data_span(_store, day)


def overview_controls(store: Store) -> Choice:
    """Draw the range picker row and return the user's choice."""
    span = _span(str(store.path), store.versions(), today(), store)
    left, middle, grouping, right = st.columns([2, 2.4, 2.1, 2.8], vertical_alignment="bottom")
    preset = left.selectbox("Date range", list(PRESETS), index=1, format_func=PRESETS.get, key="home-range",
                            help="Whole days in UTC, the time zone every time is stored in.")
    if preset == "custom":
        default = span.period("30d")
        picked = middle.date_input("From – to", value=(default.start, default.end), key="home-custom",
                                   format="YYYY-MM-DD", max_value=date(2100, 1, 1))
        if not isinstance(picked, (list, tuple)) or len(picked) < 2:
            st.info("Pick the range's last day too.", icon=":material/date_range:")
            st.stop()
        period = Period(picked[0], picked[1])
    else:
        period = span.period(preset)
        middle.caption(period.label())
    with right:
        everything = preset == "all"
        compare = st.toggle("Compare with the previous period", value=not everything, key=f"home-compare-{everything}",
                            disabled=everything,
                            help="All time has no previous period to compare with." if everything
                            else f"Deltas against {period.previous().label()}.")
        include_simulated = False
        if span.simulated_orders:
            include_simulated = st.toggle(
                "Include simulated orders", value=False, key="home-simulated",
                help=f"{span.simulated_orders:,} orders were made up by the campaign simulator to demonstrate "
                     "conversions. Real revenue figures leave them out.")
            if not include_simulated:
                st.caption(f"{span.simulated_orders:,} simulated orders left out.")
    if span.last_order and span.anchor != today():
        st.caption(f"The latest order is from {span.last_order:%Y-%m-%d}, long before today, so ranges end "
                   "on that day. Pick **Custom range** for other dates.")
    with grouping:
        bucket = _bucket_choice(period)
    return Choice(period, compare, include_simulated, bucket, span)


def map_controls(span: DataSpan) -> tuple[str, str | None, str]:
    """The map's level (countries, or one country's states) and the figure it colours by."""
    left, right = st.columns([3, 2])
    places = ["All countries", "All states"] + [f"States of {c}" for c in span.countries[:30]]
    # customers without any country (e.g. a CSV with cities and states only): start with their states
    where = left.selectbox("Map", places, index=0 if span.countries else 1, key="home-map-level",
                           help="Countries, or the states inside one country (outlines for US states; other "
                                "countries' states are shown as bars).")
    metric = right.segmented_control("Colour by", list(MAP_METRICS), default="revenue",
                                     format_func=MAP_METRICS.get, key="home-map-metric") or "revenue"
    if where == "All countries":
        return "country", None, metric
    if where == "All states":
        return "state", None, metric
    return "state", where.removeprefix("States of "), metric


@st.cache_data(max_entries=32, show_spinner="Reading the figures…")
def _dashboard(path: str, versions: tuple[int, int], period: Period, bucket: str, level: str, country: str | None,
               include_simulated: bool, _store: Store) -> Dashboard:
    return dashboard(_store, period, bucket, level, country, include_simulated)


def load_dashboard(store: Store, choice: Choice, level: str, country: str | None) -> Dashboard:
    """The overview's figures, read again only after a write to the workspace (a rerun for another map colour,
    or a toggle that changes nothing read, costs no query)."""
    return _dashboard(str(store.path), store.versions(), choice.period, choice.bucket, level, country,
                      choice.include_simulated, store)
