"""A campaign's communication log: filter by status, search, page through, open one message (its text and
status timeline), and export every matching message as CSV or Parquet."""
from __future__ import annotations

import streamlit as st

from crm_core.campaigns.model import Campaign
from crm_core.campaigns.reporting import (LOG_PAGE, MESSAGE_STATUSES, communication_log, log_export_query,
                                          status_timeline)
from crm_core.listing import Page
from crm_core.store import Store
from ui.list_controls import pager, paged
from ui.widgets import download_buttons, page_summary

LOG_COLUMNS = {
    "message_id": st.column_config.NumberColumn("Message", format="%d", width="small"),
    "customer": "Customer", "address": "Address", "status": "Status",
    "vendor_message_id": "Vendor id", "error": "Error", "attempts": st.column_config.NumberColumn("Tries", format="%d"),
    "queued_at": st.column_config.DatetimeColumn("Queued", format="YYYY-MM-DD HH:mm:ss"),
    "sent_at": st.column_config.DatetimeColumn("Sent", format="HH:mm:ss"),
    "delivered_at": st.column_config.DatetimeColumn("Delivered", format="HH:mm:ss"),
    "opened_at": st.column_config.DatetimeColumn("Opened", format="HH:mm:ss"),
    "clicked_at": st.column_config.DatetimeColumn("Clicked", format="HH:mm:ss"),
    "failed_at": st.column_config.DatetimeColumn("Failed", format="HH:mm:ss"),
}


def communication_log_view(store: Store, campaign: Campaign) -> None:
    """The log of a launched campaign, one row per recipient."""
    st.subheader("Communication log")
    cid = campaign.id
    left, right = st.columns([1, 3])
    status = left.selectbox("Status", [None, *MESSAGE_STATUSES], key=f"cmp-log-status-{cid}",
                            format_func=lambda s: "All statuses" if s is None else s.capitalize())
    search = right.text_input("Search the log", key=f"cmp-log-search-{cid}", type="search", live="300ms",
                              placeholder="Name, address or vendor message id", icon=":material/search:")

    def fetch(page: int) -> Page:
        frame, total = communication_log(store, cid, status, search, page, LOG_PAGE)
        return Page(frame, total, page, LOG_PAGE)

    result = paged(f"cmp-log-{cid}", (status, search), fetch)
    st.caption(page_summary(result, "message") + " · select a message to see its text and timeline")
    if result.total == 0:
        st.info("No message matches. Clear the search or choose another status.")
        return
    shown = result.rows.drop("customer_id", "subject", "body")
    event = st.dataframe(shown, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                         key=f"cmp-log-table-{cid}-{result.page}-{status}-{search}", column_config=LOG_COLUMNS)
    pager(f"cmp-log-{cid}", result)
    if event.selection.rows:
        _message_detail(store, result.rows.row(event.selection.rows[0], named=True))
    st.caption("Download every message that matches the filter, with its text and times:")
    download_buttons(store, *log_export_query(cid, status, search), basename=f"campaign-{cid}-log",
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
        st.dataframe(timeline, hide_index=True, width="stretch", key="cmp-log-timeline", column_config={
            "event": "Event", "at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "detail": "Detail"})
        if st.button("Open the customer's profile", icon=":material/person:", key="cmp-log-customer"):
            st.switch_page("pages/customers.py", query_params={"customer": str(row["customer_id"])})
