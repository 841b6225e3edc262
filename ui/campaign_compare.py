"""Compare campaigns: pick launched campaigns from the history and see them side by side, as a table and as a
grouped bar chart of their delivery, open, click and conversion rates."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from crm_core.analytics.attribution import DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS, MIN_WINDOW_DAYS
from crm_core.analytics.campaign_comparison import COMPARED_RATES, MAX_COMPARED, compare_campaigns
from crm_core.analytics.lift import VERDICTS
from crm_core.campaigns.model import CHANNELS
from crm_core.store import Store
from crm_core.validation import ValidationError
from ui.campaign_format import show_refusal
from ui.charts import show_chart
from ui.text import chart_text

VERDICT_WORDS = {"higher": "higher", "lower": "lower", "no_clear_difference": "no clear difference",
                 "too_small": "too small to tell", "no_holdout": "no holdout"}
COLUMNS = {
    "name": st.column_config.TextColumn("Campaign", width=130),
    "channel": st.column_config.TextColumn("Channel", width=65),
    "launched_at": st.column_config.DatetimeColumn("Launched (UTC)", format="YYYY-MM-DD HH:mm", width=120),
    "recipients": st.column_config.NumberColumn("Recipients", format="localized", width=80),
    **{k: st.column_config.NumberColumn(label, format="percent", width=75, help=f"{label}, {of}.")
       for k, (label, of) in COMPARED_RATES.items()},
    "revenue": st.column_config.NumberColumn("Revenue", format="localized", width=85,
                                             help="Attributed revenue: orders of sent recipients in the window."),
    "lift_pp": st.column_config.NumberColumn("Lift (pts)", format="%+.2f", width=75,
                                             help="Recipients' conversion rate minus the holdout's, in percentage "
                                                  "points."),
    "verdict": st.column_config.TextColumn("Lift verdict", width=120, help=" ".join(VERDICTS.values())),
}


@st.cache_data(max_entries=16, show_spinner="Comparing…")
def _compared(path: str, version: int, ids: tuple[int, ...], window: int, include: bool, _store: Store) -> pl.DataFrame:
    return compare_campaigns(_store, list(ids), window, include)


def compare_view(store: Store, history: pl.DataFrame) -> None:
    """The 'Compare campaigns' part under the history table."""
    launched = history.filter(pl.col("launched_at").is_not_null())
    with st.expander("Compare campaigns", icon=":material/compare_arrows:", expanded=False):
        if launched.height < 2:
            st.info("Launch two campaigns or more to compare them side by side.", icon=":material/compare_arrows:")
            return
        names = dict(zip(launched["id"].to_list(), launched["name"].to_list()))
        left, mid, right = st.columns([3, 1, 1], vertical_alignment="bottom")
        chosen = left.multiselect("Campaigns", list(names), key="cmp-compare-ids", format_func=names.get,
                                  max_selections=MAX_COMPARED, placeholder="Choose two or more launched campaigns")
        window = mid.number_input("Window (days)", min_value=MIN_WINDOW_DAYS, max_value=MAX_WINDOW_DAYS,
                                  value=DEFAULT_WINDOW_DAYS, step=1, key="cmp-compare-window",
                                  help="Orders within this many days after a message count as its conversions.")
        include = right.toggle("Simulated orders", key="cmp-compare-simulated",
                               help="Count the orders the vendor simulator made up (real figures leave them out).")
        if len(chosen) < 2:
            st.caption("Choose two or more campaigns to see them side by side.")
            return
        try:
            frame = _compared(str(store.path), store.versions()[0], tuple(chosen), int(window), include, store)
        except ValidationError as exc:
            show_refusal(exc)
            return
        shown = frame.with_columns(
            pl.col("channel").replace_strict({k: c.label for k, c in CHANNELS.items()}, default=pl.col("channel")),
            pl.col("verdict").replace_strict(VERDICT_WORDS, default=pl.col("verdict")))
        st.dataframe(shown.select(*COLUMNS), hide_index=True, width="stretch", key="cmp-compare-table",
                     placeholder="—", column_config=COLUMNS)
        _chart(frame, include)


def _chart(frame: pl.DataFrame, include: bool) -> None:
    fig = go.Figure()
    labels = [label for label, _ in COMPARED_RATES.values()]
    for row in frame.iter_rows(named=True):
        values = [None if row[k] is None else row[k] * 100 for k in COMPARED_RATES]
        name = chart_text(row["name"])
        fig.add_trace(go.Bar(x=labels, y=values, name=name, hovertemplate="%{x}: %{y:.2f}%<extra>" + name + "</extra>"))
    fig.update_layout(barmode="group", yaxis_title="%", xaxis_title=None)
    data = frame.select("id", "name", *COMPARED_RATES, "revenue", "lift_pp", "lift_low_pp", "lift_high_pp", "verdict")
    show_chart(fig, data, "Campaigns compared", key="cmp-compare-chart",
               caption="Delivered of sent, opened and clicked of delivered, converted of sent"
                       + (" (simulated orders included)." if include else "."))
