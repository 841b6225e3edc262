"""Campaigns on behalf of a user: create, edit, duplicate, delete, schedule, launch, pause, resume, cancel, and
the simulated conversions; role checked and audited around the plain campaign functions."""
from __future__ import annotations

from datetime import datetime

from crm_core.audit import Audited, audited
from crm_core.campaigns import conversions, editing, lifecycle
from crm_core.campaigns.editing import CampaignInput
from crm_core.campaigns.lifecycle import LaunchResult
from crm_core.integrations import webhook_payloads
from crm_core.permissions import Actor
from crm_core.store import Store

WRAPS = {
    "crm_core.campaigns.editing": ("create_campaign", "update_campaign", "duplicate_campaign", "delete_campaign"),
    "crm_core.campaigns.lifecycle": ("schedule_campaign", "launch_campaign", "transition"),
    "crm_core.campaigns.conversions": ("simulate_conversions", "remove_simulated_orders"),
}
# A person's status changes (launch and schedule have their own functions): lifecycle action -> action key.
TRANSITIONS = {"pause": "campaign.pause", "resume": "campaign.resume", "cancel": "campaign.cancel",
               "unschedule": "campaign.unschedule"}


def _named(store: Store, note: Audited, campaign_id: int) -> None:
    """Fill in the campaign's name and status for the audit entry (NotFoundError when it is gone)."""
    campaign = editing.get_campaign(store, campaign_id)
    note.object_name = campaign.name
    note.details["status"] = campaign.status


def create_campaign(store: Store, actor: Actor | None, data: CampaignInput) -> int:
    """Save a new draft campaign as the actor; returns its id."""
    with audited(store, actor, "campaign.create", object_name=(data.name or "").strip(), channel=data.channel,
                 segment_id=data.segment_id) as note:
        note.object_id = editing.create_campaign(store, data, actor.username)
    return note.object_id


def update_campaign(store: Store, actor: Actor | None, campaign_id: int, data: CampaignInput) -> None:
    """Change a draft campaign as the actor."""
    with audited(store, actor, "campaign.update", object_id=campaign_id, object_name=(data.name or "").strip(),
                 channel=data.channel, segment_id=data.segment_id):
        editing.update_campaign(store, campaign_id, data, actor.username)


def duplicate_campaign(store: Store, actor: Actor | None, campaign_id: int) -> int:
    """A new draft with the settings of an existing campaign, as the actor; returns its id."""
    with audited(store, actor, "campaign.duplicate", copy_of=campaign_id) as note:
        note.details["copy_of_name"] = editing.get_campaign(store, campaign_id).name
        note.object_id = editing.duplicate_campaign(store, campaign_id, actor.username)
        note.object_name = editing.get_campaign(store, note.object_id).name
    return note.object_id


def delete_campaign(store: Store, actor: Actor | None, campaign_id: int) -> None:
    """Delete a draft campaign as the actor."""
    with audited(store, actor, "campaign.delete", object_id=campaign_id) as note:
        _named(store, note, campaign_id)
        editing.delete_campaign(store, campaign_id)


def schedule_campaign(store: Store, actor: Actor | None, campaign_id: int, send_at: datetime,
                      now: datetime | None = None) -> None:
    """Schedule a draft to be launched at `send_at` (naive UTC), as the actor."""
    with audited(store, actor, "campaign.schedule", object_id=campaign_id, send_at=send_at) as note:
        _named(store, note, campaign_id)
        lifecycle.schedule_campaign(store, campaign_id, send_at, actor.username, now)


def launch_campaign(store: Store, actor: Actor | None, campaign_id: int,
                    now: datetime | None = None) -> LaunchResult:
    """Freeze the audience and queue every message, as the actor; the entry keeps the audience's size.
    Webhooks get campaign.launched."""
    with audited(store, actor, "campaign.launch", object_id=campaign_id) as note:
        _named(store, note, campaign_id)
        result = lifecycle.launch_campaign(store, campaign_id, actor.username, now)
        note.details.update(audience=result.matched, recipients=result.recipients, holdout=result.holdout,
                            capped=result.capped, no_address=result.no_address)
    webhook_payloads.campaign_launched(store, campaign_id)
    return result


def transition(store: Store, actor: Actor | None, campaign_id: int, action: str, note_text: str | None = None) -> str:
    """Pause, resume, cancel or unschedule a campaign as the actor; returns the new status."""
    if action not in TRANSITIONS:
        raise ValueError(f"'{action}' is not a status change a person makes; one of {', '.join(TRANSITIONS)}")
    with audited(store, actor, TRANSITIONS[action], object_id=campaign_id) as note:
        _named(store, note, campaign_id)
        status = lifecycle.transition(store, campaign_id, action, actor.username, note_text)
        note.details["new_status"] = status
    return status


def pause_campaign(store: Store, actor: Actor | None, campaign_id: int) -> str:
    """Pause a running campaign as the actor."""
    return transition(store, actor, campaign_id, "pause")


def resume_campaign(store: Store, actor: Actor | None, campaign_id: int) -> str:
    """Resume a paused campaign as the actor."""
    return transition(store, actor, campaign_id, "resume")


def cancel_campaign(store: Store, actor: Actor | None, campaign_id: int) -> str:
    """Cancel a campaign as the actor (messages not yet sent are dropped)."""
    return transition(store, actor, campaign_id, "cancel")


def unschedule_campaign(store: Store, actor: Actor | None, campaign_id: int) -> str:
    """Move a scheduled campaign back to draft as the actor."""
    return transition(store, actor, campaign_id, "unschedule")


def simulate_conversions(store: Store, actor: Actor | None, campaign_id: int, now: datetime | None = None) -> int:
    """Draw the campaign's simulated orders as the actor; returns how many were added."""
    with audited(store, actor, "campaign.simulate_conversions", object_id=campaign_id) as note:
        _named(store, note, campaign_id)
        added = conversions.simulate_conversions(store, campaign_id, now, actor.username)
        note.details["orders_added"] = added
    return added


def remove_simulated_orders(store: Store, actor: Actor | None, campaign_id: int,
                            now: datetime | None = None) -> int:
    """Delete the campaign's simulated orders as the actor; returns how many."""
    with audited(store, actor, "campaign.remove_simulated", object_id=campaign_id) as note:
        _named(store, note, campaign_id)
        gone = conversions.remove_simulated_orders(store, campaign_id, actor.username, now)
        note.details["orders_removed"] = gone
    return gone
