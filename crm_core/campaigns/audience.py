"""A campaign's audience: who the rule matches, who has no address for the channel, who the frequency cap
skips, who the seeded holdout keeps back, and who gets a message; counted before launch, frozen at launch."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from crm_core.campaigns.model import CHANNELS, Campaign
from crm_core.campaigns.vendor import seeded_hash
from crm_core.segments.catalog import Catalog, load_catalog
from crm_core.segments.compiler import compile_rule
from crm_core.segments.preview import today
from crm_core.segments.rules import Group, RuleError, parse_rules
from crm_core.segments.saved import get_segment
from crm_core.store import Store
from crm_core.validation import NotFoundError, ValidationError

ROLES = ("recipient", "holdout", "capped", "no_address")
ROLE_LABELS = {"recipient": "Get the message", "holdout": "Held out (control group)",
               "capped": "Skipped: messaged recently (frequency cap)", "no_address": "Skipped: no address"}
# Messages that count as "messaged" for the frequency cap: everything but failed or never sent.
CAPPED_STATUSES = ("queued", "sending", "sent", "delivered", "opened", "clicked")


@dataclass(frozen=True)
class AudienceRule:
    """The rule a campaign targets, validated against today's catalog, and the as-of date to evaluate it."""

    root: Group
    catalog: Catalog
    as_of: date
    source: str  # "segment 'Name'" or "a rule of its own"


@dataclass(frozen=True)
class AudiencePlan:
    """How a campaign's audience splits up, as of now."""

    matched: int
    no_address: int
    capped: int
    holdout: int
    recipients: int

    @classmethod
    def from_counts(cls, counts: dict[str, int]) -> "AudiencePlan":
        """The plan from a count per role."""
        return cls(sum(counts.values()), counts.get("no_address", 0), counts.get("capped", 0),
                   counts.get("holdout", 0), counts.get("recipient", 0))

    def rows(self) -> list[tuple[str, int]]:
        """The split as (label, count) rows, in funnel order."""
        return [("Match the audience rule", self.matched), (ROLE_LABELS["no_address"], self.no_address),
                (ROLE_LABELS["capped"], self.capped), (ROLE_LABELS["holdout"], self.holdout),
                (ROLE_LABELS["recipient"], self.recipients)]


def audience_rule(store: Store, segment_id: int | None, rules: Any) -> AudienceRule:
    """The rule of a saved segment or an inline rule; ValidationError when it is missing or invalid."""
    catalog = load_catalog(store)
    try:
        if segment_id is not None:
            segment = get_segment(store, int(segment_id))
            return AudienceRule(segment.tree(catalog), catalog, segment.as_of or today(),
                                f"segment '{segment.name}'")
        if rules is None:
            raise ValidationError({"audience": "Choose a saved segment or build a rule for the audience."})
        return AudienceRule(parse_rules(rules, catalog), catalog, today(), "a rule of its own")
    except NotFoundError as exc:
        raise ValidationError({"audience": str(exc)}) from exc
    except RuleError as exc:
        raise ValidationError({"audience": f"The audience rule is not valid: {exc}."}) from exc


def classified_sql(campaign: Campaign, rule: AudienceRule, now: datetime) -> tuple[str, dict[str, Any]]:
    """A query of (customer_id, role) for everyone the rule matches, and its parameters."""
    compiled = compile_rule(rule.root, rule.catalog, rule.as_of)
    column = CHANNELS[campaign.channel].address_column  # a name from the channel registry
    params = dict(compiled.params)
    params.update(cmp_seed=int(campaign.seed), cmp_pct=campaign.holdout_pct)
    capped = "FALSE"
    if campaign.frequency_cap_hours:
        params["cmp_since"] = now - timedelta(hours=int(campaign.frequency_cap_hours))
        params["cmp_capped"] = list(CAPPED_STATUSES)
        capped = ("a.customer_id IN (SELECT customer_id FROM messages WHERE coalesce(sent_at, queued_at) >= "
                  "$cmp_since AND list_contains($cmp_capped, status))")
    matched = compiled.select(f"c.id AS customer_id, nullif(trim(c.{column}), '') IS NULL AS no_address")
    sql = f"""
        WITH matched AS ({matched}),
        flagged AS (
            SELECT a.customer_id,
                   CASE WHEN a.no_address THEN 'no_address' WHEN {capped} THEN 'capped' END AS skip
            FROM matched a),
        ranked AS (
            SELECT customer_id, skip,
                   row_number() OVER (PARTITION BY skip IS NULL ORDER BY {seeded_hash('$cmp_seed', 'holdout', 'customer_id')}, customer_id)
                       AS draw,
                   count(*) OVER (PARTITION BY skip IS NULL) AS eligible
            FROM flagged)
        SELECT customer_id,
               CASE WHEN skip IS NOT NULL THEN skip
                    WHEN draw <= floor(eligible * $cmp_pct / 100 + 0.5) THEN 'holdout'
                    ELSE 'recipient' END AS role
        FROM ranked"""
    return sql, params


def plan_audience(store: Store, campaign: Campaign, now: datetime) -> AudiencePlan:
    """Count who would get the message if the campaign launched now (nothing is written)."""
    rule = audience_rule(store, campaign.segment_id, campaign.rules)
    sql, params = classified_sql(campaign, rule, now)
    return AudiencePlan.from_counts(dict(store.rows(f"SELECT role, count(*) FROM ({sql}) GROUP BY role", params)))
