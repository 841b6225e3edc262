"""The campaign form's state: widget keys loaded from a campaign, read back as a CampaignInput, and the
widgets for sending settings, the vendor simulator and the 'variables you can use' help."""
from __future__ import annotations

import json
from dataclasses import asdict, fields
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import streamlit as st

from crm_core.campaigns.editing import DEFAULT_SEED, DEFAULT_THROTTLE, MAX_THROTTLE, CampaignInput
from crm_core.campaigns.model import CHANNELS, VendorSettings
from crm_core.campaigns.template_filters import FILTERS
from crm_core.campaigns.templates import template_variables
from crm_core.segments.catalog import Catalog
from crm_core.validation import utc_now
from ui.campaign_format import field_error
from ui.segment_editor import canonical, load_rules

K = "cmp-f-"
OPEN_KEY = "cmp-open"
STARTER_RULE = {"match": "all", "negate": False, "rules": [{"field": "total_spend", "op": ">", "value": 1000}]}
STARTER_SUBJECT = 'A little thank-you, {{ first_name | default("friend") }}'
STARTER_BODY = ('Hi {{ first_name | default("there") }},\n\n'
                "Thank you for shopping with us. Here is 10% off your next order.\n\n"
                "See you soon!")
# The vendor simulator's settings (VendorSettings fields): label, help, and whether it is a rate shown in %.
VENDOR_LABELS = {
    "send_success_rate": ("Accepted by the vendor (%)", "Messages the vendor answers 'sent'; the rest fail at once."),
    "delivery_rate": ("Delivered, of accepted (%)", "The rest bounce, are blocked or hit an invalid number later."),
    "open_rate": ("Opened, of delivered (%)", "Leave blank for the channel's usual rate."),
    "click_rate": ("Clicked, of delivered (%)", "Leave blank for the channel's usual rate."),
    "latency_min_seconds": ("Receipts come after at least (seconds)", "Delay between a send and its receipts."),
    "latency_max_seconds": ("…and at most (seconds)", "Receipts are spread over this range, some out of order."),
    "duplicate_rate": ("Receipts sent twice (%)", "Real vendors repeat receipts; each one still counts once."),
    "transient_error_rate": ("Sends answered 'try again later' (%)", "Retried with a growing delay."),
    "max_attempts": ("Attempts before a message fails", "How often a 'try again later' send is retried."),
    "receipt_failure_rate": ("Receipt posts lost on the way (%)", "Lost posts are posted again later."),
    "simulate_conversions": ("Simulate conversions", "Once the campaign has ended and its receipts are in, some "
                             "recipients and holdout customers place an order (flagged as simulated), so the "
                             "funnel and the lift can be seen. Real revenue figures leave them out."),
    "clicked_conversion_rate": ("Order rate of clickers (%)", "Recipients who clicked and then order."),
    "other_conversion_rate": ("Order rate of other recipients (%)", "Recipients who got the message, did not "
                              "click, and order anyway."),
    "holdout_conversion_rate": ("Order rate without a message (%)", "The baseline: holdout customers (and "
                                "recipients whose message never went out) who order anyway."),
    "order_amount_min": ("Simulated order amount from", "Amounts are drawn evenly between these, in the "
                         "workspace's main currency."),
    "order_amount_max": ("…to", "The largest simulated order amount."),
}
CONVERSION_FIELDS = ("simulate_conversions", "clicked_conversion_rate", "other_conversion_rate",
                     "holdout_conversion_rate", "order_amount_min", "order_amount_max")


def _percent(value: float | None) -> float | None:
    return None if value is None else round(float(value) * 100, 4)


def load_form(param: str, data: CampaignInput, segment_ids: list[int]) -> bool:
    """Fill the form with a campaign's values (or a new one's defaults); True when loaded afresh."""
    # All values when the form held another campaign; otherwise only the missing ones (a widget that was not
    # drawn, e.g. on a run interrupted by a rerun, loses its value and would fall back to its minimum).
    s = st.session_state
    fresh = s.get(OPEN_KEY) != param
    s[OPEN_KEY] = param
    tomorrow = utc_now() + timedelta(days=1)
    values: dict[str, Any] = {
        "name": data.name, "description": data.description or "",
        "source": "rule" if data.segment_id is None and data.rules is not None else "segment",
        "segment": data.segment_id if data.segment_id in segment_ids else None,
        "channel": data.channel if data.channel in CHANNELS else "email",
        "subject": data.subject or "", "template": data.template or "", "when": "now",
        "send_date": tomorrow.date(), "send_time": time(9, 0), "throttle": int(data.throttle_per_second),
        "holdout": float(data.holdout_pct or 0), "cap": int(data.frequency_cap_hours or 0), "seed": int(data.seed)}
    vendor = asdict(VendorSettings.from_mapping(data.vendor))
    for f in fields(VendorSettings):
        value = vendor[f.name]
        values["v-" + f.name] = _percent(value) if f.name.endswith("_rate") else value
    for key, value in values.items():
        if fresh or K + key not in s:
            s[K + key] = value
    if fresh or "cmp-tree" not in s:
        load_rules(data.rules or STARTER_RULE, key="cmp")
    return fresh


def new_input() -> CampaignInput:
    """A new campaign's starting values: a friendly e-mail to fill in."""
    return CampaignInput(subject=STARTER_SUBJECT, template=STARTER_BODY, throttle_per_second=DEFAULT_THROTTLE,
                         seed=DEFAULT_SEED)


def form_input() -> CampaignInput:
    """The form's current values as the core's input."""
    s = st.session_state
    source = s.get(K + "source", "segment")
    vendor: dict[str, Any] = {}
    for f in fields(VendorSettings):
        value = s.get(K + "v-" + f.name)
        vendor[f.name] = None if value is None else (round(value / 100, 6) if f.name.endswith("_rate") else value)
    tree = s.get("cmp-tree")
    return CampaignInput(
        name=s.get(K + "name", ""), description=s.get(K + "description", ""),
        segment_id=s.get(K + "segment") if source == "segment" else None,
        rules=canonical(tree) if source == "rule" and tree else None,
        channel=s.get(K + "channel") or "email", subject=s.get(K + "subject") or None,
        template=s.get(K + "template", ""), throttle_per_second=s.get(K + "throttle", DEFAULT_THROTTLE),
        holdout_pct=Decimal(str(s.get(K + "holdout") or 0)), frequency_cap_hours=s.get(K + "cap") or None,
        seed=s.get(K + "seed", DEFAULT_SEED), vendor=vendor)


def watched(data: CampaignInput) -> dict[str, Any]:
    """The values each validation message is about, by the message's key (a changed value hides it)."""
    values = {"name": data.name, "description": data.description, "channel": data.channel,
              "audience": (data.segment_id, json.dumps(data.rules, sort_keys=True, default=str)),
              "subject": data.subject, "template": data.template, "throttle_per_second": data.throttle_per_second,
              "holdout_pct": data.holdout_pct, "frequency_cap_hours": data.frequency_cap_hours, "seed": data.seed,
              "scheduled_at": send_at()}
    values.update({f"vendor.{k}": v for k, v in data.vendor.items()})
    return values


def send_at() -> datetime | None:
    """The chosen send time (naive UTC) when 'Schedule' is chosen, else None."""
    s = st.session_state
    if s.get(K + "when") != "later" or not s.get(K + "send_date"):
        return None
    day: date = s[K + "send_date"]
    return datetime.combine(day, s.get(K + "send_time") or time(9, 0))


def kept(key: str, fallback: Any = None) -> Any:
    """The form's value under `key`, to pass as that widget's default as well.

    With a key alone a widget's default is empty (a box's minimum, the first option), and a widget the browser
    draws afresh (one a rerun cut short had dropped, or one inside an expander opened later) showed and sent
    back that default: the message emptied itself, or every vendor rate became 0 and the campaign failed.
    """
    value = st.session_state.get(key)
    return fallback if value is None else value


def kept_index(options: list[Any], key: str) -> int | None:
    """The position of the form's value under `key` among `options` (None when it is not one), for `index=`."""
    value = st.session_state.get(key)
    return options.index(value) if value in options else None


def _number(label: str, key: str, *, integer: bool, **kwargs: Any) -> None:
    """A number box whose value lives in the session state under `key` (also its default, see `kept`)."""
    current = kept(key)
    value = None if current is None else (int(current) if integer else float(current))
    st.number_input(label, value=value, key=key, **kwargs)


def sending_settings(current: dict[str, Any], editable: bool = True) -> None:
    """When to send, sending speed, holdout, frequency cap and seed."""
    when = st.radio("When", ["now", "later"], key=K + "when", index=kept_index(["now", "later"], K + "when") or 0,
                    horizontal=True, disabled=not editable,
                    format_func=lambda w: "Send when I launch" if w == "now" else "Schedule a date and time (UTC)")
    if when == "later":
        day, hour, note = st.columns([1, 1, 2], vertical_alignment="bottom")
        day.date_input("Send on (UTC)", value=kept(K + "send_date"), key=K + "send_date",
                       min_value=utc_now().date(), format="YYYY-MM-DD", persist_state="page")
        hour.time_input("At (UTC)", value=kept(K + "send_time"), key=K + "send_time", step=timedelta(minutes=15),
                        persist_state="page")
        note.caption(f"It is now {utc_now():%Y-%m-%d %H:%M} UTC. The campaign is launched at that time by "
                     "the delivery worker, with the audience as it is then.")
    field_error("scheduled_at", current.get("scheduled_at"), "scheduled_at")
    cols = st.columns(4)
    with cols[0]:
        _number("Sending speed (messages/s)", K + "throttle", integer=True, min_value=0, max_value=MAX_THROTTLE,
                step=10, help="How many messages per second go to the vendor; 0 = no limit.")
        field_error("throttle_per_second", current.get("throttle_per_second"), "throttle_per_second")
    with cols[1]:
        _number("Holdout (%)", K + "holdout", integer=False, min_value=0.0, max_value=90.0, step=1.0, format="%.2f",
                help="Keep this share of the audience as a control group (chosen at random with the seed): they "
                     "get nothing, so you can measure the campaign's effect.")
        field_error("holdout_pct", current.get("holdout_pct"), "holdout_pct")
    with cols[2]:
        _number("Frequency cap (hours)", K + "cap", integer=True, min_value=0, max_value=24 * 365, step=24,
                help="Skip anyone who was sent a message in the last N hours; 0 = no cap.")
        field_error("frequency_cap_hours", current.get("frequency_cap_hours"), "frequency_cap_hours")
    with cols[3]:
        _number("Seed", K + "seed", integer=True, min_value=0, max_value=2**31 - 1, step=1,
                help="The same seed picks the same holdout and makes the vendor simulator behave the same way.")
        field_error("seed", current.get("seed"), "seed")


def vendor_settings(current: dict[str, Any], channel: str) -> None:
    """The simulated vendor's behaviour for this campaign (rates in percent)."""
    opens, clicks = CHANNELS[channel].open_rate, CHANNELS[channel].click_rate
    st.caption("The vendor is simulated inside Mini CRM: it accepts messages at the sending speed, answers "
               "each one sent or failed, and later sends receipts (delivered, opened, clicked, or failed with a "
               f"reason). {CHANNELS[channel].label}'s usual rates: {opens:.0%} opened, {clicks:.0%} clicked.")
    cols = st.columns(2)
    for i, f in enumerate(f for f in fields(VendorSettings) if f.name not in CONVERSION_FIELDS):
        label, help_text = VENDOR_LABELS.get(f.name, (f.name.replace("_", " ").capitalize(), None))
        key = K + "v-" + f.name
        with cols[i % 2]:
            if f.name == "max_attempts":
                _number(label, key, integer=True, min_value=1, max_value=10, step=1, help=help_text)
            elif f.name.endswith("_rate"):
                usual = {"open_rate": opens, "click_rate": clicks}.get(f.name)
                _number(label, key, integer=False, min_value=0.0, max_value=100.0, step=1.0, format="%.1f",
                        help=help_text, placeholder=None if usual is None else f"usual: {usual:.0%}")
            else:
                _number(label, key, integer=False, min_value=0.0, max_value=86_400.0, step=1.0, format="%.1f",
                        help=help_text)
            field_error(f"vendor.{f.name}", current.get(f"vendor.{f.name}"), f"vendor.{f.name}")
    _conversion_settings(current)


def _conversion_settings(current: dict[str, Any]) -> None:
    """The simulated conversions: on/off, then the rates and amounts (drawn always, greyed out when off)."""
    label, help_text = VENDOR_LABELS["simulate_conversions"]
    on = st.toggle(label, value=bool(kept(K + "v-simulate_conversions", False)), key=K + "v-simulate_conversions",
                   help=help_text)
    field_error("vendor.simulate_conversions", current.get("vendor.simulate_conversions"),
                "vendor.simulate_conversions")
    cols = st.columns(2)
    for i, name in enumerate(CONVERSION_FIELDS[1:]):
        label, help_text = VENDOR_LABELS[name]
        with cols[i % 2]:
            if name.endswith("_rate"):
                _number(label, K + "v-" + name, integer=False, min_value=0.0, max_value=100.0, step=1.0,
                        format="%.1f", help=help_text, disabled=not on)
            else:
                _number(label, K + "v-" + name, integer=False, min_value=0.01, max_value=1_000_000.0, step=5.0,
                        format="%.2f", help=help_text, disabled=not on)
            field_error(f"vendor.{name}", current.get(f"vendor.{name}"), f"vendor.{name}")


def variables_help(catalog: Catalog) -> None:
    """The variables and filters a template may use, from their registries."""
    st.caption('Write `{{ variable }}` to insert a value; add filters after a bar, applied left to right: '
               '`{{ first_name | default("there") | upper }}`. Unknown names are refused when you save.')
    variables = template_variables(catalog)
    st.dataframe(pl.DataFrame({
        "variable": ["{{ " + v.key + " }}" for v in variables.values()],
        "label": [v.label for v in variables.values()],
        "kind": [v.kind for v in variables.values()],
        "help": [v.help for v in variables.values()],
    }), hide_index=True, width="stretch", key="cmp-vars", height=min(38 + 35 * len(variables), 460), column_config={
        "variable": st.column_config.TextColumn("Variable", width=190),
        "label": st.column_config.TextColumn("What it is", width=150),
        "kind": st.column_config.TextColumn("Kind", width=65), "help": st.column_config.TextColumn("Notes")})
    st.dataframe(pl.DataFrame({
        "filter": [f.signature for f in FILTERS.values()],
        "example": [f.example for f in FILTERS.values()],
        "help": [f.help for f in FILTERS.values()],
    }), hide_index=True, width="stretch", key="cmp-filters", column_config={
        "filter": st.column_config.TextColumn("Filter", width=150),
        "example": st.column_config.TextColumn("Example", width=230), "help": "What it does"})
    st.caption("Money is written 1,234.50, whole numbers 1,234 and dates 2026-11-01. Anything without a value "
               "is left blank unless you give a default.")
