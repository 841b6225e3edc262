"""Insights: a campaign summary and a segment description, each a table of figures from our own queries and
three short parts of prose (what happened, what stands out, what to try next). The model only writes the prose,
from the figures alone (aggregates: never a customer's row or contact details), and may not bring numbers of its
own; the figures shown are always ours. The offline engine writes the prose from the same figures by rules."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from crm_core.ai.answer import Answer, answer_with_fallback
from crm_core.ai.client import AiError, AiRequest, ask_json
from crm_core.ai.config import AiConfig, load_config
from crm_core.ai.insight_rules import CampaignFacts, SegmentFacts, campaign_prose, segment_prose
from crm_core.analytics.campaign_funnel import performance, tracks_opens
from crm_core.campaigns.conversions import main_currency
from crm_core.campaigns.editing import get_campaign
from crm_core.campaigns.model import CHANNELS
from crm_core.segments.catalog import load_catalog
from crm_core.segments.compiler import compile_rule
from crm_core.segments.describe import describe
from crm_core.segments.preview import today
from crm_core.segments.rules import RuleError, parse_rules
from crm_core.store import Store
from crm_core.validation import ValidationError

PARTS = ("what_happened", "stands_out", "try_next")
PART_LIMIT = 1_000  # characters of one part of the model's prose
SMALL_NUMBERS = 12  # whole numbers up to this may appear in prose without being a figure ("two", "3 ideas")
SCHEMA = {"type": "object", "additionalProperties": False, "required": list(PARTS),
          "properties": {p: {"type": "string"} for p in PARTS}}
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class Insight:
    """Figures (label, value as shown) from our queries, and the three parts of prose around them."""

    figures: list[tuple[str, str]]
    what_happened: str
    stands_out: str
    try_next: str


# -- the model's prose ---------------------------------------------------------------------------------
def _values(text: str) -> list[Decimal]:
    return [Decimal(m.replace(",", "")) for m in _NUMBER.findall(text)]


def _is_ours(token: str, known: list[Decimal]) -> bool:
    """Whether a number in the prose is a figure we gave (or a rounding of one), or a small whole number."""
    value = Decimal(token.replace(",", ""))
    if "." not in token and value <= SMALL_NUMBERS:
        return True
    places = len(token.split(".")[1]) if "." in token else 0
    half = Decimal(1).scaleb(-places) / 2
    return any(abs(value - k) <= half for k in known)


def check_prose(data: Any, figures_text: str) -> dict[str, str]:
    """The model's three parts, each a non-empty text of limited length using only our numbers; AiError."""
    if not isinstance(data, dict):
        raise AiError("invalid", "The model's answer did not pass our checks: it was not the three parts asked for.")
    problems, parts = [], {}
    known = _values(figures_text)
    for part in PARTS:
        text = data.get(part)
        if not isinstance(text, str) or not text.strip():
            problems.append(f"'{part}' is missing or empty")
            continue
        text = " ".join(text.split())
        if len(text) > PART_LIMIT:
            problems.append(f"'{part}' is {len(text):,} characters long; at most {PART_LIMIT:,}")
        strange = [t for t in _NUMBER.findall(text) if not _is_ours(t, known)]
        if strange:
            problems.append(f"'{part}' gives numbers that are not among our figures: {', '.join(strange[:5])}")
        parts[part] = text
    if problems:
        raise AiError("invalid", "The model's answer did not pass our checks: " + "; ".join(problems) + ".",
                      details=problems)
    return parts


def _request(what: str, figures: list[tuple[str, str]]) -> AiRequest:
    system = (f"You write short insights about {what} for marketers using a small CRM. Answer with JSON only, "
              "following the schema: what_happened (2 or 3 sentences), stands_out (1 or 2 sentences), try_next "
              "(1 or 2 concrete suggestions). Use only the figures given: quote them exactly as written or leave "
              "numbers out; never compute, estimate or invent a number. Plain words, no headings, no lists.")
    lines = "\n".join(f"- {label}: {value}" for label, value in figures)
    return AiRequest(system, f"Figures:\n{lines}", "insight", SCHEMA, temperature=0.3)


def _answer(config: AiConfig, figures: list[tuple[str, str]], request: AiRequest,
            offline: dict[str, str]) -> Answer[Insight]:
    blob = "\n".join(value for _, value in figures)

    def from_model(r: AiRequest) -> Insight:
        parts = check_prose(ask_json(config, r), blob)
        return Insight(figures, parts["what_happened"], parts["stands_out"], parts["try_next"])

    return answer_with_fallback(config, request, from_model, lambda: Insight(figures, **offline))


# -- campaigns -----------------------------------------------------------------------------------------
def campaign_facts(store: Store, campaign_id: int) -> CampaignFacts:
    """A launched campaign's figures from our own queries (funnel, failures, attribution, lift); ValidationError
    for a campaign not launched yet."""
    campaign = get_campaign(store, campaign_id)
    if campaign.launched_at is None:
        raise ValidationError({"campaign": "A campaign can be summarised once it has been launched."})
    perf = performance(store, campaign.id)
    counts = dict(zip(perf.funnel["stage"].to_list(), perf.funnel["count"].to_list()))
    reasons: dict[str, int] = {}
    for row in perf.failures.iter_rows(named=True):
        reasons[row["reason"]] = reasons.get(row["reason"], 0) + int(row["messages"])
    top = min(reasons.items(), key=lambda kv: (-kv[1], kv[0])) if reasons else None
    with store.cursor() as cur:
        currency = main_currency(cur)
    a = perf.attribution
    assert a is not None  # launched
    return CampaignFacts(CHANNELS[campaign.channel].label, counts["targeted"], counts["sent"], counts["delivered"],
                         counts.get("opened") if tracks_opens(campaign) else None, counts["clicked"],
                         sum(reasons.values()), top, a.converted, a.orders, a.revenue, currency, a.window_days,
                         a.lift)


def campaign_insight(store: Store, campaign_id: int, config: AiConfig | None = None) -> Answer[Insight]:
    """A launched campaign's summary: our figures, and prose by the model (or the offline rules)."""
    facts = campaign_facts(store, campaign_id)
    figures = facts.figures()
    request = _request("one marketing campaign's results", figures)
    return _answer(config or load_config(store), figures, request, campaign_prose(facts))


# -- segments ------------------------------------------------------------------------------------------
def segment_facts(store: Store, rules: dict, as_of: date | None = None) -> SegmentFacts:
    """A segment's aggregates: size, share, average spend and orders, top countries and its plain English."""
    catalog = load_catalog(store)  # the segment facts answer when they match the data
    as_of = as_of or today()
    try:
        root = parse_rules(rules, catalog)
    except RuleError as exc:
        raise ValidationError({"rules": f"The rule is not valid: {exc}."}) from exc
    compiled = compile_rule(root, catalog, as_of)
    members = (f"FROM ({compiled.select('c.id')}) m JOIN customers c ON c.id = m.id "
               "LEFT JOIN customer_stats s ON s.customer_id = c.id")
    with store.cursor() as cur:
        size, buyers, spend, orders = cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE s.order_count > 0), sum(coalesce(s.total_spend, 0)), "
            f"sum(coalesce(s.order_count, 0)) {members}", compiled.params).fetchall()[0]
        countries = cur.execute(
            f"SELECT coalesce(nullif(trim(c.country), ''), 'not given') AS country, count(*) AS n {members} "
            "GROUP BY 1 ORDER BY n DESC, country LIMIT 3", compiled.params).fetchall()
        total, all_spend = cur.execute("SELECT count(*), sum(coalesce(s.total_spend, 0)) FROM customers c "
                                       "LEFT JOIN customer_stats s ON s.customer_id = c.id").fetchall()[0]
        currency = main_currency(cur)
    return SegmentFacts(describe(root, catalog, as_of), int(size), int(total), int(buyers or 0),
                        Decimal(spend or 0), int(orders or 0), Decimal(all_spend or 0),
                        [(str(c), int(n)) for c, n in countries], currency)


def segment_insight(store: Store, rules: dict, as_of: date | None = None,
                    config: AiConfig | None = None) -> Answer[Insight]:
    """A segment's description: our aggregate figures, and prose by the model (or the offline rules)."""
    facts = segment_facts(store, rules, as_of)
    figures = facts.figures()
    request = _request("one customer segment", figures)
    return _answer(config or load_config(store), figures, request, segment_prose(facts))
