"""Import: drop files, check how they were read, map columns, dry run, import; history with rejects and undo."""
import json

import streamlit as st

from crm_core.ingest import runner
from crm_core.permissions import allowed
from crm_core.services import imports
from crm_core.ingest.mapping import check_mapping
from ui import import_jobs
from ui.auth import require_login
from ui.import_history import render_history
from ui.import_results import render_summary
from ui.import_wizard import (
    forget_other_uploads,
    format_overrides,
    kind_picker,
    mapping_editor,
    options_form,
    preview,
    saved_upload,
    sniffed,
)
from ui.state import get_store
from ui.widgets import run_save

user = require_login()
store = get_store()

st.title("Import")
new_tab, history_tab = st.tabs(["New import", "History"])
with history_tab:
    render_history(store, user)

with new_tab:
    if not allowed(user, "import.run"):
        st.info("Your account can read and export but not import. Ask an admin or a marketer.")
        st.stop()
    uploads = st.file_uploader("Drop CSV, TSV, .csv.gz or Excel files", accept_multiple_files=True, key="imp-files",
                               help="Customers, orders, order lines or transactions; up to 1 GB per file.")
    forget_other_uploads(uploads or [])
    if not uploads:
        st.info("Drop one or more files above. Each file is checked before anything is written: you see how it "
                "was read, how its columns map, and what would be created, updated or rejected.",
                icon=":material/upload_file:")
        st.stop()
    done = st.session_state.setdefault("imp-done", {})
    waiting = [i for i, f in enumerate(uploads) if f.file_id not in done]
    upload = uploads[0] if len(uploads) == 1 else st.selectbox(
        "File", uploads, key="imp-which", index=waiting[0] if waiting else len(uploads) - 1,
        help="Files are imported one at a time: the first one not imported yet is chosen.",
        format_func=lambda f: f"{f.name} ({f.size / 1e6:.1f} MB)" + (" ✓ imported" if f.file_id in done else ""))
    path, key = saved_upload(upload)
    source = sniffed(path, upload.name, key)
    if source is None:
        st.stop()
    format_overrides(source, key)
    for note in source.notes:
        st.warning(note, icon=":material/warning:")
    preview(source)
    kind = kind_picker(source, key)
    st.subheader("Columns")
    mapping = mapping_editor(store, kind, source, key)
    options = options_form(kind, source, mapping, key)
    problems = check_mapping(kind, source.headers, mapping) + options.problems()
    for problem in problems:
        st.error(problem, icon=":material/rule:")
    signature = json.dumps([key, kind, mapping, options.as_dict()], sort_keys=True)
    c1, c2, _ = st.columns([1, 1, 2])
    if c2.button("Save mapping", icon=":material/bookmark_add:", disabled=bool(problems), key="imp-save-map",
                 help="Use this mapping automatically for files with the same header."):
        run_save(lambda: imports.save_mapping(store, user, kind, source.headers, mapping), "Mapping saved")
    busy = import_jobs.running(key)
    if c1.button("Check file (dry run)", type="primary", icon=":material/fact_check:", disabled=bool(problems) or busy,
                 key="imp-check"):
        import_jobs.start(key, "check", signature,
                          lambda progress: runner.dry_run(store, kind, source, mapping, options, progress))
    finished = import_jobs.take_finished(key)
    busy = import_jobs.running(key)
    if finished and finished.error:
        st.error(("Nothing was imported: " if finished.action == "commit" else "") + finished.error,
                 icon=":material/error:")
    elif finished and finished.action == "check":
        st.session_state["imp-plan"] = (finished.signature, finished.result)
    elif finished:
        done[upload.file_id] = (finished.signature, finished.result)
        st.session_state.pop("imp-plan", None)
    planned = st.session_state.get("imp-plan")
    committed = done.get(upload.file_id)
    if busy:
        import_jobs.show_progress(key)
    elif committed and committed[0] == signature:
        summary = committed[1]
        st.success(f"Imported {upload.name} as import #{summary.import_id}: {summary.counts['create']:,} new, "
                   f"{summary.counts['update']:,} updated, {summary.counts['reject']:,} rejected. "
                   "Undo it from the History tab.", icon=":material/check_circle:")
        render_summary(summary, f"imp-done-{key}")
        st.page_link("pages/customers.py" if kind == "customers" else "pages/orders.py",
                     label="Open " + ("customers" if kind == "customers" else "orders"), icon=":material/arrow_forward:")
    elif planned and planned[0] == signature:
        summary = planned[1]
        st.subheader("Dry run: nothing written yet")
        render_summary(summary, f"imp-plan-{key}")
        writes = summary.counts["create"] + summary.counts["update"]
        label = f"Import {writes:,} rows" if writes else "Nothing to import"
        if st.button(label, type="primary", icon=":material/publish:", disabled=not writes, key="imp-commit"):
            import_jobs.start(key, "commit", signature, lambda progress: imports.run_import(
                store, user, kind, source, mapping, options, progress))
            st.rerun()
    else:
        st.caption("Check the file to see what would be created, updated and rejected before importing.")
