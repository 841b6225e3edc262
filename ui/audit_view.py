"""The Users & audit page's audit tab: filters, a count, the newest entries as text, and a CSV of every match."""
from __future__ import annotations

from datetime import datetime

import streamlit as st

from crm_core import audit
from crm_core.audit import OUTCOMES, AuditFilter
from crm_core.permissions import ACTIONS, Actor
from crm_core.services import users
from crm_core.store import Store
from ui.widgets import date_range

SHOWN = 1000
OBJECT_KINDS = sorted({a.object_kind for a in ACTIONS.values() if a.object_kind})
OUTCOME_HELP = "ok: done · denied: the role may not do it (nothing changed) · failed: tried, but refused or broke"


def audit_filters(store: Store) -> AuditFilter:
    """The filter widgets (user, action, object, outcome, dates, words) as an AuditFilter."""
    labels = audit.action_labels()
    c1, c2, c3, c4 = st.columns(4)
    username = c1.selectbox("User", audit.usernames(store), index=None, placeholder="Anyone", key="audit-user")
    action = c2.selectbox("Action", sorted(labels), index=None, placeholder="Any action",
                          format_func=lambda k: f"{k} ({labels[k]})", key="audit-action")
    kind = c3.selectbox("Object", OBJECT_KINDS, index=None, placeholder="Any object", key="audit-kind")
    outcome = c4.selectbox("Outcome", OUTCOMES, index=None, placeholder="Any outcome", help=OUTCOME_HELP,
                           key="audit-outcome")
    c5, c6 = st.columns([1, 2])
    with c5:
        since, until = date_range("Dates (UTC)", key="audit-dates")
    text = c6.text_input("Words", key="audit-text", placeholder="in the object's name or id, or the details",
                         help="Matches anywhere in the object's name or id and the details (case does not matter)")
    return AuditFilter(username=username, action=action, object_kind=kind, outcome=outcome, since=since,
                       until=until, text=(text or "").strip() or None)


def audit_tab(store: Store, user: Actor) -> None:
    """Filters, the count, the newest entries (text, never markdown) and a CSV download of all that match."""
    flt = audit_filters(store)
    page = users.audit_entries(store, user, flt, limit=SHOWN)
    filtered = flt != AuditFilter()
    if page.total == 0:
        st.info("No audit entries match these filters: widen the dates or clear a filter." if filtered else
                "The audit log is empty: logins, imports, segment and campaign changes, exports, settings and "
                "user changes are recorded here as they happen.", icon=":material/info:")
        return
    shown = min(page.total, SHOWN)
    noun = "entry matches" if page.total == 1 else "entries match"
    st.caption(f"{page.total:,} {noun}" + (f" · the newest {shown:,} are shown; the download has all of them"
                                                   if page.total > shown else ""))
    st.dataframe(page.rows, hide_index=True, width="stretch", key="audit-table", column_config={
        "id": None,
        "occurred_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "username": st.column_config.TextColumn("User"),
        "role": st.column_config.TextColumn("Role"),
        "action": st.column_config.TextColumn("Action"),
        "outcome": st.column_config.TextColumn("Outcome"),
        "object_kind": st.column_config.TextColumn("Object"),
        "object_id": st.column_config.TextColumn("Id"),
        "object_name": st.column_config.TextColumn("Name"),
        "details": st.column_config.TextColumn("Details"),
    })
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    st.download_button(f"Download CSV ({page.total:,} {noun.split()[0]})",
                       data=lambda: users.audit_export(store, user, flt, "csv"),
                       file_name=f"audit-log-{stamp}.csv", mime="text/csv", key="audit-download",
                       icon=":material/download:", on_click="ignore")
