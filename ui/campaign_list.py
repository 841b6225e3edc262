"""The campaign history: every campaign newest first with its delivery figures; open, duplicate, export."""
from __future__ import annotations

import polars as pl
import streamlit as st

from crm_core.campaigns.model import CHANNELS, STATUS_LABELS
from crm_core.campaigns.reporting import campaign_history, log_export_query
from crm_core.permissions import allowed
from crm_core.store import Store
from ui.auth import CurrentUser
from ui.campaign_compare import compare_view
from ui.campaign_form import OPEN_KEY
from ui.campaign_format import plain, status_badge
from ui.campaign_live import duplicate
from ui.widgets import download_buttons

HISTORY_COLUMNS = {
    "name": st.column_config.TextColumn("Campaign", width=150),
    "status": st.column_config.TextColumn("Status", width=90),
    "channel": st.column_config.TextColumn("Channel", width=70),
    "audience": st.column_config.TextColumn("Audience", width=140),
    "recipients": st.column_config.NumberColumn("Recipients", format="localized", width=85),
    "sent": st.column_config.NumberColumn("Sent", format="localized", width=65),
    "failed": st.column_config.NumberColumn("Failed", format="localized", width=65,
                                            help="Refused by the vendor, or bounced/blocked after sending."),
    "delivery_rate": st.column_config.NumberColumn("Delivery rate", format="percent", width=90,
                                                   help="Delivered, of sent."),
    "open_rate": st.column_config.NumberColumn("Open rate", format="percent", width=80, help="Opened, of delivered."),
    "click_rate": st.column_config.NumberColumn("Click rate", format="percent", width=75,
                                                help="Clicked, of delivered."),
    "launched_at": st.column_config.DatetimeColumn("Launched (UTC)", format="YYYY-MM-DD HH:mm", width=130),
    "launched_by": st.column_config.TextColumn("Launched by", width=90),
}


def new_campaign() -> None:
    """Open the editor on a fresh campaign."""
    st.session_state.pop(OPEN_KEY, None)
    st.query_params["campaign"] = "new"


def campaign_list(store: Store, user: CurrentUser) -> None:
    """The history table, the New campaign button, and actions on the selected campaign."""
    st.session_state.pop(OPEN_KEY, None)  # the editor loads afresh next time
    head, button = st.columns([4, 1.3], vertical_alignment="bottom")
    head.title("Campaigns")
    if allowed(user, "campaign.create"):
        button.button("New campaign", icon=":material/add:", type="primary", key="cmp-new", on_click=new_campaign,
                      width="stretch")
    history = campaign_history(store)
    if history.is_empty():
        if allowed(user, "campaign.create"):
            st.info("No campaigns yet. Click **New campaign** to write a message to one of your saved segments "
                    "(or to an audience you build on the spot), preview it for real customers, and launch it. "
                    "Delivery runs in the background and this page keeps the history.",
                    icon=":material/campaign:")
        else:
            st.info("No campaigns yet. When marketers launch campaigns, their delivery, open and click rates "
                    "show up here, and you can export each campaign's message log.", icon=":material/campaign:")
        return
    shown = history.with_columns(
        pl.col("channel").replace_strict({k: c.label for k, c in CHANNELS.items()}, default=pl.col("channel")),
        pl.col("status").replace_strict(STATUS_LABELS, default=pl.col("status")),
    ).select("id", *HISTORY_COLUMNS)
    st.caption(f"{history.height:,} campaign{'s' if history.height != 1 else ''}, newest first. "
               "Select a row to open, duplicate or export it.")
    event = st.dataframe(shown, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                         key="cmp-table", placeholder="—", column_order=list(HISTORY_COLUMNS), column_config=HISTORY_COLUMNS)
    if event.selection.rows:
        _selected(store, history.row(event.selection.rows[0], named=True), user)
    compare_view(store, history)


def _selected(store: Store, row: dict, user: CurrentUser) -> None:
    with st.container(border=True, key="cmp-selected"):
        title, badge = st.columns([5, 1], vertical_alignment="center")
        title.markdown(f"**{plain(row['name'])}**")
        with badge:
            status_badge(row["status"])
        if row["status_reason"]:
            st.caption(plain(row["status_reason"]))
        cols = st.columns([1, 1, 2.6, 1.4])
        if cols[0].button("Open", icon=":material/open_in_new:", type="primary", key="cmp-open-btn",
                          width="stretch"):
            st.query_params["campaign"] = str(row["id"])
            st.rerun()
        if allowed(user, "campaign.duplicate") and cols[1].button("Duplicate", icon=":material/content_copy:", key="cmp-list-dup",
                                             width="stretch"):
            duplicate(store, row["id"], user)
        with cols[2]:
            if row["launched_at"] is not None:
                download_buttons(store, user, *log_export_query(row["id"]), basename=f"campaign-{row['id']}-log",
                                 key=f"cmp-list-dl-{row['id']}")
            else:
                st.caption("Not launched yet: no message log to export.")
