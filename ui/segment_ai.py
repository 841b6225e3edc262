"""The workbench's "describe the audience in plain English" box: a sentence becomes a rule in the editor,
with which engine answered, why, what the model got wrong, and the exact prompt that was sent."""
from __future__ import annotations

from datetime import date

import streamlit as st

from crm_core.ai.nl_rules import MAX_SENTENCE
from crm_core.config import PROJECT_ROOT
from crm_core.permissions import Actor, PermissionDenied
from crm_core.services import ai
from crm_core.store import Store
from crm_core.validation import ValidationError
from ui.ai_answer import ai_allowed, show_prompt
from ui.campaign_format import plain
from ui.segment_editor import load_rules

EXAMPLE = "customers in São Paulo who spent more than R$500 in the last 3 months but haven't ordered in 30 days"
GRAMMAR = PROJECT_ROOT / "docs" / "ai-offline-grammar.md"
TEXT_KEY, ANSWER_KEY = "seg-ai-text", "seg-ai-answer"


def _build(store: Store, user: Actor, as_of: date, segment_id: int | None) -> None:
    """Button callback: ask for a rule and, when there is one, load it into the editor before the rerun."""
    try:
        answer = ai.rules_from_text(store, user, st.session_state.get(TEXT_KEY, ""), as_of=as_of)
    except (ValidationError, PermissionDenied) as exc:
        st.session_state[ANSWER_KEY] = (segment_id, exc)
        return
    st.session_state[ANSWER_KEY] = (segment_id, answer)
    if answer.value is not None:
        load_rules(answer.value)


def _show_answer(segment_id: int | None) -> None:
    """What the last request for this segment gave: the engine, why, the refused rule's problems, the prompt."""
    for_segment, answer = st.session_state.get(ANSWER_KEY, (None, None))
    if answer is None or for_segment != segment_id:
        return
    if isinstance(answer, PermissionDenied):
        st.error(str(answer), icon=":material/lock:")
        return
    if isinstance(answer, ValidationError):
        for message in answer.errors.values():
            st.warning(plain(message), icon=":material/edit:")
        return
    if answer.by_model:
        st.caption(f":material/smart_toy: Answered by the model {plain(answer.engine)}. The rule is in the editor "
                   "below: check it, edit it, save it.")
        if answer.note:
            st.caption(plain(answer.note))
    else:
        st.caption(f":material/memory: Answered by the offline engine: {plain(answer.note or '')}")
        if answer.value is not None:
            st.caption("The rule is in the editor below: check it, edit it, save it.")
    if answer.problems:
        lines = "\n".join(f"- {plain(problem)}" for problem in answer.problems)
        st.warning(f"The model's rule was not applied:\n{lines}", icon=":material/block:")
    if answer.value is None:
        st.info("No rule was built; the editor is unchanged. Try a simpler sentence, or build the rule below.",
                icon=":material/info:")
    show_prompt(answer)


def _grammar() -> None:
    """The offline engine's documented phrasings, when the document is there."""
    try:
        text = GRAMMAR.read_text(encoding="utf-8")
    except OSError:
        return
    with st.expander("What the offline engine understands", icon=":material/menu_book:"):
        st.markdown(text)


def describe_box(store: Store, user: Actor, as_of: date, segment_id: int | None) -> None:
    """A sentence in, a rule into the editor (nothing is saved; AI help is for marketers and admins)."""
    with st.container(border=True):
        st.markdown("**Describe the audience in plain English**")
        if not ai_allowed(user):
            return
        st.text_area("Describe the audience in plain English", key=TEXT_KEY, placeholder=EXAMPLE, height=68,
                     max_chars=MAX_SENTENCE, label_visibility="collapsed")
        st.button("Build the rule", key="seg-ai-go", icon=":material/auto_awesome:", on_click=_build,
                  args=(store, user, as_of, segment_id), help="The model (or the offline engine) proposes a rule; it replaces the "
                                            "rule in the editor, where you can check and change it before saving.")
        _show_answer(segment_id)
        _grammar()
