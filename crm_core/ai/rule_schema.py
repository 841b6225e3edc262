"""The JSON schema of a rule tree and the field list for prompts, both built from the field catalog and the
operator table (one registry per concept): a new field or operator reaches the model without edits here."""
from __future__ import annotations

from crm_core.segments.catalog import Catalog, FieldSpec
from crm_core.segments.operators import (DAYS, MANY_VALUES, MAX_DAYS, MAX_DEPTH, MAX_LIST_VALUES, MAX_TEXT_LENGTH,
                                         NO_VALUE, ONE_VALUE, OPERATORS, SEGMENT, TWO_VALUES)

GROUP_REF = "#/$defs/group"
CONDITION_REF = "#/$defs/condition"

# how each value shape reads in the field list of the prompt
_SHAPE_WORDS = {NO_VALUE: "no value", ONE_VALUE: "one value", TWO_VALUES: "[low, high]",
                MANY_VALUES: "a list of values", DAYS: "a whole number of days", SEGMENT: "a saved segment id"}
_TYPE_WORDS = {"money": "an amount in the workspace's currency (a JSON number, no currency sign)",
               "integer": "a whole number", "number": "a number", "text": "text (case does not matter)",
               "date": "a date written YYYY-MM-DD", "boolean": "yes/no", "items": "a list of ids or names",
               "segment": "the id of a saved segment"}


def _scalar(spec: FieldSpec) -> dict:
    """The schema of one value of this field's type."""
    if spec.type == "integer":
        return {"type": "integer"}
    if spec.type in ("money", "number"):
        return {"type": "number"}
    if spec.type == "date":
        return {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
    return {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_LENGTH}


def _value(spec: FieldSpec, takes: str, catalog: Catalog) -> dict | None:
    """The schema of a condition's "value" for an operator taking `takes` (None: no value key)."""
    if takes == NO_VALUE:
        return None
    if takes == ONE_VALUE:
        return _scalar(spec)
    if takes == TWO_VALUES:
        return {"type": "array", "items": _scalar(spec), "minItems": 2, "maxItems": 2}
    if takes == MANY_VALUES:
        return {"type": "array", "items": _scalar(spec), "minItems": 1, "maxItems": MAX_LIST_VALUES}
    if takes == DAYS:
        return {"type": "integer", "minimum": 0, "maximum": MAX_DAYS}
    if takes == SEGMENT:
        return {"type": "integer", "enum": sorted(catalog.segments)}
    raise ValueError(f"an operator takes an unknown value shape: {takes}")


def _variants(spec: FieldSpec, catalog: Catalog) -> list[dict]:
    """One condition schema per value shape the field's operators take."""
    shapes: dict[str, list[str]] = {}
    for key in spec.operators:
        shapes.setdefault(OPERATORS[key].takes, []).append(key)
    variants = []
    for takes, ops in shapes.items():
        properties: dict = {"field": {"const": spec.key}, "op": {"enum": ops}}
        required = ["field", "op"]
        if spec.needs_days:
            properties["days"] = {"type": "integer", "minimum": 1, "maximum": MAX_DAYS,
                                  "description": "the window: the last N days up to today"}
            required.append("days")
        value = _value(spec, takes, catalog)
        if value is not None:
            properties["value"] = value
            required.append("value")
        variants.append({"type": "object", "properties": properties, "required": required,
                         "additionalProperties": False})
    return variants


def rule_schema(catalog: Catalog) -> dict:
    """The JSON schema of a canonical rule tree for this workspace: groups nest, conditions use its fields."""
    conditions = [variant for spec in catalog.fields() for variant in _variants(spec, catalog)]
    group = {"type": "object", "description": f"a group of rules (nested at most {MAX_DEPTH} deep)",
             "properties": {"match": {"enum": ["all", "any"]}, "negate": {"type": "boolean"},
                            "rules": {"type": "array", "minItems": 1,
                                      "items": {"anyOf": [{"$ref": GROUP_REF}, {"$ref": CONDITION_REF}]}}},
             "required": ["match", "negate", "rules"], "additionalProperties": False}
    return {"$defs": {"group": group, "condition": {"anyOf": conditions}}, "$ref": GROUP_REF}


def catalog_text(catalog: Catalog) -> str:
    """The fields a rule may use, one per line: key, label, type, operators with their values, help."""
    lines = []
    for spec in catalog.fields():
        ops = ", ".join(f"{key} ({_SHAPE_WORDS[OPERATORS[key].takes]})" for key in spec.operators)
        line = f'- "{spec.key}": {spec.label}; {_TYPE_WORDS.get(spec.type, spec.type)}; operators: {ops}'
        if spec.needs_days:
            line += '; needs "days": the window of N days up to today'
        if spec.help:
            line += f". {spec.help}"
        lines.append(line)
    if catalog.segments:
        lines.append("Saved segments (id: name): "
                     + "; ".join(f"{ref.id}: {ref.name}" for ref in catalog.segments.values()))
    return "\n".join(lines)
