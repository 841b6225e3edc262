"""Read-only views of a segment: live preview, waterfall, sample, why in/out, SQL, size history, overlap."""
from __future__ import annotations

from datetime import date

import plotly.express as px
import polars as pl
import streamlit as st

from crm_core.customer_search import CustomerFilter, list_customers
from crm_core.segments.catalog import Catalog
from crm_core.segments.preview import explain
from crm_core.segments.rules import Group
from crm_core.segments.workbench import Analysis
from crm_core.store import Store
from crm_core.validation import NotFoundError
from ui.charts import show_chart
from ui.segment_editor import problem_lines
from ui.text import chart_text, plain_md

SAMPLE_COLUMNS = {
    "id": st.column_config.NumberColumn("ID", format="%d", width="small"),
    "name": "Name", "email": "E-mail", "city": "City", "state": "State", "country": "Country",
    "total_spend": st.column_config.NumberColumn("Total spend", format="%.2f"),
    "order_count": st.column_config.NumberColumn("Orders", format="%d"),
    "last_order_at": st.column_config.DatetimeColumn("Last order", format="YYYY-MM-DD"),
}


def audience_panel(analysis: Analysis) -> None:
    """The live count, share and English reading of the rule, with what was left out."""
    if analysis.error:
        st.error(plain_md(analysis.error))
        return
    result = analysis.preview
    count_col, share_col, words = st.columns([1, 1, 3])
    count_col.metric("Audience", f"{result.count:,}", help="Customers the rule selects right now.")
    share_col.metric("Share of customers", f"{result.share:.1%}", help=f"Of {result.total:,} customers.")
    words.markdown(f"**In words:** {plain_md(result.english)}")
    words.progress(min(1.0, result.share))
    for line in problem_lines(analysis.problems):
        st.caption(f":orange[:material/warning: Left out — {plain_md(line)}]")
    for warning in analysis.warnings:
        st.caption(f":material/info: {'.'.join(str(i + 1) for i in warning.path)}: {plain_md(warning.message)}")


def waterfall_view(analysis: Analysis) -> None:
    """Counts after each condition and branch, as a table with bars."""
    if not analysis.waterfall:
        st.caption("Add conditions to see how each one narrows or widens the audience.")
        return
    total = analysis.preview.total or 1
    rows = pl.DataFrame({
        "step": ["    " * s.depth + ("▸ " if s.kind != "condition" else "") + s.label for s in analysis.waterfall],
        "alone": [s.alone for s in analysis.waterfall],
        "running": [s.running for s in analysis.waterfall],
        "change": [s.change for s in analysis.waterfall],
        "share": [s.running / total for s in analysis.waterfall],
    })
    st.dataframe(rows, hide_index=True, width="stretch", column_config={
        "step": st.column_config.TextColumn("Condition or group", width="large"),
        "alone": st.column_config.NumberColumn("Matches alone", format="localized",
                                               help="Customers this condition selects on its own."),
        "running": st.column_config.NumberColumn("After this step", format="localized",
                                                 help="Within its group: all-groups narrow, any-groups widen."),
        "change": st.column_config.NumberColumn("Change", format="%+d"),
        "share": st.column_config.ProgressColumn("Share of all customers", min_value=0.0, max_value=1.0,
                                                 format="percent"),
    })
    biggest = min((s for s in analysis.waterfall if s.kind == "condition" and s.change < 0),
                  key=lambda s: s.change, default=None)
    if biggest:
        st.caption(f"The biggest cut: “{plain_md(biggest.label)}” removes {-biggest.change:,} customers.")


def sample_view(analysis: Analysis) -> None:
    """Up to 20 matching customers with their key figures."""
    if not analysis.preview or not analysis.preview.count:
        st.info("No customer matches this rule. Loosen a condition to see a sample.")
        return
    st.dataframe(analysis.preview.sample, hide_index=True, width="stretch", column_config=SAMPLE_COLUMNS)
    st.caption(f"The first {analysis.preview.sample.height} of {analysis.preview.count:,} members by customer id.")


def sql_view(analysis: Analysis) -> None:
    """The query behind the audience, values written in, to copy into DuckDB."""
    if not analysis.preview:
        return
    st.caption("The query the count runs, with its values written in so it runs as-is in DuckDB on this "
               "workspace file. (The app itself always sends the values separately.)")
    st.code(analysis.preview.portable_sql, language="sql", wrap_lines=True)
    st.caption("The rule as JSON (Mini CRM format):")
    st.code(analysis.canonical, language="json", wrap_lines=True)


def explain_view(store: Store, root: Group, as_of: date, catalog: Catalog, key: str) -> None:
    """Pick a customer; show each condition with their own value and whether it passes."""
    term = st.text_input("Find a customer", placeholder="Name, e-mail or phone", key=f"{key}-why-search",
                         icon=":material/search:")
    if not term:
        st.caption("Search for a customer to see which conditions they pass and fail.")
        return
    found = list_customers(store, CustomerFilter(search=term), "Name", False, 1, 20).rows
    if found.is_empty():
        st.info("No customer matches that search.")
        return
    options = {r["id"]: f"{r['name']} · {r['email'] or 'no e-mail'} (#{r['id']})" for r in found.iter_rows(named=True)}
    chosen = st.selectbox("Customer", list(options), format_func=options.get, key=f"{key}-why-pick")
    try:
        matched, rows = explain(store, root, chosen, as_of, catalog)
    except NotFoundError as exc:
        st.error(plain_md(exc))
        return
    (st.success if matched else st.warning)(
        f"{plain_md(options[chosen])} is **{'in' if matched else 'not in'}** this audience.")
    st.dataframe(pl.DataFrame({
        "passes": [r.passed for r in rows],
        "rule": ["    " * r.depth + r.label for r in rows],
        "their value": ["" if r.value is None else str(r.value) for r in rows],
    }), hide_index=True, width="stretch", column_config={
        "passes": st.column_config.CheckboxColumn("Passes", width="small"),
        "rule": st.column_config.TextColumn("Condition or group", width="large"),
        "their value": "Their value"})


def size_history_view(history: pl.DataFrame) -> None:
    """The saved segment's size each time it was measured."""
    if history.height < 2:
        st.caption("Sizes are recorded each time the segment is saved or the list's sizes are refreshed; "
                   "a chart appears from the second measurement.")
        if history.height:
            st.caption(f"Measured once: {history['customers'][0]:,} customers.")
        return
    fig = px.line(history.to_pandas(), x="measured_at", y="customers", markers=True,
                  labels={"measured_at": "Measured", "customers": "Customers"})
    show_chart(fig, history, "Segment size over time", "seg-size-history", height=260)


def overlap_view(matrix: pl.DataFrame) -> None:
    """A heatmap of shared members between saved segments, with the numbers in a table."""
    if matrix.is_empty():
        return
    wide = matrix.pivot(on="segment_b", index="segment_a", values="customers")
    names = [chart_text(n) for n in wide["segment_a"].to_list()]
    fig = px.imshow(wide.drop("segment_a").to_numpy(), x=names, y=names, text_auto=",d", aspect="auto",
                    color_continuous_scale="Blues", labels={"color": "Customers"})
    show_chart(fig, matrix, "Segment overlap", "seg-overlap", height=120 + 40 * len(names),
               caption="Each cell: customers in both the row's and the column's segment; the diagonal is each "
                       "segment's size.")
