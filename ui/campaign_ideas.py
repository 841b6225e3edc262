"""Message ideas in the campaign editor: a goal and a tone give three suggested messages for the form's channel,
each with its length against the channel's limit and a 'Use this' button that puts it into the message fields."""
from __future__ import annotations

import streamlit as st

from crm_core.ai.variants import GOAL_LIMIT, TONES, Variant
from crm_core.campaigns.model import CHANNELS
from crm_core.permissions import Actor, PermissionDenied
from crm_core.services import ai
from crm_core.store import Store
from crm_core.validation import ValidationError
from ui.ai_answer import ai_allowed, show_engine
from ui.campaign_format import plain, show_refusal
from ui.campaign_form import K

IDEAS = "cmp-ideas-"


def _use(n: int, subject: str | None, body: str) -> None:
    """Put a suggestion into the form (a callback: it runs before the message widgets are drawn again)."""
    st.session_state[K + "template"] = body
    if subject is not None:
        st.session_state[K + "subject"] = subject
    st.session_state[IDEAS + "used"] = n


def message_ideas(store: Store, user: Actor, channel: str) -> None:
    """The 'Message ideas' expander: goal, tone, 'Suggest 3 messages', and the suggestions as cards."""
    with st.expander("Message ideas", icon=":material/lightbulb:"):
        if not ai_allowed(user):
            return
        left, right = st.columns([3, 1])
        left.text_input("Goal", key=IDEAS + "goal", max_chars=GOAL_LIMIT,
                        placeholder="e.g. win back customers who have not ordered for a while")
        right.selectbox("Tone", list(TONES), key=IDEAS + "tone", format_func=lambda t: TONES[t].label)
        st.caption(f"Written for {CHANNELS[channel].label} (the channel above), with the variables listed below. "
                   "Check and edit a suggestion before you save.")
        if st.button("Suggest 3 messages", key=IDEAS + "go", icon=":material/auto_awesome:"):
            try:
                with st.spinner("Writing messages…"):
                    answer = ai.message_variants(store, user, st.session_state.get(IDEAS + "goal", ""),
                                              st.session_state.get(IDEAS + "tone") or "friendly", channel)
            except (ValidationError, PermissionDenied) as exc:
                show_refusal(exc)
                return
            st.session_state[IDEAS + "answer"] = (channel, answer)
            st.session_state.pop(IDEAS + "used", None)
        shown = st.session_state.get(IDEAS + "answer")
        if shown is None:
            return
        written_for, answer = shown
        if written_for != channel:
            st.info(f"These ideas were written for {CHANNELS[written_for].label}: suggest again for "
                    f"{CHANNELS[channel].label}.", icon=":material/swap_horiz:")
            return
        used = st.session_state.get(IDEAS + "used")
        if used is not None:
            st.success(f"Suggestion {used} is in the message fields above: edit it there, then save.",
                       icon=":material/check:")
        if not answer.value:
            st.warning("No suggestion could be written.", icon=":material/warning:")
        for n, variant in enumerate(answer.value or [], start=1):
            _card(n, variant, channel)
        show_engine(answer)


def _card(n: int, v: Variant, channel: str) -> None:
    """One suggestion: angle, subject, body, length against the limit, and 'Use this'."""
    spec = CHANNELS[channel]
    with st.container(border=True):
        st.markdown(f"**{n}. {plain(v.angle)}**")
        if v.subject is not None:
            st.text(f"Subject: {v.subject}")
        st.text(v.body)
        sms = f" · {v.segments} SMS segment{'s' if v.segments != 1 else ''} at most" if v.segments else ""
        st.caption(f"{v.written:,} characters as written, up to {v.length:,} once filled in; {spec.label} allows "
                   f"{spec.body_limit:,}{sms}.")
        st.button("Use this", key=f"{IDEAS}use-{n}", icon=":material/input:", on_click=_use,
                  args=(n, v.subject, v.body), help="Replaces the subject and message above with this suggestion.")
