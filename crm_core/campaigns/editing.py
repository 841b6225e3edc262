"""Creating and editing campaigns: the input a marketer gives, checked field by field (templates included,
so an unknown variable is an error when the campaign is saved, not when it is sent)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from crm_core.campaigns.model import (CAMPAIGN_COLUMNS, CHANNELS, DRAFT, Campaign, VendorSettings,
                                      campaign_from_row)
from crm_core.campaigns.templates import Template, TemplateError, TemplateVar, parse_template, template_variables
from crm_core.segments.catalog import Catalog, load_catalog
from crm_core.segments.rules import RuleError, dumps, parse_rules
from crm_core.store import Store
from crm_core.validation import ConflictError, NotFoundError, ValidationError, utc_now

NAME_LIMIT = 100
DESCRIPTION_LIMIT = 2_000
SUBJECT_LIMIT = 200
MAX_THROTTLE = 1_000_000
DEFAULT_THROTTLE = 100
DEFAULT_SEED = 2017


@dataclass
class CampaignInput:
    """What a marketer fills in for a campaign (values as typed; `check` cleans and validates them)."""

    name: str = ""
    description: str = ""
    segment_id: int | None = None
    rules: Any = None  # an inline rule (any accepted JSON form) when no saved segment is chosen
    channel: str = "email"
    subject: str | None = None
    template: str = ""
    throttle_per_second: Any = DEFAULT_THROTTLE  # 0 = as fast as the vendor takes them
    holdout_pct: Any = 0
    frequency_cap_hours: Any = None  # None or 0 = no cap
    seed: Any = DEFAULT_SEED
    vendor: Any = field(default_factory=dict)


@dataclass(frozen=True)
class CheckedCampaign:
    """Validated campaign values, ready to store, with the parsed templates."""

    values: dict[str, Any]
    body: Template
    subject: Template | None


def check_message(variables: Mapping[str, TemplateVar], channel: str, subject: str | None,
                  body: str) -> tuple[dict[str, str], Template | None, Template | None]:
    """A message for a channel (subject for e-mail only, stripped): what is wrong with it, else its parsed body
    and subject. The one check of a message, for campaigns and for AI message ideas alike."""
    spec = CHANNELS[channel]
    subject = ((subject or "").strip() or None) if spec.has_subject else None
    errors: dict[str, str] = {}
    if spec.has_subject and not subject:
        errors["subject"] = "An e-mail needs a subject."
    elif subject and len(subject) > SUBJECT_LIMIT:
        errors["subject"] = f"The subject is {len(subject)} characters long; keep it to {SUBJECT_LIMIT}."
    if not (body or "").strip():
        errors["template"] = "Write the message."
    elif len(body) > spec.body_limit:
        errors["template"] = (f"The message is {len(body):,} characters long as written; {spec.label} allows "
                              f"{spec.body_limit:,}.")
    parsed: dict[str, Template] = {}
    for key, text in (("subject", subject), ("template", body)):
        if key in errors or text is None:
            continue
        try:
            parsed[key] = parse_template(text, variables)
        except TemplateError as exc:
            errors[key] = "; ".join(exc.problems)
    if errors:
        return errors, None, None
    return errors, parsed["template"], parsed.get("subject")


def parse_templates(catalog: Catalog, channel: str, subject: str | None, body: str) -> tuple[Template, Template | None]:
    """The body (and, for e-mail, subject) templates parsed against the workspace's variables; ValidationError."""
    errors, template, parsed_subject = check_message(template_variables(catalog), channel, subject, body)
    if errors:
        raise ValidationError(errors)
    assert template is not None
    return template, parsed_subject


def _number(errors: dict, key: str, raw: Any, low: int, high: int, label: str, allow_blank: bool = False):
    if allow_blank and raw in (None, ""):
        return None
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        errors[key] = f"{label} must be a whole number."
        return None
    if not low <= value <= high:
        errors[key] = f"{label} must be between {low:,} and {high:,}."
    return value


def check_campaign(store: Store, data: CampaignInput) -> CheckedCampaign:
    """Clean and validate a campaign's input; ValidationError with one message per bad field."""
    errors: dict[str, str] = {}
    name, description = (data.name or "").strip(), (data.description or "").strip()
    if not name:
        errors["name"] = "Give the campaign a name."
    elif len(name) > NAME_LIMIT:
        errors["name"] = f"The name is {len(name)} characters long; keep it to {NAME_LIMIT}."
    if len(description) > DESCRIPTION_LIMIT:
        errors["description"] = f"The description is too long (at most {DESCRIPTION_LIMIT:,} characters)."
    channel = data.channel if data.channel in CHANNELS else None
    if channel is None:
        errors["channel"] = f"Choose a channel: {', '.join(CHANNELS)}."
    catalog = load_catalog(store)
    segment_id, rules_text = None, None
    if data.segment_id not in (None, ""):
        segment_id = _number(errors, "audience", data.segment_id, 1, 2**62, "The segment id")
        if segment_id is not None and catalog.segment(segment_id) is None:
            errors["audience"] = f"There is no saved segment with id {segment_id} (it may have been deleted)."
    elif data.rules is not None:
        try:
            rules_text = dumps(parse_rules(data.rules, catalog))
        except RuleError as exc:
            errors["audience"] = f"The audience rule is not valid: {exc}."
    else:
        errors["audience"] = "Choose a saved segment or build a rule for the audience."
    subject = (data.subject or "").strip() or None
    body = data.template or ""
    parsed: tuple[Template | None, Template | None] = (None, None)
    if channel:
        message_errors, body_template, subject_template = check_message(template_variables(catalog), channel,
                                                                        subject, body)
        errors.update(message_errors)
        parsed = (body_template, subject_template)
    elif not body.strip():
        errors["template"] = "Write the message."
    throttle = _number(errors, "throttle_per_second", data.throttle_per_second, 0, MAX_THROTTLE,
                       "The sending speed (messages per second)")
    cap = _number(errors, "frequency_cap_hours", data.frequency_cap_hours, 0, 24 * 365,
                  "The frequency cap (hours)", allow_blank=True)
    seed = _number(errors, "seed", data.seed, 0, 2**31 - 1, "The seed")
    try:
        holdout = Decimal(str(data.holdout_pct if data.holdout_pct not in (None, "") else 0)).quantize(Decimal("0.01"))
        if not Decimal(0) <= holdout <= Decimal(90):
            errors["holdout_pct"] = "The holdout must be between 0% and 90% of the audience."
    except (InvalidOperation, ValueError):
        errors["holdout_pct"] = "The holdout must be a percentage such as 10."
        holdout = Decimal(0)
    try:
        vendor = VendorSettings.from_mapping(data.vendor)
    except ValidationError as exc:
        errors.update(exc.errors)
        vendor = VendorSettings()
    if errors:
        raise ValidationError(errors)
    values = dict(name=name, description=description, segment_id=segment_id, rules=rules_text, channel=channel,
                  subject=subject if CHANNELS[channel].has_subject else None, template=body,
                  throttle_per_second=throttle, holdout_pct=holdout, frequency_cap_hours=cap or None,
                  seed=seed, vendor=vendor.to_json())
    return CheckedCampaign(values, parsed[0], parsed[1])


def _name_clash(cur, name: str, campaign_id: int | None) -> None:
    clash = cur.sql("SELECT name FROM campaigns WHERE lower(name) = lower(?) AND id IS DISTINCT FROM ?",
                    params=[name, campaign_id]).fetchall()
    if clash:
        raise ConflictError({"name": f"A campaign named '{clash[0][0]}' already exists; choose another name."})


def create_campaign(store: Store, data: CampaignInput, user: str | None = None) -> int:
    """Save a new draft campaign; returns its id."""
    values = check_campaign(store, data).values
    now = utc_now()

    def work(cur) -> int:
        _name_clash(cur, values["name"], None)
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        new_id = int(cur.sql(
            f"INSERT INTO campaigns ({columns}, status, created_by, created_at, updated_by, updated_at) "
            f"VALUES ({marks}, ?, ?, ?, ?, ?) RETURNING id",
            params=[*values.values(), DRAFT, user, now, user, now]).fetchall()[0][0])
        cur.execute("INSERT INTO campaign_events VALUES (?, ?, NULL, ?, ?, 'created')", [new_id, now, DRAFT, user])
        return new_id

    return store.write(work, data=False)


def update_campaign(store: Store, campaign_id: int, data: CampaignInput, user: str | None = None) -> None:
    """Change a draft campaign (a scheduled one must be moved back to draft first)."""
    values = check_campaign(store, data).values
    now = utc_now()

    def work(cur) -> None:
        status = cur.sql("SELECT status FROM campaigns WHERE id = ?", params=[campaign_id]).fetchall()
        if not status:
            raise NotFoundError(f"There is no campaign with id {campaign_id} (it may have been deleted).")
        if status[0][0] != DRAFT:
            raise ValidationError({"status": f"Only a draft can be edited; this campaign is {status[0][0]}."})
        _name_clash(cur, values["name"], campaign_id)
        assignments = ", ".join(f"{k} = ?" for k in values)
        cur.execute(f"UPDATE campaigns SET {assignments}, updated_by = ?, updated_at = ? WHERE id = ?",
                    [*values.values(), user, now, campaign_id])

    store.write(work, data=False)


def get_campaign(store: Store, campaign_id: int) -> Campaign:
    """The campaign with this id; NotFoundError when there is none."""
    rows = store.rows(f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?", [int(campaign_id)])
    if not rows:
        raise NotFoundError(f"There is no campaign with id {campaign_id} (it may have been deleted).")
    return campaign_from_row(rows[0])


def campaign_by_name(store: Store, name: str) -> Campaign:
    """The campaign with this name (case-insensitive); NotFoundError when there is none."""
    rows = store.rows(f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE lower(name) = lower(?)", [name.strip()])
    if not rows:
        raise NotFoundError(f"There is no campaign named '{name}'.")
    return campaign_from_row(rows[0])


def campaign_input(campaign: Campaign) -> CampaignInput:
    """The editable values of a stored campaign, as a form would hold them."""
    return CampaignInput(campaign.name, campaign.description, campaign.segment_id, campaign.rules, campaign.channel,
                         campaign.subject, campaign.template, campaign.throttle_per_second, campaign.holdout_pct,
                         campaign.frequency_cap_hours, campaign.seed, json.loads(campaign.vendor.to_json()))


def duplicate_campaign(store: Store, campaign_id: int, user: str | None = None) -> int:
    """A new draft with the same settings as an existing campaign ('Copy of ...'); returns its id."""
    source = get_campaign(store, campaign_id)
    data = campaign_input(source)
    taken = {n.lower() for (n,) in store.rows("SELECT name FROM campaigns")}
    base = f"Copy of {source.name}"[:NAME_LIMIT - 4]
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base} ({n})", n + 1
    data.name = name
    if data.segment_id is not None and load_catalog(store).segment(data.segment_id) is None:
        raise ValidationError({"audience": "The saved segment this campaign was sent to has been deleted, so a "
                                           "copy would have no audience: create a new campaign instead."})
    return create_campaign(store, data, user)


def delete_campaign(store: Store, campaign_id: int) -> None:
    """Delete a draft campaign (campaigns that were launched keep their log and cannot be deleted)."""

    def work(cur) -> None:
        status = cur.sql("SELECT status FROM campaigns WHERE id = ?", params=[campaign_id]).fetchall()
        if not status:
            raise NotFoundError(f"There is no campaign with id {campaign_id} (it may have been deleted).")
        if status[0][0] != DRAFT:
            raise ValidationError({"status": "Only drafts can be deleted; a launched campaign keeps its log."})
        cur.execute("DELETE FROM campaign_events WHERE campaign_id = ?", [campaign_id])
        cur.execute("DELETE FROM campaigns WHERE id = ?", [campaign_id])

    store.write(work, data=False)
