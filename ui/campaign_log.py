"""A campaign's communication log: filter by status, search, page through, open one message (its text and
status timeline), and export every matching message as CSV or Parquet."""
from __future__ import annotations

import streamlit as st

from crm_core.campaigns.model import Campaign
from crm_core.campaigns.reporting import (LOG_PAGE, MESSAGE_STATUSES, communication_log, log_export_query,
                                          status_timeline)
from crm_core.listing import Page
from crm_core.store import Store
from crm_core.validation import utc_now
from ui.list_controls import pager, paged
from ui.auth import CurrentUser
from ui.widgets import download_buttons, page_summary

LOG_COLUMNS = {
    "message_id": st.column_config.NumberColumn("Message", format="%d", width=75),
    "customer": st.column_config.TextColumn("Customer", width=140),
    "address": st.column_config.TextColumn("Address", width=200),
    "status": st.column_config.TextColumn("Status", width=80),
    "vendor_message_id": st.column_config.TextColumn("Vendor id", width=130),
    "error": st.column_config.TextColumn("Error", width=130),
    "attempts": st.column_config.NumberColumn("Tries", format="%d", width=50),
    "queued_at": st.column_config.DatetimeColumn("Queued (UTC)", format="YYYY-MM-DD HH:mm:ss", width=150),
    **{f"{event}_at": st.column_config.DatetimeColumn(event.capitalize(), format="HH:mm:ss", width=80)
       for event in ("sent", "delivered", "opened", "clicked", "failed")},
}


def communication_log_view(store: Store, campaign: Campaign, user: CurrentUser) -> None:
    """The log of a launched campaign, one row per recipient."""
    st.subheader("Communication log")
    cid = campaign.id
    left, right = st.columns([1, 3])
    # a named first option: with None as an option the box can show its empty-choice placeholder instead
    picked = left.selectbox("Status", ["all", *MESSAGE_STATUSES], key=f"cmp-log-status-{cid}",
                            format_func=lambda s: "All statuses" if s == "all" else s.capitalize())
    status = None if picked == "all" else picked
    search = right.text_input("Search the log", key=f"cmp-log-search-{cid}", type="search", live="300ms",
                              placeholder="Name, address or vendor message id", icon=":material/search:")

    def fetch(page: int) -> Page:
        frame, total = communication_log(store, cid, status, search, page, LOG_PAGE)
        return Page(frame, total, page, LOG_PAGE)

    result = paged(f"cmp-log-{cid}", (status, search), fetch)
    summary, refresh = st.columns([4, 1], vertical_alignment="center")
    summary.caption(page_summary(result, "message") + f" · as of {utc_now():%H:%M:%S} UTC · select a message to "
                    "see its text and timeline")
    refresh.button("Refresh", icon=":material/refresh:", key=f"cmp-log-refresh-{cid}", type="tertiary",
                   help="Read the log again (the counts above refresh by themselves).")
    if result.total == 0:
        st.info("No message matches. Clear the search or choose another status.")
        return
    shown = result.rows.drop("customer_id", "subject", "body")
    event = st.dataframe(shown, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                         placeholder="—",
                         key=f"cmp-log-table-{cid}-{result.page}-{status}-{search}", column_config=LOG_COLUMNS)
    pager(f"cmp-log-{cid}", result)
    if event.selection.rows:
        _message_detail(store, result.rows.row(event.selection.rows[0], named=True))
    st.caption("Download every message that matches the filter, with its text and times:")
    download_buttons(store, user, *log_export_query(cid, status, search), basename=f"campaign-{cid}-log",
                     key=f"cmp-log-dl-{cid}")


def _message_detail(store: Store, row: dict) -> None:
    with st.container(border=True, key="cmp-log-detail"):
        st.markdown(f"**Message {row['message_id']}** · status **{row['status']}**")
        st.text(f"To: {row['customer'] or ''} <{row['address'] or ''}>")
        if row["subject"] is not None:
            st.text(f"Subject: {row['subject']}")
        st.text(row["body"])
        if row["error"]:
            st.text(f"Error: {row['error']}")
        timeline = status_timeline(store, row["message_id"])
        st.dataframe(timeline, hide_index=True, width="stretch", key="cmp-log-timeline", placeholder="—",
                     column_config={
            "event": "Event", "at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "detail": "Detail"})
        if st.button("Open the customer's profile", icon=":material/person:", key="cmp-log-customer"):
            st.switch_page("pages/customers.py", query_params={"customer": str(row["customer_id"])})
