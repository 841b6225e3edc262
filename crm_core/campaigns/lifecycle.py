"""The campaign lifecycle: schedule, launch (the audience frozen and every message rendered and logged in
one set-based transaction), pause, resume, cancel, and the worker's complete / fail. Every change is checked
against the transition table inside the writing transaction, so a double click or two sessions launching
at once launch once."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm_core.campaigns.audience import AudiencePlan, AudienceRule, audience_rule, classified_sql
from crm_core.campaigns.editing import get_campaign, parse_templates
from crm_core.campaigns.model import CHANNELS, RUNNING, Campaign, TransitionError, next_status
from crm_core.campaigns.templates import render_sql, template_variables, with_as_of
from crm_core.store import Store, reserve_ids
from crm_core.validation import NotFoundError, ValidationError, utc_now

MIN_SCHEDULE_LEAD = timedelta(minutes=1)


@dataclass(frozen=True)
class LaunchResult:
    """What a launch froze and logged."""

    campaign_id: int
    matched: int
    no_address: int
    capped: int
    holdout: int
    recipients: int
    seconds: float


def _status(cur, campaign_id: int) -> str:
    rows = cur.sql("SELECT status FROM campaigns WHERE id = ?", params=[campaign_id]).fetchall()
    if not rows:
        raise NotFoundError(f"There is no campaign with id {campaign_id} (it may have been deleted).")
    return rows[0][0]


def _move(cur, campaign_id: int, action: str, user: str | None, now: datetime, note: str | None = None) -> str:
    """Check and record one transition inside the caller's transaction; returns the new status."""
    current = _status(cur, campaign_id)
    target = next_status(current, action)
    finished = "finished_at = ?, " if target in ("completed", "failed", "cancelled") else ""
    params = [target, note, *([now] if finished else []), user, now, campaign_id]
    cur.execute(f"UPDATE campaigns SET status = ?, status_reason = ?, {finished}updated_by = ?, updated_at = ? "
                "WHERE id = ?", params)
    cur.execute("INSERT INTO campaign_events VALUES (?, ?, ?, ?, ?, ?)", [campaign_id, now, current, target, user, note])
    return target


def transition(store: Store, campaign_id: int, action: str, user: str | None = None,
               note: str | None = None, now: datetime | None = None) -> str:
    """Pause, resume, cancel, unschedule, complete or fail a campaign; TransitionError when not allowed."""
    if action in ("launch", "schedule"):
        raise TransitionError(f"Use {action}_campaign to {action} a campaign.")
    now = now or utc_now()

    def work(cur) -> str:
        target = _move(cur, campaign_id, action, user, now, note)
        if target == "cancelled":  # nothing more is sent; messages already with the vendor go on
            cur.execute("UPDATE messages SET status = 'cancelled', updated_at = ? WHERE campaign_id = ? "
                        "AND status = 'queued'", [now, campaign_id])
        return target

    return store.write(work, data=False)


def schedule_campaign(store: Store, campaign_id: int, send_at: datetime, user: str | None = None,
                      now: datetime | None = None) -> None:
    """Schedule a draft to be launched at `send_at` (naive UTC); refused for a time in the past."""
    now = now or utc_now()
    if send_at < now + MIN_SCHEDULE_LEAD:
        raise ValidationError({"scheduled_at": "The send time is in the past (or less than a minute away): "
                                               "choose a later time, or launch now."})
    campaign = get_campaign(store, campaign_id)
    parse_templates(audience_rule(store, campaign.segment_id, campaign.rules).catalog, campaign.channel,
                    campaign.subject, campaign.template)

    def work(cur) -> None:
        _move(cur, campaign_id, "schedule", user, now, f"send at {send_at:%Y-%m-%d %H:%M} UTC")
        cur.execute("UPDATE campaigns SET scheduled_at = ?, launched_by = ? WHERE id = ?", [send_at, user, campaign_id])

    store.write(work, data=False)


def _messages_sql(campaign: Campaign, rule: AudienceRule) -> tuple[str, dict]:
    """The INSERT that renders and logs one queued message per recipient, and its parameters."""
    body, subject = parse_templates(rule.catalog, campaign.channel, campaign.subject, campaign.template)
    variables = template_variables(rule.catalog)
    body_sql, params = render_sql(body, variables, "mb")
    subject_sql = "NULL"
    if subject is not None:
        subject_sql, subject_params = render_sql(subject, variables, "ms")
        params.update(subject_params)
    column = CHANNELS[campaign.channel].address_column
    sql = f"""INSERT INTO messages
        SELECT $m_first + row_number() OVER (ORDER BY a.customer_id) - 1, $m_campaign, a.customer_id, $m_channel,
               trim(c.{column}), {subject_sql}, {body_sql}, 'queued', 0, NULL, NULL, NULL, $m_now,
               NULL, NULL, NULL, NULL, NULL, $m_now
        FROM campaign_audience a JOIN customers c ON c.id = a.customer_id
        LEFT JOIN customer_stats s ON s.customer_id = c.id
        WHERE a.campaign_id = $m_campaign AND a.role = 'recipient'"""
    return sql, with_as_of(sql, params, rule.as_of)


def launch_campaign(store: Store, campaign_id: int, user: str | None = None,
                    now: datetime | None = None) -> LaunchResult:
    """Freeze the audience, render and log every message as queued, and set the campaign running."""
    started = time.perf_counter()
    now = now or utc_now()
    campaign = get_campaign(store, campaign_id)
    next_status(campaign.status, "launch")  # a clear message before any work; checked again when writing
    rule = audience_rule(store, campaign.segment_id, campaign.rules)
    audience_sql, audience_params = classified_sql(campaign, rule, now)
    insert_sql, insert_params = _messages_sql(campaign, rule)
    limit = CHANNELS[campaign.channel].body_limit

    def work(cur) -> dict[str, int]:
        status = _status(cur, campaign_id)
        next_status(status, "launch")
        cur.execute(f"INSERT INTO campaign_audience SELECT $cmp_campaign, customer_id, role FROM ({audience_sql})",
                    {**audience_params, "cmp_campaign": campaign_id})
        counts = dict(cur.sql("SELECT role, count(*) FROM campaign_audience WHERE campaign_id = ? GROUP BY role",
                              params=[campaign_id]).fetchall())
        recipients = counts.get("recipient", 0)
        if not recipients:
            matched = sum(counts.values())
            raise ValidationError({"audience": "Nobody would get this message: the audience is empty." if not matched
                                   else f"Nobody would get this message: all {matched:,} customers in the audience "
                                        "are held out, capped or have no address."})
        first = reserve_ids(cur, "message_ids", recipients)
        cur.execute(insert_sql, {**insert_params, "m_first": first, "m_campaign": campaign_id,
                                 "m_channel": campaign.channel, "m_now": now})
        longest = cur.sql("SELECT max(length(body)) FROM messages WHERE campaign_id = ?",
                          params=[campaign_id]).fetchall()[0][0] or 0
        if longest > limit:
            raise ValidationError({"template": f"Some rendered messages are {longest:,} characters long; "
                                               f"{CHANNELS[campaign.channel].label} allows {limit:,}."})
        _move(cur, campaign_id, "launch", user, now, None)
        cur.execute("UPDATE campaigns SET launched_by = coalesce(?, launched_by), launched_at = ?, audience_as_of = ?, "
                    "audience_size = ?, no_address = ?, capped = ?, holdout = ?, recipients = ? WHERE id = ?",
                    [user, now, rule.as_of, sum(counts.values()), counts.get("no_address", 0),
                     counts.get("capped", 0), counts.get("holdout", 0), recipients, campaign_id])
        return counts

    plan = AudiencePlan.from_counts(store.write(work, data=False))
    return LaunchResult(campaign_id, plan.matched, plan.no_address, plan.capped, plan.holdout, plan.recipients,
                        time.perf_counter() - started)


def fail_campaign(store: Store, campaign_id: int, reason: str, now: datetime | None = None) -> None:
    """Mark a campaign failed with a reason (the worker's call when it cannot go on); queued messages are dropped."""
    now = now or utc_now()

    def work(cur) -> None:
        _move(cur, campaign_id, "fail", None, now, reason)
        cur.execute("UPDATE messages SET status = 'cancelled', error = ?, updated_at = ? WHERE campaign_id = ? "
                    "AND status = 'queued'", [reason, now, campaign_id])

    store.write(work, data=False)


def is_running(store: Store, campaign_id: int) -> bool:
    """Whether the campaign is running now."""
    return store.scalar("SELECT status FROM campaigns WHERE id = ?", [campaign_id]) == RUNNING
