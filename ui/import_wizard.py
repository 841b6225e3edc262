"""The import page's steps: uploaded files to disk, sniffing with overrides, kind, column mapping, options."""
from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from crm_core.ingest.fields import ATTRIBUTE_PREFIX, IGNORE, KIND_HELP, KIND_LABELS, KINDS, allows_attributes, fields
from crm_core.ingest.mapping import attribute_name, guess_kind
from crm_core.ingest.options import MISSING_CUSTOMERS, ON_EXISTING, REPEATED_ORDERS, ImportOptions
from crm_core.ingest.parse_sql import DATE_FORMATS
from crm_core.ingest.saved_mappings import initial_mapping
from crm_core.ingest.sniff import DELIMITER_NAMES, ENCODING_NAMES, ImportFileError, SourceFile, sniff_file
from crm_core.store import Store
from ui.text import plain_md

_WORK_DIR = "_crm_import_dir"
_SNIFFED = "_crm_import_sniffed"
ATTRIBUTE = "attribute"
AUTO = "auto"


def _work_dir() -> Path:
    if _WORK_DIR not in st.session_state or not Path(st.session_state[_WORK_DIR]).is_dir():
        st.session_state[_WORK_DIR] = tempfile.mkdtemp(prefix="crm-upload-")
    return Path(st.session_state[_WORK_DIR])


def saved_upload(upload: Any) -> tuple[Path, str]:
    """The uploaded file written once to a private temp folder (keyed by its id); returns (path, short key)."""
    key = hashlib.sha1(f"{upload.file_id}".encode()).hexdigest()[:10]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", upload.name)[-80:] or "upload"
    path = _work_dir() / f"{key}-{safe}"
    if not path.exists():
        path.write_bytes(upload.getbuffer())
    return path, key


def forget_other_uploads(uploads: list[Any]) -> None:
    """Delete this session's saved copies of files no longer in the uploader (uploads can be large)."""
    import shutil

    keep = {hashlib.sha1(f"{u.file_id}".encode()).hexdigest()[:10] for u in uploads}
    folder = _work_dir()
    for entry in folder.iterdir():
        if entry.name.split("-", 1)[0] not in keep:
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
    cache = st.session_state.get(_SNIFFED, {})
    for token in [t for t in cache if t[0] not in keep]:
        del cache[token]


def sniffed(path: Path, name: str, key: str) -> SourceFile | None:
    """Sniff a saved upload with the user's overrides (delimiter, encoding, header); None after showing why not."""
    overrides = st.session_state.get(f"imp-fmt-{key}", {})
    cache = st.session_state.setdefault(_SNIFFED, {})
    token = (key, tuple(sorted(overrides.items())))
    if token not in cache:
        work = _work_dir() / f"{key}-work"
        work.mkdir(exist_ok=True)
        try:
            cache[token] = sniff_file(path, name, work, **overrides)
        except ImportFileError as exc:
            cache[token] = str(exc)
    result = cache[token]
    if isinstance(result, str):
        st.error(f"**{plain_md(name)}**: {plain_md(result)}", icon=":material/error:")
        return None
    return result


def format_overrides(source: SourceFile, key: str) -> None:
    """An expander to correct what sniffing found: delimiter, encoding, header row."""
    with st.expander("File format: " + source.describe(), icon=":material/tune:"):
        c1, c2, c3 = st.columns(3)
        delimiters = list(DELIMITER_NAMES)
        delimiter = c1.selectbox("Delimiter", delimiters, index=delimiters.index(source.delimiter)
                                 if source.delimiter in delimiters else 0,
                                 format_func=lambda d: DELIMITER_NAMES[d].capitalize(), key=f"imp-delim-{key}")
        encodings = list(ENCODING_NAMES)
        encoding = c2.selectbox("Encoding", encodings, index=encodings.index(source.encoding),
                                format_func=ENCODING_NAMES.get, key=f"imp-enc-{key}")
        header = c3.toggle("First row is a header", value=source.has_header, key=f"imp-head-{key}")
        wanted = {}
        if delimiter != source.delimiter:
            wanted["delimiter"] = delimiter
        if encoding != source.encoding:
            wanted["encoding"] = encoding
        if header != source.has_header:
            wanted["has_header"] = header
        if wanted:
            current = dict(st.session_state.get(f"imp-fmt-{key}", {}))
            current.update(wanted)
            st.session_state[f"imp-fmt-{key}"] = current
            st.rerun()


def preview(source: SourceFile) -> None:
    """The first rows as parsed, under their headers."""
    width = len(source.headers)
    rows = [list(r[:width]) + [None] * (width - len(r)) for r in source.preview]
    frame = pl.DataFrame(rows, schema=[(h, pl.String) for h in source.headers], orient="row")
    st.dataframe(frame, hide_index=True, height=min(38 + 35 * max(len(rows), 1), 260))


def kind_picker(source: SourceFile, key: str) -> str:
    """What the file holds, guessed from its header and changeable."""
    guessed = guess_kind(source.headers)
    kind = st.segmented_control("This file holds", list(KINDS), default=guessed, format_func=KIND_LABELS.get,
                                key=f"imp-kind-{key}", required=True)
    kind = kind or guessed
    st.caption(KIND_HELP[kind])
    return kind


def _examples(source: SourceFile, index: int) -> str:
    values = [r[index] for r in source.preview if index < len(r) and r[index].strip()][:3]
    text = " · ".join(v if len(v) <= 24 else v[:23] + "…" for v in values)
    return text or "(blank in the first rows)"


def mapping_editor(store: Store, kind: str, source: SourceFile, key: str) -> dict[str, str]:
    """One picker per column: a field, a custom attribute (customers files) or ignore. Starts from the saved mapping."""
    initial, was_saved = initial_mapping(store, kind, source.headers)
    if was_saved:
        st.caption(":material/bookmark: Using the mapping saved for files with this header.")
    labels = {f.key: f.label + (" *" if f.required else "") for f in fields(kind)}
    options = [IGNORE, *labels] + ([ATTRIBUTE] if allows_attributes(kind) else [])
    names = {IGNORE: "Ignore this column", ATTRIBUTE: "Custom attribute…", **labels}
    mapping: dict[str, str] = {}
    columns = st.columns(3)
    for index, header in enumerate(source.headers):
        target = initial.get(header, IGNORE)
        default = ATTRIBUTE if target.startswith(ATTRIBUTE_PREFIX) else target
        with columns[index % 3].container(border=True):
            choice = st.selectbox(plain_md(header), options, index=options.index(default) if default in options else 0,
                                  format_func=names.get, key=f"imp-map-{key}-{kind}-{index}",
                                  help=f"Examples: {plain_md(_examples(source, index))}")
            st.caption(" · ".join(f"`{v}`" for v in _examples(source, index).replace("`", "'").split(" · ")))
            if choice == ATTRIBUTE:
                suggested = target[len(ATTRIBUTE_PREFIX):] if target.startswith(ATTRIBUTE_PREFIX) else attribute_name(header)
                name = st.text_input("Attribute name", value=suggested, key=f"imp-attr-{key}-{index}",
                                     help="Lower-case letters, digits and _; segments can filter on it.")
                mapping[header] = ATTRIBUTE_PREFIX + name.strip()
            else:
                mapping[header] = choice
    st.caption("\\* required. Columns set to *Ignore this column* are not imported.")
    return mapping


def options_form(kind: str, source: SourceFile, mapping: dict[str, str], key: str) -> ImportOptions:
    """The choices for existing records, blanks, unknown customers, repeated ids, currency and date formats."""
    with st.expander("Options", icon=":material/settings:", expanded=False):
        c1, c2 = st.columns(2)
        on_existing = c1.radio("Records that already exist", list(ON_EXISTING), format_func=ON_EXISTING.get,
                               key=f"imp-exist-{key}", horizontal=True)
        blank = c2.toggle("Blank cells erase stored values", value=False, key=f"imp-blank-{key}",
                          help="Off: a blank cell keeps what is stored. Ids, e-mail, name and dates are never erased.")
        missing, repeated, currency = "create", "reject", "USD"
        if kind == "orders":
            missing = c1.radio("Orders whose customer is unknown", list(MISSING_CUSTOMERS),
                               format_func=MISSING_CUSTOMERS.get, key=f"imp-missing-{key}")
            repeated = c2.radio("Rows with the same order id", list(REPEATED_ORDERS), format_func=REPEATED_ORDERS.get,
                                key=f"imp-repeat-{key}")
        if kind in ("orders", "transactions"):
            currency = c1.text_input("Currency when the file has none", value="USD", max_chars=3,
                                     key=f"imp-cur-{key}").strip().upper()
        date_formats = {}
        date_fields = {f.key for f in fields(kind) if f.type == "datetime"}
        for header, target in mapping.items():
            if target in date_fields:
                choice = c2.selectbox(f"Dates in '{plain_md(header)}'", [AUTO, *DATE_FORMATS], key=f"imp-date-{key}-{header}",
                                      format_func=lambda k: "Detect automatically" if k == AUTO else DATE_FORMATS[k][0])
                if choice != AUTO:
                    date_formats[header] = choice
    return ImportOptions(on_existing=on_existing, blank_overwrites=blank, missing_customers=missing,
                         repeated_orders=repeated, default_currency=currency or "USD", date_formats=date_formats)
