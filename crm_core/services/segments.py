"""Saved segments on behalf of a user: save (also an RFM cell or group saved as a segment), duplicate and delete;
role checked and audited around the plain segment functions."""
from __future__ import annotations

from datetime import date
from typing import Any

from crm_core.analytics import rfm_segments
from crm_core.analytics.rfm import RfmResult
from crm_core.analytics.rfm_segments import SavedRfmSegment
from crm_core.audit import audited
from crm_core.permissions import Actor
from crm_core.segments import saved
from crm_core.segments.catalog import load_catalog
from crm_core.segments.foreign import to_canonical
from crm_core.segments.rules import parse_rules, to_json
from crm_core.store import Store

WRAPS = {
    "crm_core.segments.saved": ("save_segment", "delete_segment", "duplicate_segment"),
    "crm_core.analytics.rfm_segments": ("save_rfm_segment",),
}


def _size(store: Store, segment_id: int) -> int | None:
    """The segment's size as just measured (None when it has not been measured)."""
    size = store.scalar("SELECT arg_max(customers, measured_at) FROM segment_sizes WHERE segment_id = ?",
                        [int(segment_id)])
    return None if size is None else int(size)


def save_segment(store: Store, actor: Actor | None, name: str, rules: Any, description: str = "",
                 as_of: date | None = None, segment_id: int | None = None) -> int:
    """Create (or, with segment_id, update) a saved segment as the actor; returns its id."""
    with audited(store, actor, "segment.save", object_id=segment_id, object_name=(name or "").strip(),
                 new=segment_id is None, as_of=as_of) as note:
        note.object_id = saved.save_segment(store, name, rules, description, as_of, actor.username, segment_id)
        note.details["customers"] = _size(store, note.object_id)
    return note.object_id


def create_segment(store: Store, actor: Actor | None, name: str, rules: Any, description: str = "",
                   as_of: date | None = None) -> int:
    """Create a saved segment from a rule in any accepted format (ours or another CRM's), stored canonical, as the
    actor; a rule with any problem is refused whole (RuleError naming each place). Returns its id."""
    with audited(store, actor, "segment.save", object_name=(name or "").strip(), new=True, as_of=as_of) as note:
        catalog = load_catalog(store)
        canonical, note.details["format"] = to_canonical(rules, catalog)
        root = parse_rules(canonical, catalog)
        note.object_id = saved.save_segment(store, name, to_json(root), description, as_of, actor.username)
        note.details["customers"] = _size(store, note.object_id)
    return note.object_id


def save_rfm_segment(store: Store, actor: Actor | None, result: RfmResult, name: str, r: int | None = None,
                     f: int | None = None, group: str | None = None) -> SavedRfmSegment:
    """Save an RFM cell or group as a segment (the RFM page's "save as segment"), as the actor."""
    with audited(store, actor, "segment.save", object_name=(name or "").strip(), new=True, source="rfm",
                 as_of=result.as_of, cell=None if group else f"R{r}F{f}", group=group) as note:
        outcome = rfm_segments.save_rfm_segment(store, result, name, r, f, group, actor.username)
        note.object_id = outcome.segment_id
        note.details["customers"] = outcome.segment_customers
    return outcome


def duplicate_segment(store: Store, actor: Actor | None, segment_id: int) -> int:
    """Save a copy of a segment under a free name as the actor; returns the copy's id."""
    with audited(store, actor, "segment.duplicate", copy_of=segment_id) as note:
        note.details["copy_of_name"] = saved.get_segment(store, segment_id).name
        note.object_id = saved.duplicate_segment(store, segment_id, actor.username)
        note.object_name = saved.get_segment(store, note.object_id).name
    return note.object_id


def delete_segment(store: Store, actor: Actor | None, segment_id: int) -> None:
    """Delete a saved segment and its size history, as the actor (refused while something uses it)."""
    with audited(store, actor, "segment.delete", object_id=segment_id) as note:
        note.object_name = saved.get_segment(store, segment_id).name
        saved.delete_segment(store, segment_id)
