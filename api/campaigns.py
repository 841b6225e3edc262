"""Campaign endpoints: create, list (newest first, with delivery figures), read with live counts, launch, pause,
resume, cancel, and the communication log."""
from __future__ import annotations

from dataclasses import asdict

from api.campaign_schemas import CAMPAIGN, CAMPAIGN_ITEM, CREATE_BODY, MESSAGE
from api.registry import Call, Param, Reply, endpoint, page_params, page_schema, paged
from api.segment_schemas import MAX_ID
from crm_core.campaigns.editing import CampaignInput
from crm_core.campaigns.editing import get_campaign as campaign_record
from crm_core.campaigns.reporting import (MESSAGE_STATUSES, campaign_history, campaign_report, communication_log,
                                          count_campaigns)
from crm_core.services import campaigns

TAG = "Campaigns"
CAMPAIGN_ID = Param("campaign_id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "The campaign's id.",
                    where="path")
CHANGE_ERRORS = (401, 403, 404, 409, 422, 429)


def _campaign(store, campaign_id: int) -> dict:
    """A campaign as answered: the stored record and its live message counts."""
    campaign, counts = campaign_report(store, campaign_id)
    record = asdict(campaign)
    record.pop("extra", None)
    stats = {name: getattr(counts, name) for name in ("total", "queued", "sent", "failed", "delivered", "opened",
                                                        "clicked", "cancelled")}
    stats.update(progress=counts.progress, delivery_rate=counts.rate(counts.delivered),
                 open_rate=counts.rate(counts.opened, counts.delivered),
                 click_rate=counts.rate(counts.clicked, counts.delivered))
    return {**record, "stats": stats}


@endpoint("POST", "/campaigns", "Create a campaign", TAG, body=CREATE_BODY, response=CAMPAIGN, status=201,
          errors=(400, 401, 403, 409, 422, 429))
def create_campaign(call: Call) -> Reply:
    """Save a draft campaign: name (unique), audience (a saved segment_id or a canonical rule), channel, subject
    (e-mail), message template, sending speed, holdout, frequency cap, seed and vendor settings. Every field is
    checked as the dashboard checks it (422 naming each bad field; a template using an unknown variable is one)."""
    new_id = campaigns.create_campaign(call.store, call.actor, CampaignInput(**call.body))
    return Reply(_campaign(call.store, new_id), 201, {"Location": f"/api/v1/campaigns/{new_id}"})


@endpoint("GET", "/campaigns", "List campaigns", TAG, response=page_schema(CAMPAIGN_ITEM), params=page_params(),
          errors=(400, 401, 429))
def list_campaigns(call: Call) -> dict:
    """Campaigns newest first (by launch, schedule or creation time) with their audience and delivery figures,
    as the dashboard's campaign list shows them."""
    page, per_page = call.query["page"], call.query["per_page"]
    rows = campaign_history(call.store, per_page, (page - 1) * per_page)
    return paged(rows, page, per_page, count_campaigns(call.store))


@endpoint("GET", "/campaigns/{campaign_id}", "Get a campaign", TAG, response=CAMPAIGN, params=(CAMPAIGN_ID,),
          errors=(400, 401, 404, 429))
def get_campaign(call: Call) -> dict:
    """One campaign with its settings, status, the audience frozen at launch and live delivery counts."""
    return _campaign(call.store, call.path["campaign_id"])


@endpoint("POST", "/campaigns/{campaign_id}/launch", "Launch a campaign", TAG, response=CAMPAIGN,
          params=(CAMPAIGN_ID,), errors=CHANGE_ERRORS)
def launch_campaign(call: Call) -> dict:
    """Freeze the audience and queue every message now (a draft or scheduled campaign); the server's delivery
    worker sends them in the background. 409 when the status does not allow it; 422 when nobody would get it."""
    campaigns.launch_campaign(call.store, call.actor, call.path["campaign_id"])
    return _campaign(call.store, call.path["campaign_id"])


def _change(action: str, summary: str, doc: str):
    @endpoint("POST", f"/campaigns/{{campaign_id}}/{action}", summary, TAG, response=CAMPAIGN,
              params=(CAMPAIGN_ID,), errors=CHANGE_ERRORS, operation_id=f"{action}_campaign", description=doc)
    def change(call: Call) -> dict:
        campaigns.transition(call.store, call.actor, call.path["campaign_id"], action)
        return _campaign(call.store, call.path["campaign_id"])
    return change


pause_campaign = _change("pause", "Pause a campaign", "Stop sending a running campaign's queued messages until it "
                         "is resumed. 409 (with the reason) when the campaign is not running.")
resume_campaign = _change("resume", "Resume a campaign", "Go on sending a paused campaign. 409 when it is not "
                          "paused.")
cancel_campaign = _change("cancel", "Cancel a campaign", "End a draft, scheduled, running or paused campaign; "
                          "messages not yet sent are dropped. 409 when it has already ended.")


@endpoint("GET", "/campaigns/{campaign_id}/log", "A campaign's communication log", TAG, response=page_schema(MESSAGE),
          params=(CAMPAIGN_ID,
                  Param("status", {"type": "string", "enum": list(MESSAGE_STATUSES)}, "Only messages in this status."),
                  Param("search", {"type": "string", "maxLength": 200},
                        "Only messages whose customer name, address or vendor message id contains this."),
                  *page_params()),
          errors=(400, 401, 404, 429))
def campaign_log(call: Call) -> dict:
    """The campaign's messages by id: recipient, address, rendered subject and body, status, vendor id, error,
    attempts and the time of each step."""
    campaign_id, query = call.path["campaign_id"], call.query
    campaign_record(call.store, campaign_id)  # 404 for an unknown campaign rather than an empty log
    rows, total = communication_log(call.store, campaign_id, query["status"], query["search"], query["page"],
                                    query["per_page"])
    return paged(rows, query["page"], query["per_page"], total)
