"""One campaign's screen, by its status: the editor and pre-launch checks for a draft, the checks for a
scheduled campaign, progress and log once launched; and a read-only summary of what was written."""
from __future__ import annotations

from dataclasses import asdict

import polars as pl
import streamlit as st

from crm_core.campaigns.editing import get_campaign
from crm_core.campaigns.model import CHANNELS, DRAFT, SCHEDULED, Campaign
from crm_core.segments.saved import list_segments
from crm_core.permissions import allowed
from crm_core.store import Store
from crm_core.validation import NotFoundError
from ui.auth import CurrentUser
from ui.campaign_editor import editor, is_dirty
from ui.campaign_form import VENDOR_LABELS
from ui.campaign_format import audience_source, channel_label, plain, status_badge
from ui.campaign_live import live_view
from ui.campaign_performance import performance_view
from ui.campaign_prelaunch import before_launch


def _back() -> None:
    st.query_params.pop("campaign", None)


def campaign_screen(store: Store, param: str, user: CurrentUser) -> None:
    """The screen for `?campaign=new` or `?campaign=<id>`."""
    st.button("All campaigns", icon=":material/arrow_back:", type="tertiary", key="cmp-back", on_click=_back)
    if param == "new":
        if not allowed(user, "campaign.create"):
            st.info("Creating campaigns is for marketers and admins; your role can look at them and export logs.")
            return
        st.title("New campaign")
        editor(store, None, user)
        st.caption("Save the draft to see the message for real recipients, check the audience and launch it.")
        return
    try:
        campaign = get_campaign(store, int(param))
    except (ValueError, NotFoundError):
        st.error(f"There is no campaign '{plain(param)}' (it may have been deleted).")
        return
    _header(campaign)
    if campaign.status == DRAFT and allowed(user, "campaign.update"):
        # Both tabs run on every rerun (no lazy tabs): the form keeps its unsaved values and the checks can
        # tell whether they are what was saved.
        edit, check = st.tabs(["Edit", "Check and launch"], key=f"cmp-tabs-{campaign.id}",
                              default="Check and launch")
        with edit:
            shown = editor(store, campaign, user)
        with check:
            before_launch(store, campaign, user, is_dirty(store, campaign, shown), heading=False)
    elif campaign.status == DRAFT:
        summary(store, campaign)
        st.divider()
        before_launch(store, campaign, user)
    elif campaign.status == SCHEDULED:
        summary(store, campaign)
        st.divider()
        before_launch(store, campaign, user)
    if campaign.status in (DRAFT, SCHEDULED):
        performance_view(store, campaign, user)  # says what will show once launched
    else:
        live_view(store, campaign, user)
        with st.expander("Message and settings", icon=":material/description:"):
            summary(store, campaign, nested=True)


def _header(campaign: Campaign) -> None:
    title, badge = st.columns([5, 1], vertical_alignment="center")
    title.title(plain(campaign.name))
    with badge:
        status_badge(campaign.status)
    if campaign.status_reason:
        st.caption(plain(campaign.status_reason))
    if campaign.description and campaign.status != DRAFT:
        st.caption(plain(campaign.description))


def summary(store: Store, campaign: Campaign, nested: bool = False) -> None:
    """What the campaign sends, to whom and how, read-only (`nested`: already inside an expander)."""
    names = dict(zip(*list_segments(store).select("id", "name").to_dict(as_series=False).values()))
    st.text(f"Channel: {channel_label(campaign.channel)} · audience: {audience_source(campaign, names)}")
    if CHANNELS[campaign.channel].has_subject:
        st.text(f"Subject: {campaign.subject or ''}")
    st.code(campaign.template, language="text", wrap_lines=True)
    cap = f"{campaign.frequency_cap_hours:,} hours" if campaign.frequency_cap_hours else "none"
    speed = f"{campaign.throttle_per_second:,} messages/s" if campaign.throttle_per_second else "no limit"
    st.caption(f"Sending speed {speed} · holdout {campaign.holdout_pct}% · frequency cap {cap} · "
               f"seed {campaign.seed}")
    vendor = asdict(campaign.vendor)
    opens, clicks = campaign.vendor.rates(campaign.channel)
    vendor.update(open_rate=opens, click_rate=clicks)
    with st.container() if nested else st.expander("Vendor simulator", icon=":material/science:"):
        st.dataframe(pl.DataFrame({
            "setting": [VENDOR_LABELS.get(k, (k, ""))[0].replace(" (%)", "") for k in vendor],
            "value": [_setting(k, v) for k, v in vendor.items()],
        }), hide_index=True, key="cmp-vendor-summary", column_config={"setting": "Setting", "value": "Value"})


def _setting(key: str, value) -> str:
    """A vendor setting as shown: rates in %, on/off, numbers as typed."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:.1%}" if key.endswith("_rate") else f"{value:g}"
