"""Message ideas: three variants of a campaign message for a goal, tone and channel, written with our template
variables. The model's variants are checked like a marketer's own template (it parses, uses only known
variables, fits the channel even at its longest once filled in); failing ones are dropped and reported. Without
a model, or when none of its variants passes, the offline engine's templates answer. Only the goal, tone,
channel and the variable catalog are sent: never a customer's data."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Mapping

from crm_core.ai.answer import Answer, answer_with_fallback
from crm_core.ai.client import AiError, AiRequest, ask_json
from crm_core.ai.config import AiConfig, load_config
from crm_core.ai.message_templates import GOAL_KINDS, TONES, Tone, goal_kind, offline_message
from crm_core.campaigns.editing import SUBJECT_LIMIT, check_message
from crm_core.campaigns.model import CHANNELS
from crm_core.campaigns.template_filters import FILTERS
from crm_core.campaigns.templates import Tag, Template, TemplateVar, sms_length
from crm_core.campaigns.template_vars import template_variables
from crm_core.segments.catalog import load_catalog
from crm_core.store import Store
from crm_core.validation import ValidationError

__all__ = ["GOAL_KINDS", "GOAL_LIMIT", "TONES", "Variant", "check_variant", "message_variants", "worst_case_text"]

GOAL_LIMIT = 300
VARIANTS = 3
# The longest a value is assumed to be once filled in (a date's own format is measured on the longest names).
WIDEST = {"text": 40, "money": 16, "integer": 9, "date": 10}
WIDEST_DAY = date(2026, 9, 30)  # a Wednesday in September: the longest English day and month names
SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["variants"],
    "properties": {"variants": {"type": "array", "minItems": 1, "maxItems": VARIANTS, "items": {
        "type": "object", "additionalProperties": False, "required": ["angle", "subject", "body"],
        "properties": {"angle": {"type": "string", "description": "two to four words naming the approach"},
                       "subject": {"type": ["string", "null"], "description": "e-mail only; null otherwise"},
                       "body": {"type": "string"}}}}},
}


@dataclass(frozen=True)
class Variant:
    """One suggested message: its angle, subject (e-mail only) and body template, with its lengths measured:
    `length` is the body at its longest once filled in, `written` as typed; `segments` for SMS."""

    angle: str
    subject: str | None
    body: str
    length: int
    written: int
    limit: int
    segments: int | None = None

    @property
    def within_limit(self) -> bool:
        """Whether the body fits the channel even at its longest once filled in."""
        return self.written <= self.limit and self.length <= self.limit


def _tag_width(tag: Tag) -> int:
    if tag.filters and FILTERS[tag.filters[0].name].on_date:
        first, rest = tag.filters[0], tag.filters[1:]
        width = len(FILTERS[first.name].python(WIDEST_DAY, *first.args))
    else:
        rest, width = tag.filters, WIDEST.get(tag.kind, WIDEST["text"])
    for call in rest:
        if call.name == "default":
            width = max(width, len(call.args[0]))
        elif call.name == "truncate":
            width = min(width, call.args[0])
    return width


def worst_case_text(template: Template) -> str:
    """The template with every value filled in at its longest (plain letters), to measure its length."""
    return "".join(part if isinstance(part, str) else "X" * _tag_width(part) for part in template.parts)


def check_variant(angle: Any, subject: Any, body: Any, channel: str,
                  variables: Mapping[str, TemplateVar]) -> tuple[Variant | None, list[str]]:
    """A variant checked for the channel: (the Variant, []) when usable, else (None, what is wrong)."""
    spec = CHANNELS[channel]
    angle = angle.strip() if isinstance(angle, str) and angle.strip() else "Suggestion"
    body = body if isinstance(body, str) else ""
    subject = subject.strip() if isinstance(subject, str) and spec.has_subject and subject.strip() else None
    errors, template, _ = check_message(variables, channel, subject, body)  # the campaign editor's own checks
    if errors:
        return None, [message[0].lower() + message[1:].rstrip(".") for message in errors.values()]
    longest = worst_case_text(template)
    variant = Variant(angle[:60], subject, body, len(longest), len(body), spec.body_limit,
                      sms_length(longest).segments if channel == "sms" else None)
    if not variant.within_limit:
        return None, [f"the message can be {variant.length:,} characters long once filled in; "
                      f"{spec.label} allows {spec.body_limit:,}"]
    return variant, []


def _clean_goal(goal: Any, tone: Any, channel: Any) -> str:
    errors = {}
    text = " ".join(goal.split()) if isinstance(goal, str) else ""
    if not text:
        errors["goal"] = "Say what the message is for, e.g. \"win back customers who have not ordered lately\"."
    elif len(text) > GOAL_LIMIT:
        errors["goal"] = f"The goal is {len(text)} characters long; keep it to {GOAL_LIMIT}."
    if tone not in TONES:
        errors["tone"] = f"Choose a tone: {', '.join(t.label.lower() for t in TONES.values())}."
    if channel not in CHANNELS:
        errors["channel"] = f"Choose a channel: {', '.join(CHANNELS)}."
    if errors:
        raise ValidationError(errors)
    return text


def offline_variants(goal: str, tone: str, channel: str, variables: Mapping[str, TemplateVar]) -> list[Variant]:
    """The offline engine's three variants for the goal's kind, in this tone, for this channel."""
    kind, chosen = goal_kind(goal), TONES[tone]
    found = []
    for angle in kind.angles:
        subject, body = offline_message(angle, chosen, long=channel != "sms")
        variant, problems = check_variant(angle.name, subject if CHANNELS[channel].has_subject else None, body,
                                          channel, variables)
        if variant is None:  # never expected: every template is tested for every channel
            raise AssertionError(f"offline template {kind.key}/{angle.name} does not fit {channel}: {problems}")
        found.append(variant)
    return found


def _request(goal: str, tone: Tone, channel: str, variables: Mapping[str, TemplateVar]) -> AiRequest:
    spec = CHANNELS[channel]
    listed = "\n".join(f"- {v.key} ({v.kind}): {v.label}" for v in variables.values())
    filters = "\n".join(f"- {f.signature}: {f.help}" for f in FILTERS.values())
    system = (
        "You write marketing messages for a small online shop's CRM. Answer with JSON only, following the "
        f"schema. Give exactly {VARIANTS} variants with different angles.\n"
        "Messages are templates: insert customer values with {{ variable }} using only the variables listed, "
        "never invent one, and give text variables a fallback, e.g. {{ first_name | default(\"there\") }}. "
        "Filters go after a bar. Nothing else may appear inside {{ }}: no logic, no arithmetic, no {% %}.\n"
        f"Variables:\n{listed}\nFilters:\n{filters}\n"
        "Do not invent discounts, prices, codes, dates or links the goal does not give.")
    aim = {"sms": "under 160 characters (one SMS)", "whatsapp": "under 1,000 characters"}.get(channel, "")
    limits = (f"E-mail: give a subject (at most {SUBJECT_LIMIT} characters) and a body." if spec.has_subject else
              f"{spec.label}: no subject (null); keep the body {aim}.")
    user = (f"Goal: {goal}\nTone: {tone.label} ({tone.hint})\nChannel: {spec.label}. {limits}\n"
            f"Hard limit after the values are filled in: {spec.body_limit:,} characters.")
    return AiRequest(system, user, "message_variants", SCHEMA, temperature=0.7)


def _from_model(config: AiConfig, request: AiRequest, channel: str, variables: Mapping[str, TemplateVar],
                dropped: list[str]) -> list[Variant]:
    data = ask_json(config, request)
    items = data.get("variants") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise AiError("invalid", "The model's answer did not pass our checks: it held no message variants.",
                      details=["expected {\"variants\": [{\"angle\", \"subject\", \"body\"}, ...]}"])
    kept: list[Variant] = []
    for n, item in enumerate(items, start=1):
        item = item if isinstance(item, dict) else {}
        variant, problems = check_variant(item.get("angle"), item.get("subject"), item.get("body"), channel,
                                          variables)
        if variant is None:
            name = item.get("angle") if isinstance(item.get("angle"), str) else ""
            dropped.append(f"Variant {n}{f' ({name.strip()[:60]})' if name.strip() else ''} was left out: "
                           + "; ".join(problems) + ".")
        elif len(kept) < VARIANTS:
            kept.append(variant)
    if not kept:
        raise AiError("invalid", f"The model's answer did not pass our checks: none of its {len(items)} "
                                 "messages could be used.", details=list(dropped))
    return kept


def message_variants(store: Store, goal: str, tone: str, channel: str,
                     config: AiConfig | None = None) -> Answer[list[Variant]]:
    """Three message ideas for a goal, tone and channel; ValidationError for a missing or too long goal."""
    text = _clean_goal(goal, tone, channel)
    variables = template_variables(load_catalog(store))
    config = config or load_config(store)
    request = _request(text, TONES[tone], channel, variables)
    dropped: list[str] = []
    answer = answer_with_fallback(config, request, lambda r: _from_model(config, r, channel, variables, dropped),
                                  lambda: offline_variants(text, tone, channel, variables))
    if answer.by_model and dropped:
        shown = len(answer.value or [])
        return replace(answer, note=f"{len(dropped)} of the model's messages did not pass our checks and are not "
                                    f"shown; {shown} {'is' if shown == 1 else 'are'}.", problems=dropped)
    return answer

