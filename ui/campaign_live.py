"""A launched campaign: status, live delivery progress (refreshing itself while anything can still change),
pause / resume / cancel / duplicate, the lifecycle, and the communication log."""
from __future__ import annotations

import streamlit as st

from crm_core.campaigns.editing import get_campaign
from crm_core.campaigns.model import PAUSED, RUNNING, STATUS_LABELS, Campaign, TransitionError
from crm_core.campaigns.reporting import DeliveryCounts, campaign_events, delivery_counts, receipts_pending
from crm_core.permissions import PermissionDenied, allowed
from crm_core.services import campaigns
from crm_core.store import Store
from crm_core.validation import NotFoundError, ValidationError
from ui.auth import CurrentUser
from ui.campaign_format import count, pct, plain, show_refusal
from ui.campaign_log import communication_log_view
from ui.campaign_performance import performance_view
from ui.widgets import flash

ACTIONS = {"pause": ("Pause", ":material/pause:", "Campaign paused: nothing more is sent until you resume it."),
           "resume": ("Resume", ":material/play_arrow:", "Campaign resumed"),
           "cancel": ("Cancel campaign", ":material/cancel:", "Campaign cancelled: the messages not yet sent "
                                                              "will not be sent.")}


def still_changing(store: Store, campaign: Campaign) -> bool:
    """Whether the counts can still move: running or paused, or receipts still on their way."""
    return campaign.status in (RUNNING, PAUSED) or receipts_pending(store, campaign.id) > 0


def live_view(store: Store, campaign: Campaign, user: CurrentUser) -> None:
    """Progress, counts, actions, lifecycle and log of a launched campaign."""
    if campaign.launched_at:
        st.caption(f"Launched {campaign.launched_at:%Y-%m-%d %H:%M} UTC by {plain(campaign.launched_by or 'the scheduler')}"
                   + (f" · finished {campaign.finished_at:%Y-%m-%d %H:%M} UTC" if campaign.finished_at else ""))
    _frozen_audience(campaign)
    if still_changing(store, campaign):
        _live_counts(store, campaign.id, campaign.status)
    else:
        _counts(delivery_counts(store, campaign.id), campaign.status)
    if allowed(user, "campaign.pause"):
        _actions(store, campaign, user)
    if still_changing(store, campaign):
        _live_performance(store, campaign.id, user)
    else:
        performance_view(store, campaign, user)
    with st.expander("Lifecycle", icon=":material/timeline:"):
        events = campaign_events(store, campaign.id)
        st.dataframe(events, hide_index=True, width="stretch", key="cmp-events", placeholder="—", column_config={
            "happened_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "from_status": "From", "to_status": "To", "by_user": "By", "note": "Note"})
    communication_log_view(store, campaign, user)


def _frozen_audience(campaign: Campaign) -> None:
    if campaign.recipients is None:
        return
    st.caption(f"Audience frozen at launch: {count(campaign.audience_size)} matched · {count(campaign.no_address)} "
               f"without an address · {count(campaign.capped)} capped · {count(campaign.holdout)} held out · "
               f"**{count(campaign.recipients)} recipients**.")


@st.fragment(run_every=1)
def _live_counts(store: Store, campaign_id: int, shown_status: str) -> None:
    """The counts, refreshed every second; the whole page reruns when the status changes or all is in."""
    try:
        campaign = get_campaign(store, campaign_id)
    except NotFoundError:
        return
    if campaign.status != shown_status or not still_changing(store, campaign):
        st.rerun(scope="app")
    _counts(delivery_counts(store, campaign_id), campaign.status)
    pending = receipts_pending(store, campaign_id)
    if pending and campaign.status not in (RUNNING, PAUSED):
        st.caption(f":material/hourglass_top: {pending:,} receipt{'s are' if pending != 1 else ' is'} still on "
                   "their way from the vendor; "
                   "the counts update by themselves.")


@st.fragment(run_every=5)
def _live_performance(store: Store, campaign_id: int, user: CurrentUser) -> None:
    """Performance while messages and receipts still come in, read again every five seconds."""
    try:
        campaign = get_campaign(store, campaign_id)
    except NotFoundError:
        return
    performance_view(store, campaign, user)


def _counts(counts: DeliveryCounts, status: str) -> None:
    if counts.total:
        text = (f"{counts.answered:,} of {counts.total:,} messages answered by the vendor "
                f"({int(counts.progress * 100)}%) · {STATUS_LABELS.get(status, status)}")  # 100% only when all are
        st.progress(min(1.0, counts.progress), text=text)
    top = st.columns(6)
    top[0].metric("Queued", f"{counts.queued:,}", help="Waiting to be sent (or being sent).")
    top[1].metric("Sent", f"{counts.sent:,}", help="Accepted by the vendor.")
    top[2].metric("Failed", f"{counts.failed:,}", help="Refused at once, or bounced/blocked later.")
    top[3].metric("Delivered", f"{counts.delivered:,}", help="Delivery receipts received.")
    top[4].metric("Opened", f"{counts.opened:,}")
    top[5].metric("Clicked", f"{counts.clicked:,}")
    rates = st.columns(6)
    refused = counts.total - counts.queued - counts.sent - counts.cancelled
    rates[1].caption(f"{pct(counts.rate(counts.sent, counts.total))} of all messages")
    rates[2].caption(f"{refused:,} refused by the vendor, {counts.failed - refused:,} bounced or blocked after "
                     "sending")
    rates[3].caption(f"Delivery rate {pct(counts.rate(counts.delivered))} of sent")
    rates[4].caption(f"Open rate {pct(counts.rate(counts.opened, counts.delivered))} of delivered")
    rates[5].caption(f"Click rate {pct(counts.rate(counts.clicked, counts.delivered))} of delivered")
    if counts.cancelled:
        st.caption(f"{counts.cancelled:,} messages were not sent because the campaign was cancelled or failed.")


def _act(store: Store, campaign: Campaign, action: str, user: CurrentUser) -> None:
    try:
        campaigns.transition(store, user, campaign.id, action)
    except (TransitionError, NotFoundError, PermissionDenied) as exc:
        st.error(plain(str(exc)), icon=":material/block:")
        return
    flash(ACTIONS[action][2])
    st.rerun()


def _actions(store: Store, campaign: Campaign, user: CurrentUser) -> None:
    shown = [a for a, allowed in (("pause", campaign.status == RUNNING), ("resume", campaign.status == PAUSED),
                                  ("cancel", campaign.status in (RUNNING, PAUSED)), ("duplicate", True)) if allowed]
    for action, col in zip(shown, st.columns([1.2] * len(shown) + [6 - 1.2 * len(shown)])):
        with col:
            if action == "cancel":
                cancel_button(store, campaign, user)
            elif action == "duplicate":
                if st.button("Duplicate", icon=":material/content_copy:", key="cmp-dup", width="stretch",
                             help="A new draft with the same audience, message and settings."):
                    duplicate(store, campaign.id, user)
            elif st.button(ACTIONS[action][0], icon=ACTIONS[action][1], key=f"cmp-{action}", width="stretch",
                           type="primary" if action == "resume" else "secondary"):
                _act(store, campaign, action, user)


def cancel_button(store: Store, campaign: Campaign, user: CurrentUser) -> None:
    """'Cancel campaign' behind a confirmation."""
    with st.popover(ACTIONS["cancel"][0], icon=ACTIONS["cancel"][1], width="stretch"):
        st.write("Cancel the campaign? Messages not yet sent are dropped; this cannot be undone.")
        if st.button("Yes, cancel it", type="primary", key="cmp-cancel"):
            _act(store, campaign, "cancel", user)


def duplicate(store: Store, campaign_id: int, user: CurrentUser) -> None:
    """Copy a campaign into a new draft and open it (problems shown as messages)."""
    try:
        copy = campaigns.duplicate_campaign(store, user, campaign_id)
    except (ValidationError, NotFoundError, PermissionDenied) as exc:
        show_refusal(exc)
        return
    flash("Campaign duplicated: this is the new draft")
    st.query_params["campaign"] = str(copy)
    st.rerun()
