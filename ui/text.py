"""Untrusted text (names, e-mails, messages, file names, AI answers) shown inside Streamlit markdown as itself.

Streamlit renders markdown in st.markdown/st.caption/st.write/titles/alerts/toasts, in widget and expander
labels, tab names, metric labels, help tooltips, and radio/segmented-control options. Its renderer honours
CommonMark and GitHub's extensions (links, images, autolinks, tables, strikethrough), `$math$`, directives
such as `:red[...]` and `:small[...]`, and, after parsing, rewrites `:material/name:` (a plain find-and-replace
on the source), `:material_name:`, `:streamlit:`, emoji short codes, arrows such as `->` and `>=`, and bare web addresses
(`http://...`, `www....`) into links.
`plain_md` backslash-escapes every character the parser reacts to and breaks the after-parse patterns
with a zero-width space, so the value shows literally. An e-mail address is left whole (it shows as itself,
as a mail link) so that copying it from the page copies the address. Selectbox and multiselect options, st.text, st.code
and table cells are not markdown: pass them the raw value.
"""
from __future__ import annotations

import html
import re
from typing import Any

ZERO_WIDTH = "\u200b"
# Every ASCII punctuation character markdown, GFM, math or Streamlit's directives react to (quotes, @, ^, % ... never).
_SIGNIFICANT = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|$~:&=/])")
# Patterns Streamlit rewrites in text after parsing (escapes are gone by then), so escaping cannot stop them.
_SHORT_CODE = re.compile(r":(?=[\w+-][\w+-]*:)")  # :streamlit:, :material_home:, :smile:
_WEB_ADDRESS = re.compile(r"(?i)(?<=:)(?=//)|(?<=\bwww)(?=\.)")  # where a zero-width space stops a link
_ARROW = re.compile(r"(?<!\S)(<->|->|<-|--|>=|<=|~=)(?!\S)")
_LINE_BREAKS = re.compile(r"[ \t]*(?:\r\n|\r|\n)(?:[ \t]*(?:\r\n|\r|\n))*[ \t]*")


def plain_md(value: Any) -> str:
    """`value` as markdown that renders as exactly that text: no formatting, link, image, HTML or icon."""
    text = "" if value is None else str(value)
    text = _ARROW.sub(lambda m: ZERO_WIDTH.join(m.group(1)), text)
    text = _WEB_ADDRESS.sub(ZERO_WIDTH, text)
    text = _SHORT_CODE.sub(":" + ZERO_WIDTH, text)
    text = _SIGNIFICANT.sub(r"\\\1", text)
    return _LINE_BREAKS.sub("  \n", text)  # each run of line breaks is one hard break, never a new paragraph


def literal(markdown: str) -> str:
    """What `plain_md` output reads as on screen: escapes, zero-width spaces and hard breaks undone."""
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown.replace("  \n", "\n"))
    return text.replace(ZERO_WIDTH, "")


def chart_text(value: Any) -> str:
    """`value` for a Plotly label, legend or hover: its HTML subset (<b>, <a href>, <br>) shows as text."""
    return html.escape("" if value is None else str(value), quote=False)
