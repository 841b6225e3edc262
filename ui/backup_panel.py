"""Settings → Backup and restore (admins): write a backup zip of the workspace, restore one into an empty workspace."""
from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import streamlit as st

from crm_core import backup, config
from crm_core.permissions import Actor, PermissionDenied
from crm_core.services import exports
from crm_core.services import workspace as workspace_services
from crm_core.exports.centre import DOWNLOAD_LIMIT_BYTES
from crm_core.store import Store
from ui.widgets import flash, refused

_RESULT = "bk-result"


def _backup(store: Store, user: Actor) -> None:
    st.write("A backup holds every table of this workspace (customers, orders, items, imports and their history, "
             "segments, campaigns and their messages, …) as Parquet files in one zip, with a manifest of the "
             "schema version and row counts. Derived figures are recomputed when it is restored.")
    if st.button("Create backup", icon=":material/backup:", key="bk-create"):
        target = config.backups_dir() / f"crm-backup-{datetime.now():%Y%m%d-%H%M%S}.zip"
        with st.spinner("Writing the backup…"):
            try:
                st.session_state[_RESULT] = workspace_services.backup_workspace(store, user, target)
            except OSError as exc:
                st.error(f"The backup could not be written: {exc}")
            except PermissionDenied as exc:
                refused(exc)
    result = st.session_state.get(_RESULT)
    if result is not None and Path(result.path).exists():
        st.success(f"Backup written to `{result.path}`: {sum(result.tables.values()):,} rows in "
                   f"{len(result.tables)} tables, {result.size / 1024 / 1024:,.1f} MB.")
        if result.size <= DOWNLOAD_LIMIT_BYTES:
            st.download_button(f"Download {result.path.name}", data=lambda: exports.download_file(store, user, result.path, "workspace backup"),
                               file_name=result.path.name, mime="application/zip", icon=":material/download:",
                               on_click="ignore", key="bk-download")


def _restore(store: Store, user: Actor) -> None:
    st.markdown("**Restore a backup**")
    st.caption("Only into an empty workspace (no customers, orders, segments or campaigns). Everything is loaded "
               "in one transaction: a backup from another schema version, or a damaged or incomplete file, changes "
               "nothing.")
    try:
        backup.check_empty(store)
    except backup.BackupError:
        _empty(store, user)
        return
    upload = st.file_uploader("Backup file (.zip)", type=["zip"], key="bk-upload")
    if upload is None:
        return
    if not st.button("Restore this backup", type="primary", icon=":material/settings_backup_restore:",
                     key="bk-restore"):
        return
    # DuckDB and zipfile read a file on disk: the upload is written to a temporary file first.
    handle, temp = tempfile.mkstemp(prefix="crm-restore-", suffix=".zip")
    try:
        with os.fdopen(handle, "wb") as out:
            upload.seek(0)
            shutil.copyfileobj(upload, out, 1024 * 1024)
        with st.spinner("Restoring…"):
            result = workspace_services.restore_backup(store, user, temp, upload.name)
    except backup.BackupError as exc:
        st.error(f"{exc} Nothing was changed.")
        return
    except PermissionDenied as exc:
        refused(exc)
        return
    finally:
        Path(temp).unlink(missing_ok=True)
    flash(f"Backup restored: {result.tables.get('customers', 0):,} customers, "
          f"{result.tables.get('orders', 0):,} orders, {sum(result.tables.values()):,} rows in all")
    st.rerun()


def _empty(store: Store, user: Actor) -> None:
    st.warning("This workspace holds data, so a backup cannot be restored into it yet.", icon=":material/warning:")
    with st.expander("Empty this workspace"):
        st.write("Deletes every customer, order, import, segment, campaign and message of this workspace, in one "
                 "step that cannot be undone: **create a backup of it first** (above). Accounts, settings and saved "
                 "import mappings stay.")
        typed = st.text_input("Type EMPTY to confirm", key="bk-empty-confirm")
        if st.button("Empty this workspace", type="primary", icon=":material/delete_forever:", key="bk-empty",
                     disabled=typed.strip() != "EMPTY"):
            try:
                deleted = workspace_services.empty_workspace(store, user)
            except PermissionDenied as exc:
                refused(exc)
                return
            flash(f"Workspace emptied: {deleted.get('customers', 0):,} customers and "
                  f"{deleted.get('orders', 0):,} orders deleted. You can restore a backup now.")
            st.rerun()


def backup_panel(store: Store, user: Actor) -> None:
    """The Backup and restore part of the Settings page."""
    st.subheader("Backup and restore")
    _backup(store, user)
    _restore(store, user)
