"""AI help on behalf of a user (admins and marketers): a rule from a sentence, message ideas, campaign and segment
insights; role checked and audited (engine and outcome only: never the prompt's data) around the plain AI calls."""
from __future__ import annotations

from datetime import date
from typing import Any

from crm_core.ai import insights, nl_rules, variants
from crm_core.ai.answer import Answer
from crm_core.ai.config import AiConfig
from crm_core.ai.insights import Insight
from crm_core.ai.variants import Variant
from crm_core.audit import Audited, audited
from crm_core.permissions import Actor
from crm_core.store import Store

WRAPS = {
    "crm_core.ai.nl_rules": ("rules_from_text",),
    "crm_core.ai.variants": ("message_variants",),
    "crm_core.ai.insights": ("campaign_insight", "segment_insight"),
}
SENTENCE_KEPT = 200  # characters of the user's sentence kept in the audit entry


def _engine(note: Audited, answer: Answer[Any]) -> None:
    note.details.update(engine=answer.engine, sent_to_model=answer.sent, answered=answer.value is not None)


def rules_from_text(store: Store, actor: Actor | None, text: str, config: AiConfig | None = None,
                    as_of: date | None = None) -> Answer[dict]:
    """A rule tree for a plain-English audience (the segment editor's AI box), as the actor."""
    with audited(store, actor, "ai.use", object_name="rule from text",
                 sentence=str(text or "")[:SENTENCE_KEPT]) as note:
        answer = nl_rules.rules_from_text(store, text, config, as_of)
        _engine(note, answer)
    return answer


def message_variants(store: Store, actor: Actor | None, goal: str, tone: str, channel: str,
                     config: AiConfig | None = None) -> Answer[list[Variant]]:
    """Three message ideas for a goal, tone and channel (the campaign editor), as the actor."""
    with audited(store, actor, "ai.use", object_name="message ideas", tone=tone, channel=channel,
                 goal=str(goal or "")[:SENTENCE_KEPT]) as note:
        answer = variants.message_variants(store, goal, tone, channel, config)
        _engine(note, answer)
    return answer


def campaign_insight(store: Store, actor: Actor | None, campaign_id: int,
                     config: AiConfig | None = None) -> Answer[Insight]:
    """A launched campaign's summary, as the actor."""
    with audited(store, actor, "ai.use", object_id=campaign_id, object_name="campaign summary") as note:
        answer = insights.campaign_insight(store, campaign_id, config)
        _engine(note, answer)
    return answer


def segment_insight(store: Store, actor: Actor | None, rules: dict, as_of: date | None = None,
                    config: AiConfig | None = None) -> Answer[Insight]:
    """A segment's description from its aggregate figures, as the actor."""
    with audited(store, actor, "ai.use", object_name="segment description", as_of=as_of) as note:
        answer = insights.segment_insight(store, rules, as_of, config)
        _engine(note, answer)
    return answer
