"""Showing what a dry run found or an import did: counts, reasons, rejected rows and their download."""
from __future__ import annotations

import polars as pl
import streamlit as st

from crm_core.export import frame_csv_bytes
from crm_core.ingest.runner import EXTRA_LABELS, ImportSummary
from ui.text import plain_md

ACTION_LABELS = {"create": "Created", "update": "Updated", "unchanged": "Unchanged", "skip": "Skipped",
                 "reject": "Rejected"}
PLANNED_LABELS = {"create": "To create", "update": "To update", "unchanged": "Unchanged", "skip": "To skip",
                  "reject": "To reject"}


def render_summary(summary: ImportSummary, key: str) -> None:
    """Counts per action, notes, reasons for rejects, and the rejected rows with a download."""
    done = summary.committed
    cols = st.columns(len(ACTION_LABELS))
    labels = ACTION_LABELS if done else PLANNED_LABELS
    for col, (action, label) in zip(cols, labels.items()):
        col.metric(label, f"{summary.counts[action]:,}")
    facts = [f"{summary.rows_total:,} rows in {summary.seconds:.1f}s ({summary.rows_per_second:,.0f} rows/s)"]
    facts += [f"{EXTRA_LABELS.get(k, k)}: {v:,}" for k, v in summary.extras.items() if v]
    st.caption(" · ".join(facts))
    if summary.previous_import and not done:
        number, when = summary.previous_import
        st.info(f"This exact file was already imported on {when} (import #{number}). Importing it again changes "
                "only what differs.", icon=":material/history:")
    for note in summary.notes:
        st.info(plain_md(note), icon=":material/info:")
    if summary.reasons:
        st.markdown("**Why rows are rejected**")
        reasons = pl.DataFrame(
            [{"Reason": label, "Rows": count, "Example": example} for _code, label, count, example in summary.reasons])
        st.dataframe(reasons, hide_index=True, width="stretch")
        shown = summary.rejects
        more = "" if shown.height == summary.rejects_total else f" (the first {shown.height:,})"
        with st.expander(f"Rejected rows{more}: line number, reason and the original values", icon=":material/block:"):
            st.dataframe(shown.head(500), hide_index=True, width="stretch")
        st.download_button(f"Download rejected rows{more} (CSV)", data=lambda: frame_csv_bytes(shown),
                           file_name=f"{summary.file_name}.rejects.csv", mime="text/csv", key=f"{key}-rejects",
                           icon=":material/download:", on_click="ignore")
