"""The import history: who imported what and when, each import's rejected rows, and undo after a confirmation."""
from __future__ import annotations

import streamlit as st

from crm_core.ingest import history
from crm_core.ingest.fields import KIND_LABELS
from crm_core.permissions import allowed
from crm_core.services import exports, imports
from crm_core.store import Store
from ui.auth import CurrentUser
from ui import import_jobs
from ui.widgets import flash, when

COUNT_COLUMNS = {"rows_total": "Rows", "created": "New", "updated": "Updated", "unchanged": "Unchanged",
                 "skipped": "Skipped", "rejected": "Rejected"}


def render_history(store: Store, user: CurrentUser) -> None:
    """The imports table; selecting one shows its details, rejects download and the undo button."""
    imports = history.list_imports(store)
    if imports.is_empty():
        st.info("No imports yet. Files you import appear here, with their counts and an undo button.")
        return
    table = imports.select(
        "id", "finished_at", "kind", "file_name", "user_name", "rows_total", "created", "updated", "unchanged",
        "skipped", "rejected", "flagged", "status")
    event = st.dataframe(
        table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key="imp-history",
        column_config={
            "id": st.column_config.NumberColumn("#", format="%d", width="small"),
            "finished_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm"),
            "kind": "What", "file_name": "File", "user_name": "By",
            **{key: st.column_config.NumberColumn(label, format="localized") for key, label in COUNT_COLUMNS.items()},
            "flagged": st.column_config.NumberColumn("Returns/cancellations", help="Kept and flagged, not revenue",
                                                     format="localized"),
            "status": "Status",
        })
    selected = event.selection.rows if event is not None else []
    if not selected:
        st.caption("Select an import to see its rejected rows or undo it.")
        return
    row = imports.row(selected[0], named=True)
    _details(store, user, row)


def _details(store: Store, user: CurrentUser, row: dict) -> None:
    number = row["id"]
    st.subheader(f"Import #{number}: {row['file_name']}")
    st.caption(f"{KIND_LABELS.get(row['kind'], row['kind'])} · by {row['user_name'] or 'unknown'} on "
               f"{when(row['finished_at'], with_time=True)} UTC · {row['duration_ms'] / 1000:.1f}s · "
               f"SHA-256 {row['file_hash'][:12]}…")
    if row["rejected"]:
        st.download_button(f"Download the {row['rejected']:,} rejected rows (CSV)",
                           data=lambda: exports.download_frame(store, user, history.import_rejects(store, number),
                                                                f"import-{number}-rejects"),
                           file_name=f"import-{number}-rejects.csv", mime="text/csv", key=f"imp-rej-{number}",
                           icon=":material/download:", on_click="ignore")
    if row["status"] != "committed":
        st.info(f"Undone on {when(row['undone_at'], with_time=True)} UTC by {row['undone_by'] or 'unknown'}.")
        return
    if not allowed(user, "import.undo"):
        return
    job_key = f"undo-{number}"
    finished = import_jobs.take_finished(job_key)
    if finished and finished.error:
        st.error(f"Import #{number} was not undone: {finished.error}", icon=":material/error:")
    elif finished:
        flash(f"Import #{number} undone: {finished.result.describe()}")
        st.rerun()
    if import_jobs.running(job_key):
        import_jobs.show_progress(job_key)
        return
    plan = history.undo_plan(store, number)
    if plan.blocked_by:
        later = ", ".join(f"#{n}" for n in plan.blocked_by)
        st.warning(f"Later imports changed the same records; undo {later} first.", icon=":material/lock:")
        return
    with st.expander("Undo this import", icon=":material/undo:"):
        st.write(f"Undoing restores the workspace as it was before this import: {plan.describe()}. "
                 "Changes made by hand since then to these records are lost.")
        sure = st.checkbox("I understand", key=f"imp-undo-sure-{number}")
        if st.button("Undo import", type="primary", disabled=not sure, key=f"imp-undo-{number}"):
            import_jobs.start(job_key, "undo", "", lambda progress: imports.undo_import(store, user, number))
            st.rerun()
