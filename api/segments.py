"""Segment endpoints: preview a rule in any accepted format, create, list and read saved segments, page through
their members, and a rule from a plain-English sentence (AI-backed)."""
from __future__ import annotations

from datetime import date
from typing import Any

from api.errors import ApiError
from api.registry import Call, Param, Reply, endpoint, page_params, page_schema, paged
from api.segment_schemas import (CREATE_BODY, FROM_TEXT, FROM_TEXT_BODY, MAX_ID, MEMBER, PREVIEW, PREVIEW_BODY,
                                 SEGMENT, SEGMENT_ITEM)
from crm_core.segments.preview import today
from crm_core.segments.rules import to_json
from crm_core.segments.saved import SegmentSummary, list_segments, segment_members, segment_summary
from crm_core.segments.workbench import Analysis, preview_rules
from crm_core.services import ai, segments

TAG = "Segments"
EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)
SEGMENT_ID = Param("segment_id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "The segment's id.",
                   where="path")


def _as_of(raw: Any) -> date | None:
    """The body's as-of date (already checked to be YYYY-MM-DD by the schema), kept to sane years."""
    if raw is None:
        return None
    day = date.fromisoformat(raw)
    if not EARLIEST <= day <= LATEST:
        raise ApiError("validation_failed", f"The as-of date must be between {EARLIEST} and {LATEST}.",
                       {"fields": {"as_of": f"{raw} is out of range"}})
    return day


def _problems(problems) -> list[dict]:
    return [{"path": list(p.path), "message": p.message} for p in problems]


def _preview(kind: str, analysis: Analysis, as_of: date) -> dict:
    result = analysis.preview
    return {"format": kind, "rules": to_json(analysis.root), "count": result.count, "total": result.total,
            "share": result.share, "as_of": as_of, "english": result.english,
            "waterfall": [{"path": list(s.path), "depth": s.depth, "label": s.label, "kind": s.kind,
                           "alone": s.alone, "running": s.running, "change": s.change} for s in analysis.waterfall],
            "sample": result.sample, "warnings": _problems(analysis.warnings), "sql": result.portable_sql}


@endpoint("POST", "/segments/preview", "Preview a rule", TAG, body=PREVIEW_BODY, response=PREVIEW,
          errors=(400, 401, 422, 429))
def preview_segment(call: Call) -> dict:
    """Count, share, waterfall, plain-English reading and a sample of the customers a rule selects. The rule may
    be in any accepted format; one with any invalid part is refused whole (422, each problem with its place).
    Nothing is saved."""
    body = call.body
    as_of = _as_of(body.get("as_of")) or today()
    kind, analysis = preview_rules(call.store, body["rules"], as_of, body.get("sample_size", 10))
    return _preview(kind, analysis, as_of)


def _segment_item(row: dict) -> dict:
    return {"id": row["id"], "name": row["name"], "description": row["description"] or "", "size": row["customers"],
            "share": row["share"], "measured_at": row["measured_at"], "as_of": row["as_of"],
            "created_by": row["created_by"], "updated_by": row["updated_by"], "updated_at": row["updated_at"]}


def _segment(summary: SegmentSummary) -> dict:
    seg = summary.segment
    return {"id": seg.id, "name": seg.name, "description": seg.description, "size": summary.customers,
            "share": summary.share, "measured_at": summary.measured_at, "as_of": seg.as_of,
            "created_by": seg.created_by, "updated_by": seg.updated_by, "updated_at": seg.updated_at,
            "created_at": seg.created_at, "rules": seg.rules, "english": summary.english}


@endpoint("POST", "/segments", "Create a segment", TAG, body=CREATE_BODY, response=SEGMENT, status=201,
          errors=(400, 401, 403, 409, 422, 429))
def create_segment(call: Call) -> Reply:
    """Save a segment: a name (unique), a description, and a rule in any accepted format (stored canonical);
    optionally a fixed as-of date. Its size is measured on saving. A taken name is 409."""
    body = call.body
    new_id = segments.create_segment(call.store, call.actor, body["name"], body["rules"],
                                     body.get("description", ""), _as_of(body.get("as_of")))
    return Reply(_segment(segment_summary(call.store, new_id)), 201,
                 {"Location": f"/api/v1/segments/{new_id}"})


@endpoint("GET", "/segments", "List segments", TAG, response=page_schema(SEGMENT_ITEM), params=page_params(),
          errors=(400, 401, 429))
def list_all_segments(call: Call) -> dict:
    """Saved segments, most recently changed first, each with its size when last measured."""
    page, per_page = call.query["page"], call.query["per_page"]
    frame = list_segments(call.store)
    rows = frame.slice((page - 1) * per_page, per_page).iter_rows(named=True)
    return paged([_segment_item(r) for r in rows], page, per_page, frame.height)


@endpoint("GET", "/segments/{segment_id}", "Get a segment", TAG, response=SEGMENT, params=(SEGMENT_ID,),
          errors=(400, 401, 404, 429))
def get_segment(call: Call) -> dict:
    """One saved segment: its canonical rule, the rule in plain English and its size when last measured."""
    return _segment(segment_summary(call.store, call.path["segment_id"]))


@endpoint("GET", "/segments/{segment_id}/members", "List a segment's members", TAG, response=page_schema(MEMBER),
          params=(SEGMENT_ID, *page_params()), errors=(400, 401, 404, 422, 429))
def list_members(call: Call) -> dict:
    """The customers in a saved segment now (evaluated on its as-of date, or today), by customer id, with their
    order figures: the members the dashboard shows and exports. 422 when the rule no longer works."""
    page, per_page = call.query["page"], call.query["per_page"]
    rows, total = segment_members(call.store, call.path["segment_id"], page, per_page)
    return paged(rows, page, per_page, total)


@endpoint("POST", "/segments/from-text", "A rule from plain English", TAG, body=FROM_TEXT_BODY, response=FROM_TEXT,
          errors=(400, 401, 403, 422, 429, 503), rate_class="ai")
def rule_from_text(call: Call) -> dict:
    """A rule (canonical JSON, not saved) for an audience described in plain English, by the AI model when one is
    set up, else by the offline engine. 422 when neither could read the sentence. Counts against the key's
    AI-backed rate limit."""
    answer = ai.rules_from_text(call.store, call.actor, call.body["text"], as_of=_as_of(call.body.get("as_of")))
    if answer.value is None:
        raise ApiError("validation_failed", answer.note or "No rule could be built from this sentence.",
                       {"engine": answer.engine, "problems": answer.problems})
    return {"rules": answer.value, "engine": answer.engine, "by_model": answer.by_model, "note": answer.note}
