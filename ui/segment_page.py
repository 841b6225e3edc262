"""The two screens of the Segments page: the list of saved segments and the editor (workbench)."""
from __future__ import annotations

from datetime import date

import streamlit as st

from crm_core.segments.catalog import load_catalog
from crm_core.segments.foreign import FORMATS as RULE_FORMATS
from crm_core.segments.foreign import to_canonical
from crm_core.segments.preview import members_query, today
from crm_core.segments.rules import RuleError, to_json
from crm_core.segments.saved import get_segment, list_segments, measure_segments, overlap, size_history
from crm_core.segments.workbench import analyse
from crm_core.permissions import allowed
from crm_core.services import segments
from crm_core.store import Store
from crm_core.validation import NotFoundError, ValidationError
from ui.ai_insights import segment_insight_panel
from ui.auth import CurrentUser
from ui.segment_ai import describe_box
from ui.segment_editor import has_rules, load_rules, rule_editor
from ui.segment_views import (audience_panel, explain_view, overlap_view, sample_view, size_history_view,
                              sql_view, waterfall_view)
from ui.widgets import download_buttons, flash, run_save, show_validation

STARTER = {"match": "all", "negate": False, "rules": [{"field": "total_spend", "op": ">", "value": 1000}]}


def _open(segment: str | int | None) -> None:
    if segment is None:
        st.query_params.pop("segment", None)
    else:
        st.query_params["segment"] = str(segment)


def _rules_from_text(store: Store, text: str) -> dict | None:
    """Canonical JSON from pasted or uploaded rule JSON in any accepted format; errors shown inline."""
    try:
        canonical, kind = to_canonical(text, load_catalog(store))
    except RuleError as exc:
        for problem in exc.problems:
            where = f" (condition {'.'.join(str(i + 1) for i in problem.path)})" if problem.path else ""
            st.error(f"{problem.message}{where}")
        return None
    st.session_state["seg-import-format"] = RULE_FORMATS[kind]
    return canonical


def _import_box(store: Store, key: str) -> dict | None:
    """Paste or upload rule JSON (ours, groups/conditions, id/logic/rules, or a flat list)."""
    text = st.text_area("Rule JSON", key=f"{key}-json", height=120,
                        placeholder='{"groups":[{"conditions":[{"field":"totalSpend","operator":"greaterThan",'
                                    '"value":10000}]}]}')
    upload = st.file_uploader("…or upload a .json file", type=["json"], key=f"{key}-file")
    if st.button("Open in the editor", key=f"{key}-go", icon=":material/input:"):
        raw = upload.getvalue().decode("utf-8", errors="replace") if upload else text
        if not raw.strip():
            st.warning("Paste a rule or choose a file first.")
            return None
        return _rules_from_text(store, raw)
    return None


def segment_list(store: Store, user: CurrentUser) -> None:
    """Saved segments with their sizes; open, create, import; overlap between segments."""
    st.title("Segments")
    top = st.columns([1.3, 1.3, 4])
    if top[0].button("New segment", icon=":material/add:", type="primary"):
        load_rules(STARTER)
        st.session_state["seg-open"] = "new"
        _open("new")
        st.rerun()
    if top[1].button("Refresh sizes", icon=":material/refresh:", help="Count every saved segment now"):
        with st.spinner("Counting…"):
            measure_segments(store)
    with st.expander("Import a rule from JSON", icon=":material/upload:"):
        st.caption("Accepts Mini CRM rules and the formats of other tools: OR-of-AND `groups`/`conditions`, "
                   "`id`/`logic`/`rules` trees, and flat lists with `logicalOperator` (AND binds tighter).")
        imported = _import_box(store, "seg-list-import")
        if imported is not None:
            load_rules(imported)
            st.session_state["seg-open"] = "new"
            _open("new")
            st.rerun()
    segments = list_segments(store)
    if segments.is_empty():
        st.info("No saved segments yet. Click **New segment** to build one: the audience count updates as you edit.")
        return
    st.caption("Select a row to open a segment.")
    shown = segments.select("id", "name", "customers", "share", "measured_at", "as_of", "updated_at",
                            "updated_by", "description")
    event = st.dataframe(shown, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                         key="seg-table", column_config={
                             "id": st.column_config.NumberColumn("ID", format="%d", width="small"),
                             "name": "Name", "customers": st.column_config.NumberColumn("Customers", format="localized"),
                             "share": st.column_config.ProgressColumn("Share", format="percent", min_value=0.0,
                                                                      max_value=1.0),
                             "measured_at": st.column_config.DatetimeColumn("Measured", format="YYYY-MM-DD HH:mm"),
                             "as_of": st.column_config.DateColumn("Fixed as-of"),
                             "updated_at": st.column_config.DatetimeColumn("Changed", format="YYYY-MM-DD HH:mm"),
                             "updated_by": "By", "description": "Description"})
    if event.selection.rows:
        _open(int(shown["id"][event.selection.rows[0]]))
        st.rerun()
    st.subheader("Overlap between segments")
    names = dict(zip(segments["id"].to_list(), segments["name"].to_list()))
    picked = st.multiselect("Segments to compare", list(names), default=list(names)[:5], format_func=names.get,
                            max_selections=12, key="seg-overlap-pick")
    if len(picked) >= 2:
        try:
            overlap_view(overlap(store, picked))
        except ValidationError as exc:
            show_validation(exc)
        except NotFoundError as exc:
            st.error(str(exc))
    else:
        st.caption("Pick two segments or more.")


def _load(store: Store, param: str) -> tuple[int | None, object | None]:
    if param == "new":
        if not has_rules():
            load_rules(STARTER)
        return None, None
    try:
        segment = get_segment(store, int(param))
    except (NotFoundError, ValueError):
        st.error(f"There is no saved segment '{param}' (it may have been deleted).")
        if st.button("Back to segments", icon=":material/arrow_back:"):
            _open(None)
            st.rerun()
        st.stop()
    if st.session_state.get("seg-open") != param:
        load_rules(segment.rules)
        st.session_state["seg-open"] = param
    return segment.id, segment


def workbench(store: Store, param: str, user: CurrentUser) -> None:
    """The rule editor with its live preview, tabs of detail, and save/duplicate/delete."""
    segment_id, segment = _load(store, param)
    if st.button("All segments", icon=":material/arrow_back:", type="tertiary"):
        _open(None)
        st.rerun()
    st.title(segment.name if segment else "New segment")
    _live(store, user, segment_id, segment)


@st.fragment
def _live(store: Store, user: CurrentUser, segment_id: int | None, segment) -> None:
    """Everything that follows an edit: reruns alone, not the whole page."""
    catalog = load_catalog(store)
    ai_box, panel, when = st.container(), st.container(), st.columns([1, 1, 2])
    mode = when[0].radio("As of", ["today", "date"], key=f"seg-asof-mode-{segment_id}",
                         index=1 if segment and segment.as_of else 0,
                         format_func=lambda m: f"Today ({today().isoformat()})" if m == "today" else "A fixed date",
                         help="Relative conditions (in the last N days, days since last order…) count back from "
                              "this date. Use a past date for historical data.")
    as_of = today()
    if mode == "date":
        as_of = when[1].date_input("As-of date", value=segment.as_of if segment and segment.as_of else today(),
                                   format="YYYY-MM-DD", key=f"seg-asof-{segment_id}") or today()
    with ai_box:
        describe_box(store, user, as_of, segment_id)
    st.markdown("**Rule**")
    rules = rule_editor(store, catalog)
    with st.expander("Paste or upload rule JSON", icon=":material/data_object:"):
        replaced = _import_box(store, "seg-edit-import")
        if replaced is not None:
            load_rules(replaced)
            flash(f"Rule loaded ({st.session_state.get('seg-import-format', 'JSON')}).")
            st.rerun(scope="fragment")
    analysis = analyse(store, rules, as_of, segment_id, catalog=catalog)
    with panel:
        audience_panel(analysis)
    tabs = st.tabs(["Waterfall", "Sample", "Why in or out?", "SQL & JSON", "Size over time", "Describe (AI)"])
    with tabs[0]:
        waterfall_view(analysis)
    with tabs[1]:
        sample_view(analysis)
    with tabs[2]:
        explain_view(store, analysis.root, as_of, catalog, "seg")
    with tabs[3]:
        sql_view(analysis)
    with tabs[4]:
        if segment_id is None:
            st.caption("Save the segment to start recording its size over time.")
        else:
            size_history_view(size_history(store, segment_id))
    with tabs[5]:
        if analysis.preview is not None:
            segment_insight_panel(store, to_json(analysis.root), as_of, user)
        else:
            st.caption("Fix the rule first: a description needs a rule that can be counted.")
    if analysis.preview and analysis.preview.count:
        st.caption(f"Download the {analysis.preview.count:,} members with their figures:")
        download_buttons(store, user, *members_query(store, analysis.root, as_of, catalog),
                         basename=f"segment-{segment_id or 'new'}-members", key="seg-members-dl")
    _save_bar(store, user, segment_id, segment, rules, analysis, as_of if mode == "date" else None)


def _save_bar(store: Store, user: CurrentUser, segment_id, segment, rules: dict, analysis,
              as_of: date | None) -> None:
    if not allowed(user, "segment.save"):
        st.caption("Your role can explore and export segments; saving is for marketers and admins.")
        return
    st.divider()
    name = st.text_input("Segment name", value=segment.name if segment else "", key=f"seg-name-{segment_id}",
                         max_chars=100, placeholder="e.g. Lapsed big spenders")
    description = st.text_area("Description", value=segment.description if segment else "", height=68,
                               key=f"seg-desc-{segment_id}", placeholder="What this audience is for (optional)")
    cols = st.columns([1.2, 1.2, 1.2, 3])
    if analysis.problems:
        st.caption(":orange[Fix or remove the conditions marked above before saving.]")
    if cols[0].button("Save", icon=":material/save:", type="primary", disabled=bool(analysis.problems),
                      key="seg-save"):
        saved = run_save(lambda: segments.save_segment(store, user, name, rules, description, as_of, segment_id),
                         f"Segment '{name.strip()}' saved")
        if saved:
            st.session_state["seg-open"] = str(saved)
            _open(saved)
            st.rerun()
    if segment_id is not None:
        if cols[1].button("Duplicate", icon=":material/content_copy:", key="seg-dup"):
            copy = run_save(lambda: segments.duplicate_segment(store, user, segment_id), "Segment duplicated")
            if copy:
                _open(copy)
                st.rerun()
        with cols[2].popover("Delete", icon=":material/delete:"):
            st.write(f"Delete **{segment.name}** and its size history? This cannot be undone.")
            if st.button("Delete for good", type="primary", key="seg-delete"):
                if run_save(lambda: segments.delete_segment(store, user, segment_id),
                            f"Segment '{segment.name}' deleted") is not None:
                    _open(None)
                    st.rerun()
