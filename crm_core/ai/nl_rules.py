"""Plain English to a segment rule: the model proposes a rule tree (never SQL) that must pass our own rule
validation; when it does not, or there is no model, the offline parser reads the sentence instead.

Only the field catalog, product categories, countries and today's date are sent, never customer rows."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

from crm_core.ai import offline_rules
from crm_core.ai.answer import Answer, answer_with_fallback
from crm_core.ai.client import AiError, AiRequest, ask_json
from crm_core.ai.config import AiConfig, load_config
from crm_core.ai.rule_schema import GROUP_REF, catalog_text, rule_schema
from crm_core.campaigns.conversions import main_currency
from crm_core.segments.catalog import Catalog, load_catalog
from crm_core.segments.preview import today
from crm_core.segments.rules import Condition, Group, Node, RuleError, parse_rules, to_json, walk
from crm_core.segments.workbench import picker_values
from crm_core.store import Store
from crm_core.validation import ValidationError

MAX_SENTENCE = 500
MAX_OFFERED = 60  # category and country values offered to the model
PLACE_FIELDS = ("city", "state", "country")
RESPELLED_OPS = ("is", "is_not", "in", "not_in")
OFFERED_FACETS = {"bought_category": "Product categories", "country": "Countries"}
REFUSED = "The model's rule did not pass our checks."
SYSTEM = "\n".join((  # one line per instruction: the prompt is shown to users as it is sent
    "You turn a marketer's description of an audience into a segment rule tree for a CRM.",
    'Answer with JSON only: {{"rules": <a rule tree>, "notes": <one short sentence on how you read it>}}.',
    '- A rule tree is a group {{"match": "all"|"any", "negate": false|true, "rules": [...]}} whose rules are '
    'conditions {{"field": ..., "op": ..., "value": ...}} or nested groups. Never write SQL.',
    '- Use only the fields and operators listed below, with the value each operator takes; "but" means "and".',
    '- Relative dates are whole days counted back from today: "in the last 3 months" is 90 days, a week 7 days, '
    'a year 365 days. "Has not ordered in 30 days" is last_order_date more_than_days_ago 30 (customers who never '
    'ordered have no last order). Fields that need "days" carry their window in "days".',
    "- Amounts are in the workspace's currency ({currency}); write them as plain numbers (R$500 -> 500, "
    "2k -> 2000).",
    '- Places are written as the customer data writes them (a country\'s usual name, e.g. "United States").',
    "- Today is {today}.",
    "",
    "Fields:",
    "{fields}"))


def known_places(store: Store) -> offline_rules.Places:
    """The offline engine's place names of this workspace."""
    return offline_rules.known_places(store)


def parse_sentence(text: str, catalog: Catalog, places: offline_rules.Places,
                   today: date | None = None) -> offline_rules.OfflineParse:
    """The offline engine's reading of a sentence, with 'this year' counted from `today` (the as-of date)."""
    return offline_rules.parse_sentence(text, catalog, places, today=today)


def _sentence(text: Any) -> str:
    sentence = (text or "").strip() if isinstance(text, str) else ""
    if not sentence:
        raise ValidationError({"text": "Describe the audience in a sentence first."})
    if len(sentence) > MAX_SENTENCE:
        raise ValidationError({"text": f"Keep the description to {MAX_SENTENCE} characters "
                                       f"(it has {len(sentence):,})."})
    return sentence


def _offered(store: Store, catalog: Catalog) -> str:
    """Values the pickers offer for categorical fields (catalog values, not customer records)."""
    keys = {spec.key for spec in catalog.fields()}
    lines = []
    for key, title in OFFERED_FACETS.items():
        values = picker_values(store, key, MAX_OFFERED) if key in keys else []
        if values:
            lines.append(f'{title} ("{key}"): ' + ", ".join(values))
    return "\n".join(lines)


def build_request(store: Store, catalog: Catalog, sentence: str, as_of: date) -> AiRequest:
    """The exact request sent to the model for this sentence (also what the user can view)."""
    with store.cursor() as cur:
        currency = main_currency(cur)
    system = SYSTEM.format(currency=currency, today=as_of.isoformat(), fields=catalog_text(catalog))
    offered = _offered(store, catalog)
    if offered:
        system += "\n\nValues that exist:\n" + offered
    rules = rule_schema(catalog)
    schema = {"type": "object", "$defs": rules["$defs"],
              "properties": {"rules": {"$ref": GROUP_REF}, "notes": {"type": "string"}},
              "required": ["rules", "notes"], "additionalProperties": False}
    return AiRequest(system, f"Audience: {sentence}", "segment_rule", schema, temperature=0)


def where(path: tuple[int, ...]) -> str:
    """A condition's position as the editor numbers it ('condition 2.1'), or 'the rule' for the root."""
    return f"condition {'.'.join(str(i + 1) for i in path)}" if path else "the rule"


def _respell(node: Node, places) -> Node:
    """Place values written as the workspace stores them ('sao paulo' -> 'São Paulo'), via the offline lookup."""
    if isinstance(node, Group):
        return replace(node, rules=tuple(_respell(child, places) for child in node.rules))
    if node.field not in PLACE_FIELDS or node.op not in RESPELLED_OPS:
        return node

    def stored(name: str) -> str:
        found = [value for field, value in places.lookup(name) if field == node.field]
        return found[0] if found else name

    value = tuple(stored(v) for v in node.value) if isinstance(node.value, tuple) else stored(node.value)
    return replace(node, value=value)


def _checked(raw: Any, catalog: Catalog, places) -> dict:
    """Canonical JSON of a proposed rule, or AiError("invalid") listing each problem with its position."""
    if not isinstance(raw, dict):  # text would be parsed as JSON: the answer must hold the tree itself
        raise AiError("invalid", REFUSED, [f"The rule: expected a group or a condition, not {json.dumps(raw)[:60]}"])
    try:
        root = parse_rules(raw, catalog)
    except RuleError as exc:
        raise AiError("invalid", REFUSED, [f"{where(p.path).capitalize()}: {p.message}" for p in exc.problems]) from None
    if not any(isinstance(node, Condition) for _, node in walk(root)):
        raise AiError("invalid", REFUSED, ["The rule has no conditions."])
    return to_json(_respell(root, places))


def rules_from_text(store: Store, text: str, config: AiConfig | None = None,
                    as_of: date | None = None) -> Answer[dict]:
    """A rule tree (canonical JSON) for a plain-English audience, from the model or the offline parser."""
    sentence = _sentence(text)
    config = config or load_config(store)
    catalog = load_catalog(store)
    as_of = as_of or today()
    request = build_request(store, catalog, sentence, as_of)
    seen: dict[str, Any] = {}

    def places():
        if "places" not in seen:
            seen["places"] = known_places(store)
        return seen["places"]

    def from_model(req: AiRequest) -> dict:
        reply = ask_json(config, req)
        if not isinstance(reply, dict) or "rules" not in reply:
            raise AiError("invalid", REFUSED, ['The answer has no "rules".'])
        notes = reply.get("notes")
        seen["notes"] = notes.strip()[:300] if isinstance(notes, str) and notes.strip() else None
        return _checked(reply["rules"], catalog, places())

    def offline() -> dict | None:
        parsed = parse_sentence(sentence, catalog, places(), today=as_of)
        if parsed.rules is None:
            seen["refused"] = parsed.reason or "it does not know these words."
            return None
        try:
            return _checked(parsed.rules, catalog, places())
        except AiError as exc:
            seen["refused"] = "; ".join(exc.details)
            return None

    answer = answer_with_fallback(config, request, from_model, offline)
    if answer.by_model and seen.get("notes"):
        return replace(answer, note=f"The model's reading: {seen['notes']}")
    if answer.value is None and "refused" in seen:
        why = (answer.note or "").removesuffix(" The offline engine answered instead.")
        return replace(answer, note=f"{why} The offline engine could not read the sentence: {seen['refused']}".strip())
    return answer
