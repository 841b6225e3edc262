"""Small display helpers of the campaign screens: safe text, status badges, percentages, field errors."""
from __future__ import annotations

from typing import Any

import streamlit as st

from crm_core.campaigns.model import CHANNELS, STATUS_LABELS, Campaign
from ui.text import plain_md

STATUS_COLORS = {"draft": "gray", "scheduled": "violet", "running": "blue", "paused": "orange",
                 "completed": "green", "failed": "red", "cancelled": "gray"}
STATUS_ICONS = {"draft": ":material/edit_note:", "scheduled": ":material/schedule:",
                "running": ":material/send:", "paused": ":material/pause_circle:",
                "completed": ":material/check_circle:", "failed": ":material/error:",
                "cancelled": ":material/cancel:"}
ERRORS_KEY = "cmp-errors"


def show_refusal(exc: Exception) -> None:
    """A core refusal as error lines in plain text: one per invalid field, or the exception's message."""
    for message in getattr(exc, "errors", {}).values() or [str(exc)]:
        st.error(plain_md(message), icon=":material/error:")


def channel_label(key: str) -> str:
    """'E-mail', 'SMS', 'WhatsApp' for a channel key."""
    return CHANNELS[key].label if key in CHANNELS else key


def status_badge(status: str) -> None:
    """The campaign status as a coloured badge."""
    st.badge(STATUS_LABELS.get(status, status), icon=STATUS_ICONS.get(status),
             color=STATUS_COLORS.get(status, "gray"))


def pct(share: float | None, digits: int = 1) -> str:
    """0.4512 -> '45.1%'; an em dash when there is nothing to divide by."""
    return "—" if share is None else f"{share:.{digits}%}"


def count(value: int | None) -> str:
    """1234 -> '1,234'; an em dash when unknown."""
    return "—" if value is None else f"{value:,}"


def audience_source(campaign: Campaign, segment_names: dict[int, str]) -> str:
    """'segment Big spenders' or 'a rule of its own' (plain text, not yet escaped)."""
    if campaign.segment_id is not None:
        name = segment_names.get(campaign.segment_id)
        return f"segment “{name}”" if name else f"segment #{campaign.segment_id} (deleted)"
    return "a rule of its own"


# -- validation messages next to their field --------------------------------------------------------
def set_errors(errors: dict[str, str], snapshot: dict[str, Any]) -> None:
    """Remember a failed save's messages (by field) and the values they were about."""
    st.session_state[ERRORS_KEY] = (dict(errors), dict(snapshot))


def clear_errors() -> None:
    """Forget the last failed save's messages."""
    st.session_state.pop(ERRORS_KEY, None)


def field_error(key: str, current: Any = None, watch: str | None = None) -> None:
    """Show the message for field `key`, unless its value (`watch` in the snapshot) has changed since."""
    errors, snapshot = st.session_state.get(ERRORS_KEY, ({}, {}))
    message = errors.get(key)
    if message is None:
        return
    if watch is not None and snapshot.get(watch) != current:
        return  # the marketer already changed this field
    # A template's problems come as one line each ("line 1, column 7: ...; line 2, ..."): one per row.
    parts = message.split("; line ")
    text = "  \n".join(plain_md(part if i == 0 else "line " + part) for i, part in enumerate(parts))
    st.error(text, icon=":material/error:")


def other_errors(known: set[str]) -> None:
    """Messages for keys no field shows (e.g. 'status'), at the top of the form."""
    errors, _ = st.session_state.get(ERRORS_KEY, ({}, {}))
    for key, message in errors.items():
        if key not in known and not key.startswith("vendor."):
            st.error(plain_md(message), icon=":material/error:")


def has_errors(prefix: str = "") -> bool:
    """Whether the last failed save left a message for a key starting with `prefix`."""
    errors, _ = st.session_state.get(ERRORS_KEY, ({}, {}))
    return any(k.startswith(prefix) for k in errors)
