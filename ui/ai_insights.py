"""AI insights on screen: the campaign summary and segment description panels: our figures as a small table, then
the three parts of prose, and which engine wrote them."""
from __future__ import annotations

from datetime import date

import streamlit as st

from crm_core.ai.answer import Answer
from crm_core.ai.insights import Insight
from crm_core.campaigns.model import Campaign
from crm_core.permissions import Actor, PermissionDenied
from crm_core.services import ai
from crm_core.validation import NotFoundError, ValidationError
from ui.ai_answer import ai_allowed, show_engine
from ui.campaign_format import plain, show_refusal

PROSE_LABELS = (("what_happened", "What happened"), ("stands_out", "What stands out"), ("try_next", "What to try next"))
SEGMENT_LABELS = (("what_happened", "Who is in it"),) + PROSE_LABELS[1:]


def show_insight(answer: Answer[Insight], labels: tuple = PROSE_LABELS) -> None:
    """An insight: the figures table, the three parts of prose, and the engine."""
    insight = answer.value
    if insight is None:
        st.warning("No summary could be written.", icon=":material/warning:")
        show_engine(answer)
        return
    st.table({"Figure": [label for label, _ in insight.figures], "Value": [value for _, value in insight.figures]})
    for field, label in labels:
        st.markdown(f"**{label}.** {plain(getattr(insight, field))}")
    st.caption("The figures come from our own queries; the AI only writes the words around them.")
    show_engine(answer)


def campaign_insight_panel(store, campaign: Campaign, user: Actor) -> None:
    """'Summarise this campaign': figures, what happened, what stands out, what to try next."""
    if not ai_allowed(user):
        return
    key = f"ai-cmp-{campaign.id}"
    if st.button("Summarise this campaign", key=f"{key}-go", icon=":material/auto_awesome:",
                 help="A short summary of the results, from the figures on this page."):
        try:
            with st.spinner("Writing the summary…"):
                st.session_state[key] = ai.campaign_insight(store, user, campaign.id)
        except (ValidationError, NotFoundError, PermissionDenied) as exc:
            show_refusal(exc)
            return
    if st.session_state.get(key) is not None:
        with st.container(border=True):
            show_insight(st.session_state[key])


def segment_insight_panel(store, rules: dict, as_of: date | None, user: Actor) -> None:
    """'Describe this segment': its aggregate figures and a short description of who is in it."""
    if not ai_allowed(user):
        return
    key = "ai-seg-insight"
    if st.button("Describe this segment", key=f"{key}-go", icon=":material/auto_awesome:",
                 help="Who is in the segment, from its size, spend, orders and countries."):
        try:
            with st.spinner("Describing the segment…"):
                st.session_state[key] = (rules, as_of, ai.segment_insight(store, user, rules, as_of))
        except (ValidationError, NotFoundError, PermissionDenied) as exc:
            show_refusal(exc)
            return
    shown = st.session_state.get(key)
    if shown is not None:
        if (shown[0], shown[1]) != (rules, as_of):
            st.caption("The rule or date has changed since this description: describe it again to update it.")
        with st.container(border=True):
            show_insight(shown[2], SEGMENT_LABELS)
