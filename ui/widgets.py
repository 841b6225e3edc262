"""Widgets the pages share: downloads, paging, money and date display, validation messages."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Sequence

import streamlit as st

from crm_core.export import FORMATS
from crm_core.listing import Page
from crm_core.permissions import Actor, PermissionDenied
from crm_core.services import exports
from crm_core.store import Store
from crm_core.validation import NotFoundError, ValidationError

PAGE_SIZES = (25, 50, 100)


def money(value: Any, currency: str = "") -> str:
    """A money amount as text with thousands separators, or an em dash when missing."""
    if value is None:
        return "—"
    text = f"{Decimal(value):,.2f}"
    return f"{text} {currency}".strip()


def tile_money(value: Any) -> str:
    """A money amount short enough for a KPI tile: 8.13M, 81,257, 812.57."""
    if value is None:
        return "—"
    amount = Decimal(value)
    if abs(amount) >= 1_000_000:
        return f"{amount / 1_000_000:,.2f}M"
    if abs(amount) >= 10_000:
        return f"{amount:,.0f}"
    return f"{amount:,.2f}"


def when(value: datetime | date | None, with_time: bool = False) -> str:
    """A date (and time) as text, or an em dash when missing."""
    if value is None:
        return "—"
    if isinstance(value, datetime) and with_time:
        return value.strftime("%Y-%m-%d %H:%M")
    return value.strftime("%Y-%m-%d")


def show_validation(exc: ValidationError) -> None:
    """One clear error line per invalid field."""
    for message in exc.errors.values():
        st.error(message)


def download_buttons(store: Store, user: Actor, sql: str, params: Sequence | None, basename: str, key: str) -> None:
    """CSV and Parquet downloads of every row the query returns (built, and audited, only when clicked)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    cols = st.columns(len(FORMATS))
    for col, (fmt, (mime, ext)) in zip(cols, FORMATS.items()):
        col.download_button(
            f"Download {'CSV' if fmt == 'csv' else fmt.capitalize()}",
            data=lambda fmt=fmt: exports.download_query(store, user, sql, params, fmt, basename),
            file_name=f"{basename}-{stamp}.{ext}", mime=mime, key=f"{key}-{fmt}",
            icon=":material/download:", on_click="ignore", width="stretch",
        )


def page_summary(page: Page, noun: str) -> str:
    """'1,234 customers match · page 2 of 50' style caption text."""
    plural = noun if page.total == 1 else noun + "s"
    return f"{page.total:,} {plural} match · page {page.page:,} of {page.pages:,}"


def date_range(label: str, key: str, help: str | None = None) -> tuple[date | None, date | None]:
    """A from/to date picker that may be left empty; returns (start, end)."""
    value = st.date_input(label, value=[], key=key, help=help, format="YYYY-MM-DD")
    if isinstance(value, (list, tuple)):
        start = value[0] if len(value) > 0 else None
        end = value[1] if len(value) > 1 else start
        return start, end
    return value, value


def optional_number(label: str, key: str, step: float = 1.0, integer: bool = False) -> Any:
    """A number input that may be left blank (returns None)."""
    return st.number_input(label, value=None, min_value=0 if integer else 0.0,
                           step=int(step) if integer else step, key=key,
                           format=None if integer else "%.2f")


_FLASH = "_crm_toasts"


def flash(message: str) -> None:
    """Queue a confirmation to show as a toast on the next run (survives st.rerun)."""
    st.session_state.setdefault(_FLASH, []).append(message)


def show_flash() -> None:
    """Show and clear the queued confirmations."""
    for message in st.session_state.pop(_FLASH, []):
        st.toast(message, icon=":material/check_circle:")


def refused(exc: PermissionDenied) -> None:
    """The sentence a refused action shows: the role cannot do it, nothing was changed."""
    st.error(str(exc), icon=":material/lock:")


def run_save(action: Callable[[], Any], success: str) -> Any:
    """Run a core write; show problems (and a refusal of the user's role) as messages. On success queue a toast
    and return the result (or True)."""
    try:
        result = action()
    except ValidationError as exc:
        show_validation(exc)
        return None
    except NotFoundError as exc:
        st.error(str(exc))
        return None
    except PermissionDenied as exc:
        refused(exc)
        return None
    flash(success)
    return True if result is None else result
