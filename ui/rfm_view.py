"""The RFM page's parts: as-of controls, the R x F heatmap, the groups, the score ranges and 'Save as segment'."""
from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import streamlit as st

from crm_core.analytics.rfm import RfmResult, range_text, rfm, score_ranges, suggested_as_of
from crm_core.analytics.rfm_groups import GROUPS, SCORES
from crm_core.analytics.rfm_segments import default_name, select_cells
from crm_core.segments.preview import today
from crm_core.permissions import allowed
from crm_core.services import segments
from crm_core.store import Store
from ui.auth import CurrentUser
from ui.charts import show_chart
from ui.widgets import money, run_save

_SAVED = "rfm-saved"
_GROUP_LABELS = {g.key: g.label for g in GROUPS}


@st.cache_data(max_entries=16, show_spinner="Scoring customers…")
def _scores(path: str, versions: tuple[int, int], as_of: date, include_simulated: bool, _store: Store) -> RfmResult:
    return rfm(_store, as_of, include_simulated)


def load_rfm(store: Store, as_of: date, include_simulated: bool) -> RfmResult:
    """The RFM as of a date, computed again only after a write (picking a cell or typing a name costs no query)."""
    return _scores(str(store.path), store.versions(), as_of, include_simulated, store)


def rfm_controls(store: Store) -> tuple[date, bool]:
    """The as-of date (default: today, or the last order's day for historical data) and the simulated toggle."""
    suggested = suggested_as_of(store)
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    as_of = left.date_input("As of", value=suggested, format="YYYY-MM-DD", key="rfm-as-of",
                            help="Orders placed up to the end of this day (UTC) count; later ones do not exist yet.")
    include = right.toggle("Include simulated campaign orders", value=False, key="rfm-simulated",
                           help="Orders the campaign simulator made up are left out of real figures by default.")
    if suggested != today():
        st.caption(f"The latest order is from {suggested.isoformat()}, long before today: the as-of date starts "
                   "there (historical data).")
    return as_of or suggested, bool(include)


def _heatmap(result: RfmResult) -> None:
    cells = {(r["recency"], r["frequency"]): r for r in result.grid.to_dicts()}
    rows = list(SCORES)  # R 1 at the bottom, R 5 on top
    z = [[cells[(r, f)]["customers"] for f in SCORES] for r in rows]
    text = [[f"{_GROUP_LABELS[cells[(r, f)]['group_key']]}<br>{cells[(r, f)]['customers']:,}" for f in SCORES]
            for r in rows]
    custom = [[[cells[(r, f)]["group"], f"{cells[(r, f)]['customers']:,}", f"{cells[(r, f)]['share']:.1%}",
                money(cells[(r, f)]["revenue"]),
                range_text(cells[(r, f)]["days_from"], cells[(r, f)]["days_to"], "days"),
                range_text(cells[(r, f)]["orders_from"], cells[(r, f)]["orders_to"], "orders")]
               for f in SCORES] for r in rows]
    fig = go.Figure(go.Heatmap(
        z=z, x=[f"F {f}" for f in SCORES], y=[f"R {r}" for r in rows], text=text, texttemplate="%{text}",
        customdata=custom, colorscale="Blues", colorbar={"title": {"text": "Customers"}},
        hovertemplate=("<b>%{customdata[0]}</b> (%{y}, %{x})<br>%{customdata[1]} customers "
                       "(%{customdata[2]})<br>Revenue %{customdata[3]}<br>Last order %{customdata[4]} ago"
                       "<br>%{customdata[5]}<extra></extra>")))
    fig.update_layout(xaxis_title="Frequency score (orders)", yaxis_title="Recency score (5 = most recent)")
    data = result.grid.select("recency", "frequency", "group", "customers", "share", "revenue", "revenue_share",
                              "days_from", "days_to", "orders_from", "orders_to")
    show_chart(fig, data, f"RFM grid as of {result.as_of.isoformat()}", key="rfm-grid", height=460,
               caption="Each cell: customers with that recency and frequency score. Hover for the group, revenue "
                       "and the value ranges behind the scores.")


def _groups(result: RfmResult) -> None:
    groups = result.groups
    fig = go.Figure(go.Bar(
        x=groups["customers"].to_list(), y=groups["group"].to_list(), orientation="h",
        customdata=[[f"{s:.1%}", money(v), f"{rs:.1%}"] for s, v, rs in
                    zip(groups["share"], groups["revenue"], groups["revenue_share"])],
        hovertemplate=("<b>%{y}</b><br>%{x:,} customers (%{customdata[0]})<br>Revenue %{customdata[1]} "
                       "(%{customdata[2]})<extra></extra>")))
    fig.update_layout(yaxis={"autorange": "reversed"}, xaxis_title="Customers")
    show_chart(fig, groups, "Customers per RFM group", key="rfm-groups", height=400)
    st.dataframe(groups.select("group", "cells", "customers", "share", "revenue", "revenue_share", "description",
                               "action"),
                 hide_index=True, width="stretch", key="rfm-groups-table", height=35 * (len(GROUPS) + 1) + 3,
                 column_config={"share": st.column_config.ProgressColumn("Share", format="percent"),
                                "revenue_share": st.column_config.NumberColumn("Revenue share", format="percent"),
                                "revenue": st.column_config.NumberColumn("Revenue", format="localized"),
                                "cells": "Cells", "group": "Group", "customers": "Customers",
                                "description": "Who they are", "action": "Suggested action"})


def rfm_report(result: RfmResult) -> bool:
    """Figures, grid, groups and score ranges; False (after an empty-state message) when nobody is scored."""
    if not result.scored:
        st.info(f"No orders up to {result.as_of.isoformat()}, so nobody has an RFM score. Pick a later date, "
                "import orders, or (admins) reload the demo data under **Settings**.", icon=":material/info:")
        return False
    tiles = st.columns(3)
    tiles[0].metric("Customers scored", f"{result.scored:,}")
    tiles[1].metric("Without RFM", f"{result.unscored:,}",
                    help=f"Customers with no order up to {result.as_of.isoformat()}: they have no scores.")
    tiles[2].metric("Their revenue", money(result.revenue), help="Cancelled and returned orders bring none.")
    _heatmap(result)
    _groups(result)
    with st.expander("How the scores work", icon=":material/help:"):
        st.markdown(
            "Each score runs from 1 to 5. The **cutoffs** are quintiles of the customers' own values (the value "
            "at 20%, 40%, 60% and 80%), so equal values always get the same score and each score is a range of "
            "values: **R** from the days since the last order (fewest days = 5), **F** from the number of "
            "orders (every status), **M** from revenue (cancelled and returned orders bring none). When many "
            "customers share a value (most have one order), cutoffs coincide and some scores stay empty.")
        st.dataframe(score_ranges(result.cutoffs), hide_index=True, width="stretch", key="rfm-ranges",
                     column_config={"score": "Score", "recency": "R: since last order", "frequency": "F: orders",
                                    "monetary": "M: revenue"})
    return True


def _choice(result: RfmResult) -> dict:
    mode = st.radio("Save", ["cell", "group"], horizontal=True, key="rfm-save-mode",
                    format_func=lambda m: "One cell" if m == "cell" else "A whole group")
    if mode == "group":
        key = st.selectbox("Group", [g.key for g in GROUPS], format_func=_GROUP_LABELS.get, key="rfm-save-group")
        return {"group": key}
    cols = st.columns(2)
    r = cols[0].segmented_control("R (recency)", list(reversed(SCORES)), default=5, key="rfm-save-r")
    f = cols[1].segmented_control("F (frequency)", list(SCORES), default=5, key="rfm-save-f")
    return {"r": r or 5, "f": f or 5}


def save_panel(store: Store, user: CurrentUser, result: RfmResult) -> None:
    """Pick a cell or group and save it as a segment fixed on the as-of date (marketers and admins)."""
    st.subheader("Save as segment")
    saved = st.session_state.pop(_SAVED, None)
    if saved:
        st.success(f"Saved “{saved['name']}” with {saved['segment']:,} customers.", icon=":material/check_circle:")
        if saved["segment"] != saved["cell"]:
            st.warning(f"The cell held {saved['cell']:,} customers; the segment counts every order, simulated ones "
                       f"included, and holds {saved['segment']:,}.")
        st.page_link("pages/segments.py", label="Open it on the Segments page", icon=":material/filter_alt:",
                     query_params={"segment": str(saved["id"])})
    if not allowed(user, "segment.save"):
        st.caption("Your role can explore RFM; saving a segment is for marketers and admins.")
        return
    choice = _choice(result)
    selection = select_cells(result, **choice)
    cuts = result.cutoffs
    st.markdown(f"**{selection.label}**: {selection.customers:,} customers, "
                f"{range_text(*cuts.days(*selection.recency), 'days')} since the last order, "
                f"{range_text(*cuts.orders(*selection.frequency), 'orders')}.")
    st.caption(f"{selection.group.description} Suggested: {selection.group.action}")
    if not result.include_simulated and result.simulated_customers:
        st.warning(f"{result.simulated_customers:,} customers have simulated campaign orders up to "
                   f"{result.as_of.isoformat()}. The RFM leaves those orders out, but a segment's order fields count "
                   "every order, so the segment may place these customers differently. Turn on “Include simulated "
                   "campaign orders” for a segment that matches the cell exactly.")
    token = f"{result.as_of.isoformat()}-{'-'.join(f'{k}{v}' for k, v in sorted(choice.items()))}"
    name = st.text_input("Segment name", value=default_name(result, selection), max_chars=100,
                         key=f"rfm-name-{token}")
    st.caption(f"The segment keeps the as-of date {result.as_of.isoformat()}: evaluated on that date, its "
               "members are the customers shown here.")
    if st.button("Save as segment", icon=":material/save:", type="primary", key="rfm-save"):
        outcome = run_save(lambda: segments.save_rfm_segment(store, user, result, name, **choice),
                           f"Segment '{name.strip()}' saved")
        if outcome:
            st.session_state[_SAVED] = {"id": outcome.segment_id, "name": outcome.name,
                                        "cell": outcome.cell_customers, "segment": outcome.segment_customers}
            st.rerun()
