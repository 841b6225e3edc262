"""A launched campaign's Performance part: the attribution window and simulated-orders choice, headline figures,
the funnel, recipients against the holdout with a plain verdict, metrics over time and failures by reason."""
from __future__ import annotations

from datetime import timedelta

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from crm_core.analytics.attribution import DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS, MIN_WINDOW_DAYS, Attribution
from crm_core.analytics.campaign_funnel import OVER_TIME, STAGE_LABELS, Performance, performance
from crm_core.analytics.lift import Lift
from crm_core.campaigns.model import Campaign
from crm_core.permissions import PermissionDenied, allowed
from crm_core.services import campaigns
from crm_core.store import Store
from crm_core.validation import NotFoundError, ValidationError, utc_now
from ui.auth import CurrentUser
from ui.ai_insights import campaign_insight_panel
from ui.campaign_format import pct, plain, show_refusal
from ui.charts import plot_frame, show_chart
from ui.widgets import flash, money

VERDICT_BOXES = {"higher": st.success, "lower": st.warning, "no_clear_difference": st.info, "too_small": st.info,
                 "no_holdout": st.info}


@st.cache_data(max_entries=32, show_spinner=False)
def _performance(_store: Store, path: str, version: int, campaign_id: int, window: int,
                 include: bool) -> Performance:
    """The figures, kept while the workspace has not changed (any write moves `version` on)."""
    return performance(_store, campaign_id, window, include)


def performance_view(store: Store, campaign: Campaign, user: CurrentUser) -> None:
    """The Performance part of a launched campaign (a note for one not launched yet)."""
    st.subheader("Performance")
    if campaign.launched_at is None:
        st.info("Performance shows once the campaign is launched: the delivery funnel, conversions and revenue "
                "within the attribution window, and the lift over the holdout.", icon=":material/insights:")
        return
    key = f"cmp-perf-{campaign.id}"
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    window = left.number_input("Attribution window (days)", min_value=MIN_WINDOW_DAYS, max_value=MAX_WINDOW_DAYS,
                               value=DEFAULT_WINDOW_DAYS, step=1, key=f"{key}-window",
                               help="An order counts as a conversion when it is placed after the message was sent "
                                    "and at most this many days later (holdout customers: after the launch).")
    include = bool(st.session_state.get(f"{key}-simulated", False))
    try:
        perf = _performance(store, str(store.path), store.versions()[0], campaign.id, int(window), include)
    except (ValidationError, NotFoundError) as exc:
        show_refusal(exc)
        return
    a = perf.attribution
    with right:
        _simulated_toggle(perf, key)
    _window_note(a)
    if perf.sent == 0:
        st.info("Nothing has been sent yet: the funnel, conversions and lift appear as the vendor accepts the "
                "messages." if not campaign.is_final else "No message was sent, so nothing can be attributed.",
                icon=":material/hourglass_top:")
        _failures(perf, key)
        campaign_insight_panel(store, campaign, user)
        return
    _headline(a)
    _funnel(perf, key)
    _lift(a.lift, a, key)
    _over_time(perf, key)
    _failures(perf, key)
    if allowed(user, "campaign.simulate_conversions"):
        _simulated_actions(store, campaign, perf, user)
    campaign_insight_panel(store, campaign, user)


def _simulated_toggle(perf: Performance, key: str) -> None:
    a = perf.attribution
    if not (perf.simulated_orders or (a and a.simulated_in_window)):
        return
    st.toggle("Include simulated orders", key=f"{key}-simulated",
              help="Orders the vendor simulator made up for demo campaigns. Real revenue figures leave them out.")
    st.caption(f"{perf.simulated_orders:,} orders were simulated for this campaign ({a.simulated_in_window:,} in "
               "its window; those made up for other campaigns never count here). Real revenue figures exclude them"
               + (": the figures below count them." if a.include_simulated else "; they are left out below."))


def _window_note(a: Attribution) -> None:
    days = f"{a.window_days} day" + ("" if a.window_days == 1 else "s")
    text = (f"Conversions: orders placed after the message was sent and at most {days} later "
            f"(sent < ordered ≤ sent + {days}); cancelled and returned orders never count.")
    if a.window_open(utc_now()):
        text += (f" The window is still open until {a.window_closes_at:%Y-%m-%d %H:%M} UTC: figures can still "
                 "grow.")
    st.caption(text)


def _headline(a: Attribution) -> None:
    cols = st.columns(4)
    cols[0].metric("Converted", f"{a.converted:,}", help="Recipients whose message was sent and who ordered "
                                                         "within the window after it.")
    cols[1].metric("Conversion rate", pct(a.conversion_rate, 2), help="Converted, of sent messages.")
    cols[2].metric("Attributed revenue", money(a.revenue),
                   help="The amounts of those orders" + (", simulated ones included." if a.include_simulated
                                                        else " (simulated orders left out)."))
    cols[3].metric("Attributed orders", f"{a.orders:,}")
    if a.include_simulated and a.simulated_counted:
        st.caption(f":material/science: Includes {a.simulated_counted:,} simulated orders.")


def _funnel(perf: Performance, key: str) -> None:
    frame = perf.funnel
    st.markdown("**Delivery funnel**")
    fig = go.Figure(go.Funnel(y=frame["label"].to_list(), x=frame["count"].to_list(),
                              textinfo="value+percent initial", hovertemplate="%{y}: %{x:,}<extra></extra>"))
    a = perf.attribution
    show_chart(fig, frame, "Delivery funnel", key=f"{key}-funnel", height=320,
               caption="Each step's share of the first. Converted counts any sent recipient who ordered in the "
                       "window, clicked or not" + (", simulated orders included." if a.include_simulated else "."))
    rates = [f"{row['label']} {pct(row['rate'])} of {row['base']}" for row in frame.iter_rows(named=True)
             if row["base"]]
    st.caption(" · ".join(rates))


def _lift(lift: Lift, a: Attribution, key: str) -> None:
    with st.container(border=True, key=f"{key}-lift"):
        st.markdown("**Recipients vs holdout**")
        if lift.verdict == "no_holdout":
            st.info("This campaign has no holdout group, so its effect cannot be measured against customers who "
                    "got nothing. Set a holdout (%) in the editor of the next campaign (Duplicate keeps the "
                    "settings).", icon=":material/group_off:")
            return
        cols = st.columns(3)
        cols[0].metric("Recipients converted", pct(lift.recipient_rate, 2),
                       help=f"{lift.recipient_conversions:,} of {lift.recipients:,} recipients (everyone chosen "
                            "to get the message, measured from their message or, when it never went out, from "
                            "the launch).")
        cols[1].metric("Holdout converted", pct(lift.holdout_rate, 2),
                       help=f"{lift.holdout_conversions:,} of {lift.holdout:,} held-out customers, measured from "
                            "the launch.")
        diff = "—" if lift.difference_pp is None else f"{lift.difference_pp:+.2f} pts"
        cols[2].metric("Difference", diff, help="Percentage points, recipients minus holdout.")
        st.caption(f"{lift.recipient_conversions:,} of {lift.recipients:,} recipients and "
                   f"{lift.holdout_conversions:,} of {lift.holdout:,} held out ordered within the window. "
                   f"Revenue: recipients {money(a.recipient_revenue)}, holdout {money(a.holdout_revenue)}. "
                   f"Why this rate differs from the conversion rate above: here every recipient counts, the "
                   f"{max(lift.recipients - a.sent, 0):,} whose message never went out included (measured from the "
                   "launch), so that both groups stay as they were drawn at random; above, only sent messages count.")
        VERDICT_BOXES[lift.verdict](plain(lift.sentence()))


def _over_time(perf: Performance, key: str) -> None:
    frame = perf.over_time
    if frame.is_empty():
        return
    unit = "hour" if perf.bucket == "hour" else "day"
    st.markdown(f"**Over time** · per {unit} since the launch")
    fig = go.Figure()
    drawn = plot_frame(frame)
    step = timedelta(hours=1) if unit == "hour" else timedelta(days=1)
    # Each count is as of the end of its bucket (or now, for the bucket still going on); the lines start from
    # zero at the start of the first one.
    now = utc_now()
    x = [drawn["bucket"][0], *(min(b + step, now) for b in drawn["bucket"].to_list())]
    for column in OVER_TIME:
        fig.add_trace(go.Scatter(x=x, y=[0, *drawn[column].to_list()], mode="lines+markers",
                                 name=STAGE_LABELS.get(column, column.capitalize())))
    fig.update_layout(xaxis_title=f"Time (UTC, per {unit})", yaxis_title="Messages / customers, cumulative")
    show_chart(fig, frame, "Campaign metrics over time", key=f"{key}-time",
               caption=f"Cumulative counts at the end of each {unit} (UTC); converted at each recipient's first "
                       "attributed order.")


def _failures(perf: Performance, key: str) -> None:
    frame = perf.failures
    if frame.is_empty():
        st.caption("No message failed.")
        return
    st.markdown("**Failures by reason**")
    fig = go.Figure()
    for when_failed in frame["when"].unique(maintain_order=True).to_list():
        part = frame.filter(pl.col("when") == when_failed)
        fig.add_trace(go.Bar(y=part["reason"].to_list(), x=part["messages"].to_list(), orientation="h",
                             name=when_failed, hovertemplate="%{y}: %{x:,}<extra></extra>"))
    total = int(frame["messages"].sum())
    whole = {"tickformat": ",d", "dtick": 1} if frame["messages"].max() <= 10 else {"tickformat": ",d"}
    fig.update_layout(barmode="stack", yaxis={"autorange": "reversed"}, xaxis={"title": "Messages", **whole})
    show_chart(fig, frame, "Failures by reason", key=f"{key}-failures", height=max(200, 60 + 40 * frame.height),
               caption=f"{total:,} messages failed: refused when sent, or bounced or blocked after sending.")


def _simulated_actions(store: Store, campaign: Campaign, perf: Performance, user: CurrentUser) -> None:
    if perf.simulated_orders:
        with st.popover("Remove simulated orders", icon=":material/delete_sweep:"):
            st.write(f"Delete the {perf.simulated_orders:,} orders the simulator made up for this campaign? "
                     "Real orders are not touched.")
            if st.button("Yes, remove them", type="primary", key=f"cmp-perf-{campaign.id}-remove"):
                try:
                    gone = campaigns.remove_simulated_orders(store, user, campaign.id)
                except (NotFoundError, PermissionDenied) as exc:
                    st.error(plain(str(exc)))
                    return
                flash(f"{gone:,} simulated orders removed")
                st.rerun()
    elif campaign.vendor.simulate_conversions and campaign.is_final:
        if st.button("Generate simulated orders", icon=":material/science:", key=f"cmp-perf-{campaign.id}-simulate",
                     help="Draw the conversions the vendor simulator's settings ask for (seeded: the same "
                          "orders every time)."):
            try:
                added = campaigns.simulate_conversions(store, user, campaign.id)
            except (ValidationError, NotFoundError, PermissionDenied) as exc:
                show_refusal(exc)
                return
            flash(f"{added:,} simulated orders added")
            st.rerun()
