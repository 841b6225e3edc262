"""Controls shared by list pages: location pickers, sort and page size, page state that resets on change."""
from __future__ import annotations

from typing import Any, Callable

import polars as pl
import streamlit as st

from crm_core.customer_search import location_facets
from crm_core.listing import Page
from crm_core.store import Store
from ui.widgets import PAGE_SIZES


def location_filters(store: Store, prefix: str) -> tuple[list[str], list[str], list[str]]:
    """Country, state and city pickers; each narrows the choices of the next."""
    facets = location_facets(store)
    c1, c2, c3 = st.columns(3)
    countries = c1.multiselect("Country", _options(facets, "country"), key=f"{prefix}-countries")
    if countries:
        facets = facets.filter(pl.col("country").is_in(countries))
    states = c2.multiselect("State / region", _options(facets, "state"), key=f"{prefix}-states")
    if states:
        facets = facets.filter(pl.col("state").is_in(states))
    cities = c3.multiselect("City", _options(facets, "city"), key=f"{prefix}-cities")
    return countries, states, cities


def _options(facets: pl.DataFrame, column: str) -> list[str]:
    return facets.get_column(column).drop_nulls().unique().sort().to_list()


def sort_controls(prefix: str, sorts: list[str], default: str) -> tuple[str, bool, int]:
    """Sort column, direction and page size pickers; returns (sort, descending, page_size)."""
    c1, c2, c3 = st.columns([2, 2, 1])
    sort = c1.selectbox("Sort by", sorts, index=sorts.index(default), key=f"{prefix}-sort")
    direction = c2.segmented_control("Order", ["Descending", "Ascending"], default="Descending",
                                     key=f"{prefix}-dir")
    size = c3.selectbox("Rows per page", PAGE_SIZES, key=f"{prefix}-size")
    return sort, direction != "Ascending", int(size)


def paged(prefix: str, signature: Any, fetch: Callable[[int], Page]) -> Page:
    """Fetch the current page; a changed filter/sort `signature` starts again at page 1."""
    gen_key, sig_key = f"{prefix}-pager-gen", f"{prefix}-sig"
    if st.session_state.get(sig_key) != signature:
        st.session_state[sig_key] = signature
        st.session_state[gen_key] = st.session_state.get(gen_key, 0) + 1
    page = int(st.session_state.get(_pager_key(prefix)) or 1)
    result = fetch(page)
    if page > result.pages:  # rows went away under us: show the last page there is
        st.session_state[gen_key] += 1
        result = fetch(result.pages)
    return result


def _pager_key(prefix: str) -> str:
    return f"{prefix}-page-{st.session_state.get(f'{prefix}-pager-gen', 0)}"


def pager(prefix: str, result: Page) -> None:
    """The page picker under a list (its state belongs to `paged`)."""
    if result.pages > 1:
        st.pagination(result.pages, default=result.page, key=_pager_key(prefix), max_visible_pages=7)


def open_on_select(rows: pl.DataFrame, prefix: str, param: str, hint: str, column_config: dict) -> None:
    """A page of rows where selecting one opens it: sets `?param=<id>` and reruns."""
    generation = f"{prefix}-table-gen"
    event = st.dataframe(rows, hide_index=True, placeholder="—", on_select="rerun", selection_mode="single-row",
                         key=f"{prefix}-table-{st.session_state.get(generation, 0)}", column_config=column_config)
    st.caption(hint)
    if event.selection.rows:
        st.session_state[generation] = st.session_state.get(generation, 0) + 1  # a fresh, unselected table
        st.query_params[param] = str(rows["id"][event.selection.rows[0]])
        st.rerun()
