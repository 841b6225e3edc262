"""Before launch: the message as real recipients will get it, how many get a fallback or a blank for each
variable, how long the messages come out (SMS segments), and the audience after cap and holdout."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm_core.campaigns.audience import AudiencePlan, audience_rule, classified_sql
from crm_core.campaigns.editing import parse_templates
from crm_core.campaigns.model import CHANNELS, Campaign
from crm_core.campaigns.templates import (SmsInfo, Tag, Template, blank_counts_sql, recipient_values_sql, render,
                                          render_sql, sms_length, sms_segments_sql, template_variables, with_as_of)
from crm_core.store import Store
from crm_core.validation import utc_now

SAMPLE = 20


@dataclass(frozen=True)
class RenderedMessage:
    """One recipient's message as it would be sent."""

    customer_id: int
    name: str
    address: str
    subject: str | None
    body: str
    sms: SmsInfo | None  # for SMS campaigns


@dataclass(frozen=True)
class VariableBlanks:
    """A variable the message uses and how many recipients have no value for it."""

    key: str
    label: str
    recipients: int
    blank: int
    fallback: str | None  # the default("...") text they get instead, None when they get a blank


@dataclass(frozen=True)
class LengthCheck:
    """The rendered messages' lengths over the whole audience."""

    longest: int
    over_limit: int
    limit: int
    max_segments: int | None  # SMS only
    multi_segment: int | None  # SMS messages that go out as more than one segment


@dataclass(frozen=True)
class LaunchPreview:
    """Everything the marketer checks before launching."""

    plan: AudiencePlan
    messages: list[RenderedMessage]
    blanks: list[VariableBlanks]
    lengths: LengthCheck


def _fallbacks(templates: list[Template]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for template in templates:
        for part in template.parts:
            if isinstance(part, Tag):
                default = next((f.args[0] for f in part.filters if f.name == "default"), None)
                found[part.key] = found.get(part.key) or default
    return found


def launch_preview(store: Store, campaign: Campaign, now: datetime | None = None, sample: int = SAMPLE) -> LaunchPreview:
    """Render the first recipients' messages, count blanks per variable and check lengths, as of now."""
    now = now or utc_now()
    rule = audience_rule(store, campaign.segment_id, campaign.rules)
    body, subject = parse_templates(rule.catalog, campaign.channel, campaign.subject, campaign.template)
    templates = [t for t in (subject, body) if t is not None]
    variables = template_variables(rule.catalog)
    audience_sql, audience_params = classified_sql(campaign, rule, now)
    used = list(dict.fromkeys(key for t in templates for key in t.variables))
    # The audience is classified once, into a table of this cursor's own; every figure below reads it.
    with store.cursor() as cur:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE preview_audience AS {audience_sql}", audience_params)
        plan = AudiencePlan.from_counts(dict(cur.execute(
            "SELECT role, count(*) FROM preview_audience GROUP BY role").fetchall()))
        recipients = "(SELECT customer_id FROM preview_audience WHERE role = 'recipient')"
        messages = _sample(cur, campaign, rule, variables, body, subject, used, recipients, sample)
        blanks = _blanks(cur, rule, variables, templates, used, recipients)
        lengths = _lengths(cur, campaign, rule, variables, body, recipients)
        cur.execute("DROP TABLE preview_audience")
    return LaunchPreview(plan, messages, blanks, lengths)


def _sample(cur, campaign: Campaign, rule, variables, body: Template, subject: Template | None, used: list[str],
            recipients: str, sample: int) -> list[RenderedMessage]:
    """The first recipients' messages, rendered in Python from their raw values."""
    column = CHANNELS[campaign.channel].address_column
    values_sql = (f"SELECT v.*, c2.name AS _name, c2.{column} AS _address FROM "
                  f"({recipient_values_sql(used, variables)}) v JOIN customers c2 ON c2.id = v.customer_id "
                  f"WHERE v.customer_id IN (SELECT customer_id FROM {recipients} ORDER BY customer_id LIMIT $n) "
                  "ORDER BY v.customer_id")
    rows = cur.sql(values_sql, params=with_as_of(values_sql, {"n": int(sample)}, rule.as_of)).pl()
    messages = []
    for row in rows.iter_rows(named=True):
        text = render(body, row)
        messages.append(RenderedMessage(row["customer_id"], row["_name"] or "", (row["_address"] or "").strip(),
                                        render(subject, row) if subject else None, text,
                                        sms_length(text) if campaign.channel == "sms" else None))
    return messages


def _blanks(cur, rule, variables, templates: list[Template], used: list[str], recipients: str) -> list[VariableBlanks]:
    """For each variable used, how many recipients have no value (and the fallback they get)."""
    if not used:
        return []
    fallbacks = _fallbacks(templates)
    merged = Template("", tuple(part for t in templates for part in t.parts), tuple(used))
    sql, params = blank_counts_sql(merged, variables, recipients)
    return [VariableBlanks(key, variables[key].label, int(total), int(blank), fallbacks.get(key))
            for key, total, blank in cur.execute(sql, with_as_of(sql, params, rule.as_of)).fetchall()]


def _lengths(cur, campaign: Campaign, rule, variables, body: Template, recipients: str) -> LengthCheck:
    """The longest rendered message, how many are over the channel's limit and, for SMS, the segments."""
    limit = CHANNELS[campaign.channel].body_limit
    body_sql, body_params = render_sql(body, variables, "lb")
    sms = f", max({sms_segments_sql('t')}), count(*) FILTER (WHERE {sms_segments_sql('t')} > 1)" \
        if campaign.channel == "sms" else ", NULL, NULL"
    sql = (f"SELECT coalesce(max(length(t)), 0), count(*) FILTER (WHERE length(t) > $limit){sms} FROM "
           f"(SELECT {body_sql} AS t FROM customers c LEFT JOIN customer_stats s ON s.customer_id = c.id "
           f"WHERE c.id IN {recipients})")
    longest, over, segments, multi = cur.execute(
        sql, with_as_of(sql, {**body_params, "limit": limit}, rule.as_of)).fetchall()[0]
    return LengthCheck(int(longest), int(over), limit, None if segments is None else int(segments),
                       None if multi is None else int(multi))
