"""What a campaign is: its channels, its lifecycle (statuses and the transitions between them), the
simulated vendor's settings, and the campaign record as stored."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crm_core.validation import ValidationError


@dataclass(frozen=True)
class Channel:
    """A way of reaching a customer: where its address comes from and the shape of its messages."""

    key: str
    label: str
    address_column: str  # customers column holding the address
    address_label: str
    has_subject: bool
    body_limit: int  # characters a message may have (after rendering)
    open_rate: float  # the vendor simulator's default share of delivered messages opened
    click_rate: float  # ... and of delivered messages clicked


CHANNELS: dict[str, Channel] = {
    "email": Channel("email", "E-mail", "email", "e-mail address", True, 100_000, 0.45, 0.12),
    "sms": Channel("sms", "SMS", "phone", "phone number", False, 1_600, 0.0, 0.08),
    "whatsapp": Channel("whatsapp", "WhatsApp", "phone", "phone number", False, 4_096, 0.70, 0.15),
}

DRAFT, SCHEDULED, RUNNING, PAUSED, COMPLETED, FAILED, CANCELLED = (
    "draft", "scheduled", "running", "paused", "completed", "failed", "cancelled")
STATUSES = (DRAFT, SCHEDULED, RUNNING, PAUSED, COMPLETED, FAILED, CANCELLED)
FINAL_STATUSES = (COMPLETED, FAILED, CANCELLED)
STATUS_LABELS = {DRAFT: "Draft", SCHEDULED: "Scheduled", RUNNING: "Running", PAUSED: "Paused",
                 COMPLETED: "Completed", FAILED: "Failed", CANCELLED: "Cancelled"}

# The lifecycle, one entry per action: the statuses it may start from and the status it leads to.
# "complete" and "fail" are taken by the delivery worker, never by a person.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "schedule": ((DRAFT,), SCHEDULED),
    "unschedule": ((SCHEDULED,), DRAFT),
    "launch": ((DRAFT, SCHEDULED), RUNNING),
    "pause": ((RUNNING,), PAUSED),
    "resume": ((PAUSED,), RUNNING),
    "cancel": ((DRAFT, SCHEDULED, RUNNING, PAUSED), CANCELLED),
    "complete": ((RUNNING,), COMPLETED),
    "fail": ((DRAFT, SCHEDULED, RUNNING, PAUSED), FAILED),
}
ACTION_LABELS = {"schedule": "schedule", "unschedule": "move back to draft", "launch": "launch",
                 "pause": "pause", "resume": "resume", "cancel": "cancel", "complete": "complete",
                 "fail": "mark as failed"}


class TransitionError(ValueError):
    """An action the campaign's current status does not allow."""


def next_status(current: str, action: str) -> str:
    """The status `action` leads to from `current`; TransitionError with a plain message when not allowed."""
    if action not in TRANSITIONS:
        raise TransitionError(f"Unknown campaign action '{action}'.")
    allowed, target = TRANSITIONS[action]
    if current not in allowed:
        starts = " or ".join(STATUS_LABELS[s].lower() for s in allowed)
        raise TransitionError(f"A {STATUS_LABELS.get(current, current).lower()} campaign cannot "
                              f"{ACTION_LABELS[action]}: only a {starts} campaign can.")
    return target


@dataclass(frozen=True)
class VendorSettings:
    """How the simulated delivery vendor behaves for one campaign (probabilities are shares of 1)."""

    send_success_rate: float = 0.90  # answered "sent" (the rest "failed" at once)
    delivery_rate: float = 0.95  # of sent messages, delivered (the rest fail later: bounced, blocked...)
    open_rate: float | None = None  # of delivered; None = the channel's default
    click_rate: float | None = None  # of delivered; None = the channel's default
    latency_min_seconds: float = 1.0  # delay of a receipt after the send
    latency_max_seconds: float = 20.0
    duplicate_rate: float = 0.05  # receipts sent twice
    transient_error_rate: float = 0.02  # sends answered "try again later" (retried)
    max_attempts: int = 3  # sends tried before a message fails for good
    receipt_failure_rate: float = 0.02  # receipt deliveries that fail on the way and are retried
    # Simulated conversions (off unless asked for): once the campaign has ended and its receipts are in, some
    # recipients and holdout customers place an order (crm_core.campaigns.conversions), so the funnel's last
    # step and the lift can be seen in a demo. Rates are shares of each group.
    simulate_conversions: bool = False
    clicked_conversion_rate: float = 0.25  # of recipients who clicked
    other_conversion_rate: float = 0.04  # of the other recipients whose message was sent
    holdout_conversion_rate: float = 0.02  # baseline: the holdout (and recipients whose message never went out)
    order_amount_min: float = 20.0  # simulated orders' amounts, drawn evenly between these
    order_amount_max: float = 150.0

    def rates(self, channel: str) -> tuple[float, float]:
        """The open and click rates for a channel (the channel's defaults when not set)."""
        ch = CHANNELS[channel]
        return (ch.open_rate if self.open_rate is None else self.open_rate,
                ch.click_rate if self.click_rate is None else self.click_rate)

    def to_json(self) -> str:
        """The settings as stored in the campaign row."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_mapping(cls, data: Any) -> "VendorSettings":
        """Settings from stored or submitted values; ValidationError naming the bad ones."""
        if isinstance(data, VendorSettings):
            data = asdict(data)
        if isinstance(data, str):
            data = json.loads(data or "{}")
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        errors = {f"vendor.{k}": "unknown vendor setting" for k in data if k not in known}
        values: dict[str, Any] = {}
        for key in known & data.keys():
            raw = data[key]
            if raw is None and key in ("open_rate", "click_rate"):
                values[key] = None
                continue
            if key == "simulate_conversions":
                flag = _flag(raw)
                if flag is None:
                    errors[f"vendor.{key}"] = "must be on or off (true or false)"
                values[key] = bool(flag)
                continue
            try:
                number = int(raw) if key == "max_attempts" else float(raw)
            except (TypeError, ValueError):
                errors[f"vendor.{key}"] = "must be a number"
                continue
            if key == "max_attempts" and not 1 <= number <= 10:
                errors[f"vendor.{key}"] = "must be between 1 and 10"
            elif key.startswith("latency") and not 0 <= number <= 86_400:
                errors[f"vendor.{key}"] = "must be between 0 and 86,400 seconds"
            elif key.endswith("rate") and not 0 <= number <= 1:
                errors[f"vendor.{key}"] = "must be a share between 0 and 1 (0% to 100%)"
            elif key.startswith("order_amount") and not 0.01 <= number <= 1_000_000:
                errors[f"vendor.{key}"] = "must be an amount between 0.01 and 1,000,000"
            values[key] = number
        if errors:
            raise ValidationError(errors)
        settings = cls(**values)
        if settings.latency_min_seconds > settings.latency_max_seconds:
            raise ValidationError({"vendor.latency_min_seconds": "the shortest latency is longer than the longest"})
        if settings.order_amount_min > settings.order_amount_max:
            raise ValidationError({"vendor.order_amount_min": "the smallest order amount is larger than the largest"})
        return settings


def _flag(raw: Any) -> bool | None:
    """A stored or submitted on/off value; None when it is neither."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false", "1", "0", "yes", "no", "on", "off"):
        return raw.strip().lower() in ("true", "1", "yes", "on")
    return None


@dataclass(frozen=True)
class Campaign:
    """A campaign as stored; counts at the end are frozen at launch (None before)."""

    id: int
    name: str
    description: str
    segment_id: int | None
    rules: dict | None
    channel: str
    subject: str | None
    template: str
    status: str
    status_reason: str | None
    scheduled_at: datetime | None
    throttle_per_second: int
    holdout_pct: Decimal
    frequency_cap_hours: int | None
    seed: int
    vendor: VendorSettings
    created_by: str | None
    created_at: datetime
    updated_by: str | None
    updated_at: datetime
    launched_by: str | None = None
    launched_at: datetime | None = None
    finished_at: datetime | None = None
    audience_as_of: date | None = None
    audience_size: int | None = None
    no_address: int | None = None
    capped: int | None = None
    holdout: int | None = None
    recipients: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def channel_spec(self) -> Channel:
        """The channel's definition."""
        return CHANNELS[self.channel]

    @property
    def is_final(self) -> bool:
        """Whether the campaign has ended (completed, failed or cancelled)."""
        return self.status in FINAL_STATUSES


CAMPAIGN_COLUMNS = ("id, name, description, segment_id, rules, channel, subject, template, status, status_reason, "
                    "scheduled_at, throttle_per_second, holdout_pct, frequency_cap_hours, seed, vendor, created_by, "
                    "created_at, updated_by, updated_at, launched_by, launched_at, finished_at, audience_as_of, "
                    "audience_size, no_address, capped, holdout, recipients")


def campaign_from_row(row: tuple) -> Campaign:
    """A Campaign from a row selected with CAMPAIGN_COLUMNS."""
    values = list(row)
    values[2] = values[2] or ""
    values[4] = json.loads(values[4]) if values[4] else None
    values[15] = VendorSettings.from_mapping(values[15])
    return Campaign(*values)
