"""The export centre's widgets, drawn from the dataset registry: dataset, source, columns, filters, format."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from crm_core.exports.centre import (EXPORT_FORMATS, ExportRequest, ExportResult, available_columns, count_rows,
                                     filter_values)
from crm_core.exports.datasets import DATASETS, SOURCES, Dataset, source_options
from crm_core.exports.xlsx import MAX_ROWS as XLSX_MAX_ROWS
from crm_core.exports.xlsx import too_many_rows_message
from crm_core.segments.rules import RuleError
from crm_core.permissions import Actor, PermissionDenied
from crm_core.services import exports
from crm_core.store import Store
from crm_core.validation import NotFoundError, ValidationError
from ui.widgets import date_range, refused, show_validation

_RESULT = "xc-result"


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:,.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:,.1f} KB"


def _source(store: Store, spec: Dataset) -> int | None:
    """The segment, campaign or import picked for a dataset that needs one (None: there is none yet)."""
    source = SOURCES[spec.source]
    options = source_options(store, spec.source)
    if options.is_empty():
        st.info(f"There is no {source.label.lower()} to export from yet.")
        return None
    labels = dict(zip(options["id"].to_list(), options["label"].to_list()))
    return st.selectbox(source.label, list(labels), format_func=lambda i: labels[i], key=f"xc-source-{spec.key}")


def _filters(store: Store, spec: Dataset, base: ExportRequest) -> dict:
    """One widget per filter of the dataset; returns the filter values set."""
    values: dict = {}
    if not spec.filters:
        return values
    scope = f"{spec.key}-{base.source_id}"
    for column, flt in zip(st.columns(len(spec.filters)), spec.filters):
        with column:
            if flt.kind == "choice":
                picked = st.multiselect(flt.label, filter_values(store, base, flt.key), key=f"xc-f-{scope}-{flt.key}",
                                        placeholder="Any")
                if picked:
                    values[flt.key] = tuple(picked)
            else:
                start, end = date_range(f"{flt.label} (from – to)", key=f"xc-f-{scope}-{flt.key}")
                if start or end:
                    values[flt.key] = (start, end)
    return values


def export_centre(store: Store, user: Actor) -> None:
    """Pick a dataset, its columns and filters, see the row count, and write the file (offered for download)."""
    key = st.selectbox("Dataset", list(DATASETS), format_func=lambda k: DATASETS[k].label, key="xc-dataset")
    spec = DATASETS[key]
    st.caption(spec.description)
    source_id = _source(store, spec) if spec.source else None
    if spec.source and source_id is None:
        return
    base = ExportRequest(key, source_id)
    try:
        columns = available_columns(store, base)
        picked = st.multiselect("Columns", columns, default=columns, key=f"xc-cols-{key}-{source_id}",
                                help="All columns unless you remove some; the file keeps this order.")
        filters = _filters(store, spec, base)
        if not picked:
            st.warning("Pick at least one column.")
            return
        request = ExportRequest(key, source_id, tuple(picked), filters)
        rows = count_rows(store, request)
    except ValidationError as exc:
        show_validation(exc)
        return
    except (NotFoundError, RuleError) as exc:  # the segment, campaign or import is gone or no longer works
        st.error(f"This cannot be exported: {exc}")
        return
    st.markdown(f"**{rows:,} {'row' if rows == 1 else 'rows'}** to export")
    fmt = st.radio("Format", list(EXPORT_FORMATS), format_func=lambda f: EXPORT_FORMATS[f][0], horizontal=True,
                   key="xc-format")
    too_big = fmt == "xlsx" and rows > XLSX_MAX_ROWS
    if too_big:
        st.warning(too_many_rows_message(rows))
    if st.button("Export", type="primary", icon=":material/file_export:", disabled=too_big, key="xc-go"):
        _run(store, user, request, fmt, rows)
    done = st.session_state.get(_RESULT)
    if done and done[:2] == (request, fmt):  # the file of what is picked now, not of an earlier choice
        _show_result(store, user, done[2])


def _run(store: Store, user: Actor, request: ExportRequest, fmt: str, rows: int) -> None:
    bar = st.progress(0.0, text="Writing the file…")
    written = lambda n: bar.progress(min(1.0, n / max(rows, 1)), text=f"{n:,} of {rows:,} rows written")  # noqa: E731
    try:
        st.session_state[_RESULT] = (request, fmt, exports.export_to_file(store, user, request, fmt, on_batch=written))
    except ValidationError as exc:
        show_validation(exc)
    except PermissionDenied as exc:
        refused(exc)
    except OSError as exc:
        st.error(f"The export file could not be written: {exc}")
    finally:
        bar.empty()


def _show_result(store: Store, user: Actor, result: ExportResult | None) -> None:
    if result is None or not Path(result.path).exists():
        return
    label, mime, _ = EXPORT_FORMATS[result.fmt]
    st.success(f"Exported {result.rows:,} rows to `{result.path}` ({label}, {_size(result.size)}).")
    if result.downloadable:
        st.download_button(f"Download {result.path.name}", data=lambda: exports.download_file(store, user, result.path, "export file"),
                           file_name=result.path.name, mime=mime, icon=":material/download:", on_click="ignore",
                           key="xc-download")
    else:
        st.info(f"The file is too large to download through the browser ({_size(result.size)}); "
                f"open it where it was written: `{result.path}`.")
