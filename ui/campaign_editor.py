"""The campaign editor (a new campaign or a draft): name, audience, channel, message, sending settings and
the vendor simulator; Save draft shows each problem next to its field; Delete draft."""
from __future__ import annotations

import json

import streamlit as st

from crm_core.campaigns.editing import CampaignInput, campaign_input, check_campaign
from crm_core.campaigns.model import CHANNELS, Campaign
from crm_core.segments.catalog import Catalog, load_catalog
from crm_core.segments.preview import today
from crm_core.segments.saved import list_segments
from crm_core.segments.workbench import analyse
from crm_core.permissions import PermissionDenied
from crm_core.services import campaigns
from crm_core.store import Store
from crm_core.validation import NotFoundError, ValidationError
from ui.auth import CurrentUser
from ui.campaign_format import clear_errors, field_error, has_errors, other_errors, set_errors
from ui.campaign_form import (K, OPEN_KEY, form_input, kept, kept_index, load_form, new_input, sending_settings,
                              variables_help, vendor_settings, watched)
from ui.campaign_ideas import message_ideas
from ui.segment_editor import rule_editor
from ui.segment_views import audience_panel
from ui.widgets import flash
from ui.text import plain_md

FIELD_KEYS = {"name", "description", "audience", "channel", "subject", "template", "scheduled_at",
              "throttle_per_second", "holdout_pct", "frequency_cap_hours", "seed"}


def _open(campaign_id: int | str | None) -> None:
    if campaign_id is None:
        st.query_params.pop("campaign", None)
    else:
        st.query_params["campaign"] = str(campaign_id)


def _segment_options(store: Store) -> dict[int, str]:
    segments = list_segments(store)
    return {row["id"]: (f"{row['name']} · {row['customers']:,} customers" if row["customers"] is not None
                        else row["name"]) for row in segments.iter_rows(named=True)}


def editor(store: Store, campaign: Campaign | None, user: CurrentUser) -> CampaignInput:
    """Draw the form for a new campaign (None) or a draft; returns what it holds now."""
    param = "new" if campaign is None else str(campaign.id)
    segments = _segment_options(store)
    if load_form(param, new_input() if campaign is None else campaign_input(campaign), list(segments)):
        clear_errors()
    current = watched(form_input())
    other_errors(FIELD_KEYS)
    catalog = load_catalog(store)

    st.text_input("Campaign name", value=kept(K + "name", ""), key=K + "name", max_chars=100,
                  placeholder="e.g. Autumn sale for big spenders")
    field_error("name", current["name"], "name")
    st.text_area("Description", value=kept(K + "description", ""), key=K + "description", height=68,
                 placeholder="What this campaign is for (optional)")
    field_error("description", current["description"], "description")

    st.subheader("Audience")
    _audience(store, catalog, segments, current)

    st.subheader("Message")
    channel = st.segmented_control("Channel", list(CHANNELS), default=kept(K + "channel", "email"), key=K + "channel",
                                   required=True,
                                   format_func=lambda c: CHANNELS[c].label)
    field_error("channel", current["channel"], "channel")
    if CHANNELS[channel].has_subject:
        st.text_input("Subject", value=kept(K + "subject", ""), key=K + "subject", max_chars=200,
                      persist_state="page")
        field_error("subject", current["subject"], "subject")
    st.text_area("Message", value=kept(K + "template", ""), key=K + "template", height=200,
                 help="Plain text. Insert customer values with {{ variable }}; see the list below.")
    field_error("template", current["template"], "template")
    limit = CHANNELS[channel].body_limit
    st.caption(f"{len(st.session_state.get(K + 'template') or ''):,} characters as written; "
               f"{CHANNELS[channel].label} allows {limit:,} after the values are filled in"
               + (" (longer SMS go out as several segments)." if channel == "sms" else "."))
    message_ideas(store, user, channel)
    with st.expander("Variables and filters you can use", icon=":material/data_object:"):
        variables_help(catalog)

    st.subheader("Sending")
    sending_settings(current)
    with st.expander("Vendor simulator", icon=":material/science:", expanded=has_errors("vendor.")):
        vendor_settings(current, channel)
    _save_bar(store, campaign, user)
    return form_input()


def _audience(store: Store, catalog: Catalog, segments: dict[int, str], current: dict) -> None:
    source = st.radio("Send to", ["segment", "rule"], index=kept_index(["segment", "rule"], K + "source") or 0,
                      key=K + "source", horizontal=True,
                      format_func=lambda s: "A saved segment" if s == "segment" else "Build a rule")
    if source == "segment":
        if not segments:
            st.info("There are no saved segments yet: build a rule here, or save one on the Segments page.")
        if st.session_state.get(K + "segment") not in segments:
            st.session_state[K + "segment"] = None
        st.selectbox("Segment", list(segments), index=kept_index(list(segments), K + "segment"), key=K + "segment",
                     format_func=segments.get,
                     placeholder="Choose a segment", help="Sizes as last measured; the exact count as of now is "
                                                          "shown before launch, after the cap and holdout.")
    else:
        rules = rule_editor(store, catalog, key="cmp")
        analysis = analyse(store, rules, today(), None, catalog=catalog)
        audience_panel(analysis)
    field_error("audience", current["audience"], "audience")


def _save_bar(store: Store, campaign: Campaign | None, user: CurrentUser) -> None:
    st.divider()
    cols = st.columns([1.2, 1.2, 4])
    if cols[0].button("Save draft", type="primary", icon=":material/save:", key="cmp-save"):
        data = form_input()
        try:
            if campaign is None:
                new_id = campaigns.create_campaign(store, user, data)
            else:
                campaigns.update_campaign(store, user, campaign.id, data)
        except ValidationError as exc:
            set_errors(exc.errors, watched(data))
            st.rerun()
        except (NotFoundError, PermissionDenied) as exc:
            set_errors({"status": str(exc)}, {})
            st.rerun()
        clear_errors()
        flash(f"Draft '{plain_md(data.name.strip())}' saved")
        if campaign is None:
            st.session_state[OPEN_KEY] = str(new_id)
            _open(new_id)
        st.rerun()
    if campaign is not None:
        with cols[1].popover("Delete draft", icon=":material/delete:"):
            st.write(f"Delete the draft **{plain_md(campaign.name)}**? This cannot be undone.")
            if st.button("Delete for good", type="primary", key="cmp-delete"):
                try:
                    campaigns.delete_campaign(store, user, campaign.id)
                except (ValidationError, NotFoundError, PermissionDenied) as exc:
                    st.error(plain_md(" ".join(exc.errors.values()) if isinstance(exc, ValidationError) else exc))
                else:
                    flash(f"Draft '{plain_md(campaign.name)}' deleted")
                    st.session_state.pop(OPEN_KEY, None)
                    _open(None)
                    st.rerun()


def is_dirty(store: Store, campaign: Campaign, shown: CampaignInput) -> bool:
    """Whether the form differs from the saved draft (or cannot be saved as it is while the draft can)."""
    def normal(data: CampaignInput) -> str | None:
        try:
            return json.dumps(check_campaign(store, data).values, sort_keys=True, default=str)
        except ValidationError:
            return None

    return normal(shown) != normal(campaign_input(campaign))  # both invalid: not "unsaved", the checks say why
