"""Before launch: who gets the message (audience after address, cap and holdout), the message as real
recipients get it (step through them), blanks per variable, lengths; then confirm and launch or schedule."""
from __future__ import annotations

from datetime import datetime

import polars as pl
import streamlit as st

from crm_core.campaigns.model import CHANNELS, DRAFT, SCHEDULED, Campaign, TransitionError
from crm_core.campaigns.previewing import LaunchPreview, LengthCheck, VariableBlanks, launch_preview
from crm_core.permissions import PermissionDenied, allowed
from crm_core.services import campaigns
from crm_core.store import Store
from crm_core.validation import NotFoundError, ValidationError
from ui.auth import CurrentUser
from ui.campaign_format import plain, set_errors, show_refusal
from ui.campaign_form import K, form_input, send_at, watched
from ui.campaign_live import cancel_button
from ui.widgets import flash


@st.cache_data(ttl=20, show_spinner="Rendering the message for real recipients…")
def _preview(_store: Store, path: str, campaign_id: int, updated_at: datetime, _campaign: Campaign) -> LaunchPreview:
    return launch_preview(_store, _campaign)


def before_launch(store: Store, campaign: Campaign, user: CurrentUser, dirty: bool = False,
                  heading: bool = True) -> None:
    """The pre-launch checks for a saved draft or a scheduled campaign, and (for writers) launch controls."""
    if heading:
        st.header("Before launch", anchor="before-launch")
    if dirty:
        st.warning("The **Edit** tab has unsaved changes. What follows is the saved draft: save it to check "
                   "and launch your changes.", icon=":material/edit_note:")
    try:
        preview = _preview(store, str(store.path), campaign.id, campaign.updated_at, campaign)
    except ValidationError as exc:
        show_refusal(exc)
        st.caption("Fix the draft above and save it again." if campaign.status == DRAFT else
                   "Move the campaign back to draft to fix it.")
        if allowed(user, "campaign.unschedule") and campaign.status == SCHEDULED:
            _unschedule_button(store, campaign, user)
        return
    _funnel(preview)
    _messages(preview, campaign)
    _blanks(preview.blanks)
    _lengths(preview.lengths, campaign.channel)
    if not allowed(user, "campaign.launch"):
        st.caption("Launching is for marketers and admins; your role can look and export.")
        return
    _launch_controls(store, campaign, user, preview, dirty)


def _funnel(preview: LaunchPreview) -> None:
    st.subheader("Who gets it")
    plan = preview.plan
    left, right = st.columns([1, 3])
    left.metric("Recipients", f"{plan.recipients:,}", help="Customers who get the message if you launch now.")
    left.caption(f"of {plan.matched:,} customers the audience matches today.")
    rows = plan.rows()
    right.dataframe(pl.DataFrame({
        "step": [label for label, _ in rows], "customers": [n for _, n in rows],
        "share": [n / plan.matched if plan.matched else 0.0 for _, n in rows]}),
        hide_index=True, width="stretch", key="cmp-funnel", column_config={
            "step": st.column_config.TextColumn("Step", width="large"),
            "customers": st.column_config.NumberColumn("Customers", format="localized"),
            "share": st.column_config.ProgressColumn("Share of the audience", min_value=0.0, max_value=1.0,
                                                     format="percent")})
    if not plan.recipients:
        st.error("Nobody would get this message: change the audience, the frequency cap or the holdout.",
                 icon=":material/block:")


def _step(key: str, delta: int, count: int) -> None:
    st.session_state[key] = max(0, min(count - 1, st.session_state.get(key, 0) + delta))


def _messages(preview: LaunchPreview, campaign: Campaign) -> None:
    st.subheader("The message, as recipients get it")
    messages, key = preview.messages, f"cmp-{campaign.id}-step"
    if not messages:
        st.info("There is no recipient to show the message for.")
        return
    i = min(st.session_state.get(key, 0), len(messages) - 1)
    back, where, forward = st.columns([1, 4, 1], vertical_alignment="center")
    back.button("Previous", icon=":material/chevron_left:", key="cmp-prev", disabled=i == 0, width="stretch",
                on_click=_step, args=(key, -1, len(messages)))
    forward.button("Next", icon=":material/chevron_right:", key="cmp-next", disabled=i >= len(messages) - 1,
                   width="stretch", on_click=_step, args=(key, 1, len(messages)))
    where.caption(f"Recipient {i + 1} of the first {len(messages)} (in customer id order), "
                  f"of {preview.plan.recipients:,} in all.")
    m = messages[i]
    with st.container(border=True, key="cmp-message"):
        st.text(f"To: {m.name} <{m.address}>")
        if m.subject is not None:
            st.text(f"Subject: {m.subject}")
        st.divider()
        st.text(m.body)
    if m.sms is not None:
        st.caption(f"{m.sms.characters:,} characters · {m.sms.encoding} · "
                   f"{m.sms.segments} SMS segment{'s' if m.sms.segments != 1 else ''}")


def blank_sentence(b: VariableBlanks) -> str:
    """'37 of 1,200 recipients have no city: they get “friend”.' (plain text, not escaped)."""
    what = b.label.lower()
    if not b.blank:
        return f"Every recipient has a {what}."
    who = "recipient has" if b.blank == 1 else "recipients have"
    gets = f"they get “{b.fallback}”" if b.fallback is not None else "they get a blank"
    return f"{b.blank:,} of {b.recipients:,} {who} no {what}: {gets}."


def _blanks(blanks: list[VariableBlanks]) -> None:
    if not blanks:
        return
    st.subheader("Missing values")
    for b in blanks:
        icon = ":material/check:" if not b.blank else (":material/info:" if b.fallback is not None
                                                        else ":material/warning:")
        text = plain(blank_sentence(b))
        if b.blank and b.fallback is None:
            st.warning(text + " Add a default with `| default(\"…\")` to fill it.", icon=icon)
        else:
            st.markdown(f"{icon} {text}")


def _lengths(lengths: LengthCheck, channel: str) -> None:
    st.subheader("Length")
    cols = st.columns(4)
    cols[0].metric("Longest message", f"{lengths.longest:,} characters")
    cols[1].metric("Over the limit", f"{lengths.over_limit:,}",
                   help=f"{CHANNELS[channel].label} allows {lengths.limit:,} characters.")
    if lengths.max_segments is not None:
        cols[2].metric("Most SMS segments", f"{lengths.max_segments:,}",
                       help="An SMS over 160 GSM characters (70 with other characters) goes out in parts.")
        cols[3].metric("SMS sent in parts", f"{lengths.multi_segment or 0:,}")
    if lengths.over_limit:
        st.error(f"{lengths.over_limit:,} messages are longer than {lengths.limit:,} characters, so the launch "
                 "would be refused. Shorten the message or cut long values with `| truncate(n)`.")


def _launch_controls(store: Store, campaign: Campaign, user: CurrentUser, preview: LaunchPreview,
                     dirty: bool) -> None:
    st.subheader("Launch")
    scheduled_later = campaign.status == DRAFT and st.session_state.get(K + "when") == "later"
    if campaign.status == SCHEDULED and campaign.scheduled_at:
        st.info(f"Scheduled for {campaign.scheduled_at:%Y-%m-%d %H:%M} UTC: the delivery worker launches it "
                "then, with the audience as it is at that moment.", icon=":material/schedule:")
    blocked = dirty or not preview.plan.recipients or preview.lengths.over_limit > 0
    sure = st.checkbox(f"I checked the audience and the message: send it to {preview.plan.recipients:,} "
                       "recipients", key=f"cmp-{campaign.id}-sure-{campaign.status}", disabled=blocked)
    cols = st.columns([1.4, 1.6, 1.6, 1.4])
    if scheduled_later:
        when = send_at()
        label = f"Schedule for {when:%Y-%m-%d %H:%M} UTC" if when else "Schedule"
        if cols[0].button(label, type="primary", icon=":material/schedule_send:", key="cmp-schedule",
                          disabled=blocked or not sure or when is None):
            _schedule(store, campaign, user, when)
    elif cols[0].button("Launch now", type="primary", icon=":material/send:", key="cmp-launch",
                        disabled=blocked or not sure):
        _launch(store, campaign, user)
    if campaign.status == SCHEDULED:
        with cols[1]:
            _unschedule_button(store, campaign, user)
        with cols[2]:
            cancel_button(store, campaign, user)
    if not sure and not blocked:
        st.caption("Tick the box to confirm. Launching queues every message at once; the delivery worker then "
                   "sends them in the background and this page shows the progress.")


def _launch(store: Store, campaign: Campaign, user: CurrentUser) -> None:
    try:
        with st.spinner("Freezing the audience and queueing the messages…"):
            result = campaigns.launch_campaign(store, user, campaign.id)
    except (TransitionError, PermissionDenied) as exc:
        st.error(plain(str(exc)), icon=":material/block:")
        return
    except (ValidationError, NotFoundError) as exc:
        for message in (exc.errors.values() if isinstance(exc, ValidationError) else [str(exc)]):
            st.error(plain(message), icon=":material/error:")
        return
    flash(f"Launched: {result.recipients:,} messages queued. Delivery runs in the background.")
    st.rerun()


def _schedule(store: Store, campaign: Campaign, user: CurrentUser, when: datetime | None) -> None:
    try:
        campaigns.schedule_campaign(store, user, campaign.id, when)
    except ValidationError as exc:
        set_errors(exc.errors, watched(form_input()))
        show_refusal(exc)
        return
    except (TransitionError, NotFoundError, PermissionDenied) as exc:
        st.error(plain(str(exc)), icon=":material/block:")
        return
    flash(f"Scheduled for {when:%Y-%m-%d %H:%M} UTC")
    st.rerun()


def _unschedule_button(store: Store, campaign: Campaign, user: CurrentUser) -> None:
    if st.button("Move back to draft", icon=":material/undo:", key="cmp-unschedule",
                 help="Stop the schedule so you can edit the campaign."):
        try:
            campaigns.unschedule_campaign(store, user, campaign.id)
        except (TransitionError, NotFoundError, PermissionDenied) as exc:
            st.error(plain(str(exc)), icon=":material/block:")
            return
        flash("Moved back to draft")
        st.rerun()
