"""plain_md: untrusted text escaped so Streamlit's markdown shows it literally (hand-written expected forms).

How the escaped forms render in Streamlit's own markdown renderer is checked in a real browser by
tests/e2e/test_untrusted_text_journey.py; here each form is written out by hand.
"""
from __future__ import annotations

import pytest

from ui.text import ZERO_WIDTH as Z
from ui.text import chart_text, literal, plain_md

B = "\\"  # one backslash

CASES = [
    # raw HTML (rendered by st.markdown(..., unsafe_allow_html=True) unless escaped)
    ("<script>alert(1)</script>", f"{B}<script{B}>alert{B}(1{B}){B}<{B}/script{B}>"),
    ("<img src=x onerror=alert(1)>", f"{B}<img src{B}=x onerror{B}=alert{B}(1{B}){B}>"),
    # inline markdown
    ("**bold**", f"{B}*{B}*bold{B}*{B}*"),
    ("_it_", f"{B}_it{B}_"),
    ("[click](javascript:alert(1))", f"{B}[click{B}]{B}(javascript{B}:alert{B}(1{B}){B})"),
    ("![x](http://evil/x.png)", f"{B}!{B}[x{B}]{B}(http{B}:{Z}{B}/{B}/evil{B}/x{B}.png{B})"),
    ("`code`", f"{B}`code{B}`"),
    ("~~gone~~", f"{B}~{B}~gone{B}~{B}~"),
    ("&lt;b&gt;", f"{B}&lt;b{B}&gt;"),
    # Streamlit's directives, math and icons
    (":red[x]", f"{B}:red{B}[x{B}]"),
    ("$x$", f"{B}$x{B}$"),
    (":material/home:", f"{B}:material{B}/home{B}:"),
    (":material_home:", f"{B}:{Z}material{B}_home{B}:"),
    (":streamlit:", f"{B}:{Z}streamlit{B}:"),
    (":smile:", f"{B}:{Z}smile{B}:"),
    # block markdown at the start of a value
    ("# heading", f"{B}# heading"),
    ("- list", f"{B}- list"),
    ("1. first", f"1{B}. first"),
    ("> quote", f"{B}> quote"),
    ("| a | b |", f"{B}| a {B}| b {B}|"),
    # backslashes, line breaks (one hard break per run, never a new paragraph)
    ("a\\b", f"a{B}{B}b"),
    ("one\ntwo", "one  \ntwo"),
    ("one\r\n\r\n\ntwo", "one  \ntwo"),
    ("Title\n===", f"Title  \n{B}={B}={B}="),
    # after-parse rewrites: arrows and bare web addresses
    ("a -> b", f"a {B}-{Z}{B}> b"),
    ("x >= 3", f"x {B}>{Z}{B}= 3"),
    ("www.evil.com", f"www{Z}{B}.evil{B}.com"),
    # ordinary text stays readable
    ("Ada Lovelace", "Ada Lovelace"),
    ("São Paulo 10:30", f"São Paulo 10{B}:30"),
    ("a@b.com", "a@b\\.com"),
    ("O'Brien said \"hi\" 50% ^", "O'Brien said \"hi\" 50% ^"),
    (None, ""),
    (1234, "1234"),
]


@pytest.mark.parametrize("raw, escaped", CASES, ids=[repr(c[0])[:30] for c in CASES])
def test_plain_md_escapes_exactly(raw, escaped):
    assert plain_md(raw) == escaped


@pytest.mark.parametrize("raw", [c[0] for c in CASES if isinstance(c[0], str) and "\n" not in c[0]])
def test_escaped_text_reads_as_the_original(raw):
    assert literal(plain_md(raw)) == raw


def test_no_markdown_control_character_survives_unescaped():
    nasty = "".join(chr(c) for c in range(33, 127) if not chr(c).isalnum())
    out = plain_md(nasty)
    for char in "\\`*_{}[]()<>#+-.!|$~:&=/":
        assert f"{B}{char}" in out, char
    assert literal(out) == nasty


@pytest.mark.parametrize("raw, shown", [
    ("<b>Bold</b>", "&lt;b&gt;Bold&lt;/b&gt;"),
    ('<a href="javascript:x">go</a>', '&lt;a href="javascript:x"&gt;go&lt;/a&gt;'),
    ("Tom & Jerry<br>", "Tom &amp; Jerry&lt;br&gt;"),
    ("São Paulo", "São Paulo"),
    (None, ""),
])
def test_chart_text_escapes_plotlys_html_subset(raw, shown):
    assert chart_text(raw) == shown
