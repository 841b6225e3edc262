"""How every AI answer is shown: which engine answered (and why the offline one did), what did not pass our checks,
and the exact prompt (sent to the model, or what would be sent)."""
from __future__ import annotations

import streamlit as st

from crm_core.ai.answer import Answer
from crm_core.permissions import Actor, allowed
from ui.campaign_format import plain


def show_prompt(answer: Answer) -> None:
    """The exact prompt in an expander, titled by whether it actually went to a model."""
    if not answer.prompt:
        return
    title = "See exactly what was sent" if answer.sent else "See exactly what would be sent to a model"
    with st.expander(title, icon=":material/visibility:"):
        st.caption("Only the field catalog, rules and aggregate figures are sent: never a customer's details."
                   + ("" if answer.sent else " Nothing left this machine."))
        st.code(answer.prompt, language=None, wrap_lines=True)


def show_engine(answer: Answer) -> None:
    """Which engine answered, why the offline engine did, what the model got wrong, and the exact prompt."""
    if answer.by_model:
        st.caption(f":material/smart_toy: Written by the model **{plain(answer.engine)}**.")
    else:
        st.caption(":material/offline_bolt: Written by the **offline engine** ("
                   + ("after the model failed)." if answer.sent else "nothing left this machine)."))
    if answer.note:
        st.info(plain(answer.note), icon=":material/info:")
    if answer.problems:
        with st.expander("What did not pass our checks", icon=":material/rule:"):
            st.markdown("\n".join(f"- {plain(p)}" for p in answer.problems))
    show_prompt(answer)


AI_FOR_WRITERS = "AI help is for marketers and admins; your role can read everything and export."


def ai_allowed(user: Actor | None) -> bool:
    """Whether the user may use AI help; when not, the one caption that says so takes the AI box's place."""
    if allowed(user, "ai.use"):
        return True
    st.caption(f":material/lock: {AI_FOR_WRITERS}")
    return False
